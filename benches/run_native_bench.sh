#!/usr/bin/env bash
# Native-histogram pushes beside text pushes, the official Pushgateway and
# `pgw serve` (memory mode) side by side: each round pushes, with wrk, 16
# connections over NGROUPS groups, first a body of native histograms as a Go
# service sends it (delimited protobuf from benches/native_body.py: 20
# families of 5 series, 30 buckets, exemplars and created timestamps), then
# ../shared/bench/node_exporter.prom as text, to each server in turn. Prints
# pushes/s, p50, p99 and body bytes per second, and the load average before
# each round (the machine is shared).
# Needs: curl wrk prometheus-pushgateway python3 (benches/install-bench-deps.sh),
# and a release build.
#   usage: benches/run_native_bench.sh [DUR] [ROUNDS]   (default 10s, 2)
#   env:   NGROUPS (default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
here=$(pwd)/benches
bench=$(cd ../shared/bench && pwd)
dur=${1:-10s}
rounds=${2:-2}
export NGROUPS=${NGROUPS:-200}
pgw=target/release/pgw
[ -x "$pgw" ] || { echo "build first: cargo build --release" >&2; exit 1; }
proto_ct='application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited'
native=$(mktemp)
python3 "$here/native_body.py" "$native"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
official_port=$(free_port)
pgw_port=$(free_port)
prometheus-pushgateway --web.listen-address=127.0.0.1:$official_port --persistence.file= \
  >/tmp/native-bench-official.log 2>&1 &
official_pid=$!
"$pgw" serve --web.listen-address=127.0.0.1:$pgw_port >/tmp/native-bench-pgw.log 2>&1 &
pgw_pid=$!
trap 'kill $official_pid $pgw_pid 2>/dev/null; wait 2>/dev/null; rm -f "$native"' EXIT
for port in $official_port $pgw_port; do
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/-/healthy" && break; sleep 0.1; done
done

echo "## NGROUPS=$NGROUPS DUR=$dur ROUNDS=$rounds native body $(stat -c %s "$native") bytes, node_exporter.prom $(stat -c %s "$bench/node_exporter.prom") bytes"
for round in $(seq "$rounds"); do
  echo "# round $round, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  for payload in native:"$native" text:"$bench/node_exporter.prom"; do
    kind=${payload%%:*}
    export PAYLOAD=${payload#*:}
    if [ "$kind" = native ]; then export CONTENT_TYPE=$proto_ct; else export CONTENT_TYPE='text/plain; version=0.0.4'; fi
    bytes=$(stat -c %s "$PAYLOAD")
    for server in official:$official_port pgw:$pgw_port; do
      name=${server%%:*}
      out=$(cd "$here" && wrk -t2 -c16 -d"$dur" -s push_body.lua --latency "http://127.0.0.1:${server##*:}" 2>&1)
      rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
      printf '[%s] %s push: %s /s (%.1f MB/s of bodies), p50 %s, p99 %s, non-2xx: %s\n' \
        "$name" "$kind" "$rps" "$(echo "$rps * $bytes / 1000000" | bc -l)" \
        "$(echo "$out" | awk '/ 50%/{print $2}')" "$(echo "$out" | awk '/ 99%/{print $2}')" \
        "$(echo "$out" | awk '/Non-2xx/{print $NF}')"
    done
  done
done
