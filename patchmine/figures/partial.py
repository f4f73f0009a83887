"""Figures drawn before every run has finished: the note naming the points still to come (or
drawn from fewer seeds than configured), an "x" at each missing K on the axis, and a gap in a
curve where a point is missing, so that a line never bridges it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.transforms import blended_transform_factory

from patchmine.figures.style import MISSING_MARKER
from patchmine.labels import format_k, series_label
from patchmine.tables import describe_missing


def _missing_note(missing: pd.DataFrame, series: Sequence[str]) -> list[str]:
    described = describe_missing(missing, series)
    if not described:
        return []
    items = "; ".join(f"{label}: K = {ks}" for label, ks in described.items())
    return [f"Partial data - not finished yet, left out: {items}."]


def _partial_points(
    missing: pd.DataFrame, means: pd.DataFrame, keys: Sequence[str]
) -> tuple[pd.DataFrame, list[str]]:
    """Split the ``missing`` (run, test set) points into the runs of points not drawn at all
    (returned) and those of points drawn from fewer seeds than configured, named in a note line:
    "Grad: K = 32 (1 of 2 seeds)", as Table I marks such a cell."""

    def point(row: Mapping) -> tuple:
        k = row["k"]
        return (*(str(row[key]) for key in keys), int(k) if pd.notna(k) else None)

    drawn = {point(r): (int(r["n_seeds"]), r) for r in means.to_dict("records")}
    rows = missing.to_dict("records")
    partial = [point(r) in drawn for r in rows]
    lacking: dict[tuple, int] = {}
    for r, is_partial in zip(rows, partial, strict=True):
        if is_partial:
            lacking[point(r)] = lacking.get(point(r), 0) + 1
    items = []
    for key, lack in lacking.items():
        n, row = drawn[key]
        label = series_label({k: row[k] for k in keys})
        items.append(f"{label}: K = {format_k(int(row['k']))} ({n} of {n + lack} seeds)")
    lines = [f"Partial data - mean over the seeds finished so far: {'; '.join(items)}."]
    return missing[[not p for p in partial]], lines if items else []


def _mark_missing(axes, panels, missing, keys, palette) -> None:
    """An "x" at each missing K on the K axis, in the curve's colour."""
    for values, part in missing.groupby([k for k in keys if k in missing.columns], sort=False):
        values = values if isinstance(values, tuple) else (values,)
        named = dict(zip([k for k in keys if k in missing.columns], values, strict=True))
        color = palette(named)
        ks = part["k"].dropna().unique()
        for ax, lo in zip(axes, panels, strict=True):
            shown = [k for k in ks if lo is None or k >= lo]
            if not shown:
                continue
            trans = blended_transform_factory(ax.transData, ax.transAxes)
            ax.plot(
                shown,
                [0.02] * len(shown),
                linestyle="none",
                marker=MISSING_MARKER,
                color=color,
                transform=trans,
                clip_on=False,
                gid=f"missing|{series_label(named)}",
            )


def _expected_ks(exp: pd.DataFrame | None, named: Mapping) -> list[float]:
    """The patch counts the configuration asks of one curve (those with a known count)."""
    if exp is None or exp.empty or any(k not in exp.columns for k in named):
        return []
    mask = np.logical_and.reduce([exp[k] == v for k, v in named.items()]) if named else None
    part = exp if mask is None else exp[mask]
    return sorted(part["k"].dropna().unique())


def _with_gaps(xs, ys, expected_ks: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """The curve with NaN at expected K that have no value, so the line breaks there instead of
    bridging a missing point."""
    have = dict(zip(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float), strict=True))
    grid = sorted(set(have) | {float(k) for k in expected_ks})
    return np.array(grid), np.array([have.get(k, np.nan) for k in grid])
