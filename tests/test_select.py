"""Top-K selection and K specs."""

import re

import numpy as np
import pytest

from patchmine.grid import WILDCARDS
from patchmine.select import k_label, parse_k_label, resolve_k, top_k, top_k_of_store


def top_k_ref(scores, k):
    """Brute force: order by (score descending, index ascending), keep k, sort indices."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return sorted(order[:k])


@pytest.mark.parametrize("seed", range(6))
def test_top_k_matches_brute_force_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    scores = rng.integers(0, 5, size=n).astype(np.float64)  # many ties
    for k in range(n + 1):
        got = top_k(scores, k)
        assert got.tolist() == top_k_ref(scores.tolist(), k)
        assert np.all(np.diff(got) > 0)  # strictly ascending, no duplicates
        chosen = np.zeros(n, bool)
        chosen[got] = True
        if 0 < k < n:
            assert scores[chosen].min() >= scores[~chosen].max()


def test_top_k_simple_and_tie_break():
    s = np.array([0.5, 2.0, 2.0, -1.0, 2.0, 3.0])
    assert top_k(s, 1).tolist() == [5]
    assert top_k(s, 2).tolist() == [1, 5]  # of the three 2.0s, index 1 wins
    assert top_k(s, 3).tolist() == [1, 2, 5]
    assert top_k(s, 6).tolist() == [0, 1, 2, 3, 4, 5]
    assert top_k(s, 0).tolist() == []
    assert top_k([1, 3, 2], 2).dtype == np.int64


def test_top_k_handles_infinities_and_signed_zero():
    s = np.array([0.0, -0.0, np.inf, -np.inf, 0.0])
    assert top_k(s, 2).tolist() == [0, 2]
    assert top_k(s, 3).tolist() == [0, 1, 2]


def test_top_k_rejects_nan_and_bad_k():
    with pytest.raises(ValueError, match="NaN"):
        top_k(np.array([1.0, np.nan, 2.0]), 1)
    with pytest.raises(ValueError):
        top_k(np.arange(5.0), 6)
    with pytest.raises(ValueError):
        top_k(np.arange(5.0), -1)
    with pytest.raises(TypeError):
        top_k(np.arange(5.0), 2.0)
    with pytest.raises(ValueError):
        top_k(np.zeros((2, 2)), 1)


def test_resolve_k_counts_and_fractions():
    assert resolve_k(10, 100) == 10
    assert resolve_k(100, 100) == 100
    assert resolve_k(np.int64(7), 9) == 7
    assert resolve_k(0.25, 100) == 25
    assert resolve_k(1.0, 151300) == 151300
    assert resolve_k(0.5, 7) == round(3.5)
    assert resolve_k(0.3, 10) == 3
    assert resolve_k(1e-6, 10) == 1  # at least one


def test_resolve_k_errors():
    with pytest.raises(ValueError, match=r"200.*150|150.*200"):
        resolve_k(200, 150)
    for bad in (0, -3, 0.0, 1.5, -0.2, float("nan")):
        with pytest.raises(ValueError):
            resolve_k(bad, 10)
    for bad in (True, "10", None):
        with pytest.raises(TypeError):
            resolve_k(bad, 10)


def test_k_labels_round_trip():
    cases = [(10000, "10000"), (1, "1"), (0.25, "0.25"), (1.0, "1.0"), (0.1, "0.1"), (0.5, "0.5")]
    for spec, label in cases:
        assert k_label(spec) == label
        back = parse_k_label(label)
        assert back == spec and type(back) is type(spec)
    assert k_label(np.int64(150000)) == "150000"
    for spec in (1e-05, 0.123456789, 2 / 3):
        assert parse_k_label(k_label(spec)) == spec
    for label in ("10000", "0.25", "1.0"):
        assert all(ch.isalnum() or ch in ".-" for ch in label)


@pytest.mark.parametrize("label", ["", "abc", "010", "1.50", "0", "2.0", "-5", " 10", "1e3"])
def test_parse_k_label_rejects(label):
    with pytest.raises(ValueError):
        parse_k_label(label)


def test_a_k_the_store_cannot_give_names_the_store_and_the_key():
    scores = np.arange(10.0)
    assert list(top_k_of_store(scores, "0.3", 10, "p.h5", "mine.keep")) == [7, 8, 9]
    with pytest.raises(ValueError, match=r"^p\.h5: K=150000 is larger .* n=10; lower mine\.keep"):
        top_k_of_store(scores, "150000", 10, "p.h5", "mine.keep")


@pytest.mark.parametrize("fraction", [5e-05, 1e-07, 0.00012])
def test_tiny_fractions_get_labels_the_k_wildcard_matches(fraction):
    label = k_label(fraction)
    assert re.fullmatch(WILDCARDS["k"], label), label  # once "5e-05", which no rule matched
    assert parse_k_label(label) == fraction


def test_a_fraction_of_the_patches_is_rounded_half_to_even():
    """As the README promises (0.5 of 35 keeps 18): exact halves go to the even count."""
    assert [resolve_k(0.5, n) for n in (5, 7, 35)] == [2, 4, 18]
    assert resolve_k(0.25, 10) == 2 and resolve_k(0.25, 14) == 4
