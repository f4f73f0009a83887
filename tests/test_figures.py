"""Every figure (patchmine.figures), its drawn data read back from the figure's artists:
Fig. 6-style PSNR-vs-K curves and their best-point markers equal the tables' rows, Figs. 2-3
histograms, Fig. 5's augmentation gain, Fig. 4's convergence and Fig. 7's correlation."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from report_cases import CRITS, KS, SEED_OFFSETS, artists, base, training_logs

from patchmine import figures, tables
from patchmine.labels import format_k

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


def test_every_test_set_gets_a_row_of_its_own_in_the_same_colours(results):
    """An experiment scored on several sets draws each (the synthetic Set5 lies exactly 1 dB
    above Urban100), in the order asked, with each set's own reference and letters that run on."""
    means = {
        t: float(tables.select_test_set(results, t, "psnr")["psnr"].mean())
        for t in ("Set5", "Urban100")
    }
    fig, data = figures.psnr_vs_k_figure(
        results,
        test_set=["Set5", "Urban100"],
        zoom_k_min=1500,
        reference={t: ("bicubic", v) for t, v in means.items()},
    )
    assert [ax.get_title() for ax in fig.axes] == [
        "(a) Set5, all numbers of patches",
        "(b) Set5, zoomed: K ≥ 1.5K",
        "(c) Urban100, all numbers of patches",
        "(d) Urban100, zoomed: K ≥ 1.5K",
    ]
    curves = artists(fig, "curve")
    colors = {gid: ln.get_color() for ax in fig.axes for ln in ax.lines if (gid := ln.get_gid())}
    for label in {label for label, _ in curves}:
        for top, bottom in ((0, 2), (1, 3)):
            (x_top, y_top), (x_bottom, y_bottom) = curves[label, top], curves[label, bottom]
            assert x_top.tolist() == x_bottom.tolist()
            np.testing.assert_allclose(y_top, y_bottom + 1.0, atol=1e-9)
        assert colors[f"curve|{label}|0"] == colors[f"curve|{label}|2"]
    assert set(_reference(fig, 0)[1]) == {means["Set5"]}
    assert set(_reference(fig, 2)[1]) == {means["Urban100"]}
    for row in data.itertuples():
        assert row.psnr == pytest.approx(base(row.criterion, row.augment, row.k, row.test_set))
    assert data.groupby("test_set").size().to_dict() == {"Set5": 32, "Urban100": 32}


def test_panel_letters_run_on_as_spreadsheet_columns_do():
    """Rows of many test sets go past (z): every panel keeps a letter of its own, in order."""
    from patchmine.figures.rows import _letter

    letters = [_letter(p) for p in range(26 * 27 + 3)]
    assert letters[:3] == ["a", "b", "c"] and letters[25:28] == ["z", "aa", "ab"]
    assert letters[51:53] == ["az", "ba"] and letters[701:703] == ["zz", "aaa"]
    assert len(set(letters)) == len(letters)


def test_a_set_short_of_the_zoom_says_so_and_every_legend_lists_every_curve(results):
    """Big K are evaluated last: a set without them yet gets a zoom panel that says so, on the
    row's own PSNR range, and the legend (beside the zoomed panel) still lists the curves that
    stop below the zoom."""
    part = results[(results["test_set"] == "Set5") | (results["k"] < 10_000)]
    fig, _ = figures.psnr_vs_k_figure(part, test_set=["Set5", "Urban100"], zoom_k_min=10_000)
    empty = fig.axes[3]
    assert [t.get_text() for t in empty.texts] == [
        "No run with K ≥ 10K has finished on Urban100 yet."
    ]
    assert empty.get_ylim() == fig.axes[2].get_ylim()
    for ax in (fig.axes[1], fig.axes[3]):
        shown = [t.get_text() for t in ax.get_legend().get_texts()]
        assert {"Grad", "Grad+", "Rand", "Rand+"} <= set(shown)
    # one set: rand peaks at 250 and its curve is cut by the zoom, yet the legend names it
    small = results[
        (results["test_set"] == "Urban100")
        & ~((results["criterion"] == "rand") & (results["k"] >= 10_000))
    ]
    fig, _ = figures.psnr_vs_k_figure(small, test_set="Urban100", zoom_k_min=10_000)
    assert ("Rand+", 1) not in artists(fig, "curve")
    assert "Rand+" in [t.get_text() for t in fig.axes[1].get_legend().get_texts()]


def test_a_set_with_nothing_finished_keeps_its_row_and_its_notes_name_it(results):
    from test_partial_results import expected_for

    done = results[(results["test_set"] == "Set5") | (results["criterion"] != "std")]
    fig, data = figures.psnr_vs_k_figure(
        done[done["test_set"] == "Set5"],
        test_set=["Set5", "Urban100"],
        expected=expected_for(results),
    )
    assert [t.get_text() for t in fig.axes[1].texts] == ["No run has finished on Urban100 yet."]
    assert fig.axes[1].get_title() == "(b) Urban100"  # letters run on past an empty row
    assert set(data["test_set"]) == {"Set5"} and data.attrs["missing"] == []
    fig, data = figures.psnr_vs_k_figure(
        done, test_set=["Set5", "Urban100"], expected=expected_for(results)
    )
    assert data.attrs["missing"] == [
        "Urban100: Partial data - not finished yet, left out: Std: K = 250, 1.5K, 10K, 151.3K; "
        "Std+: K = 250, 1.5K, 10K, 151.3K."
    ]
    with pytest.raises(ValueError, match="nothing to plot"):
        figures.psnr_vs_k_figure(results.iloc[:0], test_set=["Set5", "Urban100"])


# --- plot_histograms (Figs. 2-3) ------------------------------------------------------------


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


# --- Fig. 6: what is drawn equals what the tables say ---------------------------------------


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


def test_each_number_of_patches_drawn_gets_its_tick(results):
    fig, _ = figures.psnr_vs_k_figure(results, test_set="Urban100")
    ticks = fig.axes[0].get_xticks()
    assert sorted(ticks) == sorted(KS)
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == [format_k(k) for k in sorted(KS)]


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


def test_fig5_draws_a_panel_per_test_set_and_says_which_has_no_gain_yet(results):
    """Set5 lies 1 dB above Urban100 with and without augmentation: the same gains, drawn
    twice in the same colours; a set where only augmented runs have finished says so."""
    fig, data = figures.aug_gain_figure(results, test_set=["Set5", "Urban100"], title="t")
    assert [ax.get_title() for ax in fig.axes] == ["(a) Set5", "(b) Urban100"]
    curves = artists(fig, "curve")
    for crit in CRITS:
        label = crit.capitalize()
        np.testing.assert_allclose(curves[label, 0][1], curves[label, 1][1], atol=1e-9)
        np.testing.assert_allclose(curves[label, 0][1], 0.5, atol=1e-9)
    assert data.groupby("test_set").size().to_dict() == {"Set5": 16, "Urban100": 16}
    only_aug = results[(results["test_set"] == "Set5") | results["augment"]]
    fig, data = figures.aug_gain_figure(only_aug, test_set=["Set5", "Urban100"])
    assert [t.get_text() for t in fig.axes[1].texts] == [
        "No K has runs both with and without augmentation on Urban100 yet."
    ]
    assert set(data["test_set"]) == {"Set5"}
    with pytest.raises(ValueError, match="with and without"):
        figures.aug_gain_figure(results[results["augment"]], test_set=["Set5", "Urban100"])


# --- Fig. 4 ---------------------------------------------------------------------------------


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
