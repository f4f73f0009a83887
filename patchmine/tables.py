"""Tables from finished results, laid out as the paper's Tables I-IV.

Everything starts from the long results table of :func:`patchmine.results.collect_results` (one
row per training run and test set, with the run's parameters) and works on whatever part of the
paper's grid a configuration asks for:

* :func:`criteria_table` -- Table I: criterion (``+`` = augmentation) x number of patches;
* :func:`stride_table` -- Table II: patch-extraction stride x number of patches;
* :func:`params_table` -- Table III: model size x number of patches;
* :func:`benchmark_table` -- Table IV: model x test set, PSNR and SSIM.

Each is a special case of :func:`results_table`, which averages over seeds and adds any run
parameter that varies beyond the table's rows and columns to the row labels, so two different
settings are never averaged into one cell.

Partial data. A table (or figure) may be asked to show runs that have not finished. Pass the
points the configuration asks for as ``expected`` (:func:`expected_points`): missing cells stay in
the table as NaN, and ``table.attrs`` lists what is ``missing`` and which cells are ``partial``
(averaged over fewer seeds than asked for). Without ``expected`` a table shows what it is given.
How a table reads as Markdown or HTML is :mod:`patchmine.render`'s job.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from patchmine.labels import CRITERIA_ORDER, format_k, format_params, natural_key, series_label
from patchmine.results import params_by_model

METRICS = ("psnr", "ssim")

#: Parameters that identify a training run (``seed`` aside); a table never averages over them.
RUN_KEYS: tuple[str, ...] = (
    "task", "model", "dataset", "patch", "stride", "recipe", "criterion", "augment", "k_label",
)  # fmt: skip

#: Run keys that may become extra row keys when they vary (``k_label`` is a column, not a row).
_SETTING_KEYS = (
    "task",
    "dataset",
    "patch",
    "recipe",
    "model",
    "stride",
    "criterion",
    "augment",
    "k_label",  # K as configured (a count, or a fraction a store turns into a count)
)

#: Keys that a table's columns already tell apart (one column per K).
_COLUMN_KEYS = {"k": ("k", "k_label"), "test_set": ("test_set",)}


def normalise(results: pd.DataFrame) -> pd.DataFrame:
    """A copy with the types the tables rely on: ``augment`` bool (from ``aug`` if need be),
    ``k`` int, ``k_label`` str (from ``k`` if absent), names as str."""
    out = results.copy()
    if "augment" not in out.columns and "aug" in out.columns:
        out["augment"] = out["aug"].astype(str) == "aug"
    if "augment" in out.columns:
        out["augment"] = out["augment"].map(as_bool)
    if "k" in out.columns:
        out["k"] = pd.to_numeric(out["k"], errors="coerce")
    if "k_label" not in out.columns and "k" in out.columns:
        out["k_label"] = out["k"].map(lambda v: str(int(v)) if pd.notna(v) else "")
    if "k_label" in out.columns:
        out["k_label"] = out["k_label"].map(_k_text)
    for col in ("task", "model", "dataset", "recipe", "criterion", "test_set"):
        if col in out.columns:
            out[col] = out[col].astype(str)
    return out


def as_bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "aug")
    return bool(value)


def _k_text(value) -> str:
    """A K label as text; a float that is a whole count (from CSV) loses its ".0"."""
    if isinstance(value, float) and value.is_integer() and value > 1:
        return str(int(value))
    return str(value)


def select_test_set(results: pd.DataFrame, test_set: str | None, metric: str) -> pd.DataFrame:
    """Check the columns and keep one test set's finite rows; fail loudly on a wrong request."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    results = normalise(results)
    missing = [c for c in ("augment", "k", "test_set", metric) if c not in results.columns]
    if missing:
        raise ValueError(f"results lack column(s) {missing}")
    sets = sorted(results["test_set"].unique())
    if test_set is None:
        if len(sets) != 1:
            raise ValueError(f"results hold test sets {sets}: say which one with test_set=")
        test_set = sets[0]
    if test_set not in sets:
        raise ValueError(f"no results for test set {test_set!r}; found {sets}")
    sub = results[results["test_set"] == test_set].copy()
    sub[metric] = sub[metric].astype(float)
    sub = sub[np.isfinite(sub[metric]) & sub["k"].notna()]
    sub["k"] = sub["k"].astype(int)
    return sub


