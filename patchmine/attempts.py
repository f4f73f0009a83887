"""How a job's requests grow from one attempt to the next, and what a cluster's time limit does
to them.

Apart from what a job costs (:mod:`patchmine.costs`), because the policy is the cluster's, not
the network's: each attempt asks for :data:`GROWTH` (1.5) times the memory and runtime of the
attempt before: attempt 1 x1, 2 x1.5, 3 x2.25, … A job killed for running out of time or
memory is resubmitted bigger; a training job also resumes from its last checkpoint (no other
rule does: see :data:`RESUMING_RULES` and :data:`MAX_RUNTIME_ENV`). Memory stops growing at
attempt :data:`MEMORY_GROWTH_ATTEMPTS`: a training run cut off by a partition's time limit
spends an attempt each time without needing more memory, and the tenth attempt would ask for
38 times the estimate, more than any node has.

Runtime requests are capped at the partition's limit (``PATCHMINE_MAX_RUNTIME``); the plan says
once per rule when that cap cuts a job off for good, counting the attempts the running
Snakemake gives (:func:`use_workflow`).
"""

from __future__ import annotations

import logging
import math
import os

log = logging.getLogger(__name__)

#: Each retry multiplies memory and runtime by this (attempt n asks GROWTH ** (n - 1) times).
GROWTH = 1.5
#: The last attempt whose memory grows (x2.25 the first); later attempts ask for the same.
MEMORY_GROWTH_ATTEMPTS = 3
#: Upper bound on any request (minutes): set PATCHMINE_MAX_RUNTIME to the partition's MaxTime.
#: A training run that needs longer times out, and its next attempt resumes from its checkpoint;
#: any other job that needs longer times out on every attempt, each starting again from zero.
MAX_RUNTIME_ENV = "PATCHMINE_MAX_RUNTIME"
#: Rules whose next attempt resumes where a timed-out one stopped (scripts/train.py's checkpoint).
RESUMING_RULES = ("train",)
#: Attempts assumed when no running workflow says how many it gives (:func:`use_workflow` not
#: called, e.g. outside Snakemake): those of profiles/slurm (``retries: 2``).
PROFILE_ATTEMPTS = 3


def grow(value: float, attempt: int, step: int = 1) -> int:
    """``value`` scaled by GROWTH per retry, rounded up to a multiple of ``step``."""
    if attempt < 1:
        raise ValueError(f"attempts count from 1, got {attempt}")
    scaled = value * GROWTH ** (attempt - 1)
    return int(math.ceil(scaled / step - 1e-9) * step)


def grow_memory(mb: float, attempt: int) -> int:
    """``mb`` grown like :func:`grow` up to attempt :data:`MEMORY_GROWTH_ATTEMPTS`, in steps of
    100 MB."""
    return grow(mb, min(attempt, MEMORY_GROWTH_ATTEMPTS), step=100)


def max_runtime() -> int | None:
    """The cap on ``runtime`` from the environment, if set (minutes)."""
    value = os.environ.get(MAX_RUNTIME_ENV, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{MAX_RUNTIME_ENV} must be a whole number of minutes, got {value!r}")
    return int(value)


def capped_runtime(rule: str, minutes: int, attempt: int) -> int:
    """``minutes`` within :func:`max_runtime`, said once per rule on a first attempt when the
    cap cuts its jobs off for good (:func:`_warn_if_capped_too_often`)."""
    cap = max_runtime()
    if cap is None:
        return minutes
    if attempt == 1:
        _warn_if_capped_too_often(rule, minutes, cap)
    return min(minutes, cap)


_WARNED: set[str] = set()
#: The running Snakemake workflow (see :func:`use_workflow`); None outside Snakemake.
_WORKFLOW = None


def use_workflow(workflow) -> None:
    """Let the runtime cap's warning read the attempts the running workflow gives each rule
    (rules/common.smk passes its ``workflow``)."""
    global _WORKFLOW
    _WORKFLOW = workflow


def allowed_attempts(rule: str) -> int:
    """Attempts Snakemake gives a job of ``rule``: 1 + its retries, i.e. the rule's own
    ``retries:`` or else ``--retries`` (a profile's ``retries:``), as Snakemake 9 resolves them
    (``Rule.restart_times``, falling back to ``workflow.execution_settings.retries``). Without a
    running workflow, :data:`PROFILE_ATTEMPTS`."""
    workflow = _WORKFLOW
    if workflow is None:
        return PROFILE_ATTEMPTS
    try:
        retries = workflow.get_rule(rule).restart_times
    except Exception:  # an unknown rule, or another Snakemake's internals
        settings = getattr(workflow, "execution_settings", None)
        retries = getattr(settings, "retries", None)
    return PROFILE_ATTEMPTS if retries is None else 1 + int(retries)


def _submitted_from_here(rule: str) -> bool:
    """Whether this Snakemake may submit ``rule``'s jobs to a cluster, where the cap applies:
    not a job's own Snakemake on a node (always ``--retries 0``: retries belong to the main
    process), and not a local rule (``localrule: True``, run on the login node without a time
    limit; Snakemake 9 records them in ``workflow._localrules``)."""
    workflow = _WORKFLOW
    if workflow is None:
        return True
    local = rule in getattr(workflow, "_localrules", ())
    return bool(getattr(workflow, "is_main_process", True)) and not local


def _warn_if_capped_too_often(rule: str, minutes: int, cap: int) -> None:
    """Say once per rule when the cap cuts a job off for good: a training run (each attempt
    resumes where the last one was cut off) that needs more attempts than Snakemake gives it,
    or any other job planned longer than the cap (each attempt starts again from zero)."""
    if minutes <= cap or rule in _WARNED or not _submitted_from_here(rule):
        return
    needed = math.ceil(minutes / cap)
    allowed = allowed_attempts(rule)
    if rule in RESUMING_RULES:
        if needed <= allowed:
            return
        _WARNED.add(rule)
        log.warning(
            "a %s job is planned at %d min but %s=%d: it needs %d attempts and Snakemake gives "
            "it %d (--retries %d); raise --retries to %d (a training run resumes from its "
            "checkpoint on each attempt)",
            rule,
            minutes,
            MAX_RUNTIME_ENV,
            cap,
            needed,
            allowed,
            allowed - 1,
            needed - 1,
        )
        return
    _WARNED.add(rule)
    log.warning(
        "a %s job is planned at %d min but %s=%d: it will be cut off on every attempt (%d), "
        "each restarting from zero (only train resumes), so more retries do not help; run it "
        "on a partition with a longer time limit (set-resources %s:slurm_partition=...) and "
        "raise %s to that limit",
        rule,
        minutes,
        MAX_RUNTIME_ENV,
        cap,
        allowed,
        rule,
        MAX_RUNTIME_ENV,
    )
