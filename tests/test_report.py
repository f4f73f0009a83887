"""Tests of patchmine.tables, render, report and figures on synthetic results whose means are
known in closed form: tables, bold best values, the data drawn in each figure (read back from the
figure's artists), best-point markers, partial data, and the report rules' target lists."""

import json
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from patchmine import figures, render, report, tables
from patchmine.labels import format_k, format_params, natural_key, row_label
from patchmine.results import add_model_columns, collect_results

KS = (250, 1500, 10_000, 151_300)
K_LABELS = {250: "250", 1500: "1500", 10_000: "10000", 151_300: "1.0"}  # sort badly as text
CRITS = ("rand", "loss", "std", "grad")  # deliberately not in the default order
SEED_OFFSETS = (-0.03, 0.01, 0.02)  # sum to zero: the mean over seeds is exactly base()


def base(crit: str, augment: bool, k: int, test_set: str = "Urban100") -> float:
    """Known mean PSNR: each criterion peaks at a different K, augmentation adds 0.5 dB."""
    peak = {"grad": 10_000, "std": 1500, "loss": 151_300, "rand": 250}[crit]
    level = {"grad": 31.0, "std": 30.5, "loss": 30.8, "rand": 30.2}[crit]
    value = level - 0.1 * abs(np.log10(k) - np.log10(peak)) + (0.5 if augment else 0.0)
    return value + (1.0 if test_set == "Set5" else 0.0)


@pytest.fixture
def results() -> pd.DataFrame:
    rows = []
    for test_set, crit, augment, k, (seed, off) in product(
        ("Urban100", "Set5"), CRITS, (False, True), KS, enumerate(SEED_OFFSETS)
    ):
        psnr = base(crit, augment, k, test_set) + off
        rows.append(
            dict(
                criterion=crit,
                augment=augment,
                k_label=K_LABELS[k],
                k=k,
                seed=seed,
                test_set=test_set,
                psnr=psnr,
                ssim=psnr / 40.0,
            )  # fmt: skip
        )
    # shuffle so that nothing depends on input order
    return pd.DataFrame(rows).sample(frac=1.0, random_state=0).reset_index(drop=True)


def parse_markdown(md: str) -> tuple[list[str], list[str], list[list[str]]]:
    """Header, row labels and cell texts of a pipe table."""
    lines = [ln for ln in md.strip().splitlines() if ln.strip()]
    split = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines]
    header, body = split[0], split[2:]
    return header[1:], [r[0] for r in body], [r[1:] for r in body]


# --- format_k -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "label"),
    [(10_000, "10K"), (1500, "1.5K"), (250, "250"), (151_300, "151.3K"), (1000, "1K"),
     (999, "999"), (0, "0"), (10_001, "10.001K"), (2_500_000, "2.5M"), (70_000, "70K")],
)  # fmt: skip
def test_format_k(k, label):
    assert format_k(k) == label


def test_format_k_labels_are_unique():
    ks = list(range(0, 3000)) + list(range(150_000, 152_000)) + [999_999, 1_000_000, 1_000_001]
    assert len({format_k(k) for k in ks}) == len(ks)


# --- criteria_table -------------------------------------------------------------------------


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


# --- table_markdown -------------------------------------------------------------------------


def test_bold_cells_are_column_maxima(results):
    table = tables.criteria_table(results, test_set="Urban100")
    header, labels, cells = parse_markdown(render.table_markdown(table, decimals=3))
    assert header == list(table.columns) and labels == list(table.index)
    bold = {(r, c) for r, row in enumerate(cells) for c, t in enumerate(row) if t.startswith("**")}
    expected = {(int(np.argmax(table[col].to_numpy())), c) for c, col in enumerate(table.columns)}
    assert bold == expected
    for r, c in product(range(len(labels)), range(len(header))):
        assert float(cells[r][c].strip("*")) == round(table.iat[r, c], 3)


def test_bold_ties_at_displayed_precision():
    table = pd.DataFrame(
        {"10K": [32.071, 32.069, 31.0], "20K": [32.074, 32.076, 30.0], "30K": [1.0, 2.0, 2.0]},
        index=pd.Index(["Grad", "Loss", "Rand"], name="Criteria"),
    )
    _, _, cells = parse_markdown(render.table_markdown(table))
    assert [row[0] for row in cells] == ["**32.07**", "**32.07**", "31.00"]
    assert [row[1] for row in cells] == ["32.07", "**32.08**", "30.00"]
    assert [row[2] for row in cells] == ["1.00", "**2.00**", "**2.00**"]


def test_best_mask_ignores_missing_cells():
    table = pd.DataFrame({"10K": [np.nan, 1.0], "20K": [np.nan, np.nan]}, index=["Grad", "Loss"])
    mask = render.best_mask(table)
    assert mask.to_numpy().tolist() == [[False, False], [True, False]]


