"""The paper's published numbers (our own transcription) and their comparison with a run's."""

from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import PAPER, need

from patchmine import published
from patchmine.results import add_model_columns

TABLE_I_ROWS = ("Loss", "Grad", "Loss+", "Grad+")


@pytest.fixture(scope="module")
def paper() -> pd.DataFrame:
    return published.load_published()


def test_matches_the_shared_transcription_cell_by_cell(paper):
    shared = pd.read_csv(need(PAPER / "published_numbers.csv"), dtype=str, keep_default_na=False)
    ours = paper.set_index(["table", "row", "column"])
    theirs = shared.set_index(["table", "row", "column"])
    assert ours.index.is_unique and theirs.index.is_unique
    assert set(ours.index) == set(theirs.index)
    for key, cell in theirs.iterrows():
        mine = ours.loc[key]
        assert mine["value"] == float(cell["value"]), key
        if cell["ssim"]:
            assert mine["ssim"] == float(cell["ssim"]), key
        else:
            assert np.isnan(mine["ssim"]), key
        assert mine["note"] == cell["note"], key


def test_shape_of_the_published_tables(paper):
    assert tuple(paper.columns) == published.COLUMNS
    counts = paper.groupby("table").size().to_dict()
    assert counts == {"I": 20, "II": 6, "III": 4, "IV": 24, "Fig7": 2}
    table1 = paper[paper["table"] == "I"]
    assert sorted(table1["row"].unique()) == sorted(TABLE_I_ROWS)
    assert sorted(table1["column"].unique()) == ["10K", "20K", "30K", "40K", "50K"]
    # Table I as printed: Grad beats Loss by about 0.1 dB in every column (Sec. V-A5)
    wide = table1.pivot(index="row", columns="column", values="value")
    assert ((wide.loc["Grad"] - wide.loc["Loss"]).between(0.02, 0.16)).all()
    assert ((wide.loc["Grad+"] - wide.loc["Loss+"]).between(0.02, 0.16)).all()
    table4 = paper[paper["table"] == "IV"]
    assert table4["ssim"].notna().all() and table4["value"].between(31, 39).all()
    assert paper[paper["table"] != "IV"]["ssim"].isna().all()
    assert paper.loc[paper["table"] == "Fig7", "value"].tolist() == [0.9876, 0.9368]


def test_every_cell_cites_the_paper(paper):
    for cell in paper.to_dict("records"):
        assert cell["source"].startswith("arXiv 2207.01075, ")
        name = "Fig. 7" if cell["table"] == "Fig7" else f"Table {cell['table']} "
        assert name in cell["source"], cell
    sets = paper.set_index("table")["test_set"]
    assert (sets.loc[["I", "II", "III"]] == "Urban100").all()
    four = paper[paper["table"] == "IV"]
    assert (four["test_set"] == four["column"]).all()


def test_cell_match():
    m = published.cell_match(
        {"table": "I", "row": "Grad+", "column": "10K", "test_set": "Urban100"}
    )
    assert m.filters["criterion"] == "grad" and m.filters["augment"] is True
    assert m.filters["k"] == 10_000 and m.test_set == "Urban100"
    assert m.filters | published.BASELINE == m.filters and m.filters["stride"] == 120
    m = published.cell_match({"table": "II", "row": "stride 60", "column": "80K"})
    assert m.filters["stride"] == 60 and m.filters["k"] == 80_000
    m = published.cell_match({"table": "III", "row": "9.6M params", "column": "60K"})
    assert m.filters["blocks"] == 128
    m = published.cell_match({"table": "IV", "row": "CARN", "column": "Set5", "test_set": "Set5"})
    assert m.reference
    m = published.cell_match({"table": "IV", "row": "Ours (OISR-RK2-s)", "column": "Set5"})
    assert m.filters["arch"] == "oisr_rk2_s" and m.free_k and "k" not in m.filters
    assert published.parse_k("150K") == 150_000 and published.parse_k("1.5K") == 1500
    with pytest.raises(ValueError):
        published.parse_k("Set5")


