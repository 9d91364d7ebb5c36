#!/usr/bin/env bash
# CPU that a hostile body's shape costs the server: bodies within the
# default limits whose checks could cost the square of their size. For each
# BIN, a fresh `BIN serve` (memory mode) per body takes one POST, and the
# wall time of that answer is printed with its status. Bodies:
#   suffixes  N families named aK_count beside one summary (the check that
#             no family takes a summary's or histogram's sample name)
#   labels    one series with N labels (the duplicate-label check)
#   twins     two series of N labels each, one in the other's order: a
#             duplicate series (the duplicate-series check), answered 400
# Needs: curl python3.
#   usage: benches/hostile_cpu.sh BIN... (e.g. target/release/pgw)
#          env: SUFFIXES (default 50000), LABELS (default 40000),
#               TWINS (default 20000), ROUNDS (2), BODIES (all three)
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 BIN..." >&2; exit 2; }
suffixes=${SUFFIXES:-50000}
labels=${LABELS:-40000}
twins=${TWINS:-20000}
rounds=${ROUNDS:-2}
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
python3 - "$dir" "$suffixes" "$labels" "$twins" <<'EOF'
import sys
d, n_suffixes, n_labels, n_twins = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
with open(f"{d}/suffixes.prom", "w") as f:
    f.writelines(f"a{i}_count 1\n" for i in range(n_suffixes))
    f.write('# TYPE s summary\ns{quantile="1"} 1\n')
with open(f"{d}/labels.prom", "w") as f:
    f.write("m{" + ",".join(f'l{i}="x"' for i in range(n_labels)) + "} 1\n")
with open(f"{d}/twins.prom", "w") as f:
    for order in (range(n_twins), reversed(range(n_twins))):
        f.write("m{" + ",".join(f'l{i}="{i}"' for i in order) + "} 1\n")
EOF
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
for round in $(seq "$rounds"); do
  for bin in "$@"; do
    for body in ${BODIES:-suffixes labels twins}; do
      "$bin" serve --web.listen-address=127.0.0.1:$port >/dev/null 2>&1 &
      pid=$!
      for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/-/healthy" && break; sleep 0.1; done
      size=$(stat -c %s "$dir/$body.prom")
      curl -s -o /dev/null -w "round $round $bin $body ($size bytes): %{http_code} in %{time_total} s\n" \
        --data-binary @"$dir/$body.prom" "http://127.0.0.1:$port/metrics/job/hostile"
      kill $pid; wait $pid 2>/dev/null || true
      pid=
    done
  done
done
