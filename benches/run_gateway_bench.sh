#!/usr/bin/env bash
# Runs ../shared/bench/gateway_bench.sh against the official Pushgateway and
# `pgw serve`, one after the other on the same machine, for both payloads the
# issue names (200 node_exporter groups; 5000 batch-job groups), and prints
# the figures side by side. Needs: curl wrk bc prometheus-pushgateway, and a
# release build (`cargo build --release`).
#   usage: benches/run_gateway_bench.sh [DUR]      (DUR: wrk duration, default 10s)
set -euo pipefail
cd "$(dirname "$0")/.."
bench=$(cd ../shared/bench && pwd)
dur=${1:-10s}
pgw=target/release/pgw
[ -x "$pgw" ] || { echo "build first: cargo build --release" >&2; exit 1; }
for setup in "node_exporter.prom 200" "batch_job.prom 5000"; do
  set -- $setup
  echo "## PAYLOAD=$1 NGROUPS=$2 DUR=$dur CONC=16"
  PAYLOAD=$bench/$1 NGROUPS=$2 DUR=$dur bash $bench/gateway_bench.sh official 19091 -- \
    prometheus-pushgateway --web.listen-address=127.0.0.1:19091 --persistence.file=
  PAYLOAD=$bench/$1 NGROUPS=$2 DUR=$dur bash $bench/gateway_bench.sh pgw 19092 -- \
    "$pgw" serve --web.listen-address=127.0.0.1:19092
done
