#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for tests of `mammoflow run --executor slurm`:
#
#   scripts/slurm-one-node.sh start [DIR]   munge + slurmctld + slurmd with everything under DIR; waits until
#                                           the node is idle, then prints `export SLURM_CONF=DIR/slurm.conf`
#   scripts/slurm-one-node.sh stop [DIR]    stops them (by their pid files) and deletes DIR
#
# DIR defaults to /tmp/mammoflow-slurm. Needs root and Debian's slurm-wlm and munge (see
# docs/scale-out.md and shared/slurm-one-node.md for the facts this rests on). Nothing outside DIR is
# touched: munged gets its own key and socket, slurm.conf its own ports, so a cluster the machine already
# runs is left alone. Clients reach this one only through SLURM_CONF.
set -euo pipefail

command=${1:-}
dir=${2:-/tmp/mammoflow-slurm}

fail() { echo "slurm-one-node: $*" >&2; exit 1; }

# Whether nothing listens on a local TCP port.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The first free port from $1 on, skipping $2.
free_port() {
  local port=$1
  while [ "$port" = "${2:-}" ] || ! port_free "$port"; do port=$((port + 1)); done
  echo "$port"
}

# Sends SIGTERM to the process named in a pid file, SIGKILL if it is still there after 10 s.
stop_pidfile() {
  local file=$1 pid
  [ -s "$file" ] || return 0
  pid=$(cat "$file")
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

# Closes every descriptor but stdin, stdout, stderr and bash's own script (255) in this shell: a daemon
# that inherited one (the caller's pipe, say) would keep it open for as long as the cluster runs.
close_inherited_fds() {
  local fd
  for fd in /proc/self/fd/*; do
    fd=${fd##*/}
    case $fd in 0|1|2|255) ;; *) eval "exec $fd>&-" 2>/dev/null || true ;; esac
  done
}

stop() {
  [ -d "$dir" ] || return 0
  # The two Slurm daemons together, then munged, which authenticates what they say while stopping.
  stop_pidfile "$dir/run/slurmd.pid" &
  stop_pidfile "$dir/run/slurmctld.pid" &
  wait
  stop_pidfile "$dir/run/munged.pid"
  rm -rf "$dir"
}

start() {
  [ "$(id -u)" -eq 0 ] || fail "must run as root (slurmd starts jobs as their users)"
  for tool in munged slurmctld slurmd sinfo; do
    command -v "$tool" >/dev/null || fail "$tool not found: apt-get install slurm-wlm munge"
  done
  [ ! -e "$dir/run/slurmctld.pid" ] || fail "$dir holds a cluster already; stop it first: $0 stop $dir"
  mkdir -p "$dir"/{run,log,state,spool,munge}

  # munge: a fresh key of 1024 random bytes, its files owned by the user it runs as.
  local munge_user=root
  id munge >/dev/null 2>&1 && munge_user=munge
  head -c 1024 /dev/urandom > "$dir/munge/munge.key"
  chmod 700 "$dir/munge"
  chmod 400 "$dir/munge/munge.key"
  chown -R "$munge_user" "$dir/munge"
  local munged=(munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket"
                --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed")
  # Every daemon gets its own stdin, stdout and stderr and no other inherited descriptor: one that kept
  # ours would keep open the pipe of whoever reads this script's output, who would wait for the cluster to stop.
  close_inherited_fds
  if [ "$munge_user" = munge ]; then
    runuser -u munge -- "${munged[@]}" < /dev/null > "$dir/log/munged.out" 2>&1
  else
    "${munged[@]}" < /dev/null > "$dir/log/munged.out" 2>&1
  fi
  for _ in $(seq 50); do [ -s "$dir/munge/munged.pid" ] && break; sleep 0.1; done
  [ -s "$dir/munge/munged.pid" ] || fail "munged did not start; see $dir/munge/munged.log"
  cp "$dir/munge/munged.pid" "$dir/run/munged.pid"

  local host cpus memory ctld_port slurmd_port
  host=$(hostname -s)
  cpus=$(nproc)
  # Memory Slurm may hand out: what the machine has, less 512 MiB for everything else.
  memory=$(( $(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo) - 512 ))
  ctld_port=$(free_port 6817)
  slurmd_port=$(free_port $((ctld_port + 1)) "$ctld_port")
  cat > "$dir/slurm.conf" <<EOF
# Written by scripts/slurm-one-node.sh: a one-node cluster for tests.
ClusterName=mammoflow-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
# Finished jobs stay visible to squeue and scontrol for 5 minutes (there is no slurmdbd for sacct).
MinJobAge=300
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF="$dir/slurm.conf"
  slurmctld -D -f "$SLURM_CONF" < /dev/null > "$dir/log/slurmctld.out" 2>&1 &
  slurmd -D -f "$SLURM_CONF" < /dev/null > "$dir/log/slurmd.out" 2>&1 &

  local state=""
  for _ in $(seq 300); do
    state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
    [ "$state" = idle ] && break
    sleep 0.1
  done
  if [ "$state" != idle ]; then
    echo "slurm-one-node: the node is not idle after 30 s (state: '${state:-no answer}'); logs:" >&2
    tail -n 5 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
    stop
    exit 1
  fi
  echo "export SLURM_CONF=$SLURM_CONF"
}

case "$command" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop [DIR]" >&2; exit 2 ;;
esac
