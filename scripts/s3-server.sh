#!/usr/bin/env bash
# A throwaway S3 server for the tests and CI: Ceph's RADOS Gateway (radosgw) on a single-node
# cluster — one monitor, one OSD keeping objects in RAM (memstore), auth none — listening on
# 127.0.0.1 only, with one S3 user whose keys are fixed test values (they protect nothing: the
# server lives as long as the test run and answers only this machine).
#
#   scripts/s3-server.sh install install the Debian packages (radosgw ceph-mon ceph-osd ceph-common) if missing
#   scripts/s3-server.sh start   the same, then start, and wait (bounded) until S3 answers
#   scripts/s3-server.sh env     print the env file (NARSIGN_S3_ENDPOINT, AWS_ACCESS_KEY_ID, …)
#   scripts/s3-server.sh stop    stop the daemons by the pids start recorded, remove the run directory
#
# Everything lives in one run directory: $NARSIGN_S3_RUN_DIR, by default /tmp/narsign-s3-$UID
# (config, monitor and OSD data, sockets, logs, `pids`, and `env`, which the S3 tests read).
# The daemons are stopped by pid, never by process name, so other Ceph processes are left alone.
set -euo pipefail

RUN=${NARSIGN_S3_RUN_DIR:-${TMPDIR:-/tmp}/narsign-s3-$(id -u)}
ACCESS_KEY=NARSIGNTESTACCESSKEY
SECRET_KEY=narsign-test-secret-key-not-a-secret-0000
# Bounded waits (seconds): a start that does not answer by then is a failure, not a hang.
START_TIMEOUT=${NARSIGN_S3_START_TIMEOUT:-60}
# The cluster is thrown away (objects live in RAM, the run directory is removed): the daemons get a
# short grace to stop cleanly (each takes about two seconds, waiting on its peers), then SIGKILL.
STOP_GRACE=${NARSIGN_S3_STOP_GRACE:-1}

