"""Tables from finished results, laid out as the paper's Tables I-IV, and the HTML pages of the
workflow's report.

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
the table as NaN ("–" in Markdown and HTML), cells averaged over fewer seeds than asked for are
marked, and ``table.attrs["missing"]`` lists what is absent. Without ``expected`` a table shows
what it is given.

Figures live in :mod:`patchmine.figures` (``plot_psnr_vs_k`` and ``plot_histograms`` are also
reachable from here, for older callers).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from patchmine.criterion_names import CRITERIA, STATISTICS
from patchmine.tasks import Task

#: The criteria in the order the tables and legends list them by default.
CRITERIA_ORDER: tuple[str, ...] = CRITERIA

#: One fixed colour per criterion, so a criterion looks the same in every figure.
CRITERION_COLORS: dict[str, str] = {
    "grad": "tab:red",
    "std": "tab:green",
    "freq": "tab:purple",
    "loss": "tab:blue",
    "rand": "tab:gray",
}
_SPARE_COLORS = ("tab:orange", "tab:brown", "tab:pink", "tab:olive", "tab:cyan")

#: Panel order of Figs. 2-3 (statistics first, then the loss and its square root).
HISTOGRAM_ORDER: tuple[str, ...] = (*STATISTICS, "loss", "sqrt(loss)")

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

#: Decimals shown per metric (the paper: PSNR 2, SSIM 4).
DECIMALS = {"psnr": 2, "ssim": 4}

#: How a cell averaged over fewer seeds than the configuration asks for is marked.
PARTIAL_MARK = "*"
MISSING_TEXT = "–"


# --- labels ---------------------------------------------------------------------------------


def format_k(k: int) -> str:
    """Readable, exact label for a patch count (10000 -> "10K", 151300 -> "151.3K", 250 -> "250").

    Exact rather than rounded so that two different K never share a column label.
    """
    k = int(k)
    sign, n = ("-", -k) if k < 0 else ("", k)
    if n < 1000:
        return f"{sign}{n}"
    if n < 1_000_000:
        scaled, unit = f"{n / 1000:.3f}", "K"
    else:
        scaled, unit = f"{n / 1_000_000:.6f}", "M"
    return sign + scaled.rstrip("0").rstrip(".") + unit


def format_params(n: float) -> str:
    """Parameter count as the paper writes it: 1369859 -> "1.37 M", 9595011 -> "9.6 M"."""
    if n is None or not np.isfinite(n):
        return "?"
    if n >= 1e6:
        return f"{n / 1e6:.3g} M"
    if n >= 1e3:
        return f"{n / 1e3:.3g} K"
    return str(int(n))


def row_label(criterion: str, augment: bool) -> str:
    """The paper's row name: capitalised criterion, '+' when trained with augmentation."""
    return str(criterion).capitalize() + ("+" if augment else "")


def criterion_color(criterion: str) -> str:
    """Colour of a criterion's curves; unknown criteria get a stable spare colour."""
    if criterion in CRITERION_COLORS:
        return CRITERION_COLORS[criterion]
    return spare_color(criterion)


def spare_color(name: str) -> str:
    """A stable colour for a name outside the criteria (a model, a stride)."""
    return _SPARE_COLORS[sum(map(ord, str(name))) % len(_SPARE_COLORS)]


def _ordered_criteria(present: Sequence[str], order: Sequence[str]) -> list[str]:
    """Criteria in ``order`` first, then any others found in the data (sorted), so none vanish."""
    present_set = set(present)
    head = [c for c in order if c in present_set]
    return head + sorted(present_set - set(head))


# --- the long table -------------------------------------------------------------------------


def normalise(results: pd.DataFrame) -> pd.DataFrame:
    """A copy with the types the tables rely on: ``augment`` bool (from ``aug`` if need be),
    ``k`` int, ``k_label`` str (from ``k`` if absent), names as str."""
    out = results.copy()
    if "augment" not in out.columns and "aug" in out.columns:
        out["augment"] = out["aug"].astype(str) == "aug"
    if "augment" in out.columns:
        out["augment"] = out["augment"].map(_as_bool)
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


def _as_bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "aug")
    return bool(value)


def _k_text(value) -> str:
    """A K label as text; a float that is a whole count (from CSV) loses its ".0"."""
    if isinstance(value, float) and value.is_integer() and value > 1:
        return str(int(value))
    return str(value)


