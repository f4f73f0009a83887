"""Tables I-IV from the long table of runs (patchmine.tables), on synthetic results whose
means are known in closed form: seed means, row and column order, test set and metric,
strides, parameters, benchmarks with published models, and each table's references."""

from itertools import product

import numpy as np
import pandas as pd
import pytest
from report_cases import CRITS, KS, base, parse_markdown

from patchmine import render, tables
from patchmine.labels import format_k, row_label

# --- criteria_table (Table I) ---------------------------------------------------------------


def test_table_values_are_seed_means(results):
    table = tables.criteria_table(results, test_set="Urban100")
    for crit, augment, k in product(CRITS, (False, True), KS):
        cell = table.loc[row_label(crit, augment), format_k(k)]
        assert cell == pytest.approx(base(crit, augment, k), abs=1e-9)


def test_runs_still_improving_when_they_stopped_are_counted_under_the_table(results):
    """A run whose best validation came at its last iteration was never early-stopped: its
    number would change with more iterations, which a reader must know."""
    assert tables.criteria_table(results, test_set="Urban100").attrs["still_improving"] == (0, 0)
    runs = results.assign(iterations=300, best_iteration=200)  # 2 of 3 seeds peaked earlier
    runs.loc[runs["seed"] == 2, "best_iteration"] = 300
    table = tables.criteria_table(runs, test_set="Urban100")
    n = len(runs[runs["test_set"] == "Urban100"])
    assert table.attrs["still_improving"] == (n // 3, n)
    assert f"{n // 3} of the {n} runs behind this table had their best" in render.table_markdown(
        table
    )
    assert "still improving" not in render.table_markdown(
        tables.criteria_table(results, "Urban100")
    )


def test_table_order(results):
    table = tables.criteria_table(results, test_set="Urban100")
    assert list(table.index) == ["Grad", "Std", "Loss", "Rand", "Grad+", "Std+", "Loss+", "Rand+"]
    assert list(table.columns) == ["250", "1.5K", "10K", "151.3K"]
    assert table.attrs["k"] == list(KS)
    custom = tables.criteria_table(results, test_set="Urban100", order=("loss", "grad"))
    # criteria missing from `order` follow, sorted, rather than vanish
    assert list(custom.index)[:4] == ["Loss", "Grad", "Rand", "Std"]


def test_table_test_set_and_metric(results):
    set5 = tables.criteria_table(results, test_set="Set5")
    assert set5.loc["Grad+", "10K"] == pytest.approx(base("grad", True, 10_000, "Set5"))
    ssim = tables.criteria_table(results, test_set="Urban100", metric="ssim")
    assert ssim.loc["Loss", "250"] == pytest.approx(base("loss", False, 250) / 40.0)
    with pytest.raises(ValueError, match="test sets"):
        tables.criteria_table(results)  # two test sets: ambiguous
    with pytest.raises(ValueError, match="metric"):
        tables.criteria_table(results, test_set="Set5", metric="lpips")
    with pytest.raises(ValueError, match="B100"):
        tables.criteria_table(results, test_set="B100")
    only = results[results["test_set"] == "Set5"]
    pd.testing.assert_frame_equal(tables.criteria_table(only), set5)


def test_table_missing_cell_is_nan_and_dash(results):
    drop = (results["criterion"] == "rand") & (results["k"] == 10_000) & ~results["augment"]
    table = tables.criteria_table(results[~drop], test_set="Urban100")
    assert np.isnan(table.loc["Rand", "10K"])
    assert table.loc["Rand+", "10K"] == pytest.approx(base("rand", True, 10_000))
    _, labels, cells = parse_markdown(render.table_markdown(table))
    assert cells[labels.index("Rand")][list(table.columns).index("10K")] == "–"


def test_criteria_rows_follow_the_given_order(results):
    table = tables.criteria_table(results, test_set="Urban100", order=["loss", "grad"])
    plain = [label for label in table.index if not label.endswith("+")]
    assert plain[:2] == ["Loss", "Grad"]


# --- Tables II-IV ---------------------------------------------------------------------------


def grid_results() -> pd.DataFrame:
    """Strides x models x K x test sets, with known values."""
    rows = []
    for stride, model, k, test_set, seed in product(
        (60, 120), ("edsr_16", "edsr_128"), (70_000, 80_000, 90_000),
        ("Set5", "Urban100"), (0, 1),
    ):  # fmt: skip
        psnr = 32 + (0.6 if model == "edsr_128" else 0) + (0.01 if stride == 120 else 0)
        psnr += -abs(k - 80_000) / 1e6 + (5.8 if test_set == "Set5" else 0) + 0.01 * seed
        params = 1.37e6 if model == "edsr_16" else 9.6e6
        rows.append(dict(model=model, stride=stride, criterion="grad", augment=True, k=k,
                         k_label=str(k), seed=seed, test_set=test_set, psnr=psnr,
                         ssim=0.9 + psnr / 1000, params=params))  # fmt: skip
    return pd.DataFrame(rows)


def test_table2_strides():
    res = grid_results()
    table = tables.stride_table(res[res["model"] == "edsr_16"], test_set="Urban100")
    assert table.index.name == "Strides" and list(table.index) == ["120", "60"]
    assert list(table.columns) == ["70K", "80K", "90K"]
    assert table.loc["120", "80K"] == pytest.approx(32.015)
    _, _, cells = parse_markdown(render.table_markdown(table))
    assert cells[0] == ["**32.00**", "**32.02**", "**32.00**"]


def test_table3_params_and_no_silent_averaging():
    res = grid_results()
    table = tables.params_table(res[res["stride"] == 120], test_set="Urban100")
    assert list(table.index) == ["1.37 M", "9.6 M"] and table.index.name == "Params"
    assert table.loc["9.6 M", "80K"] == pytest.approx(32.615)
    # strides vary too: they become part of the rows instead of being averaged together
    both = tables.params_table(res, test_set="Urban100")
    assert len(both) == 4 and all(" / " in label for label in both.index)


def test_each_table_notes_its_own_reference_and_table4_all_of_them(tmp_path):
    """A test set whose reference is not made yet (drawn from what has finished) gets no note,
    never another set's; Table IV's one table over the sets notes every reference made."""
    res = grid_results()
    res = res[(res["stride"] == 120) & (res["k"] == 80_000)]
    notes = {"Set5": "Reference on Set5: 33.67 dB"}
    paths = {kind: tmp_path / f"t.{kind}" for kind in ("csv", "md", "html")}
    per_set = {t: tables.params_table(res, test_set=t) for t in ("Set5", "Urban100")}
    render.write_experiment_tables(per_set, notes, paths, "title")
    assert per_set["Set5"].attrs["references"] == [notes["Set5"]]
    assert per_set["Urban100"].attrs["references"] == []
    assert paths["md"].read_text().count("Reference on Set5") == 1
    both = {"all": tables.benchmark_table(res, test_sets=["Set5", "Urban100"])}
    render.write_experiment_tables(both, notes, paths, "title", heading=None)
    assert both["all"].attrs["references"] == [notes["Set5"]]


def test_table4_benchmarks():
    res = grid_results()
    res = res[(res["stride"] == 120) & (res["k"] == 80_000)]
    table = tables.benchmark_table(res, test_sets=["Set5", "Urban100"])
    assert list(table.columns) == ["Params", "Set5 PSNR", "Set5 SSIM", "Urban100 PSNR",
                                   "Urban100 SSIM"]  # fmt: skip
    assert table.loc["edsr_128", "Urban100 PSNR"] == pytest.approx(32.615)
    md = render.benchmark_markdown(table)
    header, labels, cells = parse_markdown(md)
    assert header == ["Params", "Set5", "Urban100"]
    row = cells[labels.index("edsr_128")]
    cell = table.loc["edsr_128"]
    bold = f"**{cell['Urban100 PSNR']:.2f}**/**{cell['Urban100 SSIM']:.4f}**"
    assert row[0] == "9.6 M" and row[2] == bold
    assert "**" not in "".join(cells[labels.index("edsr_16")])
    html = render.table_html(table, benchmark=True)
    assert f"<b>{cell['Urban100 PSNR']:.2f}</b>/<b>{cell['Urban100 SSIM']:.4f}</b>" in html


def test_table4_never_averages_two_ks_into_one_row():
    res = grid_results()
    res = res[(res["stride"] == 120) & (res["model"] == "edsr_16") & (res["k"] != 90_000)]
    table = tables.benchmark_table(res, test_sets=["Set5", "Urban100"])
    assert list(table.index) == ["K = 70K / edsr_16", "K = 80K / edsr_16"]
    for k, label in ((70_000, "K = 70K / edsr_16"), (80_000, "K = 80K / edsr_16")):
        urban = res[(res["k"] == k) & (res["test_set"] == "Urban100")]["psnr"].mean()
        assert table.loc[label, "Urban100 PSNR"] == pytest.approx(urban)
    # a fraction of the store, still to be trained, is named as configured
    planned = res.assign(k=np.nan, k_label="0.5").drop(columns=["psnr", "ssim"])
    waiting = tables.benchmark_table(res, expected=pd.concat([res, planned]))
    assert "K = 0.5 of the store / edsr_16" in waiting.index


def test_table4_lists_published_models_first():
    res = grid_results()
    res = res[(res["stride"] == 120) & (res["k"] == 80_000)]
    published = pd.DataFrame(
        [
            dict(published="edsr_official", model="edsr_16", task="sr_x2", weights="published",
                 test_set="Urban100", psnr=40.0, ssim=0.99, params=1369859)
        ]
    )  # fmt: skip
    table = tables.benchmark_table(res, test_sets=["Set5", "Urban100"], published=published)
    plain = tables.benchmark_table(res, test_sets=["Set5", "Urban100"])
    assert list(table.index) == ["edsr_official (published weights)", *plain.index]
    first = table.iloc[0]
    assert first["Urban100 PSNR"] == 40.0 and first["Params"] == 1369859
    assert np.isnan(first["Set5 PSNR"]) and np.isnan(first["Set5 SSIM"])
    pd.testing.assert_frame_equal(table.iloc[1:], plain, check_names=False)
    header, labels, cells = parse_markdown(render.benchmark_markdown(table))
    assert labels[0] == "edsr_official (published weights)"
    assert cells[0][2] == "**40.00**/**0.9900**"  # best of the column, like any row
