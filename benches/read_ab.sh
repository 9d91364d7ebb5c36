#!/usr/bin/env bash
# The two big reads of a store, for one or more pgw binaries side by side (a
# build before a change and one after): for each binary in turn, ROUNDS
# times, it starts `BIN serve` (memory mode), fills NGROUPS groups of
# PAYLOAD (parallel curl, 32 at a time), reads /metrics and
# /api/v1/metrics once each, then prints the p50 of GET /metrics and of GET
# /api/v1/metrics (wrk, one connection, DUR each), their bytes, the
# scrape's GB/s at its p50, the ratio of the two, and the server's resident
# memory. With PUSH_CONC set, wrk pushes PAYLOAD to the same groups (round
# robin, PUSH_CONC connections) while the scrape is measured, and the push
# rate is printed: the scrape of a store that is being pushed to (the JSON
# API is then read after the pushes stop).
# Needs: curl wrk (benches/install-bench-deps.sh).
#   usage: benches/read_ab.sh [BIN...]   (default: target/release/pgw)
#   env:   NGROUPS    the number of groups (default 50000)
#          PAYLOAD    the payload, in ../shared/bench or a path (default batch_job.prom)
#          ROUNDS     rounds of all binaries (default 2)
#          DUR        each wrk run, wrk syntax (default 5s)
#          PUSH_CONC  connections pushing during the scrape (default: none)
#          ACCEPT     the scrapes' Accept header (default: none, text 0.0.4); for
#                     protobuf: 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited'
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=bench_lib.sh
. "$here/bench_lib.sh"
refuse_groups_env
need_bins "$@"
need_read_env
push_conc=${PUSH_CONC:-}
[ -z "$push_conc" ] || need_count PUSH_CONC "$push_conc"
need_payload payload "${PAYLOAD:-batch_job.prom}"
need curl wrk
port=19095
url=http://127.0.0.1:$port
dir=$(mktemp -d)
pid=
push_pid=
trap '[ -n "$push_pid" ] && kill "$push_pid" 2>/dev/null; [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT

accept=()
[ -z "${ACCEPT:-}" ] || accept=(-H "Accept: $ACCEPT")

echo "$n groups of $(basename "$payload"), load average $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq "$rounds"); do
  for pgw in "${bins[@]}"; do
    start_pgw $port "$dir/serve.log"
    fill_groups "$url/metrics/job/node/instance/host-%d" PUT "$payload" "$n" 32 >/dev/null
    scrape_bytes=$(curl -s "${accept[@]}" "$url/metrics" | wc -c)
    api_bytes=$(curl -s "$url/api/v1/metrics" | wc -c)
    under=
    if [ -n "$push_conc" ]; then
      # Pushes start a second before the scrapes and end a second after.
      push_dur=$(( $(awk -v d="$dur" 'BEGIN {n = d + 0; if (d ~ /m$/) n *= 60; printf "%d", n}') + 2 ))s
      (cd "$shared_bench" && PAYLOAD=$payload NGROUPS=$n exec wrk -t1 -c"$push_conc" -d"$push_dur" -s push.lua "$url" >"$dir/push.out" 2>&1) &
      push_pid=$!
      sleep 1
    fi
    scrape=$(ms "$(wrk_p50 "$url/metrics" "${accept[@]}")")
    if [ -n "$push_conc" ]; then
      wait "$push_pid" 2>/dev/null || true
      push_pid=
      under=", under $(awk '/Requests\/sec/ {printf "%.0f", $2}' "$dir/push.out") pushes/s"
    fi
    api=$(ms "$(wrk_p50 "$url/api/v1/metrics")")
    echo "$pgw: scrape ($scrape_bytes bytes) p50 $scrape ms, $(ratio "$scrape_bytes" "$scrape" %.2f | awk '{printf "%.2f", $1 / 1e6}') GB/s$under; api ($api_bytes bytes) p50 $api ms, $(ratio "$api" "$scrape" %.1f) x the scrape; rss $(rss_mib "$pid") MiB"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=
  done
done
