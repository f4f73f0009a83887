"""The criteria's names, importable without torch.

The DAG's wildcards, the score rules' outputs, the report's row order and the config check are
all built from these tuples, so a new criterion is named once, here, and given its code in
``criteria`` (see docs/architecture.md, "Extending it").
"""

#: The paper's criteria computed from a patch's HR pixels alone: one pass over a store scores
#: them all (rule ``score_statistics`` writes ``<name>.npy`` for each).
STATISTICS: tuple[str, ...] = ("grad", "std", "freq")

#: Pixel statistics added beyond the paper's. Each is scored by a job of its own (rule
#: ``score_extra``), and only where an experiment or a mine asks for it, so adding one leaves
#: every score, subset and run already made as it is. Give each its code in ``criteria``.
EXTRA_STATISTICS: tuple[str, ...] = ()

#: Every pixel statistic, the paper's first.
PIXEL_STATISTICS: tuple[str, ...] = (*STATISTICS, *EXTRA_STATISTICS)

#: Every criterion, in the order tables and legends list them: the pixel statistics, the
#: scorer network's per-patch loss (Eq. 4) and the random baseline.
CRITERIA: tuple[str, ...] = (*PIXEL_STATISTICS, "loss", "rand")
