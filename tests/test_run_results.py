"""The long table of runs (patchmine.results, report.read_runs): a run's metric is the
mean over its test images, each network described, and a runs CSV read back as written
(K labels and names that look like numbers)."""

import json

import pandas as pd
import pytest

from patchmine import report, tables
from patchmine.labels import format_params
from patchmine.results import add_model_columns, collect_results


def test_model_columns():
    res = pd.DataFrame({"model": ["base", "big"], "task": ["sr_x2", "sr_x2"]})
    models = {"base": {"arch": "edsr", "blocks": 16, "channels": 64}, "big": {"arch": "edsr",
              "blocks": 128, "channels": 64}}  # fmt: skip
    out = add_model_columns(res, models)
    assert out["params"].tolist()[0] == 1_369_859  # the EDSR baseline at x2
    assert format_params(out["params"].iloc[1]) == "9.64 M"  # the paper rounds: 9.6 M
    assert out["blocks"].tolist() == [16, 128]


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