def test_write_table_round_trips(results, tmp_path):
    table = tables.criteria_table(results, test_set="Urban100")
    csv, md = tmp_path / "sub" / "t.csv", tmp_path / "t.md"
    render.write_table(table, csv, md)
    back = pd.read_csv(csv, index_col=0)
    np.testing.assert_array_equal(back.to_numpy(), table.to_numpy())  # full precision
    assert list(back.columns) == list(table.columns) and list(back.index) == list(table.index)
    assert md.read_text(encoding="utf-8") == render.table_markdown(table)


def test_tables_of_several_test_sets_keep_every_set(results, tmp_path):
    sets = sorted(results["test_set"].unique())
    assert len(sets) > 1
    by_set = {t: tables.criteria_table(results, test_set=t) for t in sets}
    render.write_tables(by_set, tmp_path / "t.csv", tmp_path / "t.md")
    back = pd.read_csv(tmp_path / "t.csv", index_col=[0, 1])
    for t in sets:
        np.testing.assert_array_equal(back.loc[t].to_numpy(), by_set[t].to_numpy())
    md = (tmp_path / "t.md").read_text(encoding="utf-8")
    for t in sets:
        assert f"## Test set {t}\n\n{render.table_markdown(by_set[t])}" in md
    # a lone table keeps write_table's CSV, and its Markdown still names the title and the set
    render.write_tables({sets[0]: by_set[sets[0]]}, tmp_path / "1.csv", tmp_path / "1.md", "T")
    assert (tmp_path / "1.csv").read_bytes() == _csv_bytes(by_set[sets[0]], tmp_path)
    md = (tmp_path / "1.md").read_text()
    assert md == f"# T\n\n## Test set {sets[0]}\n\n{render.table_markdown(by_set[sets[0]])}"


def _csv_bytes(table: pd.DataFrame, tmp_path: Path) -> bytes:
    render.write_table(table, tmp_path / "alone.csv", tmp_path / "alone.md")
    return (tmp_path / "alone.csv").read_bytes()


def test_criteria_rows_follow_the_given_order(results):
    table = tables.criteria_table(results, test_set="Urban100", order=["loss", "grad"])
    plain = [label for label in table.index if not label.endswith("+")]
    assert plain[:2] == ["Loss", "Grad"]


def test_figures_are_named_by_the_target_that_shows_them():
    config = {
        "experiments": {"criteria": {"task": "sr"}, "dn": {"task": "denoise"}, "x": {}},
        "targets": {"fig8": {"experiment": "x", "show": "psnr_vs_k"}},
    }
    assert report.figure_label(config, "x", "psnr_vs_k", "Fig. 6") == "Fig. 8"
    assert report.figure_label(config, "dn", "psnr_vs_k", "Fig. 6") == "Fig. 9"
    assert report.figure_label(config, "criteria", "psnr_vs_k", "Fig. 6") == "Fig. 6"


# --- plot_psnr_vs_k -------------------------------------------------------------------------

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_plot_data_and_best_markers(results, tmp_path):
    png, pdf = tmp_path / "fig6.png", tmp_path / "fig6.pdf"
    data = figures.plot_psnr_vs_k(results, png, pdf, test_set="Urban100", title="Fig. 6")
    assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 1000
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert Image.open(png).width <= figures.MAX_PNG_WIDTH  # fits the HTML report's pane
    assert len(data) == len(CRITS) * 2 * len(KS)
    for row in data.itertuples():
        assert row.psnr == pytest.approx(base(row.criterion, row.augment, row.k), abs=1e-9)
        assert row.n_seeds == len(SEED_OFFSETS)
    for (crit, augment), curve in data.groupby(["criterion", "augment"]):
        expected_best = max(KS, key=lambda k, c=crit, a=augment: base(c, a, k))
        assert curve.loc[curve["is_best"], "k"].tolist() == [expected_best]
        assert set(curve["linestyle"]) == {"-" if augment else "--"}
    colors = data.groupby("criterion")["color"].unique()
    assert all(len(c) == 1 for c in colors)  # same colour with and without augmentation
    assert len({c[0] for c in colors}) == len(CRITS)  # and a different one per criterion


def test_plot_k_min_and_metric(results, tmp_path):
    data = figures.plot_psnr_vs_k(
        results, tmp_path / "zoom.png", test_set="Set5", k_min=1500, metric="ssim"
    )
    assert sorted(data["k"].unique()) == [1500, 10_000, 151_300]
    rand = data[(data["criterion"] == "rand") & data["augment"]]
    # rand peaks at 250, which is cut away: its best is now the smallest K kept
    assert rand.loc[rand["is_best"], "k"].tolist() == [1500]
    assert rand["ssim"].max() == pytest.approx(base("rand", True, 1500, "Set5") / 40.0)


# --- plot_histograms ------------------------------------------------------------------------


