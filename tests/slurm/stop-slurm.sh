#!/usr/bin/env bash
# Stops the daemons tests/slurm/start-slurm.sh started, and nothing else: each by the PID it
# recorded in $STATE/<daemon>.pid, after checking that /proc/PID/comm still names that daemon
# (a recycled PID is left alone). Idempotent. Packages, configs and the accounting database stay.
set -euo pipefail

STATE=${PATCHMINE_SLURM_STATE:-/run/patchmine-slurm}

say() { echo "[stop-slurm] $*" >&2; }

[[ $(id -u) == 0 ]] || { say "error: must run as root"; exit 1; }
[[ -d $STATE ]] || { say "nothing recorded in $STATE: nothing to stop"; exit 0; }

# the daemon's own pid file, removed if it still names the process stopped (slurmdbd and slurmctld
# drop to the slurm user and may not manage to remove it themselves)
declare -A OWN_PIDFILE=(
    [slurmd]=/run/slurm/slurmd.pid
    [slurmctld]=/run/slurm/slurmctld.pid
    [slurmdbd]=/run/slurm/slurmdbd.pid
    [mariadbd]=/run/mysqld/mysqld.pid
    [munged]=/run/munge/munged.pid
)

for name in slurmd slurmctld slurmdbd mariadbd munged; do # reverse start order
    record=$STATE/$name.pid
    [[ -s $record ]] || continue
    pid=$(<"$record")
    if [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/comm && $(</proc/"$pid"/comm) == "$name" ]]; then
        say "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 200); do
            [[ -e /proc/$pid ]] || break
            sleep 0.1
        done
        if [[ -e /proc/$pid && $(</proc/"$pid"/comm) == "$name" ]]; then
            say "$name (pid $pid) ignored SIGTERM for 20 s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    else
        say "$name (pid $pid) is not running any more"
    fi
    own=${OWN_PIDFILE[$name]}
    if [[ -f $own && $(<"$own") == "$pid" ]]; then
        rm -f "$own"
    fi
    rm -f "$record"
done
say "done"
