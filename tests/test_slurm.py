"""The workflow on a real SLURM cluster (one node on this machine, started by tests/slurm/).

Opt-in, since it installs Debian packages and starts daemons as root:

    pytest -m slurm tests/test_slurm.py          # skips (with the reason) where SLURM cannot run
    PATCHMINE_TEST_SLURM=require pytest -m slurm tests/test_slurm.py   # CI: fails instead

It starts SLURM with two fake GPUs (GRES on /dev/null and /dev/zero), runs a small grid of the
tiny config with ``--profile profiles/slurm`` and checks, through ``sacct``, that every job ran on
SLURM with what its rule asked (gres/gpu=1 for network rules only, CPUs, memory, time limit) and
that the outputs exist. Two training runs are long enough to be interrupted once they have
written a checkpoint:

* one is killed (``scancel --signal=KILL --batch``): the job fails, Snakemake's retry resubmits
  it with 1.5x the memory and time, and the run resumes from its checkpoint;
* one is requeued by SLURM (``scontrol requeue``, what preemption does; the profile submits with
  ``--requeue``, and the test cluster, ``JobRequeue=0``, requeues no job submitted without it):
  SLURM starts it again under the same job id and it resumes from its checkpoint;
* one is signalled as at the end of its time limit: SLURM then sends SIGTERM to every process of
  the job step, the training process twice in the same millisecond (measured: a real one-minute
  limit logs "SIGTERM received" and "SIGTERM received again" 6 ms apart), and SIGKILL after
  KillWait. The test sends the step two SIGTERMs (``scancel --signal=TERM``, twice), since a
  real limit costs minutes (limits are whole minutes, checked every 30 s): the run saves the
  step it is at, and the retry resumes from that very step, not from the last checkpoint.

(A plain ``scancel`` is not used: snakemake-executor-plugin-slurm 2.8.0 does not recognise
sacct's state "CANCELLED by <uid>" and waits for such a job forever.)
The cluster is stopped afterwards if this test started it.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from patchmine.grid import experiment_runs
from patchmine.resources import GPU_RULES

pytestmark = pytest.mark.slurm

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "tests" / "slurm"
STATE = Path(os.environ.get("PATCHMINE_SLURM_STATE", "/run/patchmine-slurm"))
FAKE_GPUS = 2
DAEMONS = ("munged", "mariadbd", "slurmdbd", "slurmctld", "slurmd")
RUN_TIMEOUT = 480  # seconds for the whole workflow on SLURM (about 3 minutes on 2 cores)
LONG = 1000  # iterations of the runs that are interrupted


def _selected(config) -> bool:
    expr = config.getoption("markexpr") or ""
    chosen = "slurm" in expr and "not slurm" not in expr
    return chosen or os.environ.get("PATCHMINE_TEST_SLURM") in ("1", "require")


def _unavailable(reason: str):
    """Skip, or fail where SLURM is required (CI), with the reason."""
    if os.environ.get("PATCHMINE_TEST_SLURM") == "require":
        pytest.fail(f"PATCHMINE_TEST_SLURM=require but {reason}")
    pytest.skip(reason)


def _ours_running() -> set[str]:
    """Daemons that start-slurm.sh recorded and that are alive."""
    alive = set()
    for name in DAEMONS:
        record = STATE / f"{name}.pid"
        try:
            pid = record.read_text().strip()
            if Path(f"/proc/{pid}/comm").read_text().strip() == name:
                alive.add(name)
        except OSError:
            pass
    return alive


@pytest.fixture(scope="module")
def cluster(request):
    if not _selected(request.config):
        pytest.skip("starts a SLURM cluster as root: run with `pytest -m slurm` to include it")
    if os.geteuid() != 0:
        _unavailable("it needs root: it installs SLURM, munge and MariaDB and starts them")
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        _unavailable('snakemake-executor-plugin-slurm is missing: pip install -e ".[cluster]"')
    if shutil.which("apt-get") is None and shutil.which("slurmctld") is None:
        _unavailable("SLURM is not installed and there is no apt-get to install it")
    before = _ours_running()
    done = subprocess.run(
        ["bash", str(SCRIPTS / "start-slurm.sh")],
        env={**os.environ, "FAKE_GPUS": str(FAKE_GPUS)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        _unavailable(f"SLURM did not start:\n{done.stderr[-3000:]}")
    yield
    if not before:  # leave a cluster someone else started running
        subprocess.run(["bash", str(SCRIPTS / "stop-slurm.sh")], timeout=300, check=False)


def grid_config() -> dict:
    """The tiny config cut to what 2 cores run in minutes, plus two longer runs to interrupt.

    The "loss" criterion is left out of the grid to keep the chain of jobs short; the scorer
    network and score_loss still run, for the histograms."""
    config = yaml.safe_load((ROOT / "tests" / "data" / "tiny_config.yaml").read_text())
    config["threads"] = {"train": 1, "score": 1, "ingest": 1, "store": 1}
    tiny = config["experiments"]["tiny"]
    tiny.update(criteria=["grad", "rand"], augment=[True])
    config["recipes"]["long"] = dict(
        config["recipes"]["quick"], iterations=LONG, val_every=500, checkpoint_every=50
    )
    for name, (criterion, recipe) in INTERRUPTED.items():
        config["experiments"][name] = dict(
            tiny, recipe=recipe, criteria=[criterion], augment=[False]
        )
    return config


#: The experiments whose one long run is interrupted: its criterion (which tells them apart)
#: and recipe.
INTERRUPTED = {
    "killed": ("grad", "long"),
    "requeued": ("rand", "long"),
    "timed_out": ("std", "long"),
}


def runs(config: dict, name: str) -> list:
    """The runs of an experiment, from the config with the schema's defaults filled in."""
    config = copy.deepcopy(config)
    validate(config, str(ROOT / "schemas" / "config.schema.yaml"))
    return experiment_runs(config, name)


