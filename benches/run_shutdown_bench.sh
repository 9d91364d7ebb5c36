#!/usr/bin/env bash
# How long `pgw serve` takes to stop with a big store: fills NGROUPS groups of
# PAYLOAD (by default 1,000 groups of ../shared/bench/node_exporter.prom, 507
# series each: about 507k series), in memory mode and in durable mode
# (--persistence.file in a fresh temporary directory, whose shutdown writes
# the snapshot), then sends SIGTERM and times from the signal to the exit of
# the process, which is this shell's child (wait, no polling). Alternating
# rounds (memory, durable, memory, ...); prints each round with the resident
# memory just before the signal and the exit status (0: a clean stop), then
# the median per mode.
# Needs: curl (benches/install-bench-deps.sh), and a release build
# (`cargo build --release`).
#   usage: benches/run_shutdown_bench.sh [ROUNDS]     (default 3)
#   env:   PGW       the pgw binary (default target/release/pgw)
#          NGROUPS   groups to fill (default 1000)
#          PAYLOAD   the payload, in ../shared/bench or a path (default node_exporter.prom)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=bench_lib.sh
. "$here/bench_lib.sh"
refuse_groups_env
need_pgw
cd "$checkout"
rounds=${1:-${ROUNDS:-3}}
ngroups=${NGROUPS:-1000}
need_payload payload "${PAYLOAD:-node_exporter.prom}"
need_count ROUNDS "$rounds"
need_count NGROUPS "$ngroups"
need curl
# EPOCHREALTIME (bash 5) reads the clock without forking a process.
[ -n "${EPOCHREALTIME:-}" ] || { echo "needs bash 5 (EPOCHREALTIME)" >&2; exit 1; }
port=19099
url=http://127.0.0.1:$port
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
series=$(series_in "$payload")

echo "# PGW=$pgw PAYLOAD=$(basename "$payload") NGROUPS=$ngroups ($((ngroups * series)) series) ROUNDS=$rounds"
for round in $(seq "$rounds"); do
  for mode in memory durable; do
    flags=()
    if [ "$mode" = durable ]; then
      rm -rf "$dir/data"
      mkdir "$dir/data"
      flags=(--persistence.file="$dir/data/store")
    fi
    start_pgw $port "$dir/serve.log" "${flags[@]}"
    fill=$(fill_groups "$url/metrics/job/node/instance/host-%d" PUT "$payload" "$ngroups")
    rss=$(rss_mib $pid)
    t0=$EPOCHREALTIME
    kill -TERM $pid
    status=0
    wait $pid || status=$?
    t1=$EPOCHREALTIME
    pid=
    ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b - a) * 1000}')
    echo "$mode $ms $rss" >>"$dir/results"
    files=
    [ "$mode" = durable ] && files=", files left: $(du -sb "$dir/data" | cut -f1) bytes"
    echo "[$mode, round $round] fill $ngroups groups: $fill; rss before SIGTERM $rss MiB; SIGTERM to exit: $ms ms (exit status $status$files)"
  done
done

echo
echo "| mode | SIGTERM to exit, per round (ms) | median (ms) | rss before SIGTERM, median (MiB) |"
echo "|---|---|---|---|"
for mode in memory durable; do
  echo "| $mode | $(awk -v m="$mode" '$1 == m {printf "%s%s", (n++ ? ", " : ""), $2}' "$dir/results") |" \
    "$(awk -v m="$mode" '$1 == m {print $2}' "$dir/results" | median %.1f) |" \
    "$(awk -v m="$mode" '$1 == m {print $3}' "$dir/results" | median %.1f) |"
done