def paper_grid(seeds=(0, 1)) -> pd.DataFrame:
    """A run of part of the paper's grid: Table I's criteria at 10K and 20K, Urban100 and
    B100, EDSR baseline; PSNR = published value + 0.1 dB + seed offset (mean: +0.1 dB)."""
    table1 = published.load_published().query("table == 'I'").set_index(["row", "column"])
    rows = []
    for row, k, test_set, seed in product(
        TABLE_I_ROWS, ("10K", "20K"), ("Urban100", "B100"), seeds
    ):
        psnr = table1.loc[(row, k), "value"] + 0.1 + (0.01 if seed else -0.01)
        rows.append(
            dict(task="sr_x2", model="edsr_baseline", arch="edsr", blocks=16, channels=64,
                 dataset="DIV2K", patch=96, stride=120, criterion=row.rstrip("+").lower(),
                 aug="aug" if row.endswith("+") else "noaug", k_label=str(published.parse_k(k)),
                 k=published.parse_k(k), seed=seed, recipe="paper", test_set=test_set,
                 psnr=psnr - (1.0 if test_set == "B100" else 0.0), ssim=0.9,
                 best_val_psnr=35.0 + published.parse_k(k) / 1e5)
        )  # fmt: skip
    return pd.DataFrame(rows)


def test_compare_lines_up_matching_cells():
    comparison = published.compare(paper_grid())
    table1 = comparison[comparison["table"] == "I"].set_index(["row", "column"])
    for row in TABLE_I_ROWS:
        for k in ("10K", "20K"):
            cell = table1.loc[(row, k)]
            assert cell["ours"] == pytest.approx(cell["paper"] + 0.1)
            assert cell["difference"] == pytest.approx(0.1)
            assert cell["n_seeds"] == 2 and "2 seeds" in cell["ours_from"]
        for k in ("30K", "40K", "50K"):  # not in this run's grid: shown, not invented
            cell = table1.loc[(row, k)]
            assert np.isnan(cell["ours"]) and np.isnan(cell["difference"])
            assert cell["ours_from"] == f"no run with k = {k}"
    assert comparison[comparison["table"] == "II"]["ours"].isna().all()
    assert comparison[comparison["table"] == "III"]["ours_from"].str.contains("blocks").all()
    carn = comparison[comparison["row"] == "CARN"]
    assert (
        carn["ours"].isna().all()
        and (carn["ours_from"] == "another method's published result").all()
    )
    fig7 = comparison[comparison["table"] == "Fig7"]
    assert (fig7["metric"] == "rho").all() and (
        fig7["ours_from"] == "not computed in this run"
    ).all()


def test_configured_runs_that_have_not_finished_are_told_apart_from_absent_ones():
    grid = paper_grid()
    planned = grid.assign(k=30_000, k_label="30000")  # the same runs, at 30K: still training
    planned = pd.concat([grid, planned]).drop(columns=["psnr", "ssim", "best_val_psnr"])
    comparison = published.compare(grid, expected=planned)
    table1 = comparison[comparison["table"] == "I"].set_index(["row", "column"])
    assert table1.loc[("Grad", "30K"), "ours_from"] == (
        "configured here, not finished yet (no run with k = 30K)"
    )
    assert table1.loc[("Grad", "40K"), "ours_from"] == "no run with k = 40K"  # never configured
    assert np.isfinite(table1.loc[("Grad", "10K"), "ours"])
    line = published.summary_line(comparison)
    assert " 4 more are configured and not finished yet." in line, line
    assert line.endswith(
        " The other 24 published numbers are other authors' networks, shown for reference."
    )
    # nothing finished: Table I at 10K-30K (4 rows x 3) and Table IV's PSNR and SSIM on
    # Urban100 and BSD100 (4) are all waiting
    waiting = published.compare(grid.iloc[0:0], expected=planned)
    assert "has a counterpart here yet: 16 are configured" in published.summary_line(waiting)


def test_table4_picks_k_by_validation_and_knows_bsd100_as_b100():
    comparison = published.compare(paper_grid())
    ours = comparison[comparison["row"] == "Ours (EDSR baseline)"].set_index(["column", "metric"])
    # two K match (10K, 20K): 20K has the better *validation* PSNR, whatever the test PSNR says
    grid = paper_grid()
    grad20 = grid[(grid["criterion"] == "grad") & (grid["aug"] == "aug") & (grid["k"] == 20_000)]
    urban = grad20[grad20["test_set"] == "Urban100"]["psnr"].mean()
    b100 = grad20[grad20["test_set"] == "B100"]["psnr"].mean()
    assert ours.loc[("Urban100", "psnr"), "ours"] == pytest.approx(urban)
    assert ours.loc[("BSD100", "psnr"), "ours"] == pytest.approx(b100)
    assert "K = 20K" in ours.loc[("Urban100", "psnr"), "ours_from"]
    assert "best validation PSNR of 2 matching Ks" in ours.loc[("Urban100", "psnr"), "ours_from"]
    assert ours.loc[("BSD100", "ssim"), "ours"] == pytest.approx(0.9)
    assert np.isnan(ours.loc[("Set5", "psnr"), "ours"])
    assert ours.loc[("Set5", "psnr"), "ours_from"] == "no evaluation on Set5"


