"""Tests of patchmine.report on synthetic results whose means are known in closed form."""

from itertools import product

import numpy as np
import pandas as pd
import pytest

from patchmine import report

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
    assert report.format_k(k) == label


def test_format_k_labels_are_unique():
    ks = list(range(0, 3000)) + list(range(150_000, 152_000)) + [999_999, 1_000_000, 1_000_001]
    assert len({report.format_k(k) for k in ks}) == len(ks)


# --- criteria_table -------------------------------------------------------------------------


def test_table_values_are_seed_means(results):
    table = report.criteria_table(results, test_set="Urban100")
    for crit, augment, k in product(CRITS, (False, True), KS):
        cell = table.loc[report.row_label(crit, augment), report.format_k(k)]
        assert cell == pytest.approx(base(crit, augment, k), abs=1e-9)


def test_table_order(results):
    table = report.criteria_table(results, test_set="Urban100")
    assert list(table.index) == ["Grad", "Std", "Loss", "Rand", "Grad+", "Std+", "Loss+", "Rand+"]
    assert list(table.columns) == ["250", "1.5K", "10K", "151.3K"]
    assert table.attrs["k"] == list(KS)
    custom = report.criteria_table(results, test_set="Urban100", order=("loss", "grad"))
    # criteria missing from `order` follow, sorted, rather than vanish
    assert list(custom.index)[:4] == ["Loss", "Grad", "Rand", "Std"]


def test_table_test_set_and_metric(results):
    set5 = report.criteria_table(results, test_set="Set5")
    assert set5.loc["Grad+", "10K"] == pytest.approx(base("grad", True, 10_000, "Set5"))
    ssim = report.criteria_table(results, test_set="Urban100", metric="ssim")
    assert ssim.loc["Loss", "250"] == pytest.approx(base("loss", False, 250) / 40.0)
    with pytest.raises(ValueError, match="test sets"):
        report.criteria_table(results)  # two test sets: ambiguous
    with pytest.raises(ValueError, match="metric"):
        report.criteria_table(results, test_set="Set5", metric="lpips")
    with pytest.raises(ValueError, match="B100"):
        report.criteria_table(results, test_set="B100")
    only = results[results["test_set"] == "Set5"]
    pd.testing.assert_frame_equal(report.criteria_table(only), set5)


def test_table_missing_cell_is_nan_and_dash(results):
    drop = (results["criterion"] == "rand") & (results["k"] == 10_000) & ~results["augment"]
    table = report.criteria_table(results[~drop], test_set="Urban100")
    assert np.isnan(table.loc["Rand", "10K"])
    assert table.loc["Rand+", "10K"] == pytest.approx(base("rand", True, 10_000))
    _, labels, cells = parse_markdown(report.table_markdown(table))
    assert cells[labels.index("Rand")][list(table.columns).index("10K")] == "–"


# --- table_markdown -------------------------------------------------------------------------


def test_bold_cells_are_column_maxima(results):
    table = report.criteria_table(results, test_set="Urban100")
    header, labels, cells = parse_markdown(report.table_markdown(table, decimals=3))
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
    _, _, cells = parse_markdown(report.table_markdown(table))
    assert [row[0] for row in cells] == ["**32.07**", "**32.07**", "31.00"]
    assert [row[1] for row in cells] == ["32.07", "**32.08**", "30.00"]
    assert [row[2] for row in cells] == ["1.00", "**2.00**", "**2.00**"]


def test_best_mask_ignores_missing_cells():
    table = pd.DataFrame({"10K": [np.nan, 1.0], "20K": [np.nan, np.nan]}, index=["Grad", "Loss"])
    mask = report.best_mask(table)
    assert mask.to_numpy().tolist() == [[False, False], [True, False]]


def test_write_table_round_trips(results, tmp_path):
    table = report.criteria_table(results, test_set="Urban100")
    csv, md = tmp_path / "sub" / "t.csv", tmp_path / "t.md"
    report.write_table(table, csv, md)
    back = pd.read_csv(csv, index_col=0)
    np.testing.assert_array_equal(back.to_numpy(), table.to_numpy())  # full precision
    assert list(back.columns) == list(table.columns) and list(back.index) == list(table.index)
    assert md.read_text(encoding="utf-8") == report.table_markdown(table)


# --- plot_psnr_vs_k -------------------------------------------------------------------------

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_plot_data_and_best_markers(results, tmp_path):
    png, pdf = tmp_path / "fig6.png", tmp_path / "fig6.pdf"
    data = report.plot_psnr_vs_k(results, png, pdf, test_set="Urban100", title="Fig. 6")
    assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 1000
    assert pdf.read_bytes()[:5] == b"%PDF-"
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
    data = report.plot_psnr_vs_k(
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
    drawn = report.plot_histograms(scores, png, bins=37)
    assert png.read_bytes()[:8] == PNG_MAGIC
    assert list(drawn) == ["grad", "std", "freq", "loss", "sqrt(loss)"]
    for name, (counts, edges) in drawn.items():
        assert len(counts) == 37 and len(edges) == 38
        assert counts.sum() == (n - 1 if name == "freq" else n)
    loss_edges = drawn["sqrt(loss)"][1]
    assert loss_edges[0] == pytest.approx(np.sqrt(scores["loss"].min()))
    assert loss_edges[-1] == pytest.approx(np.sqrt(scores["loss"].max()))
    without_loss = report.plot_histograms({"grad": scores["grad"]}, tmp_path / "g.png", bins=5)
    assert list(without_loss) == ["grad"]