def targets(config: dict) -> list[str]:
    out = ["results/tables/tiny.md", "results/figures/tiny_histograms.png"]
    for name, exp in config["experiments"].items():
        for run in runs(config, name):
            out += [f"results/runs/{run.path}/eval/{test}.csv" for test in exp["test"]]
    return out


def squeue() -> list[tuple[str, str, str]]:
    """(job id, state, comment) of the queued and running jobs."""
    out = subprocess.run(
        ["squeue", "-h", "-o", "%i|%T|%k"], capture_output=True, text=True, check=True
    ).stdout
    return [tuple(line.split("|", 2)) for line in out.splitlines() if line]


def sacct(run_uuid: str, *options: str) -> list[dict]:
    fields = ["JobID", "Comment", "State", "AllocTRES", "ReqMem", "Timelimit", "Start", "End"]
    out = subprocess.run(
        ["sacct", "-X", "-n", "-P", "-S", "2020-01-01", "--name", run_uuid, *options]
        + ["-o", ",".join(fields)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [dict(zip(fields, line.split("|"), strict=True)) for line in out.splitlines() if line]


def submitted_resources(log: str) -> dict[str, dict]:
    """{SLURM job id: the resources Snakemake printed for the job it submitted as that id}.

    Snakemake prints each job (``jobid: N`` ... ``resources: k=v, ...``) before submitting it
    (``Job N has been submitted with SLURM jobid M``); a retry is printed again."""
    printed: dict[str, dict] = {}
    asked: dict[str, dict] = {}
    job = None
    for line in log.splitlines():
        if m := re.match(r"    jobid: (\d+)$", line):
            job = m[1]
        elif (m := re.match(r"    resources: (.*)$", line)) and job is not None:
            printed[job] = dict(kv.split("=", 1) for kv in m[1].split(", "))
        elif m := re.match(r"Job (\d+) has been submitted with SLURM jobid (\d+)", line):
            asked[m[2]] = printed[m[1]]
    assert asked, "no job was submitted to SLURM"
    return asked


def minutes(timelimit: str) -> int:
    """SLURM's [D-]HH:MM:SS as minutes."""
    days, _, clock = timelimit.rpartition("-")
    h, m, s = (int(x) for x in clock.split(":"))
    return (int(days) if days else 0) * 1440 + h * 60 + m + (s > 0)


def kill(job_id: str) -> None:
    """What an out-of-memory kill or a crash looks like: the job fails (not "CANCELLED")."""
    subprocess.run(["scancel", "--signal=KILL", "--batch", job_id], check=True)


def requeue(job_id: str) -> None:
    """What preemption does: SLURM stops the job and queues it again, same job id. A requeued
    job may start again two minutes later; once it is pending, the test lets it start at once."""
    subprocess.run(["scontrol", "requeue", job_id], check=True)
    for _ in range(300):
        state = subprocess.run(
            ["squeue", "-h", "-j", job_id, "-o", "%T %r"], capture_output=True, text=True
        ).stdout.split()
        if state == ["PENDING", "BeginTime"]:
            subprocess.run(["scontrol", "update", f"jobid={job_id}", "StartTime=now"], check=True)
            return
        time.sleep(0.1)
    raise AssertionError(f"requeued job {job_id} never waited for its start time: {state}")


def time_out(job_id: str) -> None:
    """What the end of a job's time limit does to its step's processes: SIGTERM, twice."""
    for _ in range(2):
        subprocess.run(["scancel", "--signal=TERM", job_id], check=True)


@pytest.fixture(scope="module")
def slurm_run(cluster):
    workdir = Path(tempfile.mkdtemp(prefix="patchmine-slurm-"))  # not pytest's: others prune it
    os.chmod(workdir, 0o755)  # jobs run as the submitting user; keep it readable
    config = grid_config()
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    interrupt = {}  # comment suffix of the job -> (run, action)
    for name, action in (("killed", kill), ("requeued", requeue), ("timed_out", time_out)):
        (run,) = runs(config, name)
        suffix = f"_{run.criterion}_{run.k}_{run.aug}_{run.seed}_{run.recipe}"
        interrupt[suffix] = (run, action)
    bindir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
    }
    cmd = [
        sys.executable, "-m", "snakemake",
        "--snakefile", str(ROOT / "Snakefile"),
        "--directory", str(workdir),
        "--profile", str(ROOT / "profiles" / "slurm"),
        "--slurm-init-seconds-before-status-checks", "2",
        "--seconds-between-status-checks", "2",
        "--max-status-checks-per-second", "10",
        "--slurm-keep-successful-logs",
        *targets(config),
    ]  # fmt: skip
    started = time.monotonic()
    log_path = workdir / "snakemake.log"
    done: dict[str, str] = {}  # suffix -> SLURM job id interrupted
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, text=True)
        try:
            while proc.poll() is None:
                if time.monotonic() - started > RUN_TIMEOUT:
                    raise TimeoutError(f"the workflow took over {RUN_TIMEOUT} s")
                for job_id, state, comment in squeue() if len(done) < len(interrupt) else []:
                    for suffix, (run, action) in interrupt.items():
                        last = workdir / "results" / "state" / run.path / "last.pt"
                        if (
                            suffix not in done
                            and comment.startswith("rule_train_")
                            and comment.endswith(suffix)
                            and state == "RUNNING"
                            and last.exists()
                        ):
                            action(job_id)
                            done[suffix] = job_id
                time.sleep(0.3)
        finally:
            if proc.poll() is None:
                proc.terminate()  # Snakemake cancels its SLURM jobs on the way out
                try:
                    proc.wait(120)
                except subprocess.TimeoutExpired:
                    proc.kill()
    seconds = time.monotonic() - started
    text = log_path.read_text()
    assert proc.returncode == 0, text[-6000:]
    (run_uuid,) = re.findall(r"SLURM run ID: (\S+)", text)
    yield {
        "workdir": workdir,
        "config": config,
        "log": text,
        "uuid": run_uuid,
        "interrupted": {interrupt[s][1].__name__: (interrupt[s][0], j) for s, j in done.items()},
        "seconds": seconds,
    }
    if os.environ.get("PATCHMINE_KEEP_SLURM_RUN") != "1":
        shutil.rmtree(workdir, ignore_errors=True)


