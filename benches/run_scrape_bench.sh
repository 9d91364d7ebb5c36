#!/usr/bin/env bash
# Scrape formats side by side: the official Pushgateway and `pgw serve`, both
# filled with the same store (NGROUPS groups of ../shared/bench/node_exporter.prom),
# scraped as text 0.0.4 and as delimited protobuf (the Accept header of
# Prometheus 2.42 with native histograms), one connection, in alternating
# runs: each round scrapes official text, official protobuf, pgw text, pgw
# protobuf. Prints requests/s, p50, p99 and the bytes of one scrape for each
# run, and the load average before each round (the machine is shared).
# Needs: curl wrk prometheus-pushgateway python3 (benches/install-bench-deps.sh),
# and a release build.
#   usage: benches/run_scrape_bench.sh [DUR] [ROUNDS]   (default 10s, 3)
#   env:   NGROUPS (default 100)
set -euo pipefail
cd "$(dirname "$0")/.."
bench=$(cd ../shared/bench && pwd)
dur=${1:-10s}
rounds=${2:-3}
ngroups=${NGROUPS:-100}
pgw=target/release/pgw
[ -x "$pgw" ] || { echo "build first: cargo build --release" >&2; exit 1; }
proto='application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'
text='application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
official_port=$(free_port)
pgw_port=$(free_port)
prometheus-pushgateway --web.listen-address=127.0.0.1:$official_port --persistence.file= \
  >/tmp/scrape-bench-official.log 2>&1 &
official_pid=$!
"$pgw" serve --web.listen-address=127.0.0.1:$pgw_port >/tmp/scrape-bench-pgw.log 2>&1 &
pgw_pid=$!
trap 'kill $official_pid $pgw_pid 2>/dev/null; wait 2>/dev/null' EXIT

for port in $official_port $pgw_port; do
  url=http://127.0.0.1:$port
  for _ in $(seq 100); do curl -sf -o /dev/null "$url/-/healthy" && break; sleep 0.1; done
  for i in $(seq 0 $((ngroups - 1))); do
    printf 'url = "%s/metrics/job/node/instance/host-%d"\nupload-file = "%s"\nrequest = "PUT"\n' \
      "$url" "$i" "$bench/node_exporter.prom"
  done >/tmp/scrape-bench-fill.cfg
  curl -sf --no-progress-meter -Z --parallel-max 16 -K /tmp/scrape-bench-fill.cfg -o /dev/null
done

echo "## NGROUPS=$ngroups DUR=$dur ROUNDS=$rounds (node_exporter.prom)"
for round in $(seq "$rounds"); do
  echo "# round $round, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  for server in official:$official_port pgw:$pgw_port; do
    name=${server%%:*}
    url=http://127.0.0.1:${server##*:}/metrics
    for format in text proto; do
      accept=$text
      [ "$format" = proto ] && accept=$proto
      out=$(wrk -t1 -c1 -d"$dur" --latency -H "Accept: $accept" "$url" 2>&1)
      bytes=$(curl -s -H "Accept: $accept" "$url" | wc -c)
      echo "[$name $format] $(echo "$out" | awk '/Requests\/sec/{print $2}') req/s," \
        "p50 $(echo "$out" | awk '/ 50%/{print $2}'), p99 $(echo "$out" | awk '/ 99%/{print $2}')," \
        "$bytes bytes"
    done
  done
done