def expected_points(
    runs: Iterable[Mapping], test_sets: Sequence[str], results: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Every (run, test set) a figure or table should show, as a table like the results.

    ``runs`` are run parameters as :class:`patchmine.grid.Run.as_dict` gives them (``aug`` is
    "aug"/"noaug", ``k`` is the K label: a count or a fraction of the store). The patch count of a
    fraction is taken from ``results`` (a finished run of the same label on the same store, or the
    store size ``n_store`` of any finished run on that store); where neither is known ``k`` is NaN.
    """
    rows = []
    for run in runs:
        run = dict(run)
        label = _k_text(run.pop("k"))
        aug = run.pop("aug", None)
        augment = as_bool(run.pop("augment", aug == "aug"))
        for test_set in test_sets:
            rows.append({**run, "augment": augment, "k_label": label, "test_set": str(test_set)})
    expected = pd.DataFrame(rows)
    if expected.empty:
        return expected
    expected["k"] = [_count_of(row, results) for row in expected.to_dict("records")]
    return normalise(expected)


def _count_of(point: Mapping, results: pd.DataFrame | None) -> float:
    """The patch count a K label selects, from the label itself or from finished runs."""
    label = str(point["k_label"])
    if re.fullmatch(r"\d+", label):
        return float(int(label))
    if results is None or results.empty:
        return math.nan
    res = normalise(results)
    store = np.ones(len(res), dtype=bool)
    for key in ("dataset", "patch", "stride"):
        if key in res.columns and key in point:
            store &= (res[key].astype(str) == str(point[key])).to_numpy()
    same = res[store & (res["k_label"] == label).to_numpy()]
    if len(same):
        return float(same["k"].iloc[0])
    if "n_store" in res.columns and store.any():
        from patchmine.select import parse_k_label, resolve_k

        return float(resolve_k(parse_k_label(label), int(res.loc[store, "n_store"].iloc[0])))
    return math.nan


def missing_points(
    results: pd.DataFrame, expected: pd.DataFrame | None, metric: str = "psnr"
) -> pd.DataFrame:
    """The expected (run, test set) points that have no finite ``metric`` in ``results``."""
    if expected is None or expected.empty:
        return pd.DataFrame(columns=list(RUN_KEYS) + ["seed", "test_set", "k"])
    expected = normalise(expected)
    keys = [k for k in (*RUN_KEYS, "seed", "test_set") if k in expected.columns]
    done = normalise(results) if len(results) else pd.DataFrame(columns=keys + [metric])
    if metric in done.columns:
        done = done[np.isfinite(done[metric].astype(float))]
    have = {tuple(str(v) for v in row) for row in done.reindex(columns=keys).to_numpy()}
    absent = [tuple(str(v) for v in row) not in have for row in expected[keys].to_numpy()]
    return expected[absent].reset_index(drop=True)


def describe_missing(missing: pd.DataFrame, series: Sequence[str] = ("criterion", "augment")):
    """Short text per series listing the missing K, e.g. ``{"Grad+": "90K, 100K"}``."""
    out: dict[str, str] = {}
    if missing is None or missing.empty:
        return out
    keys = [k for k in series if k in missing.columns]
    for values, part in missing.groupby(keys, sort=False) if keys else [((), missing)]:
        values = values if isinstance(values, tuple) else (values,)
        label = series_label(dict(zip(keys, values, strict=True))) if keys else "all"
        ks = sorted({(_sort_k(r), _k_display(r)) for r in part.to_dict("records")})
        out[label] = ", ".join(text for _, text in ks)
    return out


def _k_display(point: Mapping) -> str:
    k = point.get("k")
    if k is not None and pd.notna(k):
        return format_k(int(k))
    return f"{point['k_label']} of the store"


def _sort_k(point: Mapping) -> float:
    k = point.get("k")
    if k is not None and pd.notna(k):
        return float(k)
    return math.inf


def results_table(
    results: pd.DataFrame,
    rows: Sequence[str],
    columns: str = "k",
    test_set: str | None = None,
    metric: str = "psnr",
    expected: pd.DataFrame | None = None,
    order: Sequence[str] = CRITERIA_ORDER,
    row_labeller: Callable[[dict], str] | None = None,
    index_name: str = "",
    extra_keys: Sequence[str] = _SETTING_KEYS,
) -> pd.DataFrame:
    """Mean ``metric`` over seeds with one row per combination of ``rows`` and one column per
    value of ``columns`` ("k": patch counts, sorted and labelled with :func:`format_k`;
    "test_set": in the order found).

    Any run parameter in ``extra_keys`` that takes more than one value is put in front of
    ``rows``, so different settings are never averaged together. ``test_set`` is required when
    the results hold several (unless ``columns == "test_set"``). With ``expected`` (see
    :func:`expected_points`) the rows and columns the configuration asks for all appear, missing
    cells are NaN, and ``attrs`` records ``missing`` (list of cell descriptions), ``partial``
    (cells with fewer seeds than expected) and ``n_seeds``.
    """
    exp = normalise(expected) if expected is not None and len(expected) else None
    if columns == "test_set":
        sub = _select_all_sets(results, metric)
    else:
        if len(results) or exp is None:
            sub = select_test_set(results, test_set, metric)
            test_set = test_set or str(normalise(results)["test_set"].iloc[0])
        else:  # nothing finished yet: the table of what is expected, all missing
            sets = sorted(exp["test_set"].unique())
            test_set = test_set or sets[0]
            sub = exp.iloc[0:0].assign(**{metric: []})
        if exp is not None:
            exp = exp[exp["test_set"] == test_set]
    frames = [f for f in (sub, exp) if f is not None and len(f)]
    if not frames:
        raise ValueError("nothing to tabulate")
    both = pd.concat([f.drop(columns=[metric], errors="ignore") for f in frames])
    varying = [
        k
        for k in extra_keys
        if k not in rows
        and k not in _COLUMN_KEYS.get(columns, (columns,))
        and k in both.columns
        and both[k].nunique() > 1
    ]
    row_keys = varying + list(rows)
    for key in row_keys:
        for frame in frames:
            if key not in frame.columns:
                raise ValueError(f"results lack column {key!r}")

    means = (
        sub.groupby(row_keys + [columns], sort=False)[metric].agg(["mean", "count"]).reset_index()
        if len(sub)
        else pd.DataFrame(columns=row_keys + [columns, "mean", "count"])
    )
    cells = {
        (tuple(r[k] for k in row_keys), r[columns]): (float(r["mean"]), int(r["count"]))
        for r in means.to_dict("records")
    }
    expected_seeds: dict = {}
    if exp is not None:
        exp = exp.copy()
        if columns == "k":  # a fraction of a store no finished run has measured: by its label
            exp["k"] = [
                int(k) if pd.notna(k) else f"{lab} of the store"
                for k, lab in zip(exp["k"], exp["k_label"], strict=True)
            ]
        for r in exp.to_dict("records"):
            key = (tuple(r[k] for k in row_keys), r[columns])
            expected_seeds.setdefault(key, set()).add(r.get("seed", 0))

    keys_rows = _unique([c[0] for c in cells] + [c[0] for c in expected_seeds])
    keys_rows = sort_settings(  # without augmentation first; the paper lists stride 120 first
        keys_rows, row_keys, order, params_by_model(results, expected), _STRIDES_DOWN
    )
    if columns == "k":
        found = {_norm_col(c[1]) for c in [*cells, *expected_seeds]}
        counts = sorted(k for k in found if isinstance(k, int))
        keys_cols = counts + sorted(k for k in found if isinstance(k, str))
        col_labels = [format_k(k) if isinstance(k, int) else k for k in keys_cols]
        lookup_cols = keys_cols
    else:
        seen = _unique(
            ([str(v) for v in exp[columns]] if exp is not None else []) + [str(c[1]) for c in cells]
        )
        lookup_cols, col_labels = seen, seen
    labeller = row_labeller or (lambda values: series_label(values))
    labels = [labeller(dict(zip(row_keys, key, strict=True))) for key in keys_rows]
    data = np.full((len(keys_rows), len(lookup_cols)), np.nan)
    missing, partial = [], []
    cell_map = {(rk, _norm_col(ck)): v for (rk, ck), v in cells.items()}
    for i, rk in enumerate(keys_rows):
        for j, ck in enumerate(lookup_cols):
            got = cell_map.get((rk, _norm_col(ck)))
            want = expected_seeds.get((rk, ck)) or expected_seeds.get((rk, _norm_col(ck)))
            if got is not None:
                data[i, j] = got[0]
                if want and got[1] < len(want):
                    partial.append((labels[i], col_labels[j], got[1], len(want)))
            elif want:
                missing.append((labels[i], col_labels[j]))
    table = pd.DataFrame(data, index=pd.Index(labels, name=index_name), columns=col_labels)
    table.attrs.update(
        metric=metric,
        test_set=test_set,
        row_keys=row_keys,
        rows=[list(map(_plain, k)) for k in keys_rows],
        missing=missing,
        partial=partial,
        still_improving=still_improving(sub),
    )
    if columns == "k":
        table.attrs["k"] = [k if isinstance(k, int) else None for k in keys_cols]
    return table


def still_improving(results: pd.DataFrame) -> tuple[int, int]:
    """(runs whose best validation PSNR came at their last iteration, runs): such a run was
    still improving when it stopped, so early stopping chose nothing and more iterations would
    change its numbers. Needs ``best_iteration`` and ``iterations`` (the recipe's); (0, 0)
    without them."""
    if not {"best_iteration", "iterations"} <= set(results.columns) or results.empty:
        return (0, 0)
    best = pd.to_numeric(results["best_iteration"], errors="coerce")
    last = pd.to_numeric(results["iterations"], errors="coerce")
    known = best.notna() & last.notna()
    return int((best[known] >= last[known]).sum()), int(known.sum())


def _plain(value):
    """numpy scalars -> Python scalars, so ``attrs`` stay simple."""
    return value.item() if isinstance(value, np.generic) else value


def _norm_col(value):
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _unique(items: Iterable) -> list:
    seen, out = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


_STRIDES_DOWN = {"stride": lambda stride: (-int(stride), ())}


def sort_settings(
    groups: Iterable,
    names: Sequence[str],
    order: Sequence[str],
    sizes: Mapping[str, float],
    own: Mapping[str, Callable] | None = None,
) -> list[tuple]:
    """Combinations of settings (tuples of ``names``' values) in the order tables and legends
    list them: criteria in ``order``, models by parameter count (``sizes``) as Table III lists
    them, numbers by value, other names with their numbers read as numbers. ``own`` gives a
    setting an order of its own (a function of its value)."""
    own = own or {}
    rank = {c: i for i, c in enumerate(order)}

    def setting(name: str, value) -> tuple:
        if name in own:
            return own[name](value)
        if name == "model":
            return (sizes.get(str(value), math.inf), natural_key(value))
        if name == "criterion":
            return (rank.get(value, len(order)), natural_key(value))
        if isinstance(value, int | float | np.number | np.bool_):
            return (float(value), ())
        return (0, natural_key(value))

    groups = [g if isinstance(g, tuple) else (g,) for g in groups]
    return sorted(groups, key=lambda g: [setting(n, v) for n, v in zip(names, g, strict=True)])


def _select_all_sets(results: pd.DataFrame, metric: str) -> pd.DataFrame:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    sub = normalise(results)
    if metric not in sub.columns and len(sub):
        raise ValueError(f"results lack column {metric!r}")
    if len(sub):
        sub[metric] = sub[metric].astype(float)
        sub = sub[np.isfinite(sub[metric])]
    return sub


def criteria_table(
    results: pd.DataFrame,
    test_set: str | None = None,
    metric: str = "psnr",
    order: Sequence[str] = CRITERIA_ORDER,
    expected: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Table I layout: rows "Grad", ..., then "Grad+", ...; one column per K; mean over seeds.

    ``results`` has one row per (training run, test set). ``test_set`` may be left out when the
    results hold only one. Rows come in ``order`` (criteria absent from it follow, sorted), all
    rows without augmentation before those with it; columns are sorted by the actual patch count
    and labelled with :func:`format_k`. A missing (criterion, K) cell is NaN. The patch counts of
    the columns are kept in ``table.attrs["k"]``.
    """
    return results_table(
        results,
        rows=("augment", "criterion"),
        test_set=test_set,
        metric=metric,
        expected=expected,
        order=order,
        index_name="Criteria",
    )


def stride_table(
    results: pd.DataFrame,
    test_set: str | None = None,
    metric: str = "psnr",
    expected: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Table II layout: one row per patch-extraction stride (largest first), one column per K."""
    return results_table(
        results,
        rows=("stride",),
        test_set=test_set,
        metric=metric,
        expected=expected,
        index_name="Strides",
        row_labeller=lambda v: _only_or_series(v, "stride", str),
    )


def params_table(
    results: pd.DataFrame,
    test_set: str | None = None,
    metric: str = "psnr",
    expected: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Table III layout: one row per model, named by its parameter count when the results carry
    a ``params`` column (see :func:`patchmine.results.add_model_columns`), one column per K."""
    params = params_by_model(results, expected)
    return results_table(
        results,
        rows=("model",),
        test_set=test_set,
        metric=metric,
        expected=expected,
        index_name="Params",
        row_labeller=lambda v: _only_or_series(v, "model", lambda m: _model_label(m, params)),
    )


def benchmark_table(
    results: pd.DataFrame,
    expected: pd.DataFrame | None = None,
    test_sets: Sequence[str] | None = None,
    published: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Table IV layout: one row per model (and any other setting that varies), PSNR and SSIM per
    test set: columns "<set> PSNR", "<set> SSIM" in ``test_sets`` order (default: as found), and
    a "Params" column when the results carry ``params``. Models in ``published`` (see
    :func:`patchmine.results.collect_published`) come first, as the paper's "Baseline" row does,
    labelled "<name> (published weights)"."""
    params = params_by_model(results, expected)
    parts = {
        m: results_table(
            results,
            rows=("model",),
            columns="test_set",
            metric=m,
            expected=expected,
            index_name="Model",
            row_labeller=lambda v: series_label(v),
        )
        for m in METRICS
    }
    psnr, ssim = parts["psnr"], parts["ssim"]
    sets = list(test_sets) if test_sets else list(psnr.columns)
    out = pd.DataFrame(index=psnr.index)
    if params:
        by_label = {
            lab: params.get(dict(zip(psnr.attrs["row_keys"], key, strict=True)).get("model"))
            for lab, key in zip(psnr.index, psnr.attrs["rows"], strict=True)
        }
        out["Params"] = [by_label.get(lab, np.nan) for lab in psnr.index]
    for s in sets:
        out[f"{s} PSNR"] = psnr[s] if s in psnr.columns else np.nan
        out[f"{s} SSIM"] = ssim.reindex(psnr.index)[s] if s in ssim.columns else np.nan
    if published is not None and len(published):
        out = pd.concat([_published_rows(published, sets, "Params" in out.columns), out])
        out.index.name = psnr.index.name
    out.attrs.update(
        test_sets=sets,
        missing=psnr.attrs["missing"],
        partial=psnr.attrs["partial"],
        row_keys=psnr.attrs["row_keys"],
        rows=psnr.attrs["rows"],
    )
    return out


def _published_rows(published: pd.DataFrame, sets: Sequence[str], with_params: bool):
    """Table IV rows of published models: one per model, its metrics per test set."""
    rows = {}
    for name, part in published.groupby("published", sort=False):
        by_set = part.set_index(part["test_set"].astype(str))
        row = {}
        if with_params:
            row["Params"] = float(part["params"].iloc[0]) if "params" in part else np.nan
        for s in sets:
            found = str(s) in by_set.index
            row[f"{s} PSNR"] = float(by_set.at[str(s), "psnr"]) if found else np.nan
            row[f"{s} SSIM"] = float(by_set.at[str(s), "ssim"]) if found else np.nan
        rows[f"{name} (published weights)"] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def _only_or_series(values: Mapping, key: str, fmt: Callable) -> str:
    if list(values) == [key]:
        return fmt(values[key])
    rest = {k: v for k, v in values.items() if k != key}
    return f"{series_label(rest)} / {fmt(values[key])}"


def _model_label(model: str, params: Mapping) -> str:
    return format_params(params[model]) if model in params else str(model)
