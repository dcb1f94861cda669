#!/usr/bin/env bash
# Throw-away single-node Slurm cluster for CI, no systemd, everything under $SLURM_CI_DIR.
# Usage: slurm-ci.sh start|stop|status     (run as root)
#   start: writes config, starts munged + slurmctld + slurmd, waits until the node is idle,
#          prints "export SLURM_CONF=..." for the caller.
#   stop : scancel all, scontrol shutdown, then kill survivors by their recorded PIDs.
# Env: SLURM_CI_DIR (default /tmp/slurm-ci), SLURM_CI_AUTH=munge|none (default munge),
#      SLURM_CI_CPUS (default: real CPU count; larger => oversubscribe via config_overrides)
set -euo pipefail
D=${SLURM_CI_DIR:-/tmp/slurm-ci}
AUTH=${SLURM_CI_AUTH:-munge}
export SLURM_CONF=$D/etc/slurm.conf

start() {
  mkdir -p "$D"/{etc,state,spool,log,run,munge}
  chmod 700 "$D/munge"
  local H CPUS MEM
  H=$(hostname -s)
  CPUS=${SLURM_CI_CPUS:-$(nproc)}
  MEM=$(( $(free -m | awk '/^Mem:/{print $2}') - 512 ))
  if [ "$AUTH" = munge ]; then
    [ -f "$D/munge/munge.key" ] || mungekey -c -k "$D/munge/munge.key"
    chmod 755 "$D/munge"   # socket must be reachable by job users; key stays 0600
    munged --force -S "$D/munge/munge.socket" --key-file="$D/munge/munge.key" \
      --pid-file="$D/munge/munged.pid" --log-file="$D/munge/munged.log" \
      --seed-file="$D/munge/munged.seed"   # forks; pid in munged.pid
    AUTHCONF="AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$D/munge/munge.socket"
  else
    AUTHCONF="AuthType=auth/none
CredType=cred/none"
  fi
  cat > "$SLURM_CONF" <<EOF
ClusterName=ci
SlurmctldHost=$H(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=16817
SlurmdPort=16818
$AUTHCONF
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/run/slurmctld.pid
SlurmdPidFile=$D/run/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SlurmdParameters=config_overrides
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
MailProg=/bin/true
MinJobAge=300
NodeName=$H NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  setsid slurmctld -D -c >"$D/log/slurmctld.stdout" 2>&1 </dev/null & echo $! >"$D/run/slurmctld.bgpid"
  setsid slurmd -D      >"$D/log/slurmd.stdout"    2>&1 </dev/null & echo $! >"$D/run/slurmd.bgpid"
  for _ in $(seq 1 100); do   # up to ~20 s
    [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && { echo "export SLURM_CONF=$SLURM_CONF"; return 0; }
    sleep 0.2
  done
  echo "slurm did not come up" >&2; sinfo >&2 || true
  tail -n 30 "$D"/log/*.log >&2 || true
  return 1
}

alive() { [ -r "/proc/$1/stat" ] && ! awk '{exit ($3=="Z")?0:1}' "/proc/$1/stat"; }  # zombies count as dead

stop() {
  if [ -f "$D/run/slurmctld.bgpid" ] && alive "$(cat "$D/run/slurmctld.bgpid")"; then
    scancel --partition=debug 2>/dev/null || true   # slurmstepd would outlive slurmd otherwise
    for _ in $(seq 1 50); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.2; done
    scontrol shutdown >/dev/null 2>&1 || true        # stops slurmctld and slurmd
  fi
  local f p
  for f in "$D/run/slurmctld.bgpid" "$D/run/slurmd.bgpid" "$D/munge/munged.pid"; do
    [ -f "$f" ] || continue
    p=$(cat "$f")
    for _ in $(seq 1 50); do alive "$p" || break; kill "$p" 2>/dev/null || true; sleep 0.1; done
    alive "$p" && { kill -KILL "$p" 2>/dev/null || true; }
    rm -f "$f"
  done
}

status() { sinfo; squeue -r; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
