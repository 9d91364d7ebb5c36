#!/usr/bin/env bash
# Two builds of `pgw serve` side by side: runs ../shared/bench/gateway_bench.sh
# against binary A and binary B alternately (A, B, A, B, ...), in memory and
# with --persistence.file, for both payloads of run_gateway_bench.sh, so that
# a change is judged by its before and after from the same command on the
# same machine state. Needs: curl wrk bc
# (benches/install-bench-deps.sh), and two release builds.
#   usage: benches/run_ab_bench.sh A_BINARY B_BINARY [DUR] [ROUNDS]
#          (DUR: wrk duration, default 10s; ROUNDS: alternations, default 2)
# example, the commit before a change against the working tree:
#   git worktree add /tmp/before HEAD~1 && (cd /tmp/before && cargo build --release)
#   cargo build --release && benches/run_ab_bench.sh /tmp/before/target/release/pgw target/release/pgw
set -euo pipefail
cd "$(dirname "$0")/.."
bench=$(cd ../shared/bench && pwd)
[ $# -ge 2 ] || { sed -n '2,11p' "$0" >&2; exit 2; }
a=$(realpath "$1")
b=$(realpath "$2")
dur=${3:-10s}
rounds=${4:-2}
for bin in "$a" "$b"; do
  [ -x "$bin" ] || { echo "not an executable: $bin" >&2; exit 1; }
done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
port=19094

for setup in "node_exporter.prom 200" "batch_job.prom 5000"; do
  set -- $setup
  for mode in memory persist; do
    echo "## PAYLOAD=$1 NGROUPS=$2 DUR=$dur CONC=16 mode=$mode"
    for round in $(seq "$rounds"); do
      for side in A B; do
        bin=$a
        [ "$side" = B ] && bin=$b
        flags=()
        if [ "$mode" = persist ]; then
          rm -rf "$dir"/store*
          flags=(--persistence.file="$dir/store")
        fi
        PAYLOAD=$bench/$1 NGROUPS=$2 DUR=$dur bash "$bench/gateway_bench.sh" "$side$round-$mode" $port -- \
          "$bin" serve --web.listen-address=127.0.0.1:$port "${flags[@]}"
      done
    done
  done
done
