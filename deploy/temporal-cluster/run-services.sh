#!/usr/bin/env bash
# Runs the Temporal cluster's four services, each as its own process, from one temporal-server binary and
# temporal.yaml, and restarts any that exits, as systemd's Restart=always or a Kubernetes Deployment would.
# On one machine this is what `npm run stack -- up temporal-cluster` runs; on several, run one service per
# host (or pod) with the same config and let them find each other through the database (membership).
#
#   run-services.sh <temporal-server> <config file> <run dir> [service...]   (default: all four)
#
# Writes <run dir>/<service>.pid for each running service. While <run dir>/<service>.hold exists, an exited
# service is not restarted (a test holds history down, then removes the file). SIGTERM or SIGINT stops all.
# RESTART_DELAY_SECONDS (default 2) is the pause before a restart.
set -uo pipefail

if [ "$#" -lt 3 ]; then
  echo "usage: $0 <temporal-server> <config file> <run dir> [service...]" >&2
  exit 2
fi
server=$1 config=$2 run_dir=$3
shift 3
roles=("$@")
[ "${#roles[@]}" -gt 0 ] || roles=(history matching frontend worker)
delay=${RESTART_DELAY_SECONDS:-2}
mkdir -p "$run_dir"

declare -A pids
say() { echo "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ) run-services: $*"; }

start() {
  "$server" --config-file "$config" --allow-no-auth start --service "$1" &
  pids[$1]=$!
  echo "${pids[$1]}" > "$run_dir/$1.pid"
  say "$1 started, pid ${pids[$1]}"
}

# A pid that is gone or a zombie (bash has not reaped it yet) is not running.
running() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

stop_all() {
  say "stopping ${roles[*]}"
  for role in "${roles[@]}"; do kill -TERM "${pids[$role]}" 2>/dev/null; done
  wait
  for role in "${roles[@]}"; do rm -f "$run_dir/$role.pid"; done
  exit 0
}
trap stop_all TERM INT

for role in "${roles[@]}"; do start "$role"; done
declare -A down_since
while true; do
  sleep 0.5 &
  wait $! 2>/dev/null
  for role in "${roles[@]}"; do
    running "${pids[$role]}" && continue
    if [ -z "${down_since[$role]:-}" ]; then
      wait "${pids[$role]}" 2>/dev/null
      say "$role (pid ${pids[$role]}) exited with status $?"
      rm -f "$run_dir/$role.pid"
      down_since[$role]=$SECONDS
    fi
    [ -e "$run_dir/$role.hold" ] && continue
    if (( SECONDS - down_since[$role] >= delay )); then
      unset "down_since[$role]"
      start "$role"
    fi
  done
done
