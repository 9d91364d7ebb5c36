#!/usr/bin/env bash
# The fill and push phases of ../shared/bench/gateway_bench.sh for a server
# that is not a Pushgateway, VictoriaMetrics (API=vm), or push phases only for
# a Pushgateway (API=gateway), printing gateway_bench.sh's lines in its format
# so that outputs compare side by side.
#
# VictoriaMetrics' push equivalent is POST /api/v1/import/prometheus with the
# text body and the group's labels as extra_label (push_vm.lua): it appends
# the samples, replacing nothing, and answers 204 before they are durable
# (they are buffered in memory and written to disk about a second later).
# For it the script also prints the series count once the fill has landed,
# the error lines of its log, and n/a for the scrape and JSON API lines it
# has no counterpart for.
#
# usage: benches/push_bench.sh NAME PORT -- COMMAND...
#   COMMAND starts the server listening on 127.0.0.1:PORT; it is stopped at the end.
# env:   API       vm (default) or gateway
#        NGROUPS   groups (VictoriaMetrics: job, instance pairs) to fill and push to (default 200)
#        PAYLOAD   exposition pushed to every group (default ../shared/bench/node_exporter.prom)
#        DUR       length of the push phase, wrk syntax (default 10s)
#        CONC      concurrent push connections (default 16)
# Needs: curl wrk (benches/install-bench-deps.sh)
# example:
#   d=$(mktemp -d); benches/push_bench.sh vm 19095 -- victoria-metrics -httpListenAddr=127.0.0.1:19095 \
#     -storageDataPath="$d" -retentionPeriod=1d -loggerLevel=ERROR; rm -rf "$d"
#   API=gateway benches/push_bench.sh pgw 19092 -- target/release/pgw serve --web.listen-address=127.0.0.1:19092
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=bench_lib.sh
. "$here/bench_lib.sh"
if [ $# -lt 4 ] || [ "$3" != -- ]; then sed -n '15,21p' "$0" >&2; exit 2; fi
name=$1; port=$2; shift 3
API=${API:-vm}; NGROUPS=${NGROUPS:-200}; DUR=${DUR:-10s}; CONC=${CONC:-16}
case $API in vm | gateway) ;; *) echo "API must be vm or gateway, not $API" >&2; exit 2 ;; esac
need_count NGROUPS "$NGROUPS"
need_payload PAYLOAD "${PAYLOAD:-node_exporter.prom}"
export NGROUPS PAYLOAD
need curl wrk
log=/tmp/bench-$name.log
"$@" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
url=http://127.0.0.1:$port
ready() {
  if [ "$API" = vm ]; then [ "$(curl -s "$url/health")" = OK ]; else curl -sf -o /dev/null "$url/-/healthy"; fi
}
for _ in $(seq 100); do ready && break; sleep 0.1; done
ready || { echo "[$name] the server did not become ready; its log $log:" >&2; tail -5 "$log" >&2; exit 1; }

if [ "$API" = vm ]; then
  fill=$(fill_groups "$url/api/v1/import/prometheus?extra_label=job=node&extra_label=instance=host-%d" POST "$PAYLOAD" "$NGROUPS")
  lua=$here/push_vm.lua
else
  fill=$(fill_groups "$url/metrics/job/node/instance/host-%d" PUT "$PAYLOAD" "$NGROUPS")
  lua=$shared_bench/push.lua
fi
echo "[$name] fill $NGROUPS groups: $fill, rss $(rss_mib $pid) MiB"

if [ "$API" = vm ]; then
  # What a reader needs to trust the figures: the imports were taken, not
  # dropped. force_flush makes the buffered rows searchable at once.
  series=$(series_in "$PAYLOAD")
  count=
  for _ in $(seq 50); do
    curl -s -o /dev/null "$url/internal/force_flush"
    count=$(curl -s "$url/api/v1/series/count" | grep -o '[0-9][0-9]*' | tail -1)
    [ "${count:-0}" -ge $((NGROUPS * series)) ] && break
    sleep 0.1
  done
  echo "[$name] series after the fill: ${count:-none} (expected $NGROUPS x $series = $((NGROUPS * series)); GET /api/v1/series/count)"
fi

push=$(cd "$(dirname "$lua")" && wrk -t2 -c"$CONC" -d"$DUR" -s "$(basename "$lua")" --latency "$url" 2>&1)
non2xx=$(echo "$push" | awk '/Non-2xx/{print $NF}')
echo "[$name] push: $(echo "$push" | awk '/Requests\/sec/{print $2}') req/s, p50 $(echo "$push" | awk '/ 50%/{print $2}'), p99 $(echo "$push" | awk '/ 99%/{print $2}'), non-2xx: ${non2xx:-0}"
if [ "$API" = vm ]; then
  echo "[$name] scrape /metrics: n/a (VictoriaMetrics keeps no groups to expose; it is read with PromQL)"
  echo "[$name] GET /api/v1/metrics: n/a"
  # -loggerLevel=ERROR: any line is a refused import or worse.
  echo "[$name] error lines in its log: $(grep -c . "$log")"
  grep -m3 . "$log" | sed 's/^/  /'
fi
echo "[$name] rss after load: $(rss_mib $pid) MiB"
rm -f "/tmp/fill-$name.cfg"
