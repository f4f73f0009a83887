"""Synthetic results whose means are known in closed form, and readers of what the report
draws and writes, shared by the tests of tables, rendering, figures and partial results
(the `results` fixture in conftest.py builds its table from :func:`synthetic_results`)."""

from itertools import product

import numpy as np
import pandas as pd

KS = (250, 1500, 10_000, 151_300)
K_LABELS = {250: "250", 1500: "1500", 10_000: "10000", 151_300: "1.0"}  # sort badly as text
CRITS = ("rand", "loss", "std", "grad")  # deliberately not in the default order
SEED_OFFSETS = (-0.03, 0.01, 0.02)  # sum to zero: the mean over seeds is exactly base()


def base(crit: str, augment: bool, k: int, test_set: str = "Urban100") -> float:
    """Known mean PSNR: each criterion peaks at a different K, augmentation adds 0.5 dB."""
    peak = {"grad": 10_000, "std": 1500, "loss": 151_300, "rand": 250}[crit]
    level = {"grad": 31.0, "std": 30.5, "loss": 30.8, "rand": 30.2}[crit]
    value = level - 0.1 * abs(np.log10(k) - np.log10(peak)) + (0.5 if augment else 0.0)
    return value + (1.0 if test_set == "Set5" else 0.0)


def synthetic_results() -> pd.DataFrame:
    """Every criterion, augmentation, K and seed on Urban100 and Set5, in shuffled order:
    the mean over seeds of each setting is :func:`base`."""
    rows = []
    for test_set, crit, augment, k, (seed, off) in product(
        ("Urban100", "Set5"), CRITS, (False, True), KS, enumerate(SEED_OFFSETS)
    ):
        psnr = base(crit, augment, k, test_set) + off
        rows.append(
            dict(
                criterion=crit,
                augment=augment,
                k_label=K_LABELS[k],
                k=k,
                seed=seed,
                test_set=test_set,
                psnr=psnr,
                ssim=psnr / 40.0,
            )  # fmt: skip
        )
    # shuffle so that nothing depends on input order
    return pd.DataFrame(rows).sample(frac=1.0, random_state=0).reset_index(drop=True)


def parse_markdown(md: str) -> tuple[list[str], list[str], list[list[str]]]:
    """Header, row labels and cell texts of a pipe table."""
    lines = [ln for ln in md.strip().splitlines() if ln.strip()]
    split = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines]
    header, body = split[0], split[2:]
    return header[1:], [r[0] for r in body], [r[1:] for r in body]


def artists(fig, kind: str) -> dict:
    """Lines of a figure by gid "<kind>|<label>|<panel>" -> (label, panel) -> (x, y)."""
    out = {}
    for ax in fig.axes:
        for line in ax.lines:
            gid = line.get_gid() or ""
            if gid.startswith(kind + "|"):
                _, label, panel = gid.split("|")
                out[label, int(panel)] = (
                    np.asarray(line.get_xdata(), dtype=float),
                    np.asarray(line.get_ydata(), dtype=float),
                )
    return out


def training_logs():
    """Loss-criterion runs: val PSNR rises then falls, peaking later with more patches."""
    logs = []
    for aug, k, seed in product(("noaug", "aug"), (10_000, 50_000, 150_000), (0, 1)):
        its = np.arange(1, 11) * 1000
        peak = 3000 + k / 25
        val = 30 - ((its - peak) / 4000) ** 2 + (0.5 if aug == "aug" else 0) + 0.1 * seed
        meta = {"criterion": "loss", "k": str(k), "k_count": k, "aug": aug, "seed": seed,
                "model": "edsr", "stride": 120}  # fmt: skip
        logs.append((meta, pd.DataFrame({"iteration": its, "val_psnr": val})))
    grad = ({**logs[0][0], "criterion": "grad"}, logs[0][1])
    return logs + [grad]