def test_outputs_exist(slurm_run):
    workdir = slurm_run["workdir"]
    missing = [t for t in targets(slurm_run["config"]) if not (workdir / t).is_file()]
    assert not missing
    table = (workdir / "results/tables/tiny.md").read_text().lower()
    assert "grad" in table and "rand" in table
    print(f"workflow on SLURM: {slurm_run['seconds']:.0f} s")


def test_every_job_ran_on_slurm_with_what_its_rule_asked(slurm_run):
    rows = sacct(slurm_run["uuid"])
    asked = submitted_resources(slurm_run["log"])
    assert {r["JobID"] for r in rows} == set(asked), "sacct and Snakemake disagree on the jobs"
    killed = slurm_run["interrupted"]["kill"][1]
    timed_out = slurm_run["interrupted"]["time_out"][1]
    expected_state = {killed: "FAILED", timed_out: "FAILED"}
    rules = set()
    for row in rows:
        rule = re.match(r"rule_(\w+?)_wildcards_", row["Comment"])[1]
        rules.add(rule)
        want = asked[row["JobID"]]
        tres = dict(kv.split("=", 1) for kv in row["AllocTRES"].split(","))
        print(row["JobID"], row["State"], row["AllocTRES"], row["Timelimit"], row["Comment"])
        assert row["State"] == expected_state.get(row["JobID"], "COMPLETED"), row
        assert ("gres/gpu" in tres) == (rule in GPU_RULES), row
        if rule in GPU_RULES:
            assert tres["gres/gpu"] == want["gpu"] == "1", row
        assert "gpu" not in want or rule in GPU_RULES
        assert tres["cpu"] == want["cpus_per_task"], row
        assert row["ReqMem"] == f"{want['mem_mb']}M", row
        assert minutes(row["Timelimit"]) == int(want["runtime"]), row
    assert rules >= {"ingest", "patch_store", "score_statistics", "score_rand", "score_loss"}
    assert rules >= {"select", "train", "evaluate", "histograms", "criteria_table"}