def test_histograms(tmp_path):
    rng = np.random.default_rng(0)
    n = 1234
    scores = {
        "loss": rng.exponential(1.0, n),
        "grad": rng.gamma(2.0, 1.0, n),
        "std": rng.uniform(0.0, 1.0, n),
        "freq": np.append(rng.normal(5.0, 1.0, n - 1), np.nan),
    }
    png = tmp_path / "hist.png"
    drawn = figures.plot_histograms(scores, png, bins=37)
    assert png.read_bytes()[:8] == PNG_MAGIC
    assert list(drawn) == ["grad", "std", "freq", "loss", "sqrt(loss)"]
    for name, (counts, edges) in drawn.items():
        assert len(counts) == 37 and len(edges) == 38
        assert counts.sum() == (n - 1 if name == "freq" else n)
    loss_edges = drawn["sqrt(loss)"][1]
    assert loss_edges[0] == pytest.approx(np.sqrt(scores["loss"].min()))
    assert loss_edges[-1] == pytest.approx(np.sqrt(scores["loss"].max()))
    without_loss = figures.plot_histograms({"grad": scores["grad"]}, tmp_path / "g.png", bins=5)
    assert list(without_loss) == ["grad"]


# --- figures: what is drawn equals what the tables say ---------------------------------------


def artists(fig, kind: str) -> dict:
    """Lines of a figure by gid "<kind>|<label>|<panel>" -> (label, panel) -> (x, y)."""
    out = {}
    for ax in fig.axes:
        for line in ax.lines:
            gid = line.get_gid() or ""
            if gid.startswith(kind + "|"):
                _, label, panel = gid.split("|")
                out[label, int(panel)] = (
                    np.asarray(line.get_xdata(), dtype=float),
                    np.asarray(line.get_ydata(), dtype=float),
                )
    return out


def test_fig6_curves_are_the_table_rows(results):
    table = tables.criteria_table(results, test_set="Urban100")
    fig, data = figures.psnr_vs_k_figure(results, test_set="Urban100")
    curves, best = artists(fig, "curve"), artists(fig, "best")
    assert {label for label, _ in curves} == set(table.index)
    for label, row in table.iterrows():
        x, y = curves[label, 0]
        np.testing.assert_array_equal(x, table.attrs["k"])
        np.testing.assert_allclose(y, row.to_numpy(), rtol=0, atol=1e-12)
        bx, by = best[label, 0]  # the triangle sits on the row's maximum
        assert bx.tolist() == [table.attrs["k"][int(np.argmax(row.to_numpy()))]]
        assert by[0] == pytest.approx(row.max())
    assert fig.axes[0].get_ylabel() == "PSNR (dB)"
    assert fig.axes[0].get_xlabel() == "Number of patches"
    legend = [t.get_text() for t in fig.axes[-1].get_legend().get_texts()]
    assert "best of each curve (outline: without)" in legend and "Grad+" in legend
    assert data.attrs["missing"] == []
    # two curves' bests at one K stay apart: filled with augmentation, an outline without
    for line in fig.axes[0].lines:
        if (line.get_gid() or "").startswith("best|"):
            label = line.get_gid().split("|")[1]
            hollow = line.get_markerfacecolor() == "none"
            assert hollow == (not label.endswith("+")), label


def test_fig6_zoom_panel(results):
    fig, data = figures.psnr_vs_k_figure(results, test_set="Urban100", zoom_k_min=10_000)
    assert len(fig.axes) == 2
    assert fig.axes[1].get_title().startswith("(b)") and "10K" in fig.axes[1].get_title()
    curves, best = artists(fig, "curve"), artists(fig, "best")
    for (_label, panel), (x, _) in curves.items():
        assert (x >= 10_000).all() if panel == 1 else len(x) == len(KS)
    # the zoomed panel marks the best of the whole curve when it lies in the zoomed range
    for label in {lab for lab, _ in curves}:
        full = best[label, 0]
        if full[0][0] >= 10_000:
            assert best[label, 1][0].tolist() == full[0].tolist()
        else:
            assert (label, 1) not in best
    # without K above the threshold there is no second panel
    fig, _ = figures.psnr_vs_k_figure(results, test_set="Urban100", zoom_k_min=10**7)
    assert len(fig.axes) == 1


