"""Tables and figures while runs are still to come: the points expected (K resolved from
each run's own store), cells and points missing or drawn from fewer seeds than configured,
and the notes that name them."""

from itertools import product

import numpy as np
import pandas as pd
from report_cases import CRITS, K_LABELS, KS, SEED_OFFSETS, artists, parse_markdown, training_logs

from patchmine import figures, render, tables


def expected_for(results: pd.DataFrame) -> pd.DataFrame:
    runs = [
        {"criterion": c, "k": K_LABELS[k], "aug": "aug" if a else "noaug", "seed": s}
        for c, a, k, s in product(CRITS, (False, True), KS, range(len(SEED_OFFSETS)))
    ]
    return tables.expected_points(runs, ["Urban100", "Set5"], results)


def test_expected_points_resolve_k():
    runs = [{"criterion": "grad", "k": "0.5", "aug": "aug", "seed": 0, "dataset": "d",
             "patch": 96, "stride": 120},
            {"criterion": "grad", "k": "0.25", "aug": "noaug", "seed": 0, "dataset": "d",
             "patch": 96, "stride": 120}]  # fmt: skip
    done = pd.DataFrame(
        [dict(criterion="grad", aug="aug", k_label="0.5", k=50, n_store=101, seed=0,
              dataset="d", patch=96, stride=120, test_set="T", psnr=30.0)]
    )  # fmt: skip
    expected = tables.expected_points(runs, ["T"], done)
    assert expected["k"].tolist() == [50, 25]  # from the run, and round(0.25 * 101)
    assert expected["augment"].tolist() == [True, False]
    assert np.isnan(tables.expected_points(runs, ["T"], None)["k"]).all()


def test_partial_table_marks_missing_and_partial_cells(results):
    drop = ((results["criterion"] == "grad") & results["augment"] & (results["k"] == 10_000)) | (
        (results["criterion"] == "rand") & (results["k"] == 250) & (results["seed"] == 2)
    )
    part = results[~drop]
    expected = expected_for(results)
    table = tables.criteria_table(part, test_set="Urban100", expected=expected)
    assert np.isnan(table.loc["Grad+", "10K"])
    assert ("Grad+", "10K") in table.attrs["missing"]
    assert ("Rand", "250", 2, 3) in table.attrs["partial"]
    md = render.table_markdown(table)
    _, labels, cells = parse_markdown(md.split("\n\n")[0])
    assert cells[labels.index("Rand")][0].endswith(render.PARTIAL_MARK)
    assert cells[labels.index("Grad+")][2] == render.MISSING_TEXT
    assert "not finished yet: Grad+ at 10K" in md and "Rand at 250 (2 of 3 seeds)" in md
    html = render.table_html(table)
    assert "Grad+ at 10K" in html and "class='missing'" in html
    # nothing finished at all: the expected table, every cell missing
    empty = tables.criteria_table(part.iloc[0:0], test_set="Urban100", expected=expected)
    assert empty.shape == table.shape and empty.isna().all().all()


def test_nothing_finished_yet_still_names_every_cell():
    runs = [{"criterion": c, "k": k, "aug": "aug", "seed": 0} for c in ("grad", "rand")
            for k in ("0.25", "0.5")]  # fmt: skip
    expected = tables.expected_points(runs, ["Urban100"], None)  # no store size known yet
    table = tables.criteria_table(pd.DataFrame(), expected=expected)
    assert list(table.columns) == ["0.25 of the store", "0.5 of the store"]
    assert list(table.index) == ["Grad+", "Rand+"] and table.isna().all().all()
    assert len(table.attrs["missing"]) == 4 and table.attrs["k"] == [None, None]


def test_partial_figure_names_missing_points(results):
    drop = (results["criterion"] == "std") & ~results["augment"] & results["k"].isin([1500, 10_000])
    part = results[~drop]
    fig, data = figures.psnr_vs_k_figure(part, test_set="Urban100", expected=expected_for(results))
    assert data.attrs["missing"] == [
        "Partial data - not finished yet, left out: Std: K = 1.5K, 10K."
    ]
    assert any(t.get_gid() == "note" and "Std: K = 1.5K, 10K" in t.get_text() for t in fig.texts)
    x, y = artists(fig, "curve")["Std", 0]
    assert x.tolist() == list(KS)
    assert np.isnan(y[1]) and np.isnan(y[2]) and np.isfinite(y[[0, 3]]).all()  # a gap, no bridge
    marks = [ln for ln in fig.axes[0].lines if ln.get_gid() == "missing|Std"]
    assert np.asarray(marks[0].get_xdata()).tolist() == [1500, 10_000]
    assert len(data) == len(CRITS) * 2 * len(KS) - 2  # data lists only what was drawn
    # a point drawn from fewer seeds than configured is said to be so, as Table I marks it,
    # not listed as left out
    fewer = (part["criterion"] == "rand") & (part["k"] == 250) & (part["seed"] == 2)
    fig, data = figures.psnr_vs_k_figure(
        part[~fewer], test_set="Urban100", expected=expected_for(results)
    )
    assert data.attrs["missing"] == [
        "Partial data - not finished yet, left out: Std: K = 1.5K, 10K.",
        "Partial data - mean over the seeds finished so far: Rand: K = 250 (2 of 3 seeds); "
        "Rand+: K = 250 (2 of 3 seeds).",
    ]
    assert [ln.get_gid() for ln in fig.axes[0].lines if "missing" in ln.get_gid()] == [
        "missing|Std"
    ]
    # complete data and complete expectations: no note
    fig, data = figures.psnr_vs_k_figure(
        results, test_set="Urban100", expected=expected_for(results)
    )
    assert data.attrs["missing"] == [] and not [t for t in fig.texts if t.get_gid() == "note"]