def _published_rows(name="edsr_official", blocks=16, offset=0.0):
    """What rule published_results writes for a published model evaluated on two test sets."""
    paper = published.load_published().query("table == 'IV' and row.str.startswith('Baseline')")
    paper = paper.set_index("column")
    return pd.DataFrame(
        [
            dict(published=name, model="edsr_baseline", task="sr_x2", weights="published",
                 url=f"https://host/{name}.pt", test_set=test_set, images=5,
                 psnr=paper.loc[column, "value"] + offset, ssim=paper.loc[column, "ssim"],
                 arch="edsr", blocks=blocks, channels=64, params=1369859)
            for test_set, column in (("set5", "Set5"), ("b100", "BSD100"))
        ]
    )  # fmt: skip


def test_table4_baseline_is_the_published_model_evaluated_here():
    results = pd.concat([paper_grid(), _published_rows(offset=0.004)], ignore_index=True)
    comparison = published.compare(results)
    base = comparison[comparison["row"].str.startswith("Baseline")].set_index(["column", "metric"])
    assert base.loc[("Set5", "psnr"), "ours"] == pytest.approx(37.904)
    assert base.loc[("Set5", "psnr"), "difference"] == pytest.approx(0.004)
    assert base.loc[("BSD100", "ssim"), "ours"] == pytest.approx(0.8986)
    assert base.loc[("Set5", "psnr"), "ours_from"] == "edsr_official (published weights), set5"
    assert base.loc[("Set5", "psnr"), "n_seeds"] == 1
    assert np.isnan(base.loc[("Urban100", "psnr"), "ours"])
    # the trained rows are untouched by the published model's, and vice versa
    plain = published.compare(paper_grid())
    for row in ("Ours (EDSR baseline)", "Grad+"):
        a = comparison[comparison["row"] == row]["ours"].to_numpy()
        b = plain[plain["row"] == row]["ours"].to_numpy()
        np.testing.assert_array_equal(a, b)
    assert plain[plain["row"].str.startswith("Baseline")]["ours"].isna().all()
    assert (plain[plain["row"].str.startswith("Baseline")]["ours_from"] == (
        "no published model evaluated here (a `published_models` entry)"
    )).all()  # fmt: skip


def test_table4_baseline_never_averages_two_published_models():
    two = pd.concat([_published_rows("a", offset=0.0), _published_rows("b", offset=1.0)])
    base = published.compare(two).query("row.str.startswith('Baseline') and metric == 'psnr'")
    set5 = base.set_index("column").loc["Set5"]
    assert set5["ours"] == pytest.approx(37.90) and set5["n_seeds"] == 1
    assert "first of 2 matching settings" in set5["ours_from"]
    small = _published_rows(blocks=4)  # not the paper's baseline
    assert published.compare(small).query("row.str.startswith('Baseline')")["ours"].isna().all()


def test_other_models_never_match():
    grid = paper_grid()
    grid["blocks"] = 4  # a demo-sized EDSR is not the paper's baseline
    comparison = published.compare(grid)
    assert comparison["ours"].isna().all()
    table1 = comparison[comparison["table"] == "I"].set_index(["row", "column"])["ours_from"]
    assert table1[("Grad", "10K")] == "no run with blocks = 16"  # the grid has 10K runs
    assert table1[("Grad", "40K")] == "no run with blocks = 16, k = 40K"  # every gap named
    without = published.compare(grid.drop(columns=["arch", "blocks", "channels"]))
    assert without["ours"].isna().all()
    assert (without[without["table"] == "I"]["ours_from"] == "results have no 'arch' column").all()
    assert published.compare(pd.DataFrame())["ours"].isna().all()


def test_extra_numbers_fill_fig7():
    extra = pd.DataFrame(
        [{"table": "Fig7", "row": "SR x2 vs SR x3", "column": "pearson rho", "value": 0.98}]
    )
    comparison = published.compare(paper_grid(), extra=extra).set_index("row")
    assert comparison.loc["SR x2 vs SR x3", "ours"] == 0.98
    assert comparison.loc["SR x2 vs SR x3", "difference"] == pytest.approx(0.98 - 0.9876)
    assert np.isnan(comparison.loc["SR x2 vs denoise sigma 25", "ours"])


