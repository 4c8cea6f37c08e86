#!/usr/bin/env bash
# A one-machine SLURM cluster (munge + slurmctld + slurmd, a fake GPU) for tests.
#
#   tests/slurm/cluster.sh start    install if missing, configure, start, wait for an idle node
#   tests/slurm/cluster.sh stop     cancel jobs, stop every daemon this script started (by PID file)
#   tests/slurm/cluster.sh status   daemons, sinfo, squeue
#
# Needs root and apt-get (Debian/Ubuntu). No systemd, no cgroups, no slurmdbd:
# the Snakemake profile must use `slurm-status-command: squeue` (see
# workflow/profiles/slurm/config.yaml). Settings (environment):
#   SLURM_TEST_GPUS   fake GPUs on the node (default 1)
#   SLURM_TEST_MEM_MB RealMemory of the node (default: total memory minus 1 GB)
set -euo pipefail

GPUS=${SLURM_TEST_GPUS:-1}
NODE=$(hostname -s)
CPUS=$(nproc)
CONF=/etc/slurm
STATE=/run/chaosatlas-slurm           # PID files of the daemons this script started
LOGS=/var/log/slurm
SPOOL=/var/spool/slurm
MUNGE_PID=$STATE/munged.pid
CTLD_PID=$STATE/slurmctld.pid
SLURMD_PID=$STATE/slurmd.pid

log() { echo "cluster.sh: $*" >&2; }

install() {
    local missing=()
    for cmd in slurmctld slurmd sinfo munged; do
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
    done
    if ((${#missing[@]})); then
        log "installing slurm and munge (missing: ${missing[*]})"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null ||
            { apt-get update >/dev/null && apt-get install -y --no-install-recommends \
                slurmctld slurmd slurm-client munge >/dev/null; }
    fi
}

write_config() {
    local mem
    mem=${SLURM_TEST_MEM_MB:-$(($(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo) - 1024))}
    mkdir -p "$CONF" "$STATE" "$LOGS" "$SPOOL/ctld" "$SPOOL/d"
    # character devices stand in for GPUs (regular files are rejected; /dev/null only for one)
    local files=()
    for ((i = 0; i < GPUS; i++)); do
        [[ -c /dev/fakegpu$i ]] || mknod /dev/fakegpu$i c 1 3
        files+=("/dev/fakegpu$i")
    done
    local file_list
    file_list=$(IFS=,; echo "${files[*]}")
    cat >"$CONF/slurm.conf" <<CONF
# Written by tests/slurm/cluster.sh: one node, no cgroups, no accounting daemon.
ClusterName=chaosatlas
SlurmctldHost=localhost(127.0.0.1)
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
StateSaveLocation=$SPOOL/ctld
SlurmdSpoolDir=$SPOOL/d
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$LOGS/jobcomp.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
# finished jobs stay visible to squeue/scontrol this long (the Snakemake plugin's squeue status needs >= 120)
MinJobAge=300
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MpiDefault=none
MailProg=/bin/true
GresTypes=gpu
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$mem Gres=gpu:$GPUS State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF
    cat >"$CONF/gres.conf" <<CONF
NodeName=$NODE Name=gpu File=$file_list
CONF
}

alive() { # alive PIDFILE NAME: the PID in the file runs a process called NAME
    local pid
    [[ -s $1 ]] || return 1
    pid=$(<"$1")
    [[ -r /proc/$pid/comm && $(</proc/$pid/comm) == "$2" ]]
}

start_munge() {
    alive "$MUNGE_PID" munged && return 0
    [[ -s /etc/munge/munge.key ]] || mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    chmod 755 /run/munge
    # a munged that this script did not start (e.g. a stale socket) blocks a new one
    # munged (run as user munge) writes its own PID file; a copy in $STATE marks it as ours
    rm -f /run/munge/munged.pid
    runuser -u munge -- munged --force
    for _ in $(seq 50); do [[ -s /run/munge/munged.pid ]] && break; sleep 0.1; done
    cp /run/munge/munged.pid "$MUNGE_PID"
    munge -n | unmunge >/dev/null
}

wait_idle() {
    local state=""
    for _ in $(seq 120); do
        if ! alive "$CTLD_PID" slurmctld || ! alive "$SLURMD_PID" slurmd; then
            log "a daemon died; last lines of the logs:"
            tail -n 5 "$LOGS/slurmctld.log" "$LOGS/slurmd.log" >&2 || true
            return 1
        fi
        state=$(sinfo -h -N -n "$NODE" -o %t 2>/dev/null | head -1 || true)
        case $state in
            idle | mix | alloc) return 0 ;;
            drain* | drng | down*) scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;;
        esac
        sleep 0.5
    done
    log "node $NODE not idle after 60 s (state '$state'); see $LOGS/slurmctld.log and $LOGS/slurmd.log"
    return 1
}

start() {
    [[ $(id -u) == 0 ]] || { log "must run as root"; exit 2; }
    install
    mkdir -p "$STATE"
    if alive "$CTLD_PID" slurmctld && alive "$SLURMD_PID" slurmd; then
        wait_idle
        log "already running"
        return 0
    fi
    write_config
    start_munge
    # -c: a clean start, no jobs recovered from an earlier run
    alive "$CTLD_PID" slurmctld || slurmctld -c
    alive "$SLURMD_PID" slurmd || slurmd -N "$NODE"
    for _ in $(seq 50); do
        alive "$CTLD_PID" slurmctld && alive "$SLURMD_PID" slurmd && break
        sleep 0.2
    done
    wait_idle
    log "node $NODE idle: $CPUS CPUs, $GPUS fake GPU(s), partition debug"
}

stop_pid() { # stop_pid PIDFILE NAME
    local pid
    if alive "$1" "$2"; then
        pid=$(<"$1")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 100); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
        if [[ -d /proc/$pid ]]; then
            log "$2 ($pid) ignored SIGTERM; killing"
            kill -9 "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$1"
}

stop() {
    if alive "$CTLD_PID" slurmctld; then
        # cancel what is still queued or running so no job steps outlive the daemons
        local jobs
        jobs=$(squeue -h -o %i 2>/dev/null || true)
        if [[ -n $jobs ]]; then
            # shellcheck disable=SC2086
            scancel $jobs 2>/dev/null || true
            for _ in $(seq 50); do
                [[ -z $(squeue -h -t PD,R,CG -o %i 2>/dev/null || true) ]] && break
                sleep 0.2
            done
        fi
    fi
    stop_pid "$SLURMD_PID" slurmd
    stop_pid "$CTLD_PID" slurmctld
    stop_pid "$MUNGE_PID" munged
    # Without a controller, `scontrol show config` waits ~9 s for one, and the SLURM
    # executor plugin runs it whenever snakemake starts: every run on this machine
    # would pay that. Without a slurm.conf it fails at once. Ours only (first line).
    if [[ -f $CONF/slurm.conf ]] && head -1 "$CONF/slurm.conf" | grep -q '^# Written by tests/slurm/cluster.sh'; then
        rm -f "$CONF/slurm.conf" "$CONF/gres.conf"
    fi
    log "stopped"
}

status() {
    local rc=0
    for d in munged:$MUNGE_PID slurmctld:$CTLD_PID slurmd:$SLURMD_PID; do
        if alive "${d#*:}" "${d%%:*}"; then
            echo "${d%%:*}: running (pid $(<"${d#*:}"))"
        else
            echo "${d%%:*}: stopped"; rc=1
        fi
    done
    if ((rc == 0)); then
        sinfo -N -o "%N %t %c %m %G"
        squeue
    fi
    return $rc
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
