#!/usr/bin/env bash
# A real single-node SLURM cluster on this machine, for tests/test_slurm.py and CI.
#
# Debian 12 (SLURM 22.05), run as root, no systemd needed: installs the packages if they are
# missing, writes the configs, starts munged -> mariadbd -> slurmdbd -> slurmctld -> slurmd
# directly (each listening on 127.0.0.1 where the daemon allows it), registers the cluster, an
# account `default` and root (plus EXTRA_USERS) in accounting, and checks that a job runs.
# Idempotent: daemons already running are left alone; only those started here are recorded (in
# $STATE/*.pid) for stop-slurm.sh, which stops nothing else.
#
#   sudo bash tests/slurm/start-slurm.sh          # FAKE_GPUS=N (default 1): GPUs through GRES
#   sudo bash tests/slurm/stop-slurm.sh
#
# There is no real GPU: each fake GPU is a GRES entry backed by a device file that exists
# (/dev/null, /dev/zero, ...). SLURM allocates it, sets CUDA_VISIBLE_DEVICES and accounts
# gres/gpu; torch in the job finds no CUDA device and runs on the CPU.
set -euo pipefail

STATE=${PATCHMINE_SLURM_STATE:-/run/patchmine-slurm}
FAKE_GPUS=${FAKE_GPUS:-1}
EXTRA_USERS=${EXTRA_USERS:-}
SMOKE=${SMOKE:-1}
CLUSTER=patchmine
ACCOUNT=default
MARK="# written by patchmine tests/slurm/start-slurm.sh"
FAKE_GPU_FILES=(/dev/null /dev/zero /dev/full /dev/random /dev/urandom)

say() { echo "[start-slurm] $*" >&2; }
die() { say "error: $*"; exit 1; }

