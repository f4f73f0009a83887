"""The criteria's names, importable without torch.

The DAG's wildcards, the score rules' outputs, the report's row order and the config check are
all built from these tuples, so a new criterion is named once, here, and given its code in
``criteria``.
"""

#: Criteria computed from a patch's HR pixels alone: one pass over a store scores them all
#: (rule ``score_statistics`` writes ``<name>.npy`` for each; ``criteria`` holds their code).
STATISTICS: tuple[str, ...] = ("grad", "std", "freq")

#: Every criterion, in the order tables and legends list them: the pixel statistics, the
#: scorer network's per-patch loss (Eq. 4) and the random baseline.
CRITERIA: tuple[str, ...] = (*STATISTICS, "loss", "rand")