def _select(results: pd.DataFrame, test_set: str | None, metric: str) -> pd.DataFrame:
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


# --- what the configuration asks for ------------------------------------------------------------


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
        augment = _as_bool(run.pop("augment", aug == "aug"))
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


def series_label(values: Mapping) -> str:
    """A curve's or row's name from the parameters that set it apart (the paper's spelling)."""
    parts = []
    values = dict(values)
    if "criterion" in values:
        aug = values.pop("augment", None)
        crit = values.pop("criterion")
        parts.append(row_label(crit, bool(aug)) if aug is not None else str(crit).capitalize())
    elif "augment" in values:
        parts.append("with augmentation" if values.pop("augment") else "no augmentation")
    labels = {
        "model": lambda v: str(v),
        "stride": lambda v: f"stride {v}",
        "patch": lambda v: f"patch {v}",
        "k": lambda v: format_k(int(v)),
        "k_label": lambda v: (
            f"K = {format_k(int(v))}" if str(v).isdigit() else f"K = {v} of the store"
        ),
    }
    front = [labels.get(k, lambda v, k=k: f"{k} {v}")(v) for k, v in values.items()]
    return " / ".join(front + parts)


# --- tables ---------------------------------------------------------------------------------


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
    sort_by: Mapping[str, Callable] | None = None,
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
            sub = _select(results, test_set, metric)
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
    keys_rows = _sort_rows(keys_rows, row_keys, order, sort_by or {})
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
    )
    if columns == "k":
        table.attrs["k"] = [k if isinstance(k, int) else None for k in keys_cols]
    return table


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


def _sort_rows(
    keys: list[tuple], names: Sequence[str], order: Sequence[str], sort_by: Mapping[str, Callable]
) -> list[tuple]:
    """Criteria in ``order``, without augmentation before with; other keys naturally sorted."""
    crit_rank = {c: i for i, c in enumerate(order)}

    def rank(key: tuple):
        out = []
        for name, value in zip(names, key, strict=True):
            if name in sort_by:
                out.append((sort_by[name](value), str(value)))
            elif name == "criterion":
                out.append((crit_rank.get(value, len(order)), str(value)))
            elif name == "stride":
                out.append((-int(value), ""))  # the paper lists 120 before 60
            elif isinstance(value, bool | np.bool_):
                out.append((int(value), ""))
            elif isinstance(value, int | float | np.number):
                out.append((float(value), ""))
            else:
                out.append((0, str(value)))
        return out

    return sorted(keys, key=rank)


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
    a ``params`` column (see :func:`add_model_columns`), one column per K."""
    params = _params_of(results, expected)
    return results_table(
        results,
        rows=("model",),
        test_set=test_set,
        metric=metric,
        expected=expected,
        index_name="Params",
        row_labeller=lambda v: _only_or_series(v, "model", lambda m: _model_label(m, params)),
        sort_by={"model": lambda m: params.get(m, math.inf)},
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
    params = _params_of(results, expected)
    parts = {
        m: results_table(
            results,
            rows=("model",),
            columns="test_set",
            metric=m,
            expected=expected,
            index_name="Model",
            row_labeller=lambda v: series_label(v),
            sort_by={"model": lambda m: params.get(m, math.inf)},
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


def _params_of(*frames) -> dict:
    out = {}
    for frame in frames:
        if frame is not None and len(frame) and {"model", "params"} <= set(frame.columns):
            for model, n in zip(frame["model"], frame["params"], strict=True):
                if pd.notna(n):
                    out[str(model)] = float(n)
    return out


def _model_label(model: str, params: Mapping) -> str:
    return format_params(params[model]) if model in params else str(model)


# --- model descriptions ---------------------------------------------------------------------


def model_info(models: Mapping[str, Mapping], task: str = "sr_x2") -> dict[str, dict]:
    """Architecture, depth, width and parameter count of each config model (built on the CPU)."""
    from patchmine.models import build_model, count_parameters

    parsed = Task.parse(task)
    info = {}
    for name, spec in models.items():
        try:
            params = count_parameters(build_model(dict(spec), parsed.scale, parsed.model_task))
        except (ValueError, TypeError):
            params = math.nan
        info[name] = {
            "arch": spec.get("arch"),
            "blocks": spec.get("blocks", spec.get("layers")),
            "channels": spec.get("channels"),
            "params": params,
        }
    return info


def add_model_columns(results: pd.DataFrame, models: Mapping[str, Mapping]) -> pd.DataFrame:
    """``results`` with arch, blocks, channels and params of each row's model (per task)."""
    out = results.copy()
    if out.empty or "model" not in out.columns:
        return out
    cache: dict = {}
    cols: dict[str, list] = {"arch": [], "blocks": [], "channels": [], "params": []}
    for model, task in zip(out["model"], out.get("task", ["sr_x2"] * len(out)), strict=True):
        key = (str(model), str(task))
        if key not in cache:
            spec = models.get(str(model))
            cache[key] = model_info({model: spec}, str(task))[model] if spec else {}
        for col in cols:
            cols[col].append(cache[key].get(col))
    for col, values in cols.items():
        out[col] = values
    return out