def test_fig6_reference_is_a_line_in_range_and_a_legend_entry_off_the_axis(results):
    """Bicubic on Urban100 lies 5 dB below the networks: drawn there, it would squeeze every
    curve into a band, so off the axis it is only named."""
    psnr = tables.select_test_set(results, "Urban100", "psnr")["psnr"]
    middle = float(psnr.mean())
    fig, _ = figures.psnr_vs_k_figure(
        results, test_set="Urban100", reference=("bicubic x2", middle)
    )
    _, y = _reference(fig, 0)
    assert set(y) == {middle}
    legend = [t.get_text() for t in fig.axes[-1].get_legend().get_texts()]
    assert f"bicubic x2: {middle:.2f} dB" in legend
    far = float(psnr.min()) - 5
    fig, _ = figures.psnr_vs_k_figure(results, test_set="Urban100", reference=("bicubic x2", far))
    lo, hi = fig.axes[0].get_ylim()
    assert lo > far and hi - lo < 5  # the curves keep their own range
    assert len(_reference(fig, 0)[1]) == 0  # nothing drawn, only named
    legend = [t.get_text() for t in fig.axes[-1].get_legend().get_texts()]
    assert f"bicubic x2: {far:.2f} dB (below the axis)" in legend
    high = float(psnr.max()) + 5
    fig, _ = figures.psnr_vs_k_figure(results, test_set="Urban100", reference=("bicubic", high))
    legend = [t.get_text() for t in fig.axes[-1].get_legend().get_texts()]
    assert f"bicubic: {high:.2f} dB (above the axis)" in legend
    # just outside the curves' range, within a tenth of it: drawn (the axis makes room)
    plain, _ = figures.psnr_vs_k_figure(results, test_set="Urban100")
    lo, hi = plain.axes[0].get_ylim()
    near = lo - 0.05 * (hi - lo)
    fig, _ = figures.psnr_vs_k_figure(results, test_set="Urban100", reference=("bicubic", near))
    assert set(_reference(fig, 0)[1]) == {near}


def _reference(fig, panel: int):
    (line,) = [ln for ln in fig.axes[panel].lines if ln.get_gid() == f"reference|{panel}"]
    return np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)


SIZES = {"edsr_16": 1_369_859, "edsr_128": 9_595_011, "edsr_8": 43e6}  # names that hide size


def test_fig6_by_model_for_fig8():
    rows = [
        dict(model=m, criterion="grad", augment=True, k=k, k_label=str(k), seed=0,
             test_set="Urban100", psnr=30 + i + k / 1e5, ssim=0.9)
        for i, m in enumerate(["edsr_8", "edsr_16", "edsr_128"])
        for k in (60_000, 70_000, 80_000)
    ]  # fmt: skip
    fig, data = figures.psnr_vs_k_figure(pd.DataFrame(rows))
    labels = sorted(data["label"].unique())
    assert all(lab.startswith("edsr_") for lab in labels) and len(labels) == 3
    # the legend lists models by size, their numbers read as numbers (not "edsr_128" first)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    models = [lab.split(" / ")[0] for lab in legend if lab.startswith("edsr_")]
    assert models == ["edsr_8", "edsr_16", "edsr_128"]
    # with parameter counts (the workflow's long table has them), by size as Table III lists them
    sized = pd.DataFrame(rows).assign(params=lambda f: f["model"].map(SIZES))
    fig, _ = figures.psnr_vs_k_figure(sized)
    legend = [t.get_text().split(" / ")[0] for t in fig.axes[0].get_legend().get_texts()]
    assert legend[:3] == ["edsr_16", "edsr_128", "edsr_8"]
    assert list(tables.params_table(sized).index) == ["1.37 M", "9.6 M", "43 M"]
    assert list(tables.params_table(pd.DataFrame(rows)).index) == ["edsr_8", "edsr_16", "edsr_128"]
    by_size = ["edsr_16 / Grad+", "edsr_128 / Grad+", "edsr_8 / Grad+"]
    assert list(tables.criteria_table(sized).index) == by_size  # every table, not Table III only
    assert data.groupby("label")["color"].nunique().eq(1).all()
    assert data["color"].nunique() == 3


def test_names_sort_with_their_numbers_read_as_numbers():
    assert sorted(["edsr_16", "edsr_8", "edsr_128"], key=natural_key) == [
        "edsr_8",
        "edsr_16",
        "edsr_128",
    ]
    fractions = ["0.5 of the store", "0.125 of the store", "0.25 of the store"]  # K as fractions
    assert [f.split()[0] for f in sorted(fractions, key=natural_key)] == ["0.125", "0.25", "0.5"]
    assert sorted(["x8", "x08"], key=natural_key) == sorted(["x08", "x8"], key=natural_key)
    assert sorted(["a1²", "a1"], key=natural_key) == ["a1", "a1²"]  # a digit \d does not read


def test_fig6_with_models_and_criteria_keeps_every_curve_apart():
    """Colour by criterion (as in every figure), a marker per model: no two curves look alike."""
    rows = [
        dict(model=m, criterion=c, augment=True, k=k, k_label=str(k), seed=0,
             test_set="Urban100", psnr=30 + i + j / 10 + k / 1e5, ssim=0.9)
        for i, m in enumerate(["edsr_8", "edsr_16"])
        for j, c in enumerate(["grad", "std", "rand"])
        for k in (60_000, 70_000)
    ]  # fmt: skip
    fig, data = figures.psnr_vs_k_figure(pd.DataFrame(rows))
    looks = data.groupby("label")[["color", "linestyle", "marker"]].first()
    assert len(looks) == 6 and not looks.duplicated().any()
    assert data.groupby("criterion")["color"].nunique().eq(1).all()
    assert data.groupby("model")["marker"].nunique().eq(1).all()
    drawn = {line.get_gid(): line.get_marker() for line in fig.axes[0].get_lines()}
    for label, look in looks.iterrows():
        assert drawn[f"curve|{label}|0"] == look["marker"]
    one_model = pd.DataFrame(rows).query("model == 'edsr_8'")
    assert set(figures.psnr_vs_k_figure(one_model)[1]["marker"]) == {"o"}


