#!/usr/bin/env bash
# Taking over the official Pushgateway's store: fills the official server
# (with --persistence.file) with each payload of ../shared/bench, stops it
# with SIGTERM so that it writes its file, then times, from exec to the
# first answer of /-/healthy: the official server restarting from its file,
# `pgw serve --persistence.import` taking the file over, and pgw restarting
# from the snapshot the import wrote. Checks that both servers then expose
# the same pushed series. Needs: prometheus-pushgateway curl bc
# (benches/install-bench-deps.sh), and a release build.
#   usage: benches/run_import_bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bench=$(cd ../shared/bench && pwd)
pgw=$PWD/target/release/pgw
[ -x "$pgw" ] || { echo "build first: cargo build --release" >&2; exit 1; }
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
port=19094

# Starts a server in the background; $took is the seconds until it answers.
start() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >"$dir/server.log" 2>&1 &
  pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/-/healthy"; do
    kill -0 "$pid" 2>/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    sleep 0.005
  done
  t1=$(date +%s.%N)
  took=$(echo "$t1 - $t0" | bc)
}

stop() {
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
  pid=
}

# The pushed series of the running server, sorted, without the servers' own.
pushed() {
  curl -s "http://127.0.0.1:$port/metrics" | grep -v '^#' |
    grep -E 'job="' | sort
}

official=(prometheus-pushgateway --web.listen-address=127.0.0.1:$port)
for setup in "node_exporter.prom 200" "batch_job.prom 5000"; do
  set -- $setup
  rm -rf "$dir"/*
  echo "## PAYLOAD=$1 NGROUPS=$2"
  start "${official[@]}" --persistence.file="$dir/pushgateway.data"
  for i in $(seq 0 $(($2 - 1))); do
    printf 'url = "http://127.0.0.1:%s/metrics/job/node/instance/host-%d"\nupload-file = "%s"\nrequest = "PUT"\n' $port $i "$bench/$1"
  done > "$dir/fill.cfg"
  curl -s --no-progress-meter -Z --parallel-max 16 -K "$dir/fill.cfg" -o /dev/null
  pushed > "$dir/want"
  stop
  echo "official file: $(stat -c %s "$dir/pushgateway.data") bytes, $(wc -l < "$dir/want") pushed series"
  start "${official[@]}" --persistence.file="$dir/pushgateway.data"
  echo "official restart from its file: $took s, rss $(($(grep VmRSS /proc/$pid/status | awk '{print $2}') / 1024)) MiB"
  stop
  start "$pgw" serve --web.listen-address=127.0.0.1:$port \
    --persistence.file="$dir/store" --persistence.import="$dir/pushgateway.data"
  echo "pgw --persistence.import: $took s, rss $(($(grep VmRSS /proc/$pid/status | awk '{print $2}') / 1024)) MiB"
  grep -o 'msg="imported.*' "$dir/server.log"
  pushed > "$dir/got"
  if cmp -s "$dir/want" "$dir/got"; then echo "same pushed series on both servers"; else
    echo "DIFFERENT pushed series:"; diff "$dir/want" "$dir/got" | head; exit 1; fi
  stop
  echo "pgw snapshot written by the import: $(stat -c %s "$dir/store") bytes"
  start "$pgw" serve --web.listen-address=127.0.0.1:$port \
    --persistence.file="$dir/store" --persistence.import="$dir/pushgateway.data"
  echo "pgw restart from that snapshot: $took s, rss $(($(grep VmRSS /proc/$pid/status | awk '{print $2}') / 1024)) MiB"
  grep -q 'not importing' "$dir/server.log" && echo "(the import was skipped, as it should be)"
  stop
done
