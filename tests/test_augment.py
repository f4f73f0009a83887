"""The eight flips and rotations, checked against numpy's own flips and rotations."""

import numpy as np
import torch

from patchmine.augment import apply_dihedral, random_dihedral


def _numpy_dihedral(patch: np.ndarray, code: int) -> np.ndarray:
    """Transcription of the code's bits on a (C, H, W) array: flip W, flip H, then transpose."""
    if code & 1:
        patch = patch[:, :, ::-1]
    if code & 2:
        patch = patch[:, ::-1, :]
    if code & 4:
        patch = patch.transpose(0, 2, 1)
    return patch


def test_each_code_matches_numpy_and_all_eight_differ():
    batch = torch.arange(8 * 2 * 5 * 5).reshape(8, 2, 5, 5)
    codes = torch.arange(8)
    out = apply_dihedral(batch, codes).numpy()
    for code in range(8):
        np.testing.assert_array_equal(out[code], _numpy_dihedral(batch[code].numpy(), code))
    single = batch[:1].expand(8, -1, -1, -1)
    images = {apply_dihedral(single, codes)[i].numpy().tobytes() for i in range(8)}
    assert len(images) == 8  # the dihedral group of the square has eight distinct elements


def test_group_contains_the_four_rotations():
    patch = np.random.default_rng(0).integers(0, 9, (1, 4, 4))
    outs = [
        apply_dihedral(torch.from_numpy(patch)[None], torch.tensor([c]))[0].numpy()
        for c in range(8)
    ]
    for quarter_turns in range(4):
        rotated = np.rot90(patch, quarter_turns, axes=(1, 2))
        assert any(np.array_equal(rotated, o) for o in outs)


def test_codes_are_reproducible_and_in_range():
    a = random_dihedral(torch.Generator().manual_seed(3), 1000, "cpu")
    b = random_dihedral(torch.Generator().manual_seed(3), 1000, "cpu")
    assert torch.equal(a, b) and int(a.min()) == 0 and int(a.max()) == 7