def test_two_fake_gpus_run_two_gpu_jobs_at_once(slurm_run):
    gpu_jobs = [
        (r["Start"], r["End"])
        for r in sacct(slurm_run["uuid"])
        if "gres/gpu" in r["AllocTRES"] and r["State"] == "COMPLETED"
    ]
    overlaps = sum(
        1 for i, a in enumerate(gpu_jobs) for b in gpu_jobs[i + 1 :] if a[0] < b[1] and b[0] < a[1]
    )
    assert overlaps >= 1, gpu_jobs


def resumed_at(workdir: Path, run) -> int:
    """The iteration the run's last attempt resumed from (its rule log), and a complete log."""
    log = (workdir / "results" / "logs" / "train" / f"{run.path}.log").read_text()
    match = re.search(r"resuming from \S+last\.pt at iteration (\d+)", log)
    assert match, log[-3000:]
    rows = (workdir / "results" / "runs" / run.path / "train_log.csv").read_text().splitlines()
    assert rows[-1].startswith(f"{LONG},"), rows[-3:]
    return int(match[1])


def test_killed_training_is_retried_bigger_and_resumes_from_its_checkpoint(slurm_run):
    assert "kill" in slurm_run["interrupted"], "the run was never seen running with a checkpoint"
    run, job_id = slurm_run["interrupted"]["kill"]
    comment = f"_{run.criterion}_{run.k}_{run.aug}_{run.seed}_{run.recipe}"
    rows = [r for r in sacct(slurm_run["uuid"]) if r["Comment"].endswith(comment)]
    rows = [r for r in rows if r["Comment"].startswith("rule_train_")]
    first = next(r for r in rows if r["JobID"] == job_id)
    retry = next(r for r in rows if r["State"] == "COMPLETED")
    assert first["State"] == "FAILED" and int(retry["JobID"]) > int(job_id)
    mem = int(first["ReqMem"].rstrip("M")), int(retry["ReqMem"].rstrip("M"))
    assert mem[1] >= 1.5 * mem[0] - 100, mem  # attempt 2 asks x1.5 (rounded up to 100 MB)
    assert minutes(retry["Timelimit"]) >= 1.5 * minutes(first["Timelimit"]) - 1
    assert 0 < resumed_at(slurm_run["workdir"], run) < LONG


def test_requeued_training_resumes_from_its_checkpoint_under_the_same_job(slurm_run):
    assert "requeue" in slurm_run["interrupted"], "the run was never seen running"
    run, job_id = slurm_run["interrupted"]["requeue"]
    states = [r["State"] for r in sacct(slurm_run["uuid"], "--duplicates") if r["JobID"] == job_id]
    assert states == ["REQUEUED", "COMPLETED"], states
    assert 0 < resumed_at(slurm_run["workdir"], run) < LONG


def test_training_at_its_time_limit_saves_the_step_it_was_at_and_its_retry_resumes_there(
    slurm_run,
):
    assert "time_out" in slurm_run["interrupted"], "the run was never seen running"
    run, job_id = slurm_run["interrupted"]["time_out"]
    states = [r["State"] for r in sacct(slurm_run["uuid"]) if r["JobID"] == job_id]
    assert states == ["FAILED"], states  # TrainingStopped: the run asks to be run again
    history = (slurm_run["workdir"] / "results" / "state" / run.path / "history.log").read_text()
    stopped = re.search(r"SIGTERM received: stopped after iteration (\d+)", history)
    assert stopped, history[-3000:]
    assert 0 < int(stopped[1]) < LONG, history[-3000:]
    assert resumed_at(slurm_run["workdir"], run) == int(stopped[1]), history[-3000:]
