"""How the paper names and colours things: patch counts ("151.3K"), parameter counts ("1.37 M"),
row names ("Grad+"), curve names, and one fixed colour per criterion, so that every table and
figure of the workflow spells and draws a setting the same way."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

from patchmine.criterion_names import CRITERIA, PIXEL_STATISTICS

#: The criteria in the order the tables and legends list them by default.
CRITERIA_ORDER: tuple[str, ...] = CRITERIA


def pick_convergence_criterion(criteria: Sequence[str]) -> str:
    """The criterion Fig. 4 follows: "loss", as in the paper, when the runs have it; else the
    first in :data:`CRITERIA_ORDER`."""
    criteria = list(dict.fromkeys(str(c) for c in criteria))
    if not criteria:
        raise ValueError("no runs to draw convergence curves of")
    if "loss" in criteria:
        return "loss"
    return next((c for c in CRITERIA_ORDER if c in criteria), criteria[0])


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
HISTOGRAM_ORDER: tuple[str, ...] = (*PIXEL_STATISTICS, "loss", "sqrt(loss)")


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


def natural_key(name: object) -> tuple:
    """Sort key of a name with its numbers read as numbers: "edsr_8" before "edsr_16", "0.25"
    before "0.5" (a fraction of the store as K); the name itself breaks ties ("8" and "08")."""
    text = str(name)
    parts = re.split(r"([0-9]+(?:\.[0-9]+)?)", text)
    # re.split puts the numbers it split at in the odd places
    return (*((0, float(t), "") if i % 2 else (1, 0.0, t) for i, t in enumerate(parts)), text)


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
