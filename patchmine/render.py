"""Tables as a reader sees them -- Markdown and HTML with each column's best value in bold,
"–" for a cell still to come and "*" for one averaged over fewer seeds than asked for -- and the
standalone HTML pages of the workflow's report."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from patchmine.labels import format_params

#: How a cell averaged over fewer seeds than the configuration asks for is marked.
PARTIAL_MARK = "*"

MISSING_TEXT = "–"


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
    notes += list(table.attrs.get("references", []))
    at_end, runs = table.attrs.get("still_improving", (0, 0))
    if at_end:
        notes.append(
            f"{at_end} of the {runs} runs behind this table had their best validation PSNR at "
            "their last iteration: still improving when training stopped, so early stopping "
            "chose nothing and more `iterations` would change their numbers."
        )
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
    table.to_csv(csv_path)  # the shortest text that reads back as the same value
    Path(md_path).write_text(_markdown(table, decimals), encoding="utf-8")
    if html_path is not None:
        body = table_html(table, decimals, benchmark=_is_benchmark(table))
        Path(html_path).write_text(html_page(title, [caption, body]), encoding="utf-8")


def write_tables(
    tables: Mapping[str, pd.DataFrame],
    csv_path: str | Path,
    md_path: str | Path,
    title: str = "",
    heading: str | None = "Test set {}",
    decimals: int = 2,
) -> None:
    """One table per test set as CSV and Markdown. The CSV of a single set is the table as
    :func:`write_table` writes it; several stack into one CSV with a ``test_set`` column in front.
    The Markdown starts with ``title`` and puts each table under ``heading`` (formatted with the
    set's name; None: no heading), so that a lone table still says which set it measured."""
    for path in (csv_path, md_path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    if len(tables) == 1:
        next(iter(tables.values())).to_csv(csv_path)  # shortest exact form of each value
    else:
        stacked = pd.concat(
            table.assign(test_set=name).set_index("test_set", append=True)
            for name, table in tables.items()
        )
        stacked.reorder_levels([1, 0]).to_csv(csv_path)
    parts = [f"# {title}\n"] if title else []
    for name, table in tables.items():
        if heading is not None:
            parts.append(f"## {heading.format(name)}\n")
        parts.append(_markdown(table, decimals))
    Path(md_path).write_text("\n".join(parts), encoding="utf-8")


def write_experiment_tables(
    tables: Mapping[str, pd.DataFrame],
    references: Mapping[str, str],
    paths: Mapping[str, str | Path],
    title: str,
    heading: str | None = "Test set {}",
) -> None:
    """An experiment's tables (one per test set, or Table IV's one over all of them) as the
    ``csv``, ``md`` and ``html`` of ``paths``, each with the note of what its networks are read
    against (``references`` by test set, those made: all of them under a table of several
    sets)."""
    for name, table in tables.items():
        mine = [references[name]] if name in references else []
        table.attrs["references"] = [*references.values()] if _is_benchmark(table) else mine
    write_tables(tables, paths["csv"], paths["md"], title, heading)
    sections = [(heading.format(t) if heading else t, table) for t, table in tables.items()]
    Path(paths["html"]).write_text(tables_page(title, sections), encoding="utf-8")


def _is_benchmark(table: pd.DataFrame) -> bool:
    return "test_sets" in table.attrs


def _markdown(table: pd.DataFrame, decimals: int) -> str:
    return benchmark_markdown(table) if _is_benchmark(table) else table_markdown(table, decimals)


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
    out += [f"<p class='note'>{inline_code(html.escape(n))}</p>" for n in _notes(table)]
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
    out += [f"<p class='note'>{inline_code(html.escape(n))}</p>" for n in _notes(table)]
    return "".join(out)


def inline_code(escaped: str) -> str:
    """Escaped text with Markdown's `code` spans as <code> (the messages are written for both)."""
    return re.sub(r"`([^`<>]+)`", r"<code>\1</code>", escaped)


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
            out.append(f"<td>{inline_code(html.escape(text))}</td>")
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


def tables_page(
    title: str, sections: Sequence[tuple[str, pd.DataFrame]], caption: str = "", decimals: int = 2
) -> str:
    """An HTML page of several tables, each under its heading (e.g. one per test set)."""
    parts = [caption]
    for heading, table in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.append(table_html(table, decimals, benchmark=_is_benchmark(table)))
    return html_page(title, parts)
