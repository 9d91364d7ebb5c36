#!/usr/bin/env bash
# The cost of durability: runs ../shared/bench/gateway_bench.sh against
# `pgw serve` in memory and with --persistence.file (every push synced to
# the log before its 200), for both payloads, samples the size of the
# persistence files during the load, counts compactions, then times start-up
# from the files: after SIGTERM (snapshot only) and after kill -9 (snapshot
# and log replay). Needs: curl wrk bc
# (benches/install-bench-deps.sh), and a release build.
#   usage: benches/run_persistence_bench.sh [DUR]      (DUR: wrk duration, default 10s)
set -euo pipefail
cd "$(dirname "$0")/.."
bench=$(cd ../shared/bench && pwd)
dur=${1:-10s}
pgw=$PWD/target/release/pgw
[ -x "$pgw" ] || { echo "build first: cargo build --release" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir" "$dir.max"' EXIT
port=19093

# Stops the server startup left running (not a child of this shell).
stop() {
  local pid; pid=$(cat "$dir/pid")
  kill "-$1" "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
}

# Seconds from exec to the first answer of /-/healthy.
startup() {
  local t0 t1 pid
  t0=$(date +%s.%N)
  "$pgw" serve --web.listen-address=127.0.0.1:$port --persistence.file="$dir/store" >/dev/null 2>"$dir/start.log" &
  pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/-/healthy"; do sleep 0.005; done
  t1=$(date +%s.%N)
  echo "$(echo "$t1 - $t0" | bc) s ($(grep -o 'groups=.*' "$dir/start.log"))"
  echo "$pid" > "$dir/pid"
}

for setup in "node_exporter.prom 200" "batch_job.prom 5000"; do
  set -- $setup
  echo "## PAYLOAD=$1 NGROUPS=$2 DUR=$dur CONC=16"
  PAYLOAD=$bench/$1 NGROUPS=$2 DUR=$dur bash $bench/gateway_bench.sh pgw-memory $port -- \
    "$pgw" serve --web.listen-address=127.0.0.1:$port
  rm -rf "$dir"/store*
  # Largest size of the files while the load runs.
  ( max=0; while sleep 0.2; do
      s=$(du -sb "$dir" | cut -f1); [ "$s" -gt "$max" ] && max=$s && echo "$max" > "$dir.max"
    done ) & sampler=$!
  PAYLOAD=$bench/$1 NGROUPS=$2 DUR=$dur bash $bench/gateway_bench.sh pgw-persist $port -- \
    "$pgw" serve --web.listen-address=127.0.0.1:$port --persistence.file="$dir/store" --log.level=debug
  kill $sampler; wait $sampler 2>/dev/null || true
  echo "[pgw-persist] largest size of the files during the load: $(($(cat "$dir.max") / 1048576)) MiB; compactions: $(grep -c 'compacted the log' /tmp/bench-pgw-persist.log); after SIGTERM: $(du -sb "$dir" | cut -f1) bytes"
  rm -f "$dir.max"
  echo "[pgw-persist] start-up from the snapshot: $(startup)"
  # One more round of pushes, into the log only, then kill -9.
  for i in $(seq 0 $(($2 - 1))); do
    printf 'url = "http://127.0.0.1:%s/metrics/job/node/instance/host-%d"\nupload-file = "%s"\nrequest = "PUT"\n' $port $i "$bench/$1"
  done > "$dir/fill.cfg"
  curl -s --no-progress-meter -Z --parallel-max 16 -K "$dir/fill.cfg" -o /dev/null
  stop KILL
  echo "[pgw-persist] log after $2 more pushes and kill -9: $(cat "$dir"/store.wal.* | wc -c) bytes"
  echo "[pgw-persist] start-up from the snapshot and that log: $(startup)"
  stop TERM
  rm -rf "$dir"/store*
done
