#!/usr/bin/env bash
# Plain POSTs beside aggregated ones (`Pgw-Aggregate: sum`), from the same
# wrk script and the same payloads, each against a fresh `pgw serve` (memory
# only): 200 groups of a node_exporter scrape whose untyped families are
# pushed as gauges (an aggregating push refuses untyped values), and 5,000
# groups of a batch-job push, and each payload into one group (many workers,
# one job: the case aggregation is for). Every group is filled once first, so the timed
# aggregated pushes add into existing families. Needs: curl wrk
# (benches/install-bench-deps.sh), and a release build (`cargo build --release`).
#   usage: benches/run_aggregate_bench.sh [DUR]      (DUR: wrk duration, default 10s)
set -euo pipefail
cd "$(dirname "$0")/.."
bench=$(cd ../shared/bench && pwd)
here=$(pwd)/benches
dur=${1:-10s}
pgw=target/release/pgw
[ -x "$pgw" ] || { echo "build first: cargo build --release" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed 's/^\(# TYPE .*\) untyped$/\1 gauge/' "$bench/node_exporter.prom" >"$tmp/node_exporter.prom"
cp "$bench/batch_job.prom" "$tmp/batch_job.prom"
port=19093
for setup in "node_exporter.prom 200" "node_exporter.prom 1" "batch_job.prom 5000" "batch_job.prom 1"; do
  set -- $setup
  for aggregate in "" 1; do
    "$pgw" serve --web.listen-address=127.0.0.1:$port >"$tmp/pgw.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/-/healthy" && break; sleep 0.1; done
    header=()
    [ -n "$aggregate" ] && header=(-H "Pgw-Aggregate: sum")
    for i in $(seq 0 $(($2 - 1))); do
      printf 'url = "http://127.0.0.1:%d/metrics/job/node/instance/host-%d"\nupload-file = "%s"\nrequest = "POST"\n' \
        "$port" "$i" "$tmp/$1"
    done >"$tmp/fill.cfg"
    codes=$(curl -s --no-progress-meter -Z --parallel-max 16 "${header[@]}" -K "$tmp/fill.cfg" -o /dev/null -w '%{http_code}\n' | sort | uniq -c | tr -s ' \n' ' ')
    out=$(PAYLOAD="$tmp/$1" NGROUPS=$2 AGGREGATE=$aggregate wrk -t2 -c16 -d"$dur" -s "$here/push_aggregate.lua" --latency "http://127.0.0.1:$port" 2>&1)
    name=$([ -n "$aggregate" ] && echo aggregated || echo plain)
    echo "[$1 x $2, $name POST] fill:$codes| $(echo "$out" | awk '/Requests\/sec/{print $2}') req/s, p50 $(echo "$out" | awk '/ 50%/{print $2}'), p99 $(echo "$out" | awk '/ 99%/{print $2}'), non-2xx: $(echo "$out" | awk '/Non-2xx/{print $NF}')"
    kill $pid; wait $pid 2>/dev/null || true
  done
done
