"""Which settings tell the curves of a figure apart, and how each curve looks: a colour per
criterion (else per model or stride) and a marker per other setting that varies, so that no two
curves of Figs. 5, 6, 8 and 9 are drawn alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from patchmine.labels import criterion_color, series_label, spare_color

#: Parameters that may tell curves apart, in legend order.
SERIES_KEYS = ("task", "dataset", "patch", "recipe", "model", "stride", "criterion", "augment")


def _series_keys(frames: Sequence[pd.DataFrame], default: Sequence[str]) -> list[str]:
    """Keys that vary across ``frames``, plus ``default`` ones, in :data:`SERIES_KEYS` order."""
    both = pd.concat([f for f in frames if f is not None and len(f)], ignore_index=True)
    keys = [
        k
        for k in SERIES_KEYS
        if k in both.columns and (k in default or both[k].astype(str).nunique() > 1)
    ]
    return keys


def _varying(keys: Sequence[str], frame: pd.DataFrame) -> list[str]:
    """The ``keys`` that take more than one value in ``frame``."""
    return [k for k in keys if k in frame.columns and frame[k].astype(str).nunique() > 1]


class _Cycle:
    """The next of ``styles`` for each new name, in order of appearance (repeating when used up)."""

    def __init__(self, styles: Sequence[str]):
        self.styles = tuple(styles)
        self.assigned: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        if name not in self.assigned:
            self.assigned[name] = self.styles[len(self.assigned) % len(self.styles)]
        return self.assigned[name]


class _Colors:
    """Colour of a curve: by criterion (fixed colours) when criteria vary, else by model or stride
    (a cycle, in order of appearance)."""

    CYCLE = ("tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange", "tab:brown")

    def __init__(self, keys: Sequence[str], frame: pd.DataFrame):
        vary = _varying(keys, frame)
        candidates = ("criterion", "model", "stride")
        self.key = next((k for k in candidates if k in vary), None) or next(
            (k for k in candidates if k in keys), None
        )
        self.cycle = _Cycle(self.CYCLE)

    def __call__(self, values: Mapping) -> str:
        if self.key is None or self.key not in values:
            return spare_color(series_label(values))
        name = str(values[self.key])
        return criterion_color(name) if self.key == "criterion" else self.cycle(name)


class _Markers:
    """Point marker of a curve: one per value of the first setting other than the colour's that
    varies (a model, a stride), so two models' curves of one criterion stay apart; else dots.
    The best point's triangle and the missing point's cross are never used."""

    CYCLE = ("o", "s", "D", "v", "P", "*")

    def __init__(self, keys: Sequence[str], frame: pd.DataFrame, colors: _Colors):
        vary = _varying(keys, frame)
        candidates = ("model", "stride", "patch", "dataset", "recipe", "task")
        self.key = next((k for k in candidates if k in vary and k != colors.key), None)
        self.cycle = _Cycle(self.CYCLE)

    def __call__(self, values: Mapping) -> str:
        if self.key is None or self.key not in values:
            return "o"
        return self.cycle(str(values[self.key]))


def _distinct(frame: pd.DataFrame, keys: Sequence[str]) -> list[tuple]:
    """The distinct combinations of ``keys`` in ``frame``, as tuples, in order of appearance."""
    return list(frame[list(keys)].drop_duplicates().itertuples(index=False, name=None))


#: Curves with augmentation come first in a legend, as the paper draws them.
_AUGMENTED_FIRST = {"augment": lambda augment: (-int(bool(augment)), ())}
