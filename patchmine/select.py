"""Top-K selection of patches by score, and the K specs that name subsets.

A K spec is either an ``int`` count (``>= 1``) or a ``float`` fraction in ``(0, 1]`` of the patch
store. :func:`k_label` turns a spec into a short string safe for file names and Snakemake
wildcards (``10000``, ``0.25``, ``1.0``); :func:`parse_k_label` inverts it.
"""

from __future__ import annotations

import numbers

import numpy as np


def _check_spec(spec) -> int | float:
    """Validate a K spec and return it as a plain Python int or float."""
    if isinstance(spec, bool | np.bool_):
        raise TypeError(f"K spec must be an int count or a float fraction, got bool {spec!r}")
    if isinstance(spec, numbers.Integral):
        if spec < 1:
            raise ValueError(f"K count must be >= 1, got {spec!r}")
        return int(spec)
    if isinstance(spec, numbers.Real):
        f = float(spec)
        if not (0.0 < f <= 1.0):  # also rejects NaN
            raise ValueError(f"K fraction must be in (0, 1], got {spec!r}")
        return f
    raise TypeError(f"K spec must be an int count or a float fraction, got {spec!r}")


def resolve_k(spec, n: int) -> int:
    """Number of patches a K spec selects out of ``n``.

    An int is a count and must not exceed ``n``; a float ``f`` in (0, 1] means ``round(f*n)``
    patches (Python rounding, at least 1).
    """
    spec = _check_spec(spec)
    if n < 1:
        raise ValueError(f"cannot select K={spec!r} patches out of n={n}")
    if isinstance(spec, int):
        if spec > n:
            raise ValueError(f"K={spec} is larger than the number of patches n={n}")
        return spec
    return max(1, min(n, round(spec * n)))


def top_k_of_store(scores, label: str, n: int, store, key: str) -> np.ndarray:
    """:func:`top_k` for a K label over a store of ``n`` patches. A K the store cannot give
    (150K of a partial DIV2K) is an error naming the store and the config ``key`` that set K."""
    try:
        k = resolve_k(parse_k_label(label), n)
    except ValueError as err:
        raise ValueError(
            f"{store}: {err}; lower {key} or give it as a fraction of the store (e.g. 0.5)"
        ) from None
    return top_k(scores, k)


def k_label(spec) -> str:
    """Filesystem- and wildcard-safe label: ``10000`` for counts, ``0.25``/``1.0`` for fractions.

    Fractions use the shortest digits that round-trip (Python's ``repr``), written out without
    an exponent (``0.00005``, not ``5e-05``, which the ``k`` wildcard would not match), so
    ``parse_k_label`` recovers the exact float.
    """
    spec = _check_spec(spec)
    if isinstance(spec, int):
        return str(spec)
    return np.format_float_positional(spec, unique=True, trim="0")


def parse_k_label(label: str) -> int | float:
    """Inverse of :func:`k_label`: ``"10000"`` -> 10000, ``"0.25"`` -> 0.25.

    Only canonical labels (those ``k_label`` produces) are accepted.
    """
    text = str(label)
    try:
        value = float(text) if any(ch in text for ch in ".eE") else int(text)
        spec = _check_spec(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"not a K label: {label!r} ({err})") from None
    if k_label(spec) != text:
        raise ValueError(f"not a canonical K label: {label!r} (expected {k_label(spec)!r})")
    return spec


def top_k(scores, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores, sorted ascending (for fast HDF5 reads).

    Ties are broken in favour of the lower index, so the choice is deterministic. NaN scores
    raise ``ValueError``.
    """
    s = np.asarray(scores)
    if s.ndim != 1:
        raise ValueError(f"scores must be 1-D, got shape {s.shape}")
    s = s.astype(np.float64, copy=False)
    if np.isnan(s).any():
        bad = np.flatnonzero(np.isnan(s))
        raise ValueError(
            f"scores contain {bad.size} NaN value(s) (first at index {bad[0]}); cannot rank"
        )
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"k must be an int, got {k!r}")
    if not 0 <= k <= s.size:
        raise ValueError(f"k={k} must be between 0 and the number of scores {s.size}")
    # Stable sort of the negated scores: descending, equal scores keep ascending index order.
    order = np.argsort(-s, kind="stable")
    return np.sort(order[: int(k)]).astype(np.int64)