# --- partial data ---------------------------------------------------------------------------


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


# --- Fig. 5 ---------------------------------------------------------------------------------


def test_fig5_gain_is_table_difference(results):
    results = results.copy()  # make the gain depend on K, so each curve has one best point
    results.loc[results["augment"], "psnr"] += np.log10(results["k"]) * results["k"] / 1e6
    table = tables.criteria_table(results, test_set="Urban100")
    fig, data = figures.aug_gain_figure(results, test_set="Urban100")
    curves, best = artists(fig, "curve"), artists(fig, "best")
    for crit in CRITS:
        label = crit.capitalize()
        gain = table.loc[label + "+"].to_numpy() - table.loc[label].to_numpy()
        x, y = curves[label, 0]
        np.testing.assert_array_equal(x, KS)
        np.testing.assert_allclose(y, gain, atol=1e-12)
        assert best[label, 0][0].tolist() == [KS[int(np.argmax(gain))]]
    expected_gain = 0.5 + np.log10(data["k"]) * data["k"] / 1e6  # base() adds 0.5 dB with aug
    np.testing.assert_allclose(data["gain"], expected_gain, atol=1e-9)
    assert fig.axes[0].get_ylabel() == "PSNR gain from augmentation (dB)"
    with pytest.raises(ValueError, match="with and without"):
        figures.aug_gain_figure(results[results["augment"]], test_set="Urban100")


# --- Fig. 4 ---------------------------------------------------------------------------------


def training_logs():
    """Loss-criterion runs: val PSNR rises then falls, peaking later with more patches."""
    logs = []
    for aug, k, seed in product(("noaug", "aug"), (10_000, 50_000, 150_000), (0, 1)):
        its = np.arange(1, 11) * 1000
        peak = 3000 + k / 25
        val = 30 - ((its - peak) / 4000) ** 2 + (0.5 if aug == "aug" else 0) + 0.1 * seed
        meta = {"criterion": "loss", "k": str(k), "k_count": k, "aug": aug, "seed": seed,
                "model": "edsr", "stride": 120}  # fmt: skip
        logs.append((meta, pd.DataFrame({"iteration": its, "val_psnr": val})))
    grad = ({**logs[0][0], "criterion": "grad"}, logs[0][1])
    return logs + [grad]


def test_fig4_convergence_curves():
    logs = training_logs()
    fig, data = figures.convergence_figure(logs, val_set="DIV2K-val")
    assert data.attrs["criterion"] == "loss"  # as in the paper, when the runs have it
    assert [ax.get_title() for ax in fig.axes] == [
        "(a) without augmentation", "(b) with augmentation"
    ]  # fmt: skip
    assert fig.axes[0].get_ylabel() == "Validation PSNR on DIV2K-val (dB)"
    curves, best = artists(fig, "curve"), artists(fig, "best")
    assert len(curves) == 6
    for meta, log in logs[:-1]:
        if meta["seed"]:
            continue
        panel = int(meta["aug"] == "aug")
        label = f"K = {format_k(meta['k_count'])}"
        x, y = curves[label, panel]
        np.testing.assert_array_equal(x, log["iteration"])
        np.testing.assert_allclose(y, log["val_psnr"] + 0.05)  # mean of seeds 0 and 1
        assert best[label, panel][0][0] == x[np.argmax(y)]
    lines = {ln.get_gid(): ln for ln in fig.axes[0].lines}
    few = lines["curve|K = 10K|0"].get_color()
    many = lines["curve|K = 150K|0"].get_color()
    assert few[1] > few[2] and many[2] > many[1]  # green for few patches, blue for many
    grad = figures.convergence_figure(logs, criterion="grad")[1]
    assert grad["label"].unique().tolist() == ["K = 10K"]


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


# --- Fig. 7 ---------------------------------------------------------------------------------


def test_fig7_prints_numpys_correlation():
    rng = np.random.default_rng(1)
    a = rng.gamma(0.6, 0.01, 20_000)
    b = 1.2 * a + rng.normal(0, 0.004, a.size)
    b[7] = np.nan  # a patch without a score is left out of both
    keep = np.isfinite(b)
    rho = np.corrcoef(a[keep], b[keep])[0, 1]
    fig, info = figures.correlation_figure(a, b, xlabel="SR x2 loss (MSE)", ylabel="SR x3 loss")
    assert info["rho"] == pytest.approx(rho, abs=1e-12) and info["n"] == a.size - 1
    printed = [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "rho"]
    assert printed and printed[0].splitlines()[0] == f"ρ = {rho:.4f}"
    assert float(printed[0].splitlines()[0].split("=")[1]) == pytest.approx(rho, abs=5e-5)
    # many patches: a density (hexbin, log colour scale), not 20,000 markers
    assert info["mode"] == "hexbin"
    density = [c for c in fig.axes[0].collections if c.get_gid() == "density"]
    assert density and density[0].norm.__class__.__name__ == "LogNorm"
    assert density[0].get_array().sum() == a.size - 1  # every patch counted once
    small_fig, small = figures.correlation_figure(a[:300], b[:300])
    assert small["mode"] == "scatter"
    assert small["rho"] == pytest.approx(
        np.corrcoef(a[:300][keep[:300]], b[:300][keep[:300]])[0, 1]
    )
    with pytest.raises(ValueError, match="differ in length"):
        figures.correlation_figure(a, b[:-1])


