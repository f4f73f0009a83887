"""The paper's published numbers and how this run's results line up with them.

``patchmine/data/published.csv`` holds every number of the paper's Tables I-IV and the Fig. 7
correlations (Soh & Cho, arXiv 2207.01075), one row per cell: ``table``, ``row`` and ``column``
as the paper prints them, ``value`` (PSNR in dB, or Pearson's rho for Fig. 7), ``ssim`` where
given, the ``test_set`` (super-resolution x2 on Urban100 unless the column names another set),
a ``note`` and the ``source`` in the paper.

:func:`cell_match` says which of this run's results a published cell corresponds to (e.g. Table
I, row "Grad+", column "10K" <-> criterion grad, with augmentation, K = 10,000 patches, the EDSR
baseline trained on 96-pixel patches cut at stride 120, Urban100); :func:`compare` lines up the
long results table with every published cell and :func:`write_comparison` writes it side by side
(ours, paper, difference) as CSV, Markdown and HTML. A cell without a matching run stays empty,
with the reason, rather than being filled from something similar.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from patchmine.labels import format_k
from patchmine.render import frame_html, html_page
from patchmine.tables import as_bool, normalise
from patchmine.tasks import Task

PAPER = "Soh & Cho, arXiv 2207.01075"
COLUMNS = ("table", "row", "column", "value", "ssim", "test_set", "note", "source")

#: The EDSR baseline (16 residual blocks, 64 channels, 1.37 M parameters at x2).
BASELINE = {"arch": "edsr", "blocks": 16, "channels": 64}
#: OISR-RK2-s as its authors build it (8 RK2 blocks of four convs, 64 channels, 1.37 M at x2).
OISR_RK2_S = {"arch": "oisr_rk2_s", "blocks": 8, "channels": 64}
#: How the paper cuts DIV2K (Sec. IV-A2): 96-pixel HR patches at stride 120.
PAPER_PATCHES = {"patch": 96, "stride": 120}
#: Super-resolution x2, the task of Tables I-IV.
SR_X2 = {"task": "sr_x2"}
#: The paper's name of a test set -> the names a configuration may give it (lower case).
TEST_SET_ALIASES = {
    "set5": ("set5",),
    "set14": ("set14",),
    "bsd100": ("bsd100", "b100"),
    "urban100": ("urban100",),
}
#: Table IV rows that report other authors' networks: shown for reference, never matched.
OTHER_METHODS = {"CARN", "FALSR-A", "OISR-RK2-s"}
#: What the paper trained every network of Tables I-IV on (Sec. IV-A2).
PAPER_TRAINING = "DIV2K's 800 training images"
#: Why a cell of another method (:data:`OTHER_METHODS`) has no counterpart here.
OTHERS_REFERENCE = "another method's published result"
#: Decimals the paper prints per metric.
DECIMALS = {"psnr": 2, "ssim": 4, "rho": 4}


def load_published() -> pd.DataFrame:
    """The published cells as a DataFrame (``value`` and ``ssim`` as floats, text as str)."""
    with resources.files("patchmine").joinpath("data/published.csv").open("rb") as handle:
        table = pd.read_csv(handle, dtype=str, keep_default_na=False)
    if tuple(table.columns) != COLUMNS:
        raise ValueError(f"published.csv has columns {list(table.columns)}, expected {COLUMNS}")
    for col in ("value", "ssim"):
        table[col] = pd.to_numeric(table[col].replace("", np.nan))
    return table


@dataclass(frozen=True)
class Match:
    """The results a published cell corresponds to.

    ``filters``: column -> value every matching result row has; ``test_set``: the paper's test
    set (matched through :data:`TEST_SET_ALIASES`); ``free_k``: the paper fixes no K (Table IV),
    so among several matching K the one with the best validation PSNR is taken (never the
    test PSNR); ``reference``: why the cell has no counterpart here (another method's number).
    """

    filters: dict = field(default_factory=dict)
    test_set: str | None = None
    free_k: bool = False
    reference: str = ""
    extra: bool = False  # the number comes from another product (Fig. 7), not the runs table


def parse_k(column: str) -> int:
    """A column heading of the paper's tables as a patch count: "10K" -> 10000."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KkMm]?)\s*", str(column))
    if not match:
        raise ValueError(f"not a number of patches: {column!r}")
    scale = {"": 1, "k": 1000, "m": 1_000_000}[match[2].lower()]
    return round(float(match[1]) * scale)


def paper_training_sets(config: Mapping) -> list[str]:
    """The config's datasets that hold the paper's training images: DIV2K's training split,
    all 800 of them (``first``/``last`` unset or spanning them)."""
    from patchmine.catalog import DIV2K_IDS

    lo, hi = DIV2K_IDS["train"]
    return sorted(
        name
        for name, spec in config.get("datasets", {}).items()
        if spec.get("source") == "div2k"
        and spec.get("split") == "train"
        and spec.get("first", lo) <= lo
        and spec.get("last", hi) >= hi
    )


def cell_match(cell: Mapping) -> Match:
    """Which results a published cell (a row of :func:`load_published`) corresponds to."""
    table, row, column = str(cell["table"]), str(cell["row"]), str(cell["column"])
    test_set = str(cell.get("test_set") or "") or None
    if table == "I":
        crit = row.rstrip("+").lower()
        filters = {
            **SR_X2,
            **BASELINE,
            **PAPER_PATCHES,
            "criterion": crit,
            "augment": row.endswith("+"),
            "k": parse_k(column),
        }
        return Match(filters, test_set)
    if table == "II":
        stride = int(re.search(r"\d+", row)[0])
        filters = {
            **SR_X2,
            **BASELINE,
            "patch": 96,
            "stride": stride,
            "criterion": "grad",
            "augment": True,
            "k": parse_k(column),
        }
        return Match(filters, test_set)
    if table == "III":
        filters = {
            **SR_X2,
            "arch": "edsr",
            "blocks": 128,
            "channels": 64,
            **PAPER_PATCHES,
            "criterion": "grad",
            "augment": True,
            "k": parse_k(column),
        }
        return Match(filters, test_set)
    if table == "IV":
        if row in OTHER_METHODS:
            return Match(test_set=test_set, reference=OTHERS_REFERENCE)
        if row.startswith("Baseline"):
            # the official EDSR weights evaluated here (a `published_models` entry): rows
            # marked weights == "published"
            return Match({"weights": "published", **SR_X2, **BASELINE}, test_set, free_k=True)
        filters = {
            **SR_X2,
            **(OISR_RK2_S if "OISR" in row else BASELINE),
            **PAPER_PATCHES,
            "criterion": "grad",
            "augment": True,
        }
        return Match(filters, test_set, free_k=True)
    if table == "Fig7":
        return Match(extra=True)
    raise ValueError(f"no rule for published table {table!r}")


def fig7_row(task_a: str, task_b: str) -> str:
    """The paper's Fig. 7 row for two task names: ("sr_x2", "sr_x3") -> "SR x2 vs SR x3",
    ("sr_x2", "dn_s25") -> "SR x2 vs denoise sigma 25"."""

    def name(task: str) -> str:
        try:
            parsed = Task.parse(task)
        except ValueError:
            return task
        return f"SR x{parsed.level}" if parsed.kind == "sr" else f"denoise sigma {parsed.level}"

    return f"{name(task_a)} vs {name(task_b)}"


#: Why a cell is empty when its run is configured and has not finished.
NOT_FINISHED = "configured here, not finished yet"


def _equals(series: pd.Series, value) -> pd.Series:
    if isinstance(value, bool):
        return series.map(as_bool) == value
    if isinstance(value, int | float):
        return pd.to_numeric(series, errors="coerce") == value
    return series.astype(str).str.lower() == str(value).lower()


def _test_set_mask(series: pd.Series, paper_name: str) -> pd.Series:
    names = TEST_SET_ALIASES.get(paper_name.lower(), (paper_name.lower(),))
    return series.astype(str).str.lower().isin(names)


def _select(
    results: pd.DataFrame, match: Match, train_sets: Collection[str] | None = None
) -> tuple[pd.DataFrame, str]:
    """Rows of ``results`` that ``match`` selects, or none and the first condition that failed.
    With ``train_sets``, a trained run counts only when it was trained on one of them (published
    weights were not trained here)."""
    sel = results
    conditions = list(match.filters.items())
    for col, value in conditions:
        if col == "weights" and (col not in sel.columns or not _equals(sel[col], value).any()):
            return sel.iloc[0:0], "no published model evaluated here (a `published_models` entry)"
        if col not in sel.columns:
            return sel.iloc[0:0], f"results have no '{col}' column"
        sel = sel[_equals(sel[col], value)]
        if sel.empty:
            return sel, _why_none(results, match, train_sets) or f"no run with {_shown(col, value)}"
    if train_sets is not None and "dataset" in sel.columns:
        weights = sel["published"].notna() if "published" in sel.columns else False
        kept = sel[sel["dataset"].isin(list(train_sets)) | weights]
        if kept.empty:
            return kept, _not_trained_on_the_papers(sel["dataset"])
        sel = kept
    if match.test_set:
        sel = sel[_test_set_mask(sel["test_set"], match.test_set)]
        if sel.empty:
            return sel, f"no evaluation on {match.test_set}"
    return sel, ""


def _not_trained_on_the_papers(datasets: pd.Series) -> str:
    others = ", ".join(sorted(datasets.astype(str).unique()))
    return f"no run trained on {PAPER_TRAINING} (runs here trained on: {others})"


def _shown(col: str, value) -> str:
    return f"{col} = {format_k(value) if col == 'k' else value}"


def _why_none(results: pd.DataFrame, match: Match, train_sets: Collection[str] | None) -> str:
    """Every condition of ``match`` that no result meets even on its own, the most basic first
    (training set, test set, then the filters): naming only the first would suggest that it is
    the only gap. Empty when each is met by some result, only never all together."""
    reasons = []
    if train_sets is not None and "dataset" in results.columns:
        trained = results[results["published"].isna()] if "published" in results else results
        if len(trained) and not trained["dataset"].isin(list(train_sets)).any():
            reasons.append(_not_trained_on_the_papers(trained["dataset"]))
    if match.test_set and "test_set" in results.columns:
        if not _test_set_mask(results["test_set"], match.test_set).any():
            reasons.append(f"no evaluation on {match.test_set}")
    unmet = [
        _shown(col, value)
        for col, value in match.filters.items()
        if col in results.columns and not _equals(results[col], value).any()
    ]
    if unmet:
        reasons.append("no run with " + ", ".join(unmet))
    return "; ".join(reasons)


_IDENTITY = (
    "task",
    "model",
    "published",
    "dataset",
    "patch",
    "stride",
    "criterion",
    "augment",
    "k",
    "recipe",
)


def _pick(sel: pd.DataFrame, free_k: bool) -> tuple[pd.DataFrame, str]:
    """One setting's rows (all its seeds); among several, the best by validation PSNR."""
    keys = [k for k in _IDENTITY if k in sel.columns]
    groups = list(sel.groupby(keys, sort=True, dropna=False)) if keys else [((), sel)]
    note = ""
    if len(groups) > 1:
        if "best_val_psnr" in sel.columns:
            scores = [pd.to_numeric(g["best_val_psnr"]).mean() for _, g in groups]
            best = int(np.nanargmax(scores)) if np.isfinite(scores).any() else 0
            what = "K" if free_k else "setting"
            note = f"best validation PSNR of {len(groups)} matching {what}s"
        else:
            best = 0
            note = f"first of {len(groups)} matching settings"
        _, chosen = groups[best]
        recipes = sorted(sel["recipe"].unique()) if "recipe" in sel.columns else []
        if len(recipes) > 1:  # their validation PSNRs may come from different sets
            note += f" of recipes {', '.join(recipes)}"
    else:
        chosen = groups[0][1]
    return chosen, note


def _row_setting(
    res: pd.DataFrame, match: Match, test_sets: list[str], train_sets: Collection[str] | None
) -> tuple[pd.DataFrame, str] | None:
    """The one setting a row that fixes no K (Table IV) is filled from, on every test set: the
    setting evaluated on most of the row's test sets, and among those the best by validation
    PSNR. Chosen per cell, K could differ between a row's columns, each set's candidates being
    the runs evaluated on it. None when nothing matches (each cell then says why)."""
    sel, why = _select(res, Match(match.filters), train_sets)
    if why:
        return None
    on_row = sel[sum(_test_set_mask(sel["test_set"], name) for name in test_sets) > 0]
    keys = [k for k in _IDENTITY if k in on_row.columns]
    groups = [g for _, g in on_row.groupby(keys, sort=True, dropna=False)] if keys else [on_row]
    reach = [g["test_set"].str.lower().nunique() for g in groups]
    if not groups or max(reach) == 0:
        return None
    widest = [g for g, r in zip(groups, reach, strict=True) if r == max(reach)]
    chosen, note = _pick(pd.concat(widest), free_k=True)
    if len(groups) > len(widest):
        fewer = f"{len(groups) - len(widest)} evaluated on fewer of the row's sets"
        note = f"{note}; {fewer}" if note else fewer
    return chosen, note


def _describe(rows: pd.DataFrame, note: str) -> str:
    first = rows.iloc[0]
    if pd.notna(first.get("published")):  # a published model, evaluated here
        text = f"{first['published']} (published weights), {first['test_set']}"
        return text + (f" ({note})" if note else "")
    parts = [str(first["model"])] if "model" in rows.columns else []
    if "k" in rows.columns and pd.notna(first["k"]):
        parts.append(f"K = {format_k(int(first['k']))}")
    if "test_set" in rows.columns:
        parts.append(str(first["test_set"]))
    seeds = rows["seed"].nunique() if "seed" in rows.columns else len(rows)
    parts.append(f"{seeds} seed{'s' if seeds != 1 else ''}")
    return ", ".join(parts) + (f" ({note})" if note else "")


def compare(
    results: pd.DataFrame,
    published: pd.DataFrame | None = None,
    extra: pd.DataFrame | None = None,
    expected: pd.DataFrame | None = None,
    train_sets: Collection[str] | None = None,
) -> pd.DataFrame:
    """Every published number beside this run's counterpart.

    ``results`` is the long results table (with ``arch``, ``blocks``, ``channels`` from
    :func:`patchmine.results.add_model_columns`); ``extra`` holds numbers made elsewhere, as
    (table, row, column, value) rows (e.g. Fig. 7's correlations); ``expected`` the (run, test
    set) points the configuration asks for (:func:`patchmine.tables.expected_points`, with the
    model columns), so that a cell whose run is configured but not finished says so rather than
    reading as never configured; ``train_sets`` the datasets that hold the paper's training
    images (:func:`paper_training_sets`): runs trained on other images never fill a cell. A row
    that fixes no K (Table IV) is filled from one setting on all its test sets. One row per
    published number (Table IV: PSNR and SSIM separately) with ``paper``, ``ours`` (mean over
    seeds; NaN when nothing matches), ``difference`` = ours - paper, ``n_seeds``, ``ours_from``
    (which runs, or why none) and ``source``.
    """
    published = load_published() if published is None else published
    res = normalise(results) if len(results) else pd.DataFrame()
    planned = normalise(expected) if expected is not None and len(expected) else None
    row_sets: dict[tuple[str, str], list[str]] = {}
    for cell in published.to_dict("records"):
        if cell.get("test_set"):
            row_sets.setdefault((cell["table"], cell["row"]), []).append(cell["test_set"])
    settings: dict[tuple[str, str], tuple[pd.DataFrame, str] | None] = {}
    rows = []
    for cell in published.to_dict("records"):
        match = cell_match(cell)
        metrics = [("rho" if cell["table"] == "Fig7" else "psnr", cell["value"])]
        if pd.notna(cell.get("ssim")):
            metrics.append(("ssim", cell["ssim"]))
        chosen, why = None, ""
        if match.reference:
            why = match.reference
        elif match.extra:
            found = _extra_value(extra, cell)
            why = "" if found is not None else "not computed in this run"
        else:
            sel, why = _select(res, match, train_sets) if len(res) else (res, "no finished runs")
            if not why and match.free_k:
                key = (cell["table"], cell["row"])
                if key not in settings:
                    settings[key] = _row_setting(res, match, row_sets[key], train_sets)
                rows_of_row, note = settings[key]  # not None: this cell's runs match
                chosen = rows_of_row[_test_set_mask(rows_of_row["test_set"], match.test_set)]
                if chosen.empty:
                    chosen = None
                    k = rows_of_row["k"].iloc[0] if "k" in rows_of_row.columns else np.nan
                    at = f"K = {format_k(int(k))}" if pd.notna(k) else "setting"
                    why = f"no evaluation on {match.test_set} at the row's {at}"
                    waiting = planned is not None and not _select(planned, match, train_sets)[1]
                    why = f"{NOT_FINISHED} ({why})" if waiting else why
                else:
                    why = _describe(chosen, note)
            elif not why:
                chosen, note = _pick(sel, match.free_k)
                why = _describe(chosen, note)
            elif planned is not None and not _select(planned, match, train_sets)[1]:
                why = f"{NOT_FINISHED} ({why})"
        for metric, paper in metrics:
            ours, n = np.nan, 0
            if match.extra and not match.reference:
                found = _extra_value(extra, cell)
                if found is not None:
                    ours, n, why = found, 1, "computed here"
            elif chosen is not None and metric in chosen.columns:
                values = pd.to_numeric(chosen[metric], errors="coerce").dropna()
                if len(values):
                    ours, n = float(values.mean()), int(len(values))
            rows.append(
                {
                    "table": cell["table"],
                    "row": cell["row"],
                    "column": cell["column"],
                    "test_set": cell.get("test_set", ""),
                    "metric": metric,
                    "paper": float(paper),
                    "ours": ours,
                    "difference": ours - float(paper) if np.isfinite(ours) else np.nan,
                    "n_seeds": n,
                    "ours_from": why,
                    "source": cell.get("source", ""),
                }
            )
    return pd.DataFrame(rows)


def _extra_value(extra: pd.DataFrame | None, cell: Mapping) -> float | None:
    if extra is None or extra.empty:
        return None
    hit = extra[
        (extra["table"].astype(str) == str(cell["table"]))
        & (extra["row"].astype(str) == str(cell["row"]))
        & (extra["column"].astype(str) == str(cell["column"]))
    ]
    if hit.empty or not np.isfinite(float(hit["value"].iloc[0])):
        return None
    return float(hit["value"].iloc[0])


_TITLES = {
    "I": "Table I: PSNR (dB) vs number of patches, per criterion ('+' = augmentation), Urban100 x2",
    "II": "Table II: PSNR (dB) vs number of patches for strides 120 and 60 (grad+), Urban100 x2",
    "III": "Table III: PSNR (dB) vs number of patches, EDSR with 128 residual blocks, Urban100 x2",
    "IV": "Table IV: PSNR (dB) / SSIM on the benchmarks, x2",
    "Fig7": "Fig. 7: correlation of per-patch losses between tasks (Pearson's rho)",
}


def _fmt(value: float, metric: str, signed: bool = False) -> str:
    if not np.isfinite(value):
        return "–"
    spec = f"{'+' if signed else ''}.{DECIMALS.get(metric, 2)}f"
    return format(value, spec)


def _display(comparison: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per table, the rows as a reader sees them (rounded like the paper, signed differences)."""
    out = {}
    for table, part in comparison.groupby("table", sort=False):
        view = pd.DataFrame(
            {
                "Row": part["row"],
                "Column": part["column"],
                "Metric": part["metric"].str.upper(),
                "Ours": [_fmt(v, m) for v, m in zip(part["ours"], part["metric"], strict=True)],
                "Paper": [_fmt(v, m) for v, m in zip(part["paper"], part["metric"], strict=True)],
                "Ours − paper": [
                    _fmt(v, m, signed=True)
                    for v, m in zip(part["difference"], part["metric"], strict=True)
                ],
                "Ours from": part["ours_from"],
            }
        )
        if part["metric"].nunique() == 1:
            view = view.drop(columns="Metric")
        out[str(table)] = view
    return out


def summary_line(comparison: pd.DataFrame) -> str:
    """How many published numbers have a counterpart here, and how far off they are."""
    have = comparison[np.isfinite(comparison["ours"])]
    # other authors' networks (Table IV's CARN, FALSR-A, OISR-RK2-s) are shown for reference only
    total = int((comparison["ours_from"] != OTHERS_REFERENCE).sum())
    waiting = int(comparison["ours_from"].astype(str).str.startswith(NOT_FINISHED).sum())
    others = len(comparison) - total
    also = (
        f" The other {others} published numbers are other authors' networks, shown for reference."
        if others
        else ""
    )
    if have.empty and waiting:
        return (
            f"None of the paper's {total} published numbers for its own networks has a "
            f"counterpart here yet: {waiting} are configured and not finished.{also}"
        )
    if have.empty:
        return (
            f"None of the paper's {total} published numbers for its own networks has a "
            "counterpart in this run's results (different data, models, patch geometry or "
            f"numbers of patches: each row says what).{also}"
        )
    psnr = have[have["metric"] == "psnr"]["difference"].abs()
    tail = f"; mean |ours − paper| PSNR {psnr.mean():.2f} dB" if len(psnr) else ""
    more = f" {waiting} more are configured and not finished yet." if waiting else ""
    return (
        f"{len(have)} of the paper's {total} published numbers for its own networks have a "
        f"counterpart here{tail}.{more}{also}"
    )


def unpublished_note(config: Mapping, experiments: Sequence[str]) -> str:
    """What no comparison can show: the paper's denoising results (Fig. 9) are a plot without
    numbers, so a denoising experiment's runs have no counterpart in any row."""
    denoising = [name for name in experiments if config["experiments"][name]["task"] == "denoise"]
    if not denoising:
        return ""
    return (
        f"Denoising ({', '.join(denoising)}): the paper publishes its denoising results (Fig. 9, "
        "σ 25, Urban100) as a plot only, so none of its numbers is compared here; those runs "
        "are in their experiment's tables and Fig. 9."
    )


def comparison_markdown(comparison: pd.DataFrame, note: str = "") -> str:
    """The comparison as Markdown: one section per table of the paper, after ``note``."""
    lines = [f"# This run vs the paper ({PAPER})", "", summary_line(comparison), ""]
    lines += [note, ""] if note else []
    for table, view in _display(comparison).items():
        lines += [f"## {_TITLES.get(table, table)}", ""]
        lines.append("| " + " | ".join(view.columns) + " |")
        align = [":---" if c in ("Row", "Column", "Metric", "Ours from") else "---:" for c in view]
        lines.append("|" + "|".join(align) + "|")
        for row in view.itertuples(index=False):
            lines.append("| " + " | ".join(str(v).replace("|", "/") for v in row) + " |")
        lines.append("")
    return "\n".join(lines)


def comparison_html(
    comparison: pd.DataFrame, title: str = "", caption: str = "", note: str = ""
) -> str:
    parts = [caption, f"<p><b>{html.escape(summary_line(comparison))}</b></p>"]
    parts += [f"<p>{html.escape(note)}</p>"] if note else []
    for table, view in _display(comparison).items():
        parts.append(f"<h2>{html.escape(_TITLES.get(table, table))}</h2>")
        parts.append(frame_html(view))
    return html_page(title or f"This run vs the paper ({PAPER})", parts)


def write_comparison(
    comparison: pd.DataFrame,
    csv_path: str | Path,
    md_path: str | Path,
    html_path: str | Path | None = None,
    title: str = "",
    caption: str = "",
    note: str = "",
) -> None:
    """CSV (full precision), Markdown and optionally HTML of :func:`compare`'s table, with
    ``note`` under the summary (:func:`unpublished_note`)."""
    for path in (csv_path, md_path, html_path):
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    comparison.to_csv(csv_path, index=False)  # shortest exact form: 30.76, not 30.760000000000002
    Path(md_path).write_text(comparison_markdown(comparison, note), encoding="utf-8")
    if html_path is not None:
        page = comparison_html(comparison, title, caption, note)
        Path(html_path).write_text(page, encoding="utf-8")