# --- Markdown -------------------------------------------------------------------------------


def best_mask(table: pd.DataFrame, decimals: int = 2) -> pd.DataFrame:
    """True where a cell is its column's best (highest) value as displayed with ``decimals``.

    Ties are judged on the rounded values a reader sees, so equal-looking numbers are all bold.
    """
    rounded = table.astype(float).round(decimals)
    return rounded.eq(rounded.max(axis=0), axis=1) & rounded.notna()


def _partial_cells(table: pd.DataFrame) -> set[tuple[str, str]]:
    return {(p[0], p[1]) for p in table.attrs.get("partial", [])}


def _notes(table: pd.DataFrame) -> list[str]:
    notes = []
    if table.attrs.get("missing"):
        cells = "; ".join(f"{r} at {c}" for r, c in table.attrs["missing"])
        notes.append(f"{MISSING_TEXT} not finished yet: {cells}.")
    if table.attrs.get("partial"):
        cells = "; ".join(f"{r} at {c} ({n} of {m} seeds)" for r, c, n, m in table.attrs["partial"])
        notes.append(f"{PARTIAL_MARK} mean over the seeds finished so far: {cells}.")
    return notes


def table_markdown(table: pd.DataFrame, decimals: int = 2) -> str:
    """Markdown table like the paper's Table I, each column's best value in **bold**.

    Missing cells show as "–"; when the table was built with ``expected`` points, cells averaged
    over fewer seeds than asked for get a "*" and a note under the table lists what is missing.
    """
    bold = best_mask(table, decimals)
    partial = _partial_cells(table)
    head = [str(table.index.name or "")] + [str(c) for c in table.columns]
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join([":---"] + ["---:"] * len(table.columns)) + "|",
    ]
    for i, (label, values) in enumerate(table.iterrows()):
        cells = [str(label)]
        for j, (col, value) in enumerate(values.items()):
            if pd.isna(value):
                cells.append(MISSING_TEXT)
                continue
            text = f"{float(value):.{decimals}f}"
            text = f"**{text}**" if bold.iat[i, j] else text
            cells.append(text + (PARTIAL_MARK if (label, col) in partial else ""))
        lines.append("| " + " | ".join(cells) + " |")
    notes = _notes(table)
    return "\n".join(lines) + "\n" + "".join(f"\n{n}\n" for n in notes)


def _pair(psnr: float, ssim: float, bold_psnr: bool, bold_ssim: bool, on: str, off: str) -> str:
    """PSNR/SSIM as Table IV prints it ("37.93/0.9594"), each part bold when best in its column."""
    p = f"{psnr:.2f}"
    s = MISSING_TEXT if pd.isna(ssim) else f"{ssim:.4f}"
    return (f"{on}{p}{off}" if bold_psnr else p) + "/" + (f"{on}{s}{off}" if bold_ssim else s)


def benchmark_markdown(table: pd.DataFrame) -> str:
    """Table IV in Markdown: "PSNR/SSIM" per test set, each column's best PSNR and SSIM bold."""
    sets = table.attrs.get("test_sets") or [
        c[: -len(" PSNR")] for c in table.columns if c.endswith(" PSNR")
    ]
    psnr = table[[f"{s} PSNR" for s in sets]]
    ssim = table[[f"{s} SSIM" for s in sets]]
    bold_p, bold_s = best_mask(psnr, 2), best_mask(ssim, 4)
    has_params = "Params" in table.columns
    head = [str(table.index.name or "")] + (["Params"] if has_params else []) + sets
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join([":---"] + ["---:"] * (len(head) - 1)) + "|",
    ]
    for i, label in enumerate(table.index):
        cells = [str(label)]
        if has_params:
            cells.append(format_params(table["Params"].iloc[i]))
        for j in range(len(sets)):
            p, s = psnr.iat[i, j], ssim.iat[i, j]
            if pd.isna(p):
                cells.append(MISSING_TEXT)
                continue
            cells.append(_pair(p, s, bold_p.iat[i, j], bold_s.iat[i, j], "**", "**"))
        lines.append("| " + " | ".join(cells) + " |")
    notes = _notes(table)
    return "\n".join(lines) + "\n" + "".join(f"\n{n}\n" for n in notes)