def test_fig7_saves_png_and_pdf(tmp_path):
    rng = np.random.default_rng(2)
    a = rng.random(500)
    info = figures.plot_correlation(
        a, a + rng.random(500), tmp_path / "f7.png", tmp_path / "f7.pdf"
    )
    assert (tmp_path / "f7.png").read_bytes()[:8] == PNG_MAGIC
    assert (tmp_path / "f7.pdf").read_bytes()[:5] == b"%PDF-"
    assert 0 < info["rho"] < 1


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


def test_write_table_html_page(results, tmp_path):
    table = tables.criteria_table(results, test_set="Urban100")
    render.write_table(table, tmp_path / "t.csv", tmp_path / "t.md", html_path=tmp_path / "t.html",
                       title="Table I")  # fmt: skip
    page = (tmp_path / "t.html").read_text()
    assert page.startswith("<!doctype html>") and "<h1>Table I</h1>" in page
    best = table["10K"].idxmax()
    assert f"<td class='best'>{table.loc[best, '10K']:.2f}</td>" in page


def test_model_columns():
    res = pd.DataFrame({"model": ["base", "big"], "task": ["sr_x2", "sr_x2"]})
    models = {"base": {"arch": "edsr", "blocks": 16, "channels": 64}, "big": {"arch": "edsr",
              "blocks": 128, "channels": 64}}  # fmt: skip
    out = add_model_columns(res, models)
    assert out["params"].tolist()[0] == 1_369_859  # the EDSR baseline at x2
    assert format_params(out["params"].iloc[1]) == "9.64 M"  # the paper rounds: 9.6 M
    assert out["blocks"].tolist() == [16, 128]


# --- the report rules' target lists ---------------------------------------------------------


@pytest.fixture
def tiny_config():
    import yaml
    from snakemake.utils import validate

    root = Path(__file__).resolve().parents[1]
    config = yaml.safe_load((root / "tests" / "data" / "tiny_config.yaml").read_text())
    validate(config, str(root / "schemas" / "config.schema.yaml"))
    return config


def test_report_targets(tiny_config):
    targets = report.report_targets(tiny_config)
    assert "results/report/config.html" in targets
    for name in ("tiny.csv", "tiny.md", "tiny.html", "tiny_runs.csv", "tiny_vs_paper.md"):
        assert f"results/tables/{name}" in targets
    for name in ("psnr_vs_k", "convergence", "histograms", "aug_gain"):
        assert f"results/figures/tiny_{name}.png" in targets
    assert "results/report/stores/tiny_train_p32_s64.html" in targets
    assert {f"results/report/datasets/{d}.html" for d in ("tiny_val", "tiny_test")} <= set(targets)
    # a training set is never ingested as PNGs just for a page: its store page describes it
    assert "results/report/datasets/tiny_train.html" not in targets
    assert not any(t.endswith(("_strides.md", "_params.md", "_benchmarks.md")) for t in targets)
    tiny_config["experiments"]["tiny"]["test"] = ["tiny_test", "tiny_val"]
    assert "results/tables/tiny_benchmarks.md" in report.report_targets(tiny_config)


def test_allow_partial_lists_only_finished_runs(tiny_config, tmp_path):
    tiny_config["results"] = str(tmp_path)
    every = report.report_runs(tiny_config, "tiny")
    assert report.report_runs(tiny_config, "tiny", allow_partial=False) == every
    assert report.report_runs(tiny_config, "tiny", allow_partial=True) == []
    done = every[3]
    for f in report.run_files(tiny_config, done, ["tiny_test"]):
        Path(f).parent.mkdir(parents=True, exist_ok=True)
        Path(f).write_text("x")
    assert report.report_runs(tiny_config, "tiny", allow_partial=True) == [done]
    evals = report.report_inputs(tiny_config, "tiny", "evals", allow_partial=True)
    assert evals == [f"{tmp_path}/runs/{done.path}/eval/tiny_test.csv"]
    assert len(report.report_inputs(tiny_config, "tiny", "meta")) == len(every)
    assert len(report.expected_runs(tiny_config, "tiny")) == len(every)


