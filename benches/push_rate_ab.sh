#!/usr/bin/env bash
# Push throughput and latency of several builds of `pgw serve`, run
# alternately (A, B, A, B, ...) so that a drift of the shared machine falls
# on all of them: for each round, payload and mode, a fresh server, then
# ../shared/bench/push.lua with wrk (16 connections, DUR) over NGROUPS
# groups. Modes: memory, durable (--persistence.file in a fresh directory).
# Needs: curl wrk (benches/install-bench-deps.sh).
#   usage: benches/push_rate_ab.sh ROUNDS BIN...
#   env:   MODES  (default "durable"), DUR (default 5s),
#          SETUPS (default "node_exporter.prom:100 batch_job.prom:1000")
set -euo pipefail
cd "$(dirname "$0")/.."
bench=$(cd ../shared/bench && pwd)
[ $# -ge 2 ] || { sed -n '2,11p' "$0" >&2; exit 2; }
rounds=$1
shift
bins=()
for b in "$@"; do
  [ -x "$b" ] || { echo "not an executable: $b" >&2; exit 1; }
  bins+=("$(realpath "$b")")
done
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
port=19095
url=http://127.0.0.1:$port
for round in $(seq "$rounds"); do
  for setup in ${SETUPS:-node_exporter.prom:100 batch_job.prom:1000}; do
    payload=${setup%%:*}
    n=${setup##*:}
    for bin in "${bins[@]}"; do
      for mode in ${MODES:-durable}; do
        rm -rf "$dir/files"
        mkdir "$dir/files"
        args=()
        [ "$mode" = durable ] && args=(--persistence.file="$dir/files/store")
        "$bin" serve --web.listen-address=127.0.0.1:$port "${args[@]}" >/dev/null 2>&1 &
        pid=$!
        for _ in $(seq 100); do curl -sf -o /dev/null "$url/-/healthy" && break; sleep 0.05; done
        out=$(cd "$bench" && PAYLOAD=$payload NGROUPS=$n wrk -t2 -c16 -d"${DUR:-5s}" -s push.lua --latency "$url" 2>&1)
        printf 'round %s %s %s %s x%s: %s req/s, p50 %s, p99 %s\n' "$round" "$bin" "$mode" "$payload" "$n" \
          "$(awk '/Requests\/sec/{print $2}' <<<"$out")" "$(awk '/ 50%/{print $2}' <<<"$out")" \
          "$(awk '/ 99%/{print $2}' <<<"$out")"
        kill "$pid"
        wait "$pid" 2>/dev/null || true
        pid=
      done
    done
  done
done
