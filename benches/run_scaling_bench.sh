#!/usr/bin/env bash
# How `pgw serve` (memory mode) scales with the number of groups: for each
# count in NGROUPS it starts a fresh server, fills that many groups of
# PAYLOAD (parallel curl, 32 at a time), then measures
#   - push cost: the server's CPU time per push (perf stat task-clock of its
#     process over a PUSH_DUR wrk run of ../shared/bench/push.lua, 16
#     connections, divided by the pushes answered, as benches/cpu_per_push.sh)
#     and the throughput of that run;
#   - scrape: GET /metrics p50 over DUR, one connection, its bytes, and the
#     bytes over the p50 (GB/s);
#   - JSON API: GET /api/v1/metrics p50 and bytes, and its ratio to the scrape;
#   - GET /api/v1/groups p50 and bytes;
#   - `pgw list --gateway URL >/dev/null`: the median wall time of 5 runs;
#   - the server's resident memory.
# Prints the raw figures as it goes, then a markdown table, one row a count.
# Needs: curl wrk perf (benches/install-bench-deps.sh), and a release
# build (`cargo build --release`).
#   usage: benches/run_scaling_bench.sh [DUR]     (DUR: scrape and API phases, wrk syntax, default 10s)
#   env:   PGW       the pgw binary (default target/release/pgw)
#          NGROUPS   group counts (default "1000 10000 50000"; GROUPS cannot be passed to bash)
#          PAYLOAD   the payload, in ../shared/bench or a path (default batch_job.prom)
#          PUSH_DUR  length of the measured push run (default 5s)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=bench_lib.sh
. "$here/bench_lib.sh"
refuse_groups_env
need_pgw
cd "$checkout"
bench=$shared_bench
dur=${1:-${DUR:-10s}}
push_dur=${PUSH_DUR:-5s}
counts=${NGROUPS:-1000 10000 50000}
need_payload payload "${PAYLOAD:-batch_job.prom}"
[[ $push_dur =~ ^[1-9][0-9]*s$ ]] || { echo "PUSH_DUR must be whole seconds (5s), not $push_dur" >&2; exit 2; }
for n in $counts; do
  need_count NGROUPS "$n"
done
need curl wrk perf
port=19098
url=http://127.0.0.1:$port
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT

# p50 and p99 (in ms) and req/s of a wrk run's output $1: "P50 P99 RATE",
# n/a when no request finished within DUR (wrk then prints zeros). The
# generous timeout keeps a slow scrape of a big store a sample, not an error.
wrk_figures() {
  local p50 p99 rate
  if [ "$(awk '/requests in/{print $1}' <<<"$1")" = 0 ]; then
    echo "n/a n/a n/a"
    return
  fi
  p50=$(ms "$(awk '/ 50%/{print $2}' <<<"$1")")
  p99=$(ms "$(awk '/ 99%/{print $2}' <<<"$1")")
  rate=$(awk '/Requests\/sec/{print $2}' <<<"$1")
  echo "$p50 $p99 ${rate:-n/a}"
}
get_bench() { wrk -t1 -c1 -d"$dur" --timeout 60s --latency "$url$1" 2>&1; }

