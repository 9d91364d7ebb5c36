#!/usr/bin/env bash
# Side by side on the same machine, one server after the other: the official
# Pushgateway (memory only), VictoriaMetrics, `pgw serve` in memory and `pgw
# serve --persistence.file` (durable: every push synced to its log before its
# 200, in a fresh temporary directory), for both payloads the issue names (200
# node_exporter groups; 5000 batch-job groups). The gateways run
# ../shared/bench/gateway_bench.sh (fill, pushes, scrape, JSON API, memory);
# VictoriaMetrics runs benches/push_bench.sh, which prints the same lines.
# VictoriaMetrics is not a gateway: a push is POST /api/v1/import/prometheus
# with job and instance as extra_label; it appends the samples, replacing
# nothing, and acknowledges before they are durable; it has no scrape or JSON
# API phase (n/a). Ends with a markdown table per payload (the median over
# the rounds when ROUNDS > 1).
# Needs: curl wrk bc prometheus-pushgateway victoria-metrics
# (benches/install-bench-deps.sh), and a release build (`cargo build --release`).
#   usage: benches/run_gateway_bench.sh [DUR]      (DUR: wrk duration, default 10s)
#   env:   PGW      the pgw binary (default target/release/pgw)
#          SERVERS  columns, in this order (default "official vm memory durable")
#          SETUPS   payload:groups pairs, payloads in ../shared/bench or paths
#                   (default "node_exporter.prom:200 batch_job.prom:5000")
#          ROUNDS   runs of every server per payload, alternating (default 1)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=bench_lib.sh
. "$here/bench_lib.sh"
dur=${1:-${DUR:-10s}}
servers=${SERVERS:-official vm memory durable}
setups=${SETUPS:-node_exporter.prom:200 batch_job.prom:5000}
rounds=${ROUNDS:-1}
need_count ROUNDS "$rounds"
pgw=
for s in $servers; do
  case $s in
    official) need prometheus-pushgateway ;;
    vm) need victoria-metrics ;;
    memory | durable) [ -n "$pgw" ] || need_pgw ;;
    *) echo "SERVERS takes official, vm, memory and durable, not $s" >&2; exit 2 ;;
  esac
done
need curl wrk bc
cd "$checkout"
bench=$shared_bench
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# The name a server's lines carry, and its column title.
tag() { case $1 in official) echo official ;; vm) echo vm ;; *) echo "pgw-$1" ;; esac; }
title() { case $1 in official) echo official ;; vm) echo VictoriaMetrics ;; *) echo "pgw $1" ;; esac; }

# One run of server $1 with payload $2 and $3 groups.
run() {
  local env=(PAYLOAD="$2" NGROUPS="$3" DUR="$dur")
  rm -rf "$dir/data"
  mkdir "$dir/data"
  case $1 in
    official)
      env "${env[@]}" bash "$bench/gateway_bench.sh" official 19091 -- \
        prometheus-pushgateway --web.listen-address=127.0.0.1:19091 --persistence.file= ;;
    vm)
      env "${env[@]}" API=vm bash benches/push_bench.sh vm 19095 -- \
        victoria-metrics -httpListenAddr=127.0.0.1:19095 -storageDataPath="$dir/data" \
        -retentionPeriod=1d -loggerLevel=ERROR ;;
    memory)
      env "${env[@]}" bash "$bench/gateway_bench.sh" pgw-memory 19092 -- \
        "$pgw" serve --web.listen-address=127.0.0.1:19092 ;;
    durable)
      env "${env[@]}" bash "$bench/gateway_bench.sh" pgw-durable 19096 -- \
        "$pgw" serve --web.listen-address=127.0.0.1:19096 --persistence.file="$dir/data/store" ;;
  esac
}