def write_table(
    table: pd.DataFrame,
    csv_path: str | Path,
    md_path: str | Path,
    decimals: int = 2,
    html_path: str | Path | None = None,
    title: str = "",
    caption: str = "",
) -> None:
    """Write a table as CSV (full precision, for reuse), Markdown (rounded, for reading) and,
    optionally, an HTML page (for the workflow's report)."""
    paths = [Path(p) for p in (csv_path, md_path, html_path) if p is not None]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(csv_path, float_format="%.17g")
    benchmark = "test_sets" in table.attrs
    md = benchmark_markdown(table) if benchmark else table_markdown(table, decimals)
    Path(md_path).write_text(md, encoding="utf-8")
    if html_path is not None:
        body = table_html(table, decimals, benchmark=benchmark)
        Path(html_path).write_text(html_page(title, [caption, body]), encoding="utf-8")


def write_tables(
    tables: Mapping[str, pd.DataFrame], csv_path: str | Path, md_path: str | Path, decimals=2
) -> None:
    """One table per test set as CSV and Markdown: a single set as :func:`write_table` writes it;
    several as one Markdown section per set and one CSV with a ``test_set`` column in front."""
    if len(tables) == 1:
        write_table(next(iter(tables.values())), csv_path, md_path, decimals)
        return
    for path in (csv_path, md_path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    stacked = pd.concat(
        table.assign(test_set=name).set_index("test_set", append=True)
        for name, table in tables.items()
    )
    stacked.reorder_levels([1, 0]).to_csv(csv_path, float_format="%.17g")
    sections = [
        f"## Test set {name}\n\n{table_markdown(table, decimals)}" for name, table in tables.items()
    ]
    Path(md_path).write_text("\n".join(sections), encoding="utf-8")


# --- HTML -----------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #111; background: #fff; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.92em; }
th, td { border-bottom: 1px solid #ccc; padding: 0.25em 0.7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 2px solid #333; background: #f3f3f3; }
td.best { font-weight: bold; } td.missing { color: #b00; }
p.note { color: #555; font-size: 0.9em; max-width: 60em; }
pre { background: #f6f6f6; padding: 1em; overflow: auto; font-size: 0.85em; }
"""


def html_page(title: str, parts: Sequence[str]) -> str:
    """A standalone HTML page: a title and HTML fragments (plain strings are escaped paragraphs)."""
    body = []
    for part in parts:
        if not part:
            continue
        body.append(part if part.lstrip().startswith("<") else f"<p>{html.escape(part)}</p>")
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n<body>\n"
        + (f"<h1>{html.escape(title)}</h1>\n" if title else "")
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def table_html(table: pd.DataFrame, decimals: int = 2, benchmark: bool = False) -> str:
    """An HTML table with the same content as the Markdown: best per column bold, "–" missing."""
    if benchmark:
        return _benchmark_html(table)
    bold = best_mask(table, decimals)
    partial = _partial_cells(table)
    out = ["<table>", "<thead><tr>"]
    out += [f"<th>{html.escape(str(c))}</th>" for c in [table.index.name or "", *table.columns]]
    out.append("</tr></thead><tbody>")
    for i, (label, values) in enumerate(table.iterrows()):
        out.append(f"<tr><td>{html.escape(str(label))}</td>")
        for j, (col, value) in enumerate(values.items()):
            if pd.isna(value):
                out.append(f"<td class='missing'>{MISSING_TEXT}</td>")
                continue
            mark = PARTIAL_MARK if (label, col) in partial else ""
            cls = " class='best'" if bold.iat[i, j] else ""
            out.append(f"<td{cls}>{float(value):.{decimals}f}{mark}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    out += [f"<p class='note'>{html.escape(n)}</p>" for n in _notes(table)]
    return "".join(out)


def _benchmark_html(table: pd.DataFrame) -> str:
    sets = table.attrs["test_sets"]
    psnr = table[[f"{s} PSNR" for s in sets]]
    ssim = table[[f"{s} SSIM" for s in sets]]
    bold_p, bold_s = best_mask(psnr, 2), best_mask(ssim, 4)
    has_params = "Params" in table.columns
    head = [table.index.name or ""] + (["Params"] if has_params else []) + list(sets)
    out = ["<table><thead><tr>"] + [f"<th>{html.escape(str(h))}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    for i, label in enumerate(table.index):
        out.append(f"<tr><td>{html.escape(str(label))}</td>")
        if has_params:
            out.append(f"<td>{format_params(table['Params'].iloc[i])}</td>")
        for j in range(len(sets)):
            p, s = psnr.iat[i, j], ssim.iat[i, j]
            if pd.isna(p):
                out.append(f"<td class='missing'>{MISSING_TEXT}</td>")
                continue
            out.append(f"<td>{_pair(p, s, bold_p.iat[i, j], bold_s.iat[i, j], '<b>', '</b>')}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    out += [f"<p class='note'>{html.escape(n)}</p>" for n in _notes(table)]
    return "".join(out)


def frame_html(frame: pd.DataFrame, formats: Mapping[str, str] | None = None) -> str:
    """Any DataFrame as a plain HTML table; ``formats`` maps a column to a format spec (".3f")."""
    formats = dict(formats or {})
    out = ["<table><thead><tr>"]
    out += [f"<th>{html.escape(str(c))}</th>" for c in frame.columns]
    out.append("</tr></thead><tbody>")
    for row in frame.itertuples(index=False):
        out.append("<tr>")
        for col, value in zip(frame.columns, row, strict=True):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                text = ""
            elif col in formats and isinstance(value, int | float | np.number):
                text = format(value, formats[col])
            else:
                text = str(value)
            out.append(f"<td>{html.escape(text)}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


#: Columns of the per-run page, in reading order, with their display formats.
RUN_COLUMNS = {
    "task": "", "model": "", "params": ",.0f", "dataset": "", "patch": "", "stride": "",
    "criterion": "", "k_label": "", "k": "", "n_store": "", "aug": "", "seed": "", "recipe": "",
    "test_set": "", "images": "", "psnr": ".3f", "ssim": ".4f", "best_iteration": "",
    "best_val_psnr": ".3f", "seconds": ".1f", "trained_on": "",
}  # fmt: skip


def runs_html(results: pd.DataFrame, title: str, note: str = "") -> str:
    """The per-run metrics page: one row per (run, test set) with every parameter."""
    cols = [c for c in RUN_COLUMNS if c in results.columns]
    rest = [c for c in results.columns if c not in cols and c not in ("augment", "fingerprint")]
    frame = results[cols + rest]
    if len(frame):
        sort = [c for c in ("test_set", "model", "stride", "criterion", "aug", "k", "seed")]
        frame = frame.sort_values([c for c in sort if c in frame.columns], kind="stable")
    fmt = {c: f for c, f in RUN_COLUMNS.items() if f}
    return html_page(title, [note, frame_html(frame, fmt)])


def read_runs(path: str | Path) -> pd.DataFrame:
    """A ``*_runs.csv`` written by the workflow; empty (no columns) when no run has finished."""
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def stack_tables(paths: Sequence, key: Sequence[str]) -> pd.DataFrame:
    """The tables at ``paths`` (:func:`read_runs`) one under the other, a row several of them
    hold (a run two experiments share) kept once by the ``key`` columns present."""
    frames = [frame for frame in map(read_runs, paths) if len(frame)]
    if not frames:
        return pd.DataFrame()
    table = pd.concat(frames, ignore_index=True)
    return table.drop_duplicates(subset=[k for k in key if k in table.columns] or None)


def tables_page(
    title: str, sections: Sequence[tuple[str, pd.DataFrame]], caption: str = "", decimals: int = 2
) -> str:
    """An HTML page of several tables, each under its heading (e.g. one per test set)."""
    parts = [caption]
    for heading, table in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.append(table_html(table, decimals, benchmark="test_sets" in table.attrs))
    return html_page(title, parts)


# --- what the workflow's report rules ask for (rules/report.smk) -------------------------------

#: Tables II-IV by the layout name in their file names, and the experiment kinds that ask for them.
LAYOUTS = {"strides": "Table II", "params": "Table III", "benchmarks": "Table IV"}
_KIND_LAYOUT = {"strides": "strides", "models": "params", "benchmarks": "benchmarks"}


#: The files of a finished run that tables and figures read, by kind.
RUN_FILE_KINDS = ("meta", "logs", "evals")


def run_files(
    config: Mapping, run, tests: Sequence[str], kinds: Sequence[str] = RUN_FILE_KINDS
) -> list[str]:
    """The files of a finished run that the tables and figures read: ``run.json`` (meta),
    ``train_log.csv`` (logs) and ``eval/<test>.csv`` (evals), of the ``kinds`` asked for."""
    folder = f"{config['results']}/runs/{run.path}"
    files = {
        "meta": [f"{folder}/run.json"],
        "logs": [f"{folder}/train_log.csv"],
        "evals": [f"{folder}/eval/{test}.csv" for test in tests],
    }
    return [f for kind in kinds for f in files[kind]]


def pick_convergence_criterion(criteria: Sequence[str]) -> str:
    """The criterion Fig. 4 follows: "loss", as in the paper, when the runs have it."""
    criteria = list(dict.fromkeys(str(c) for c in criteria))
    if not criteria:
        raise ValueError("no runs to draw convergence curves of")
    if "loss" in criteria:
        return "loss"
    return next((c for c in CRITERIA_ORDER if c in criteria), criteria[0])


def convergence_criterion(config: Mapping, name: str) -> str:
    """The criterion whose runs Fig. 4 draws (:func:`pick_convergence_criterion` of the
    experiment's criteria): the only runs the figure waits for."""
    return pick_convergence_criterion(config["experiments"][name]["criteria"])


def partial_inputs(
    allow_partial: bool, targets: Collection[str], main_process: bool = True
) -> bool:
    """Whether tables and figures are drawn from the runs finished so far: with
    ``allow_partial``, for named ``targets`` (``snakemake table1``, which then schedules no
    training). Without targets, or with ``all``, the invocation trains every run, so drawing its
    products first would leave them "not finished yet" at its end. A job's own process (on a
    cluster node) has no targets: it lists the runs that exist, which are the ones the main
    process gave it, or more (all of them, when it waited for them)."""
    if not main_process:
        return allow_partial
    return allow_partial and bool(targets) and "all" not in targets


def report_runs(
    config: Mapping,
    name: str,
    allow_partial: bool = False,
    reads: Sequence[str] = RUN_FILE_KINDS,
    criterion: str | None = None,
) -> list:
    """The runs an experiment's tables and figures wait for (those of ``criterion`` when given):
    all of them; with ``allow_partial`` only those whose files of the kinds the product
    ``reads`` exist now (see rules/report.smk)."""
    from patchmine.grid import experiment_runs

    runs = [r for r in experiment_runs(config, name) if criterion in (None, r.criterion)]
    if not allow_partial:
        return runs
    tests = config["experiments"][name]["test"]
    return [r for r in runs if all(Path(f).exists() for f in run_files(config, r, tests, reads))]


def report_inputs(
    config: Mapping,
    name: str,
    what: str,
    allow_partial: bool = False,
    reads: Sequence[str] = RUN_FILE_KINDS,
    criterion: str | None = None,
) -> list:
    """``what`` = "meta" (run.json), "logs" (train_log.csv) or "evals" (eval/<test>.csv) of
    :func:`report_runs`: a product reading several kinds asks for each with the same ``reads``,
    so that its lists pair up run by run."""
    tests = config["experiments"][name]["test"]
    return [
        f
        for run in report_runs(config, name, allow_partial, reads, criterion)
        for f in run_files(config, run, tests, [what])
    ]


def expected_runs(config: Mapping, name: str) -> list[dict]:
    """Every run the configuration asks of an experiment (what a complete product shows)."""
    from patchmine.grid import experiment_runs

    return [run.as_dict() for run in experiment_runs(config, name)]


def grid_signature(config: Mapping, name: str) -> str:
    """A short, stable name of an experiment's grid (its runs and test sets): a job parameter
    that makes Snakemake redraw a product when the grid changes, without listing every run in
    the report's job parameters."""
    import hashlib
    import json

    runs = expected_runs(config, name)
    tests = list(config["experiments"][name]["test"])
    digest = hashlib.sha256(json.dumps([runs, tests], sort_keys=True).encode()).hexdigest()
    return f"{len(runs)} runs x {len(tests)} test sets, {digest[:12]}"


def config_signature(config: Mapping) -> str:
    """A short, stable name of a whole configuration (see :func:`grid_signature`)."""
    import hashlib
    import json

    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def validation_set(config: Mapping, name: str) -> str:
    return config["recipes"][config["experiments"][name]["recipe"]]["validation"]


def experiment_layouts(config: Mapping, name: str) -> list[str]:
    """The Tables II-IV an experiment asks for: its ``kind`` says so, or else its grid does
    (several strides -> II, several models -> III, several test sets -> IV)."""
    from patchmine.grid import experiment_runs

    exp = config["experiments"][name]
    if exp.get("kind") is not None:
        layout = _KIND_LAYOUT.get(exp["kind"])
        return [layout] if layout else []
    runs = experiment_runs(config, name)
    layouts = []
    if len({r.stride for r in runs}) > 1:
        layouts.append("strides")
    if len({r.model for r in runs}) > 1:
        layouts.append("params")
    if len(exp["test"]) > 1:
        layouts.append("benchmarks")
    return layouts


def experiment_products(config: Mapping, name: str) -> list[str]:
    """Every table, figure and report page of one experiment."""
    from patchmine.grid import experiment_runs

    exp = config["experiments"][name]
    if exp.get("kind") == "correlation":
        return []
    r = config["results"]
    out = [
        f"{r}/tables/{name}_runs.csv",
        f"{r}/tables/{name}_runs.html",
        f"{r}/tables/{name}.csv",
        f"{r}/tables/{name}.md",
        f"{r}/tables/{name}.html",
        f"{r}/tables/{name}_vs_paper.md",
        f"{r}/figures/{name}_psnr_vs_k.png",
        f"{r}/figures/{name}_psnr_vs_k.pdf",
        f"{r}/figures/{name}_convergence.png",
        f"{r}/figures/{name}_histograms.png",
    ]
    if len(set(exp.get("augment", [False, True]))) > 1:
        out.append(f"{r}/figures/{name}_aug_gain.png")
    out += [f"{r}/tables/{name}_{layout}.md" for layout in experiment_layouts(config, name)]
    stores = sorted({(run.dataset, run.patch, run.stride) for run in experiment_runs(config, name)})
    out += [f"{r}/report/stores/{d}_p{p}_s{s}.html" for d, p, s in stores]
    # the training set's page is its store's (no ingest: its images go straight into the store)
    sets = {*exp["test"], validation_set(config, name)}
    out += [f"{r}/report/datasets/{d}.html" for d in sorted(sets)]
    return out


def figure_label(config: Mapping, name: str, show: str, fallback: str) -> str:
    """The paper's name of an experiment's figure: from the target that shows it ("fig9" ->
    "Fig. 9"), else from its task (denoising PSNR against K is the paper's Fig. 9), else
    ``fallback``."""
    for target_name, target in config.get("targets", {}).items():
        if target["experiment"] == name and target["show"] == show:
            found = re.fullmatch(r"fig(\d+)([a-z]?)", target_name)
            if found:
                return f"Fig. {found[1]}{found[2]}"
    if show == "psnr_vs_k" and config["experiments"][name].get("task") == "denoise":
        return "Fig. 9"
    return fallback


def report_targets(config: Mapping) -> list[str]:
    """Everything the HTML report shows; `rule all` lists it so `snakemake --report` finds it."""
    targets = [f"{config['results']}/report/config.html"]
    for name in config["experiments"]:
        targets += experiment_products(config, name)
    if len(targets) > 1:  # every experiment's runs beside the whole paper (rule compare_all)
        targets += [f"{config['results']}/report/paper_vs_ours.{s}" for s in ("md", "html")]
    return list(dict.fromkeys(targets))


def configured_points(config: Mapping, names: Sequence[str]) -> pd.DataFrame | None:
    """Every (run, test set) the named experiments ask for, with the model columns: what the
    comparison with the paper tells apart from runs never configured (None without any)."""
    points = [
        expected_points(expected_runs(config, name), config["experiments"][name]["test"])
        for name in names
    ]
    if not points:
        return None
    return add_model_columns(pd.concat(points, ignore_index=True), config["models"])


def experiment_results(
    config: Mapping, name: str, runs_csv
) -> tuple[list, pd.DataFrame, pd.DataFrame]:
    """(test sets, finished results, expected points) of one experiment: what every table and
    figure script starts from."""
    tests = config["experiments"][name]["test"]
    results = read_runs(runs_csv)
    return tests, results, expected_points(expected_runs(config, name), tests, results)