echo "# PGW=$pgw PAYLOAD=$(basename "$payload") DUR=$dur PUSH_DUR=$push_dur, memory mode"
rows=()
for n in $counts; do
  echo "## NGROUPS=$n, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  flags=()
  # Beyond the default group limit every further push would be a 429.
  [ "$n" -gt 100000 ] && flags=(--store.max-groups=0)
  start_pgw $port "$dir/serve.log" "${flags[@]}"
  echo "[$n] fill $n groups: $(fill_groups "$url/metrics/job/node/instance/host-%d" PUT "$payload" "$n" 32), rss $(rss_mib $pid) MiB"

  # Push cost: perf counts the server's CPU for a little longer than wrk runs.
  perf stat -x, -e task-clock -p $pid -o "$dir/stat" -- sleep $((${push_dur%s} + 1)) &
  perf_pid=$!
  sleep 0.5
  push=$(cd "$bench" && PAYLOAD=$payload NGROUPS=$n wrk -t2 -c16 -d"$push_dur" -s push.lua --latency "$url" 2>&1)
  wait $perf_pid
  read -r push_p50 push_p99 push_rate <<<"$(wrk_figures "$push")"
  pushes=$(awk '/requests in/{print $1}' <<<"$push")
  non2xx=$(awk '/Non-2xx/{print $NF}' <<<"$push")
  cpu_ms=$(awk -F, '/task-clock/{print $1}' "$dir/stat")
  cpu_us=$(ratio "$cpu_ms" "$pushes" %.6f)
  [ "$cpu_us" != n/a ] && cpu_us=$(awk -v v="$cpu_us" 'BEGIN {printf "%.1f", v * 1000}')
  echo "[$n] push: $push_rate req/s, p50 $push_p50 ms, p99 $push_p99 ms, non-2xx: ${non2xx:-0}; server CPU $cpu_us µs per push ($cpu_ms ms task-clock / $pushes pushes)"

  scrape_bytes=$(curl -s "$url/metrics" | wc -c)
  read -r scrape_p50 scrape_p99 scrape_rate <<<"$(wrk_figures "$(get_bench /metrics)")"
  gbs=$(ratio "$scrape_bytes" "$scrape_p50" %.6f)
  # bytes per ms / 1e6 = GB/s
  [ "$gbs" != n/a ] && gbs=$(awk -v v="$gbs" 'BEGIN {printf "%.2f", v / 1e6}')
  echo "[$n] scrape /metrics ($scrape_bytes bytes): $scrape_rate req/s, p50 $scrape_p50 ms, p99 $scrape_p99 ms, $gbs GB/s at the p50"

  api_bytes=$(curl -s "$url/api/v1/metrics" | wc -c)
  read -r api_p50 api_p99 api_rate <<<"$(wrk_figures "$(get_bench /api/v1/metrics)")"
  api_ratio=$(ratio "$api_p50" "$scrape_p50" %.1f)
  echo "[$n] GET /api/v1/metrics ($api_bytes bytes): $api_rate req/s, p50 $api_p50 ms, p99 $api_p99 ms, $api_ratio x the scrape p50"

  groups_bytes=$(curl -s "$url/api/v1/groups" | wc -c)
  read -r groups_p50 groups_p99 groups_rate <<<"$(wrk_figures "$(get_bench /api/v1/groups)")"
  echo "[$n] GET /api/v1/groups ($groups_bytes bytes): $groups_rate req/s, p50 $groups_p50 ms, p99 $groups_p99 ms"

  times=()
  for _ in 1 2 3 4 5; do
    t0=$(date +%s%N)
    "$pgw" list --gateway "$url" >/dev/null 2>"$dir/list.err" || { echo "pgw list failed:" >&2; cat "$dir/list.err" >&2; exit 1; }
    t1=$(date +%s%N)
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b - a) / 1e6}')")
  done
  list_ms=$(printf '%s\n' "${times[@]}" | median %.1f)
  echo "[$n] pgw list --gateway $url: median $list_ms ms (runs: ${times[*]} ms)"

  rss=$(rss_mib $pid)
  echo "[$n] rss after load: $rss MiB"
  kill $pid
  wait $pid || true
  pid=
  rows+=("| $n | $cpu_us | $(num %.0f "$push_rate") | $scrape_p50 | $gbs | $api_p50 | $api_ratio | $groups_p50 | $list_ms | $rss |")
done

echo
echo "PAYLOAD=$(basename "$payload"), memory mode; latencies are p50 over DUR=$dur with one connection"
echo
echo "| groups | push CPU (µs) | push/s | scrape p50 (ms) | scrape GB/s | api p50 (ms) | api / scrape | groups p50 (ms) | list (ms) | rss (MiB) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