say() { echo "s3-server: $*" >&2; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
die() { say "$*"; exit 1; }

install_packages() {
  local need=()
  for pair in radosgw:radosgw ceph-mon:ceph-mon ceph-osd:ceph-osd ceph:ceph-common monmaptool:ceph-common radosgw-admin:radosgw; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing Ceph packages (radosgw ceph-mon ceph-osd ceph-common): install them as root"
  local start=$SECONDS
  say "installing radosgw ceph-mon ceph-osd ceph-common"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends radosgw ceph-mon ceph-osd ceph-common >/dev/null
  say "installed in $((SECONDS - start)) s"
}

# A free TCP port on 127.0.0.1 (the kernel picks it; bound and released just before use).
free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# Waits (bounded) until CMD succeeds; fails naming WHAT otherwise.
wait_for() {
  local what=$1 deadline=$((SECONDS + START_TIMEOUT))
  shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { say "$what did not come up within $START_TIMEOUT s; logs in $RUN/log"; return 1; }
    sleep 0.2
  done
}

# Starts a daemon in the foreground mode (-f) in the background and records its pid.
spawn() {
  local name=$1
  shift
  "$@" -f >>"$RUN/log/$name.out" 2>&1 </dev/null &
  echo "$name $!" >>"$RUN/pids"
}

write_conf() {
  local fsid=$1 mon_port=$2 rgw_port=$3
  cat >"$RUN/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
mon initial members = a
public addr = 127.0.0.1
public network = 127.0.0.1/32
cluster network = 127.0.0.1/32
auth cluster required = none
auth service required = none
auth client required = none
# With auth none the clients loop on "get_initial_auth_request returned -13" unless every
# messenger mode is crc.
ms mon client mode = crc
ms mon service mode = crc
ms mon cluster mode = crc
ms client mode = crc
ms service mode = crc
ms cluster mode = crc
ms bind ipv6 = false
run dir = $RUN/run
admin socket = $RUN/run/\$name.asok
log file = $RUN/log/\$name.log
keyring = /dev/null
mon data = $RUN/mon/\$cluster-\$id
osd data = $RUN/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = 2147483648
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
# Elections and map updates at once instead of every second: the start takes seconds, not tens.
paxos propose interval = 0.05
mon osd reporter subtree level = osd

[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw enable lc threads = false
rgw enable usage log = false
rgw dns name = 127.0.0.1
EOF
}

start() {
  install_packages
  if [ -e "$RUN" ]; then
    [ -f "$RUN/pids" ] && die "$RUN exists with a pids file: already running? (scripts/s3-server.sh stop)"
    die "$RUN exists: remove it first"
  fi
  local t0
  t0=$(date +%s.%N)
  mkdir -m 700 "$RUN"
  # A start that fails half-way shows the logs' ends and stops what it started.
  trap 'status=$?; if [ $status -ne 0 ]; then start_failed; fi' EXIT
  mkdir -p "$RUN/log" "$RUN/run" "$RUN/mon/ceph-a" "$RUN/osd/ceph-0"
  : >"$RUN/pids"
  local fsid mon_port rgw_port
  fsid=$(cat /proc/sys/kernel/random/uuid)
  mon_port=$(free_port)
  rgw_port=$(free_port)
  write_conf "$fsid" "$mon_port" "$rgw_port"
  local conf=(-c "$RUN/ceph.conf")

  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$RUN/monmap" >/dev/null
  ceph-mon "${conf[@]}" --mkfs -i a --monmap "$RUN/monmap" >>"$RUN/log/mkfs.out" 2>&1
  spawn mon ceph-mon "${conf[@]}" -i a
  wait_for "the monitor" timeout 5 ceph "${conf[@]}" --connect-timeout 5 mon stat

  local osd_id
  osd_id=$(ceph "${conf[@]}" osd create)
  [ "$osd_id" = 0 ] || die "expected OSD id 0, got '$osd_id'"
  ceph-osd "${conf[@]}" -i 0 --mkfs >>"$RUN/log/mkfs.out" 2>&1
  spawn osd ceph-osd "${conf[@]}" -i 0
  wait_for "the OSD" bash -c "ceph ${conf[*]} osd dump 2>/dev/null | grep -q '^osd.0 up'"

  spawn rgw radosgw "${conf[@]}" -n client.rgw
  wait_for "radosgw" curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$rgw_port/"

  radosgw-admin "${conf[@]}" user create --uid=narsign-test --display-name="narsign tests" \
    --access-key="$ACCESS_KEY" --secret="$SECRET_KEY" >/dev/null 2>>"$RUN/log/admin.out"

  umask 077
  cat >"$RUN/env.tmp" <<EOF
NARSIGN_S3_ENDPOINT=http://127.0.0.1:$rgw_port
AWS_ACCESS_KEY_ID=$ACCESS_KEY
AWS_SECRET_ACCESS_KEY=$SECRET_KEY
AWS_REGION=us-east-1
AWS_EC2_METADATA_DISABLED=true
NARSIGN_S3_RUN_DIR=$RUN
EOF
  mv "$RUN/env.tmp" "$RUN/env"
  say "radosgw answers on http://127.0.0.1:$rgw_port (started in $(elapsed "$t0") s); env in $RUN/env"
}

# Whether PID is still one of our daemons (a Ceph process with our config): a recycled pid is left alone.
ours() {
  [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$RUN/ceph.conf"
}

start_failed() {
  say "start failed; the end of each log:"
  for log in "$RUN"/log/*; do
    [ -f "$log" ] && { echo "── $log" >&2; tail -n 15 "$log" >&2; }
  done
  stop
}

stop() {
  [ -d "$RUN" ] || { say "nothing to stop ($RUN does not exist)"; return 0; }
  local t0
  t0=$(date +%s.%N)
  if [ -f "$RUN/pids" ]; then
    # Reverse order: the gateway, then the OSD, then the monitor.
    local pids=()
    mapfile -t pids < <(awk '{print $2}' "$RUN/pids" | tac)
    for pid in "${pids[@]}"; do
      ours "$pid" && { kill -TERM "$pid" 2>/dev/null || true; }
    done
    local deadline
    deadline=$(awk -v now="$(date +%s.%N)" -v grace="$STOP_GRACE" 'BEGIN { printf "%.3f", now + grace }')
    for pid in "${pids[@]}"; do
      while ours "$pid"; do
        if awk -v now="$(date +%s.%N)" -v end="$deadline" 'BEGIN { exit !(now >= end) }'; then
          kill -KILL "$pid" 2>/dev/null || true
          local waited=0
          while ours "$pid" && [ $waited -lt 100 ]; do sleep 0.05; waited=$((waited + 1)); done
          ours "$pid" && say "pid $pid did not die after SIGKILL"
          break
        fi
        sleep 0.05
      done
    done
  fi
  rm -rf -- "$RUN"
  say "stopped in $(elapsed "$t0") s"
}

case "${1:-}" in
  install) install_packages ;;
  start) start ;;
  stop) stop ;;
  env) cat "$RUN/env" ;;
  *) echo "usage: $0 install|start|stop|env  (run directory: \$NARSIGN_S3_RUN_DIR, default /tmp/narsign-s3-\$UID)" >&2; exit 2 ;;
esac