def test_expected_points_carry_each_models_size(tiny_config, tmp_path):
    """So that a model with no finished run yet still sorts by its size in a partial figure."""
    tiny_config["models"]["deeper"] = {"arch": "edsr", "blocks": 4, "channels": 8}
    tiny_config["experiments"]["tiny"]["models"] = ["deeper", "tiny"]
    (tmp_path / "runs.csv").write_text("")
    _, _, expected = report.experiment_results(tiny_config, "tiny", tmp_path / "runs.csv")
    sizes = expected.groupby("model")["params"].first()
    assert sizes["deeper"] > sizes["tiny"] > 0


def test_fig4_waits_for_its_criterions_runs_and_not_their_test_scores(tiny_config, tmp_path):
    tiny_config["results"] = str(tmp_path)
    assert report.convergence_criterion(tiny_config, "tiny") == "loss"  # as in the paper
    loss = report.report_runs(tiny_config, "tiny", criterion="loss")
    assert loss and {r.criterion for r in loss} == {"loss"}
    assert len(loss) < len(report.report_runs(tiny_config, "tiny"))
    trained = loss[0]  # trained, not yet evaluated
    for f in report.run_files(tiny_config, trained, ["tiny_test"], ["meta", "logs"]):
        Path(f).parent.mkdir(parents=True, exist_ok=True)
        Path(f).write_text("x")
    reads = ("meta", "logs")
    logs = report.report_inputs(tiny_config, "tiny", "logs", True, reads, "loss")
    assert logs == [f"{tmp_path}/runs/{trained.path}/train_log.csv"]
    assert report.report_inputs(tiny_config, "tiny", "meta", True, ("meta", "evals")) == []


def test_partial_inputs_only_for_named_targets():
    assert report.partial_inputs(True, {"table1"})
    assert report.partial_inputs(True, {"results/tables/tiny.md"})
    assert not report.partial_inputs(True, set())  # the default target: every run is trained
    assert not report.partial_inputs(True, {"all", "table1"})
    assert not report.partial_inputs(False, {"table1"})
    # a job's own process on a cluster node has no targets: it lists what exists, as asked
    assert report.partial_inputs(True, set(), main_process=False)
    assert not report.partial_inputs(False, set(), main_process=False)


def test_code_spans_of_messages_become_code_in_html():
    frame = pd.DataFrame({"Ours from": ["no published model here (a `published_models` entry)"]})
    html_text = render.frame_html(frame)
    assert "<code>published_models</code>" in html_text and "`" not in html_text
    escaped = render.frame_html(pd.DataFrame({"a": ["<b>`x`</b> & `y"]}))
    assert "&lt;b&gt;<code>x</code>&lt;/b&gt; &amp; `y" in escaped  # still escaped; a lone ` kept


def test_each_number_of_patches_drawn_gets_its_tick(results):
    fig, _ = figures.psnr_vs_k_figure(results, test_set="Urban100")
    ticks = fig.axes[0].get_xticks()
    assert sorted(ticks) == sorted(KS)
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == [format_k(k) for k in sorted(KS)]


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


def test_the_whole_store_read_back_from_a_runs_csv_is_still_the_whole_store(tmp_path):
    """T7: K labels "1.0" (the whole store), "0.5" and the count "1" (one patch) come back from
    CSV as the labels they were: 1.0 stays the fraction, 1 stays a count of one patch."""
    rows = [
        dict(criterion="grad", aug="aug", k_label=lab, k=k, n_store=1000, seed=0,
             test_set="T", psnr=30.0 + k / 1000)
        for lab, k in (("1.0", 1000), ("0.5", 500), ("1", 1))
    ]  # fmt: skip
    pd.DataFrame(rows).to_csv(tmp_path / "runs.csv", index=False)
    back = report.read_runs(tmp_path / "runs.csv")
    assert tables.normalise(back)["k_label"].tolist() == ["1.0", "0.5", "1"]
    labels = ("1", "0.5", "1.0")
    runs = [{"criterion": "grad", "k": lab, "aug": "aug", "seed": 0} for lab in labels]
    expected = tables.expected_points(runs, ["T"], back)
    assert expected["k"].tolist() == [1, 500, 1000]
    table = tables.criteria_table(back, expected=expected)
    assert list(table.columns) == ["1", "500", "1K"] and table.attrs["missing"] == []


def test_names_that_look_like_numbers_stay_text_in_a_runs_csv(tmp_path):
    """A dataset or test set named "2024" or "01" reads back as that name, not as 2024.0/1."""
    names = dict(dataset="01", test_set="2024", k_label="10", model="007", recipe="1e3",
                 criterion="1", task="2")  # fmt: skip
    pd.DataFrame([dict(names, psnr=30.0)]).to_csv(tmp_path / "runs.csv", index=False)
    back = report.read_runs(tmp_path / "runs.csv")
    assert back.loc[0, list(names)].tolist() == list(names.values())


def test_a_point_without_a_finite_score_is_still_missing():
    """T8: a run whose evaluation gave no finite PSNR has not delivered its point."""
    results, expected = _complete(seeds=(0,))
    results.loc[0, "psnr"] = np.nan
    missing = tables.missing_points(results, expected)
    assert len(missing) == 1
    assert missing.iloc[0][["criterion", "k"]].tolist() == [results.loc[0, "criterion"], 1000]