def test_fig7_row_names():
    assert published.fig7_row("sr_x2", "sr_x3") == "SR x2 vs SR x3"
    assert published.fig7_row("sr_x2", "dn_s25") == "SR x2 vs denoise sigma 25"
    rows = set(published.load_published().query("table == 'Fig7'")["row"])
    assert {published.fig7_row("sr_x2", "sr_x3"), published.fig7_row("sr_x2", "dn_s25")} == rows


def test_write_comparison(tmp_path):
    comparison = published.compare(paper_grid())
    csv, md, html = tmp_path / "c.csv", tmp_path / "c.md", tmp_path / "c.html"
    published.write_comparison(comparison, csv, md, html, title="tiny vs the paper")
    back = pd.read_csv(csv)
    np.testing.assert_array_equal(back["ours"].to_numpy(), comparison["ours"].to_numpy())
    text = md.read_text()
    assert "## Table I:" in text and "## Table IV:" in text and "## Fig. 7:" in text
    assert "| Grad+ | 10K | 31.65 | 31.55 | +0.10 |" in text
    assert "| Grad+ | 30K | – | 31.98 | – | no run with k = 30K |" in text
    # Table I: 4 rows x 2 K; Table IV, EDSR baseline: PSNR and SSIM on Urban100 and BSD100
    assert (
        "12 of the paper's 56 published numbers for its own networks have a counterpart here"
        in text
    )
    page = html.read_text()
    assert "<h1>tiny vs the paper</h1>" in page and "<td>31.65</td>" in page


def _benchmark_runs(k: int, test_sets: tuple[str, ...], val: float) -> pd.DataFrame:
    """Grad+ runs at K on the given test sets, 0.5 dB over the paper's Table IV, seed 0."""
    table4 = published.load_published().query("table == 'IV' and row == 'Ours (EDSR baseline)'")
    paper = dict(zip(table4["column"], table4["value"], strict=True))
    return pd.DataFrame(
        [
            dict(task="sr_x2", model="edsr_baseline", arch="edsr", blocks=16, channels=64,
                 dataset="div2k_train", patch=96, stride=120, criterion="grad", aug="aug",
                 k=k, seed=0, recipe="paper", test_set=name, ssim=0.9, best_val_psnr=val,
                 psnr=paper["BSD100" if name == "B100" else name] + 0.5)
            for name in test_sets
        ]
    )  # fmt: skip


def test_table4_fills_a_row_from_one_k_on_every_test_set():
    # Table IV's experiment evaluates 80K on all four sets; Table I's grid evaluates 110K (better
    # validation PSNR) on Urban100 only. Chosen per cell, Urban100 alone would read 110K.
    four = ("Set5", "Set14", "B100", "Urban100")
    results = pd.concat(
        [_benchmark_runs(80_000, four, val=33.0), _benchmark_runs(110_000, ("Urban100",), 34.0)]
    )
    comparison = published.compare(results, train_sets=["div2k_train"])
    row = comparison.query("row == 'Ours (EDSR baseline)' and metric == 'psnr'")
    assert row["ours_from"].str.contains("K = 80K").all(), row["ours_from"].tolist()
    assert row["difference"].to_numpy() == pytest.approx([0.5] * 4)
    assert row["ours_from"].str.contains("1 evaluated on fewer of the row's sets").all()
    # with the same reach, validation decides, once for the row
    both = pd.concat(
        [_benchmark_runs(80_000, four, val=33.0), _benchmark_runs(110_000, four, val=34.0)]
    )
    row = published.compare(both).query("row == 'Ours (EDSR baseline)' and metric == 'psnr'")
    assert row["ours_from"].str.contains("K = 110K").all()
    # the chosen K lacks a set another K has: the cell stays empty and says so
    gap = pd.concat(
        [_benchmark_runs(80_000, four[:3], val=35.0), _benchmark_runs(110_000, four[3:], 34.0)]
    )
    row = published.compare(gap).query("row == 'Ours (EDSR baseline)' and metric == 'psnr'")
    urban = row.set_index("column").loc["Urban100"]
    assert np.isnan(urban["ours"])
    assert urban["ours_from"] == "no evaluation on Urban100 at the row's K = 80K"
    # ... unless that evaluation is configured and still to come
    planned = _benchmark_runs(80_000, four, val=35.0).drop(columns=["psnr", "ssim"])
    row = published.compare(gap, expected=planned).query(
        "row == 'Ours (EDSR baseline)' and metric == 'psnr'"
    )
    assert row.set_index("column").loc["Urban100", "ours_from"] == (
        f"{published.NOT_FINISHED} (no evaluation on Urban100 at the row's K = 80K)"
    )


