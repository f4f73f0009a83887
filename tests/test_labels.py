"""The paper's spelling of a setting (patchmine.labels): K as "151.3K", each label unique,
and names sorted with their numbers read as numbers."""

import pytest

from patchmine.labels import format_k, natural_key


@pytest.mark.parametrize(
    ("k", "label"),
    [(10_000, "10K"), (1500, "1.5K"), (250, "250"), (151_300, "151.3K"), (1000, "1K"),
     (999, "999"), (0, "0"), (10_001, "10.001K"), (2_500_000, "2.5M"), (70_000, "70K")],
)  # fmt: skip
def test_format_k(k, label):
    assert format_k(k) == label


def test_format_k_labels_are_unique():
    ks = list(range(0, 3000)) + list(range(150_000, 152_000)) + [999_999, 1_000_000, 1_000_001]
    assert len({format_k(k) for k in ks}) == len(ks)


def test_names_sort_with_their_numbers_read_as_numbers():
    assert sorted(["edsr_16", "edsr_8", "edsr_128"], key=natural_key) == [
        "edsr_8",
        "edsr_16",
        "edsr_128",
    ]
    fractions = ["0.5 of the store", "0.125 of the store", "0.25 of the store"]  # K as fractions
    assert [f.split()[0] for f in sorted(fractions, key=natural_key)] == ["0.125", "0.25", "0.5"]
    assert sorted(["x8", "x08"], key=natural_key) == sorted(["x08", "x8"], key=natural_key)
    assert sorted(["a1²", "a1"], key=natural_key) == ["a1", "a1²"]  # a digit \d does not read