def test_html_tables_show_a_dash_for_a_cell_still_to_come():
    """R4: the HTML table says "–" where the Markdown does, not an empty cell."""
    table = pd.DataFrame({"10K": [np.nan, 31.0]}, index=pd.Index(["Grad", "Rand"], name="C"))
    assert "<td class='missing'>–</td>" in render.table_html(table)
    assert "| Grad | – |" in render.table_markdown(table)


def test_notes_list_the_missing_k_in_increasing_order():
    """T9: the note's K follow the axis (sorted by count), whatever order they were found in."""
    ks = [90_000, 5_000, 70_000, 1_000, 30_000, 150_000, 20_000, 60_000]
    missing = pd.DataFrame([dict(criterion="grad", augment=True, k=k, k_label=str(k)) for k in ks])
    text = tables.describe_missing(missing)["Grad+"]
    assert text == "1K, 5K, 20K, 30K, 60K, 70K, 90K, 150K"


def test_no_augmentation_gain_figure_without_both_settings():
    """RP2: Fig. 5 needs runs with and without augmentation; an experiment of one setting must
    not ask for it (it could not be drawn: aug_gain_figure refuses)."""
    config = _config()
    config["experiments"]["demo"]["augment"] = [True]
    products = report.experiment_products(config, "demo")
    assert not any(p.endswith("_aug_gain.png") for p in products)
    results = pd.DataFrame(
        [dict(criterion="grad", augment=True, k=k, seed=0, test_set="T", psnr=30.0)
         for k in (10, 20)]
    )  # fmt: skip
    with pytest.raises(ValueError, match="with and without"):
        figures.aug_gain_figure(results)


def test_the_grid_signature_changes_with_the_test_sets():
    """RP3: the signature names the grid's runs *and* test sets (its docstring)."""
    config = _config()
    before = report.grid_signature(config, "demo")
    config["experiments"]["demo"]["test"] = ["demo_val"]  # as many sets, another one
    assert report.grid_signature(config, "demo") != before


def test_a_runs_metric_is_the_mean_over_its_test_images(tmp_path):
    """RS1: the literature reports the mean PSNR/SSIM over a test set's images."""
    run = tmp_path / "run"
    (run / "eval").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"criterion": "grad", "k": "0.5", "k_count": 7,
                                              "aug": "aug", "seed": 0}))  # fmt: skip
    per_image = {"image": ["a", "b", "c"], "psnr": [30.0, 31.0, 35.0], "ssim": [0.80, 0.90, 0.94]}
    pd.DataFrame(per_image).to_csv(run / "eval" / "Set5.csv", index=False)
    out = collect_results([run / "run.json"], [run / "eval" / "Set5.csv"])
    row = out.iloc[0]
    assert row["psnr"] == pytest.approx(32.0) and row["ssim"] == pytest.approx(0.88)
    assert row["k"] == 7 and row["k_label"] == "0.5" and row["images"] == 3


def test_fig4_two_models_curves_of_one_k_differ_in_line_style():
    """Colour says K; a second model's curves must not be drawn exactly like the first's."""
    logs = [
        ({**meta, "model": model}, log)
        for model in ("small", "large")
        for meta, log in training_logs()[:6]
        if meta["seed"] == 0
    ]
    fig, data = figures.convergence_figure(logs)
    lines = {ln.get_gid(): ln for ax in fig.axes for ln in ax.lines}
    for k in ("10K", "50K", "150K"):
        small, large = lines[f"curve|small / K = {k}|0"], lines[f"curve|large / K = {k}|0"]
        assert small.get_color() == large.get_color()
        assert small.get_linestyle() != large.get_linestyle()
    assert data.groupby("label")["linestyle"].nunique().eq(1).all()
    one_model = figures.convergence_figure(training_logs())[1]
    assert set(one_model["linestyle"]) == {"-"}


def test_fig4_curves_are_the_mean_over_three_seeds():
    """F2: seeds at +0, +0 and +0.3 dB: the curve is 0.1 dB above seed 0 (the median: 0)."""
    its = np.arange(1, 6) * 100
    logs = []
    for seed, off in enumerate((0.0, 0.0, 0.3)):
        meta = {"criterion": "loss", "k": "1000", "k_count": 1000, "aug": "aug", "seed": seed}
        logs.append((meta, pd.DataFrame({"iteration": its, "val_psnr": 30.0 + its / 1e3 + off})))
    _, data = figures.convergence_figure(logs)
    np.testing.assert_allclose(data["val_psnr"], 30.1 + its / 1e3)
    assert (data["n_seeds"] == 3).all()


def _config():
    import yaml
    from snakemake.utils import validate

    root = Path(__file__).resolve().parents[1]
    config = yaml.safe_load((root / "config.yaml").read_text())
    validate(config, str(root / "schemas" / "config.schema.yaml"))
    return config