def test_runs_trained_on_other_images_never_fill_a_cell():
    own = paper_grid().assign(dataset="my_photos")
    comparison = published.compare(own, train_sets=["div2k_train"])
    assert comparison["ours"].isna().all()
    grad = comparison.query("table == 'I' and row == 'Grad+' and column == '10K'").iloc[0]
    assert grad["ours_from"] == (
        "no run trained on DIV2K's 800 training images (runs here trained on: my_photos)"
    )
    mixed = pd.concat([own, paper_grid().assign(dataset="div2k_train")], ignore_index=True)
    with_div2k = published.compare(mixed, train_sets=["div2k_train"])
    plain = published.compare(paper_grid())
    np.testing.assert_array_equal(with_div2k["ours"].to_numpy(), plain["ours"].to_numpy())
    # published weights were not trained here: the Baseline row is filled whatever the sets
    base = published.compare(_published_rows(), train_sets=["div2k_train"])
    assert base.query("row.str.startswith('Baseline')")["ours"].notna().sum() == 4


def test_paper_training_sets_are_all_800_div2k_training_images():
    root = Path(__file__).resolve().parents[1]
    paper = yaml.safe_load((root / "configs" / "paper.yaml").read_text())
    assert published.paper_training_sets(paper) == ["div2k_train"]
    datasets = {
        "full": {"source": "div2k", "split": "train"},
        "explicit": {"source": "div2k", "split": "train", "first": 1, "last": 800},
        "part": {"source": "div2k", "split": "train", "last": 100},
        "valid": {"source": "div2k", "split": "valid"},
        "photos": {"source": "folder", "path": "/data/photos"},
    }
    assert published.paper_training_sets({"datasets": datasets}) == ["explicit", "full"]


def test_settings_of_several_recipes_say_so():
    two = pd.concat(
        [paper_grid(), paper_grid().assign(recipe="short", best_val_psnr=40.0)],
        ignore_index=True,
    )
    cell = published.compare(two).query("table == 'I' and row == 'Grad' and column == '10K'")
    why = cell["ours_from"].iloc[0]
    assert "best validation PSNR of 2 matching settings of recipes paper, short" in why


@pytest.mark.parametrize(
    "row, model", [("Ours (EDSR baseline)", "edsr_baseline"), ("Ours (OISR-RK2-s)", "oisr_rk2_s")]
)
def test_table_iv_rows_match_the_paper_presets_models(row, model):
    """The network of each of our Table IV rows, as the paper config builds it: 1.37 M
    parameters at x2 for both, as the paper lists them."""
    config = yaml.safe_load((Path(__file__).parents[1] / "configs" / "paper.yaml").read_text())
    runs = add_model_columns(pd.DataFrame({"model": [model], "task": ["sr_x2"]}), config["models"])
    match = published.cell_match({"table": "IV", "row": row, "column": "Set5"})
    model_keys = {k: v for k, v in match.filters.items() if k in ("arch", "blocks", "channels")}
    assert len(model_keys) == 3
    assert {k: runs[k].iloc[0] for k in model_keys} == model_keys
    assert round(runs["params"].iloc[0] / 1e6, 2) == 1.37


def _table1_rows(offsets: dict, seeds_offsets=(0.0,)) -> pd.DataFrame:
    """Grad+ runs of the paper's baseline on Urban100 at the given K: published value + offset
    (+ a per-seed offset)."""
    paper = published.load_published().query("table == 'I'").set_index(["row", "column"])
    rows = []
    for column, off in offsets.items():
        k = published.parse_k(column)
        for seed, s_off in enumerate(seeds_offsets):
            rows.append(dict(
                task="sr_x2", model="edsr_baseline", arch="edsr", blocks=16, channels=64,
                dataset="div2k_train", patch=96, stride=120, criterion="grad", aug="aug",
                k_label=str(k), k=k, seed=seed, recipe="paper", test_set="Urban100",
                psnr=paper.loc[("Grad+", column), "value"] + off + s_off, ssim=0.9,
                best_val_psnr=35.0))  # fmt: skip
    return pd.DataFrame(rows)


