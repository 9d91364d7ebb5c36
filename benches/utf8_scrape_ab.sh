#!/usr/bin/env bash
# Scrapes of a store whose groups all hold a family with a UTF-8 name, for
# one or more pgw binaries side by side: for each binary in turn, ROUNDS
# times, it starts `BIN serve --push.enable-utf8-names`, fills NGROUPS
# groups of ../shared/bench/batch_job.prom plus a two-series family
# `backup.phase.seconds`, then prints the p50 of GET /metrics in the
# default text format (names escaped with underscores) and then with
# `escaping=allow-utf-8` (wrk, one connection, DUR each).
# Needs: curl wrk (benches/install-bench-deps.sh).
#   usage: benches/utf8_scrape_ab.sh [BIN...]   (default: target/release/pgw)
#   env:   NGROUPS  the number of groups (default 50000)
#          ROUNDS   rounds of all binaries (default 2)
#          DUR      each wrk run, wrk syntax (default 5s)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=bench_lib.sh
. "$here/bench_lib.sh"
refuse_groups_env
need_bins "$@"
need_read_env
need curl wrk
port=19094
url=http://127.0.0.1:$port
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
payload=$dir/utf8.prom
{
  cat "$shared_bench/batch_job.prom"
  printf '{"backup.phase.seconds",phase="dump"} 3.5\n{"backup.phase.seconds",phase="upload"} 9.25\n'
} >"$payload"
echo "$n groups of batch_job.prom with a UTF-8 family, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq "$rounds"); do
  for pgw in "${bins[@]}"; do
    start_pgw $port "$dir/serve.log" --push.enable-utf8-names
    fill_groups "$url/metrics/job/node/instance/host-%d" PUT "$payload" "$n" 32 >/dev/null
    bytes=$(curl -s "$url/metrics" | wc -c)
    text=$(ms "$(wrk_p50 "$url/metrics")")
    utf8=$(ms "$(wrk_p50 "$url/metrics" -H 'Accept: text/plain;version=1.0.0;escaping=allow-utf-8')")
    echo "$pgw: scrape ($bytes bytes) p50 $text ms; allow-utf-8 scrape p50 $utf8 ms"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=
  done
done
