#!/usr/bin/env bash
# Push throughput of pgw against VictoriaMetrics' import, for both payloads
# of ../shared/bench at 100 and 1,000 groups: VictoriaMetrics, `pgw serve` in
# memory and `pgw serve --persistence.file` (durable: every push synced to its
# log before its 200, fresh temporary directory), in alternating rounds (vm,
# memory, durable, vm, memory, durable, ...) so that a drift of the shared
# machine falls on all three. Each run is benches/push_bench.sh: fill every
# group once, then DUR of pushes over 16 connections. VictoriaMetrics only
# appends (a push replaces nothing) and acknowledges before its data is
# durable, so it does less per push than a gateway; it is the yardstick of a
# fast ingesting server, not an equal. Ends with a markdown table: each
# server's req/s per round, and the medians over the rounds of pgw memory / VM
# and pgw durable / VM (each round's ratio taken against that round's VM).
# Needs: curl wrk victoria-metrics (benches/install-bench-deps.sh), and a
# release build (`cargo build --release`).
#   usage: benches/run_vm_bench.sh [DUR] [ROUNDS]     (default 10s, 3)
#   env:   PGW       the pgw binary (default target/release/pgw)
#          NGROUPS   group counts (default "100 1000")
#          PAYLOADS  payloads in ../shared/bench or paths (default "node_exporter.prom batch_job.prom")
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=bench_lib.sh
. "$here/bench_lib.sh"
refuse_groups_env
need_pgw
cd "$checkout"
dur=${1:-${DUR:-10s}}
rounds=${2:-${ROUNDS:-3}}
counts=${NGROUPS:-100 1000}
payloads=${PAYLOADS:-node_exporter.prom batch_job.prom}
need_count ROUNDS "$rounds"
for n in $counts; do
  need_count NGROUPS "$n"
done
need curl wrk victoria-metrics
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
servers="vm memory durable"

# One run of server $1 with payload $2 and $3 groups; its lines go to stdout.
run() {
  rm -rf "$dir/data"
  mkdir "$dir/data"
  case $1 in
    vm)
      PAYLOAD=$2 NGROUPS=$3 DUR=$dur API=vm bash benches/push_bench.sh vm 19095 -- \
        victoria-metrics -httpListenAddr=127.0.0.1:19095 -storageDataPath="$dir/data" \
        -retentionPeriod=1d -loggerLevel=ERROR ;;
    memory)
      PAYLOAD=$2 NGROUPS=$3 DUR=$dur API=gateway bash benches/push_bench.sh pgw-memory 19092 -- \
        "$pgw" serve --web.listen-address=127.0.0.1:19092 ;;
    durable)
      PAYLOAD=$2 NGROUPS=$3 DUR=$dur API=gateway bash benches/push_bench.sh pgw-durable 19096 -- \
        "$pgw" serve --web.listen-address=127.0.0.1:19096 --persistence.file="$dir/data/store" ;;
  esac
}
tag() { case $1 in vm) echo vm ;; *) echo "pgw-$1" ;; esac; }
# The push req/s of server tag $2 in the lines of file $1, one a round.
rates() { sed -n "s|^\[$2\] push: \([0-9.]*\) req/s.*|\1|p" "$1"; }

echo "# PGW=$pgw DUR=$dur ROUNDS=$rounds CONC=16, push phase only"
echo "# VictoriaMetrics only appends samples (a push replaces nothing) and acknowledges (204) before"
echo "# its data is durable; pgw durable syncs every push to its log before the 200."
results=()
for payload in $payloads; do
  need_payload path "$payload"
  for n in $counts; do
    out=$dir/out.${#results[@]}
    results+=("$(basename "$path") $n $out")
    echo "## PAYLOAD=$(basename "$path") NGROUPS=$n"
    for round in $(seq "$rounds"); do
      echo "### round $round, load average $(cut -d' ' -f1-3 /proc/loadavg)"
      for s in $servers; do run "$s" "$path" "$n"; done
    done | tee "$out"
  done
done

echo
echo "| payload | groups | VM req/s | pgw memory req/s | pgw durable req/s | memory / VM | durable / VM |"
echo "|---|---|---|---|---|---|---|"
for r in "${results[@]}"; do
  read -r name n out <<<"$r"
  cells=()
  for s in $servers; do cells+=("$(rates "$out" "$(tag "$s")" | xargs printf '%.0f ' | sed 's/ $//; s/ /, /g')"); done
  # Per round: pgw / VM of that round, then the median.
  mem=$(paste <(rates "$out" pgw-memory) <(rates "$out" vm) | while read -r a b; do ratio "$a" "$b" %.3f; done | median %.2f)
  dur_=$(paste <(rates "$out" pgw-durable) <(rates "$out" vm) | while read -r a b; do ratio "$a" "$b" %.3f; done | median %.2f)
  echo "| $name | $n | ${cells[0]} | ${cells[1]} | ${cells[2]} | $mem | $dur_ |"
done
