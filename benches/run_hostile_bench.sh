#!/usr/bin/env bash
# Resident memory of `pgw serve` under hostile pushes: four concurrent
# bodies of ~60 MB of the tiniest series (`a{i="N"} 1`, 3.6 million lines
# each) sent with curl, while VmRSS is sampled from /proc/PID/status. Prints
# the statuses, the peak (VmHWM), the resident memory when the last answer
# came and 20 s later. Needs: curl, awk
# (benches/install-bench-deps.sh).
#   usage: benches/run_hostile_bench.sh [BINARY [SERVE_FLAGS...]]
#          (BINARY: default target/release/pgw, built with cargo build --release)
# example, a build before a change against this one:
#   benches/run_hostile_bench.sh /tmp/before/target/release/pgw
#   benches/run_hostile_bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ge 1 ]; then
  bin=$(realpath "$1")
  shift
else
  cargo build --release --quiet
  bin=$(realpath target/release/pgw)
fi
[ -x "$bin" ] || { echo "not an executable: $bin" >&2; exit 1; }
dir=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

awk 'BEGIN { for (i = 0; i < 3600000; i++) printf "a{i=\"%d\"} 1\n", i }' >"$dir/body"
echo "binary: $bin"
echo "body: $(stat -c %s "$dir/body") bytes, 3600000 series, 4 at once"

"$bin" serve --web.listen-address=127.0.0.1:0 "$@" 2>"$dir/log" &
pid=$!
port=
for _ in $(seq 200); do
  port=$(grep -o 'address=127.0.0.1:[0-9]*' "$dir/log" | head -1 | cut -d: -f2) || true
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { cat "$dir/log" >&2; exit 1; }

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"; }
mib() { echo $(( $1 / 1024 )); }
echo "idle before: $(mib "$(rss_kib)") MiB"

# Samples every 100 ms until told to stop, keeping the highest.
( max=0
  while [ ! -e "$dir/stop" ]; do
    r=$(rss_kib); [ "$r" -gt "$max" ] && max=$r && echo "$max" >"$dir/max"
    sleep 0.1
  done ) &
sampler=$!

curls=()
for n in 1 2 3 4; do
  curl -s -o "$dir/answer$n" -w '%{http_code}\n' -T "$dir/body" \
    "http://127.0.0.1:$port/metrics/job/hostile$n" >"$dir/status$n" &
  curls+=($!)
done
wait "${curls[@]}" || true
after=$(rss_kib)
touch "$dir/stop"
wait "$sampler"
for n in 1 2 3 4; do
  echo "push $n: $(cat "$dir/status$n") $(head -c 200 "$dir/answer$n")"
done
echo "resident when the last answer came: $(mib "$after") MiB"
sleep 20
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
echo "peak (VmHWM): $(mib "$hwm") MiB (sampled max $(mib "$(cat "$dir/max")") MiB)"
echo "resident 20 s later: $(mib "$(rss_kib)") MiB"