def test_fig4_names_unfinished_runs():
    logs = training_logs()
    expected = [m for m, _ in logs] + [
        {"criterion": "loss", "k": "100000", "aug": "aug", "seed": 0, "model": "edsr",
         "stride": 120}
    ]  # fmt: skip
    fig, data = figures.convergence_figure(logs, expected=expected)
    assert data.attrs["missing"] == ["Partial data - not finished yet, left out: with "
                                     "augmentation: K = 100K."]  # fmt: skip
    # a loss run without its log is missing, though a grad run of the same K, seed and
    # augmentation has one
    assert logs[0][0]["criterion"] == "loss" and logs[-1][0]["criterion"] == "grad"
    fig, data = figures.convergence_figure(logs[1:], expected=expected)
    assert "no augmentation: K = 10K; with augmentation: K = 100K" in data.attrs["missing"][0]


def _complete(seeds=(0, 1)):
    rows = [
        dict(criterion=c, augment=True, k=k, k_label=str(k), seed=s, test_set="Urban100",
             psnr=30.0 + i + k / 1e4 + 0.01 * s, ssim=0.9)
        for i, c in enumerate(("grad", "rand")) for k in (1000, 2000) for s in seeds
    ]  # fmt: skip
    runs = [
        {"criterion": c, "k": str(k), "aug": "aug", "seed": s}
        for c, k, s in product(("grad", "rand"), (1000, 2000), seeds)
    ]
    return pd.DataFrame(rows), tables.expected_points(runs, ["Urban100"])


def test_a_cell_with_every_seed_is_not_marked_partial():
    """T2: every cell has all of its 2 seeds: no cell is partial, no '*' in the table."""
    results, expected = _complete()
    table = tables.criteria_table(results, test_set="Urban100", expected=expected)
    assert table.attrs["partial"] == [] and table.attrs["missing"] == []
    md = render.table_markdown(table)
    cells = [c.strip().replace("**", "") for ln in md.splitlines()[2:] for c in ln.split("|")[2:-1]]
    assert cells and not any(c.endswith(render.PARTIAL_MARK) for c in cells), md
    assert "seeds finished so far" not in md
    # one seed short in one cell: that cell alone
    one_short = (results["criterion"] == "rand") & (results["k"] == 2000) & (results["seed"] == 1)
    fewer = results[~one_short]
    table = tables.criteria_table(fewer, test_set="Urban100", expected=expected)
    assert table.attrs["partial"] == [("Rand+", "2K", 1, 2)]


def test_a_fraction_still_to_come_counts_the_patches_of_its_own_stride():
    """T6: K = 0.5 at stride 60 is half of the stride-60 store (302,000 patches -> 151,000),
    never the count a stride-120 run of the same label selected (75,650)."""
    done = pd.DataFrame(
        [dict(criterion="grad", aug="aug", k_label="0.5", k=75_650, n_store=151_300, seed=0,
              dataset="d", patch=96, stride=120, test_set="T", psnr=30.0),
         dict(criterion="grad", aug="aug", k_label="0.25", k=75_500, n_store=302_000, seed=0,
              dataset="d", patch=96, stride=60, test_set="T", psnr=30.0)]
    )  # fmt: skip
    runs = [{"criterion": "grad", "k": "0.5", "aug": "aug", "seed": 0, "dataset": "d",
             "patch": 96, "stride": s} for s in (120, 60)]  # fmt: skip
    expected = tables.expected_points(runs, ["T"], done)
    assert expected.set_index("stride")["k"].to_dict() == {120: 75_650, 60: 151_000}


def test_a_point_without_a_finite_score_is_still_missing():
    """T8: a run whose evaluation gave no finite PSNR has not delivered its point."""
    results, expected = _complete(seeds=(0,))
    results.loc[0, "psnr"] = np.nan
    missing = tables.missing_points(results, expected)
    assert len(missing) == 1
    assert missing.iloc[0][["criterion", "k"]].tolist() == [results.loc[0, "criterion"], 1000]


def test_notes_list_the_missing_k_in_increasing_order():
    """T9: the note's K follow the axis (sorted by count), whatever order they were found in."""
    ks = [90_000, 5_000, 70_000, 1_000, 30_000, 150_000, 20_000, 60_000]
    missing = pd.DataFrame([dict(criterion="grad", augment=True, k=k, k_label=str(k)) for k in ks])
    text = tables.describe_missing(missing)["Grad+"]
    assert text == "1K, 5K, 20K, 30K, 60K, 70K, 90K, 150K"


def test_fig4_names_an_unfinished_fraction_by_the_count_its_store_gives():
    """K given as a fraction: a run still to come is named by the patches that fraction is of
    its store, known from a drawn curve of the same fraction (the store is the same), and as the
    fraction itself when no curve says."""
    its = np.arange(1, 4) * 100
    logs = [
        ({"criterion": "loss", "k": label, "k_count": count, "aug": aug, "seed": 0,
          "model": "edsr", "stride": 120},
         pd.DataFrame({"iteration": its, "val_psnr": [30.0, 30.5, 30.2]}))
        for label, count in (("0.25", 1250), ("0.5", 2500)) for aug in ("noaug", "aug")
    ]  # fmt: skip
    expected = [m for m, _ in logs] + [{**logs[3][0], "k": "0.75", "k_count": None}]
    fig, data = figures.convergence_figure(logs[:3], expected=expected)  # 0.5+ has no log yet
    [note] = data.attrs["missing"]
    assert note.endswith("left out: with augmentation: K = 2.5K, 0.75 of the store.")