def test_the_summary_averages_the_size_of_the_differences():
    """P7: +0.1 dB at 10K and -0.3 dB at 20K are 0.2 dB off on average, not -0.1."""
    comparison = published.compare(_table1_rows({"10K": 0.1, "20K": -0.3}))
    line = published.summary_line(comparison[comparison["table"] == "I"])
    assert "mean |ours − paper| PSNR 0.20 dB" in line, line


def test_ours_is_the_mean_over_seeds():
    """P8: three seeds at +0, +0, +0.3 dB: ours is 0.1 dB over the paper (the median is 0)."""
    comparison = published.compare(_table1_rows({"10K": 0.0}, seeds_offsets=(0.0, 0.0, 0.3)))
    cell = comparison.query("table == 'I' and row == 'Grad+' and column == '10K'").iloc[0]
    assert cell["n_seeds"] == 3 and cell["difference"] == pytest.approx(0.1)


def test_table_ii_and_iii_cells_are_runs_with_augmentation():
    """P5 (and P6's augmentation): the transcription notes Table II as "grad criterion with
    augmentation"; Fig. 8's caption says augmentation is adopted for the model-size study."""
    shared = pd.read_csv(need(PAPER / "published_numbers.csv"), dtype=str, keep_default_na=False)
    note = shared.query("table == 'II'")["note"].iloc[0]
    assert "grad criterion with augmentation" in note
    for cell in published.load_published().query("table in ['II', 'III']").to_dict("records"):
        filters = published.cell_match(cell).filters
        assert filters["augment"] is True, cell
        if cell["table"] == "II":
            assert filters["criterion"] == "grad"
    # and through compare: runs without augmentation never fill a Table II cell
    runs = _table1_rows({"10K": 0.0}).assign(stride=60, k=80_000, k_label="80000", aug="noaug")
    two = published.compare(runs).query("table == 'II' and row == 'stride 60' and column == '80K'")
    assert two["ours"].isna().all()


def test_table_iv_ssim_is_shown_to_four_decimals_as_printed():
    """P9: the comparison prints SSIM as the paper does (Table IV: four decimals)."""
    shared = pd.read_csv(need(PAPER / "published_numbers.csv"), dtype=str, keep_default_na=False)
    printed = shared.query("table == 'IV' and row.str.startswith('Baseline') and column == 'Set5'")
    ssim_text = printed["ssim"].iloc[0]
    assert len(ssim_text.split(".")[1]) == 4
    md = published.comparison_markdown(published.compare(pd.DataFrame()))
    row = [ln for ln in md.splitlines() if ln.startswith("| Baseline") and "| Set5 | SSIM" in ln]
    assert row and f"| {ssim_text} |" in row[0], row


def test_published_weights_fill_the_baseline_beside_runs_of_the_paper_training_set():
    """P10: in the workflow's long table, published models sit beside trained runs, so the
    ``dataset`` column exists (empty for them); restricting trained runs to the paper's
    training set must not drop the published model's row."""
    base = published.load_published().query("table == 'IV' and row.str.startswith('Baseline')")
    base = base.set_index("column")
    weights = pd.DataFrame(
        [dict(published="edsr_official", model="edsr_baseline", task="sr_x2", weights="published",
              test_set="set5", psnr=base.loc["Set5", "value"] + 0.004,
              ssim=base.loc["Set5", "ssim"], arch="edsr", blocks=16, channels=64)]
    )  # fmt: skip
    results = pd.concat([_table1_rows({"10K": 0.0}), weights], ignore_index=True)
    assert results["dataset"].isna().any()
    comparison = published.compare(results, train_sets=["div2k_train"])
    cell = comparison.query(
        "row.str.startswith('Baseline') and column == 'Set5' and metric == 'psnr'"
    ).iloc[0]
    assert cell["difference"] == pytest.approx(0.004)


def test_only_a_denoising_experiment_is_told_the_paper_has_no_numbers_for_it():
    config = {"experiments": {"sr": {"task": "sr"}, "dn": {"task": "denoise"}}}
    assert published.unpublished_note(config, ["sr"]) == ""
    assert published.unpublished_note(config, ["sr", "dn"]).startswith("Denoising (dn): the paper")


def test_the_note_reaches_the_markdown_and_the_html_page(tmp_path):
    comparison = published.compare(pd.DataFrame())
    paths = [tmp_path / f"c.{kind}" for kind in ("csv", "md", "html")]
    published.write_comparison(comparison, *paths, note="Denoising (dn): a plot only")
    assert "Denoising (dn): a plot only" in paths[1].read_text()
    assert "<p>Denoising (dn): a plot only</p>" in paths[2].read_text()
