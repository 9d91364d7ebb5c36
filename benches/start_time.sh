#!/usr/bin/env bash
# How long `pgw serve` takes to start from a snapshot, for builds compared
# side by side: for each BIN, a fresh --persistence.file is filled with
# NGROUPS groups of PAYLOAD (wrk with ../shared/bench/push.lua, 16
# connections, 3 s), compacted into the snapshot by a 2 s
# --persistence.interval, and the server stopped; then it is started RUNS
# times with the page cache dropped first (so the snapshot is read from the
# disk) and timed until /-/ready answers. Prints the files' sizes and the
# times. Run as root (drop_caches).
# Needs: curl wrk bc (benches/install-bench-deps.sh).
#   usage: benches/start_time.sh BIN...
#   env:   PAYLOAD (default node_exporter.prom), NGROUPS (default 1000), RUNS (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
bench=$(cd ../shared/bench && pwd)
[ $# -ge 1 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
port=19097
url=http://127.0.0.1:$port
ready() { for _ in $(seq 2000); do curl -sf -o /dev/null "$url/-/ready" && return; sleep 0.005; done; echo "not ready" >&2; exit 1; }
for bin in "$@"; do
  rm -rf "$dir/files" && mkdir "$dir/files"
  "$bin" serve --web.listen-address=127.0.0.1:$port --persistence.file="$dir/files/store" \
    --persistence.interval=2s >/dev/null 2>&1 &
  pid=$!
  ready
  (cd "$bench" && PAYLOAD=${PAYLOAD:-node_exporter.prom} NGROUPS=${NGROUPS:-1000} \
    wrk -t2 -c16 -d3s -s push.lua "$url" >/dev/null 2>&1)
  sleep 4.5
  kill "$pid"; wait "$pid" || true; pid=
  echo "$bin: $(cd "$dir/files" && for f in store*; do printf '%s %s bytes; ' "$f" "$(stat -c %s "$f")"; done)"
  for _ in $(seq "${RUNS:-3}"); do
    sync; echo 3 > /proc/sys/vm/drop_caches
    t0=$(date +%s.%N)
    "$bin" serve --web.listen-address=127.0.0.1:$port --persistence.file="$dir/files/store" >/dev/null 2>&1 &
    pid=$!
    ready
    t1=$(date +%s.%N)
    printf '  start to ready: %.0f ms\n' "$(echo "($t1 - $t0) * 1000" | bc -l)"
    kill "$pid"; wait "$pid" || true; pid=
  done
done
