#!/usr/bin/env bash
# Runs the relay daemon (`--every 1s`, a real node_exporter, `pgw serve`) for
# DURATION seconds (default 3600) and prints its resident memory every minute,
# to show that it does not grow. Needs a release build.
#   usage: benches/relay_rss_hour.sh [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-3600}
pgw=${PGW:-$PWD/target/release/pgw}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
trap 'kill "${pids[@]}" 2>/dev/null' EXIT
ne_port=$(free_port)
prometheus-node-exporter --web.listen-address=127.0.0.1:$ne_port 2>/dev/null & pids+=($!)
gw_port=$(free_port)
"$pgw" serve --web.listen-address=127.0.0.1:$gw_port 2>/dev/null & pids+=($!)
sleep 2
"$pgw" relay --from http://127.0.0.1:$ne_port/metrics -g http://127.0.0.1:$gw_port --job node --every 1s & d=$!; pids+=($d)
tck=$(getconf CLK_TCK)
echo "minute rss_kib hwm_kib cpu_s"
for m in $(seq 0 $((dur / 60))); do
  [ "$m" -gt 0 ] && sleep 60
  echo "$m $(awk '/VmRSS/ {print $2}' /proc/$d/status) $(awk '/VmHWM/ {print $2}' /proc/$d/status) $(awk -v t="$tck" '{printf "%.2f", ($14+$15)/t}' /proc/$d/stat)"
done
curl -s http://127.0.0.1:$gw_port/metrics | grep '^pgw_relay_scrape_success'