[[ $(id -u) == 0 ]] || die "must run as root (it installs packages and starts daemons)"
((FAKE_GPUS >= 0 && FAKE_GPUS <= ${#FAKE_GPU_FILES[@]})) || die "FAKE_GPUS must be 0..${#FAKE_GPU_FILES[@]}"

# --- packages ------------------------------------------------------------------------------
need=()
for cmd in slurmctld slurmd slurmdbd sacct sacctmgr munged mariadbd; do
    command -v "$cmd" >/dev/null 2>&1 || need+=("$cmd")
done
if ((${#need[@]})); then
    say "installing SLURM, munge and MariaDB (missing: ${need[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q slurm-wlm slurmdbd munge mariadb-server >&2
fi

mkdir -p "$STATE"
chmod 0755 "$STATE"

# --- which of our daemons are alive -----------------------------------------------------------
# pid_alive FILE COMM: the pid in FILE names a live process whose /proc/PID/comm is COMM
pid_alive() {
    local pid
    [[ -s $1 ]] || return 1
    pid=$(<"$1")
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/comm ]] || return 1
    [[ $(</proc/"$pid"/comm) == "$2" ]]
}

# record NAME DAEMON_PIDFILE COMM: remember a daemon this script started, for stop-slurm.sh
record() {
    local i
    for i in $(seq 100); do
        if pid_alive "$2" "$3"; then
            cp "$2" "$STATE/$1.pid"
            return 0
        fi
        sleep 0.1
    done
    die "$1 did not start (no live $3 in $2); see its log"
}

# running NAME DAEMON_PIDFILE COMM: already up (started here before, or by someone else)
running() { pid_alive "$STATE/$1.pid" "$3" || pid_alive "$2" "$3"; }

# --- configuration ------------------------------------------------------------------------------
HOST=$(hostname -s)
read -r CPUS BOARDS SOCKETS CORES THREADS MEM < <(
    slurmd -C | awk '/^NodeName/ {
        for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        print v["CPUs"], v["Boards"], v["SocketsPerBoard"], v["CoresPerSocket"], v["ThreadsPerCore"], v["RealMemory"]
    }'
)
[[ -n ${MEM:-} ]] || die "slurmd -C did not describe this machine"
MEM=$((MEM * 9 / 10)) # RealMemory above what slurmd detects makes the node INVAL

CHANGED=() # config files whose content changed in this run
write_conf() { # write_conf PATH MODE OWNER < content: only our own files are replaced
    local path=$1 mode=$2 owner=$3 tmp
    if [[ -e $path ]] && ! grep -qF "$MARK" "$path"; then
        die "$path exists and was not written by this script; not touching it"
    fi
    tmp=$(mktemp "$path.XXXXXX")
    { echo "$MARK"; cat; } >"$tmp"
    chmod "$mode" "$tmp"
    chown "$owner" "$tmp"
    if [[ -e $path ]] && cmp -s "$tmp" "$path"; then
        rm -f "$tmp"
    else
        [[ -e $path ]] && CHANGED+=("$path")
        mv "$tmp" "$path"
    fi
}

install -d -m 0755 /etc/slurm /var/log/slurm
install -d -o slurm -g slurm -m 0755 /var/lib/slurm /var/lib/slurm/slurmctld /run/slurm
install -d -m 0755 /var/lib/slurm/slurmd
chown slurm:slurm /var/log/slurm

gres_node="" gres_types=""
if ((FAKE_GPUS > 0)); then
    gres_node=" Gres=gpu:$FAKE_GPUS"
    gres_types=$'GresTypes=gpu\nAccountingStorageTRES=gres/gpu'
fi

write_conf /etc/slurm/slurm.conf 0644 root:root <<EOF
ClusterName=$CLUSTER
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# no systemd, no cgroup delegation: track processes by /proc, limits are accounted, not enforced
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
# bind to 127.0.0.1 (NodeAddr, SlurmctldHost) instead of every address of the machine
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1024
MinJobAge=300
# a job is requeueable only when submitted with --requeue (the profile's slurm-requeue), so the
# requeue test fails if the profile stops asking for it (SLURM's default, 1, requeues any job)
JobRequeue=0
KillWait=10
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=6819
AccountingStoreFlags=job_comment
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
JobCompType=jobcomp/none
MailProg=/bin/true
$gres_types
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS Boards=$BOARDS SocketsPerBoard=$SOCKETS CoresPerSocket=$CORES ThreadsPerCore=$THREADS RealMemory=$MEM$gres_node State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF

if ((FAKE_GPUS > 0)); then
    files=$(IFS=,; echo "${FAKE_GPU_FILES[*]:0:FAKE_GPUS}")
    write_conf /etc/slurm/gres.conf 0644 root:root <<EOF
AutoDetect=off
NodeName=$HOST Name=gpu File=$files
EOF
elif [[ -e /etc/slurm/gres.conf ]] && grep -qF "$MARK" /etc/slurm/gres.conf; then
    rm -f /etc/slurm/gres.conf
    CHANGED+=(/etc/slurm/gres.conf)
fi

write_conf /etc/slurm/slurmdbd.conf 0600 slurm:slurm <<EOF
AuthType=auth/munge
DbdAddr=127.0.0.1
DbdHost=localhost
DbdPort=6819
CommunicationParameters=NoInAddrAny
SlurmUser=slurm
DebugLevel=info
LogFile=/var/log/slurm/slurmdbd.log
PidFile=/run/slurm/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StoragePort=3306
StorageLoc=slurm_acct_db
StorageUser=slurm
StoragePass=slurmdbpass
EOF

write_conf /etc/mysql/mariadb.conf.d/60-patchmine-slurm.cnf 0644 root:root <<EOF
[mysqld]
bind-address=127.0.0.1
innodb_buffer_pool_size=256M
innodb_log_file_size=64M
innodb_lock_wait_timeout=900
max_allowed_packet=16M
EOF

# --- munge --------------------------------------------------------------------------------------
install -d -o munge -g munge -m 0755 /run/munge
if [[ ! -s /etc/munge/munge.key ]]; then
    mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null ||
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
fi
if ! running munged /run/munge/munged.pid munged; then
    say "starting munged"
    runuser -u munge -- /usr/sbin/munged
    record munged /run/munge/munged.pid munged
fi
munge -n | unmunge >/dev/null || die "munge does not work"

# --- MariaDB ------------------------------------------------------------------------------------
install -d -o mysql -g root -m 0755 /run/mysqld
if [[ ! -d /var/lib/mysql/mysql ]]; then
    say "initialising the MariaDB data folder"
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/var/log/patchmine-mariadb-init.log 2>&1
fi
if ! running mariadbd /run/mysqld/mysqld.pid mariadbd; then
    say "starting mariadbd"
    setsid -f nohup /usr/sbin/mariadbd --user=mysql --pid-file=/run/mysqld/mysqld.pid \
        >>/var/log/patchmine-mariadb.log 2>&1 </dev/null
    record mariadbd /run/mysqld/mysqld.pid mariadbd
fi
for i in $(seq 100); do
    mariadb-admin ping >/dev/null 2>&1 && break
    ((i < 100)) || die "MariaDB does not answer (see /var/log/patchmine-mariadb.log)"
    sleep 0.2
done
mariadb <<'EOF'
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmdbpass';
GRANT ALL PRIVILEGES ON slurm_acct_db.* TO 'slurm'@'localhost';
FLUSH PRIVILEGES;
EOF

# --- slurmdbd and the accounting objects (before slurmctld, which registers with them) ------------
if ! running slurmdbd /run/slurm/slurmdbd.pid slurmdbd; then
    say "starting slurmdbd"
    /usr/sbin/slurmdbd
    record slurmdbd /run/slurm/slurmdbd.pid slurmdbd
fi
for i in $(seq 150); do
    sacctmgr -n -P list cluster >/dev/null 2>&1 && break
    ((i < 150)) || die "slurmdbd does not answer (see /var/log/slurm/slurmdbd.log)"
    sleep 0.2
done
# `sacctmgr -i add` exits 1 when the object exists: look first
[[ -n $(sacctmgr -n -P list cluster "$CLUSTER" format=cluster) ]] ||
    sacctmgr -i add cluster "$CLUSTER" >/dev/null
[[ -n $(sacctmgr -n -P list account "$ACCOUNT" format=account) ]] ||
    sacctmgr -i add account "$ACCOUNT" Cluster="$CLUSTER" Description="patchmine tests" Organization=patchmine >/dev/null
for user in root $EXTRA_USERS; do
    id "$user" >/dev/null 2>&1 || die "EXTRA_USERS names $user, who does not exist"
    if [[ -z $(sacctmgr -n -P list assoc user="$user" account="$ACCOUNT" cluster="$CLUSTER" format=user) ]]; then
        sacctmgr -i add user "$user" Account="$ACCOUNT" DefaultAccount="$ACCOUNT" Cluster="$CLUSTER" >/dev/null
    fi
    # root exists in the database already, with DefaultAccount=root
    sacctmgr -i modify user where name="$user" set DefaultAccount="$ACCOUNT" >/dev/null 2>&1 || true
done

# --- slurmctld and slurmd ----------------------------------------------------------------------
# a changed slurm.conf or gres.conf (e.g. another FAKE_GPUS) needs both restarted: ours only
if [[ " ${CHANGED[*]} " == *" /etc/slurm/slurm.conf "* || " ${CHANGED[*]} " == *gres.conf* ]]; then
    for name in slurmd slurmctld; do
        pid_alive "$STATE/$name.pid" "$name" || continue
        pid=$(<"$STATE/$name.pid")
        say "configuration changed: restarting $name (pid $pid)"
        kill -TERM "$pid"
        for _ in $(seq 200); do [[ -e /proc/$pid ]] || break; sleep 0.1; done
        rm -f "$STATE/$name.pid"
    done
    if running slurmctld /run/slurm/slurmctld.pid slurmctld || running slurmd /run/slurm/slurmd.pid slurmd; then
        die "the configuration changed but SLURM daemons not started by this script are running"
    fi
fi
if ! running slurmctld /run/slurm/slurmctld.pid slurmctld; then
    say "starting slurmctld"
    /usr/sbin/slurmctld
    record slurmctld /run/slurm/slurmctld.pid slurmctld
fi
if ! running slurmd /run/slurm/slurmd.pid slurmd; then
    say "starting slurmd"
    /usr/sbin/slurmd -N "$HOST"
    record slurmd /run/slurm/slurmd.pid slurmd
fi

state=""
for i in $(seq 150); do
    state=$(sinfo -h -N -n "$HOST" -o %T 2>/dev/null || true)
    case $state in
    idle | mixed | allocated) break ;;
    *drain* | *inval* | down*)
        # a DRAIN/INVAL reason survives restarts in the state folder, even once the cause is fixed
        say "node is $state ($(sinfo -h -N -n "$HOST" -o %E)); resuming it"
        scontrol update nodename="$HOST" state=resume 2>/dev/null || true
        ;;
    esac
    ((i < 150)) || die "node $HOST is '$state', not idle (see /var/log/slurm/slurmd.log, slurmctld.log)"
    sleep 0.2
done
gres=$(sinfo -h -N -n "$HOST" -o %G)
say "node $HOST is $state: $CPUS CPUs, ${MEM} MB, gres ${gres}"

# --- smoke test ---------------------------------------------------------------------------------
if [[ $SMOKE == 1 ]]; then
    out=$(srun -A "$ACCOUNT" -t 1 --mem 100 -n 1 hostname) || die "srun failed"
    [[ $out == "$HOST"* ]] || die "srun ran on '$out', not $HOST"
    if ((FAKE_GPUS > 0)); then
        out=$(srun -A "$ACCOUNT" -t 1 --mem 100 --gpus=1 printenv CUDA_VISIBLE_DEVICES) ||
            die "a job with --gpus=1 failed"
        [[ $out == 0 ]] || die "a job with --gpus=1 saw CUDA_VISIBLE_DEVICES='$out'"
    fi
    say "smoke test passed"
fi
echo "SLURM is up: cluster $CLUSTER, partition debug, account $ACCOUNT, $FAKE_GPUS fake GPU(s)"