# The values of one figure in the lines of file $1 for server tag $2, one a
# round: fill, push, p50, p99, non2xx, scrape, api, rss_fill, rss.
figure() {
  local f=$1 t=$2 v
  grep -F "[$t] " "$f" | while IFS= read -r line; do
    v=
    case $3 in
      fill) [[ $line =~ \]\ fill\ [0-9]+\ groups:\ ([0-9.]+)\ s ]] && v=${BASH_REMATCH[1]} ;;
      rss_fill) [[ $line =~ \]\ fill\ .*rss\ ([0-9.]+)\ MiB ]] && v=${BASH_REMATCH[1]} ;;
      push) [[ $line =~ \]\ push:\ ([0-9.]+)\ req/s ]] && v=${BASH_REMATCH[1]} ;;
      p50) [[ $line =~ \]\ push:.*\ p50\ ([0-9.a-z]+), ]] && v=$(ms "${BASH_REMATCH[1]}") ;;
      p99) [[ $line =~ \]\ push:.*\ p99\ ([0-9.a-z]+), ]] && v=$(ms "${BASH_REMATCH[1]}") ;;
      non2xx) [[ $line =~ \]\ push:.*non-2xx:\ ?([0-9]*)$ ]] && v=${BASH_REMATCH[1]:-0} ;;
      scrape) [[ $line =~ \]\ scrape\ /metrics\ .*\ p50\ ([0-9.a-z]+), ]] && v=$(ms "${BASH_REMATCH[1]}") ;;
      api) [[ $line =~ \]\ GET\ /api/v1/metrics:.*\ p50\ ([0-9.a-z]+) ]] && v=$(ms "${BASH_REMATCH[1]}") ;;
      rss) [[ $line =~ \]\ rss\ after\ load:\ ([0-9.]+)\ MiB ]] && v=${BASH_REMATCH[1]} ;;
    esac
    [ -n "$v" ] && echo "$v"
  done
  true
}

# The markdown table of the lines in file $1, headed $2.
table() {
  local f=$1 s row fmt
  printf '| %s |' "$2"
  for s in $servers; do printf ' %s |' "$(title "$s")"; done
  printf '\n|---|'
  for s in $servers; do printf -- '---|'; done
  printf '\n'
  for row in "fill time (s):fill:%.2f" "push (req/s):push:%.0f" "push p50 (ms):p50:%.2f" \
    "push p99 (ms):p99:%.2f" "push non-2xx:non2xx:%.0f" "scrape /metrics p50 (ms):scrape:%.2f" \
    "GET /api/v1/metrics p50 (ms):api:%.2f" "rss after fill (MiB):rss_fill:%.1f" \
    "rss after load (MiB):rss:%.1f"; do
    IFS=: read -r label key fmt <<<"$row"
    printf '| %s |' "$label"
    for s in $servers; do printf ' %s |' "$(figure "$f" "$(tag "$s")" "$key" | median "$fmt")"; done
    printf '\n'
  done
}

echo "# PGW=${pgw:-none} SERVERS=\"$servers\" DUR=$dur ROUNDS=$rounds"
if [[ " $servers " == *" vm "* ]]; then
  echo "# VictoriaMetrics is not a gateway: its push is POST /api/v1/import/prometheus (job, instance as"
  echo "# extra_label); it appends samples, replacing nothing, and acknowledges (204) before they are durable."
fi
[[ " $servers " == *" durable "* ]] && echo "# pgw durable syncs every push to its log before the 200; official and pgw memory keep pushes in memory."
n=0
for setup in $setups; do
  payload=${setup%:*}
  groups=${setup##*:}
  [[ $setup == *:* && $groups =~ ^[1-9][0-9]*$ ]] || { echo "SETUPS takes payload:groups pairs, not $setup" >&2; exit 2; }
  need_payload payload "$payload"
  n=$((n + 1))
  echo "## PAYLOAD=$(basename "$payload") NGROUPS=$groups DUR=$dur CONC=16"
  for round in $(seq "$rounds"); do
    [ "$rounds" -gt 1 ] && echo "### round $round, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    for s in $servers; do run "$s" "$payload" "$groups"; done
  done | tee "$dir/out.$n"
  head="PAYLOAD=$(basename "$payload") NGROUPS=$groups"
  [ "$rounds" -gt 1 ] && head="$head, medians of $rounds rounds"
  echo "$head" >"$dir/head.$n"
done
echo
for i in $(seq "$n"); do
  table "$dir/out.$i" "$(cat "$dir/head.$i")"
  echo
done
