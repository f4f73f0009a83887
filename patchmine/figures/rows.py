"""Figures with a row of panels per test set (Figs. 5, 6, 8 and 9): which results each row draws,
and the rows' letters, margins and title, so that both figures stack their rows alike."""

from __future__ import annotations

import string
from collections.abc import Sequence

import pandas as pd
from matplotlib.figure import Figure

from patchmine.tables import normalise, select_test_set


def _several(test_set: str | Sequence[str] | None) -> bool:
    """Whether ``test_set`` names several sets (a row each) rather than one."""
    return test_set is not None and not isinstance(test_set, str)


def _test_set_rows(
    results: pd.DataFrame,
    test_set: str | Sequence[str] | None,
    metric: str,
    expected: pd.DataFrame | None = None,
    k_min: int | None = None,
) -> list[tuple[str, pd.DataFrame, pd.DataFrame | None]]:
    """Per row, (test set, its finite results, its expected points or None). One set (None: the
    only one in the results, or else the first expected) gives one row, and a set missing from
    the results is an error; of several, a set without results yet gives an empty row.
    ``k_min`` drops smaller K from results and expected points alike."""
    several = _several(test_set)
    return [
        _row(results, one, metric, expected, k_min, may_lack=several)
        for one in (list(test_set) if several else [test_set])
    ]


def _row(
    results, test_set, metric, expected, k_min, may_lack: bool = False
) -> tuple[str, pd.DataFrame, pd.DataFrame | None]:
    """(test set, its finite results, its expected points or None) for one row of panels; a
    single unnamed test set is the only one in the results, or else the first expected.
    ``may_lack``: a set without results (one of several, none finished on it yet) is an empty
    row rather than a mistake."""
    lacking = may_lack and (not len(results) or test_set not in set(results["test_set"]))
    sub = (
        pd.DataFrame()
        if lacking or not len(results)
        else select_test_set(results, test_set, metric)
    )
    if test_set is None and len(sub):
        test_set = str(sub["test_set"].iloc[0])
    exp = None
    if expected is not None and len(expected):
        exp = normalise(expected)
        test_set = test_set or sorted(exp["test_set"].unique())[0]
        exp = exp[exp["test_set"] == test_set]
    if k_min is not None:
        sub = sub[sub["k"] >= k_min] if len(sub) else sub
        exp = exp[~(exp["k"] < k_min)] if exp is not None else None
    return test_set, sub, exp


def _letter(panel: int) -> str:
    """A panel's letter, counting from 0: (a) to (z), then (aa) to (az), (ba), ..."""
    before, last = divmod(panel, 26)
    return (_letter(before - 1) if before else "") + string.ascii_lowercase[last]


def _stack_rows(fig: Figure) -> None:
    """Margins for panels stacked a row per test set, in inches rather than in fractions of a
    figure that grows with the rows, and room for a row's K axis label above the next title."""
    height = fig.get_figheight()
    fig.subplots_adjust(hspace=0.35, top=1 - 1.0 / height, bottom=0.55 / height)


def _title_rows(fig: Figure, title: str) -> None:
    """The title of stacked rows (:func:`_stack_rows`), as far from the top as above one row."""
    fig.suptitle(title, y=1 - 0.1 / fig.get_figheight())
