#!/usr/bin/env bash
# Server CPU time per text scrape of a store of NGROUPS batch-job groups,
# for several builds of `pgw serve`: fills a fresh server, scrapes once,
# then takes the task-clock (perf stat) of the server's process over 30
# scrapes with curl, ROUNDS times per build. CPU time moves less than
# latency with what else runs on the machine. READ=/api/v1/metrics takes
# the JSON API's instead (any path of the server; default /metrics).
# Needs: curl perf (benches/install-bench-deps.sh).
#   usage: [READ=PATH] benches/scrape_cpu.sh NGROUPS ROUNDS BIN...
set -euo pipefail
cd "$(dirname "$0")/.."
bench=$(cd ../shared/bench && pwd)
[ $# -ge 3 ] || { sed -n '2,10p' "$0" >&2; exit 2; }
read_path=${READ:-/metrics}
n=$1
rounds=$2
shift 2
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
port=19096
url=http://127.0.0.1:$port
for i in $(seq 0 $((n - 1))); do
  printf 'url = "%s/metrics/job/node/instance/host-%d"\nupload-file = "%s"\nrequest = "PUT"\n' "$url" "$i" "$bench/batch_job.prom"
done >"$dir/fill.cfg"
for bin in "$@"; do
  "$bin" serve --web.listen-address=127.0.0.1:$port >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf -o /dev/null "$url/-/healthy" && break; sleep 0.05; done
  curl -s -Z --parallel-max 32 -K "$dir/fill.cfg" -o /dev/null 2>/dev/null
  bytes=$(curl -s "$url$read_path" | wc -c)
  for _ in $(seq "$rounds"); do
    perf stat -x, -e task-clock -p "$pid" -o "$dir/stat" -- \
      bash -c "for i in \$(seq 30); do curl -s -o /dev/null '$url$read_path'; done"
    awk -F, -v b="$bin" -v n="$n" -v bytes="$bytes" -v p="$read_path" '/task-clock/{
      printf "%s: %d groups, GET %s, %d bytes, %.2f ms of server CPU per read, %.2f GB/s\n", b, n, p, bytes, $1 / 30, bytes / ($1 / 30) / 1e6 }' "$dir/stat"
  done
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=
done
