#!/usr/bin/env bash
# Measures `pgw relay` against the cron pipeline it replaces,
#   curl -s $EXPORTER | curl -s --data-binary @- $GW/metrics/job/node/instance/$HOST
# with a real node_exporter payload: CPU time (user+sys) and peak resident
# memory per cycle (the two curls' figures added, as they run together), then
# the daemon's CPU per cycle and resident memory.
#   usage: benches/run_relay_bench.sh [RUNS] [DAEMON_SECONDS]   (defaults: 100, 60)
# Needs curl, prometheus-node-exporter and a release build (`cargo build --release`).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-100}
secs=${2:-60}
pgw=${PGW:-$PWD/target/release/pgw}
[ -x "$pgw" ] || { echo "build first: cargo build --release" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tmp=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$tmp"' EXIT
ne_port=$(free_port)
prometheus-node-exporter --web.listen-address=127.0.0.1:$ne_port 2>/dev/null & pids+=($!)
gw_port=$(free_port)
"$pgw" serve --web.listen-address=127.0.0.1:$gw_port 2>/dev/null & pids+=($!)
exporter=http://127.0.0.1:$ne_port/metrics
gw=http://127.0.0.1:$gw_port
for _ in $(seq 100); do curl -sf "$exporter" >/dev/null && curl -sf "$gw/-/healthy" >/dev/null && break; sleep 0.1; done
echo "payload: $(curl -s "$exporter" | wc -c) bytes, $(curl -s "$exporter" | grep -vc '^#') sample lines"

# CPU: RUNS cycles in one loop under /usr/bin/time, which adds up the CPU
# time of every process the loop waited for (its 10 ms resolution is why one
# cycle alone cannot be timed); the loop's own cost is measured with `true`.
# Memory: %M, the peak resident KiB of each process, the two curls added.
export exporter gw pgw runs
cpu() { /usr/bin/time -f '%U %S' bash -c "for i in \$(seq $runs); do $1; done" 2>&1 >/dev/null | tail -1 | awk -v n="$runs" '{printf "%.2f", ($1+$2)*1000/n}'; }
base=$(cpu 'true')
curl_cpu=$(cpu 'curl -s $exporter | curl -s --data-binary @- $gw/metrics/job/node/instance/bench')
relay_cpu=$(cpu '$pgw relay --from $exporter -g $gw --job node --instance bench')
for i in $(seq "$runs"); do
  /usr/bin/time -f '%M' -o "$tmp/c1" curl -s "$exporter" |
    /usr/bin/time -f '%M' -o "$tmp/c2" curl -s --data-binary @- "$gw/metrics/job/node/instance/bench" >/dev/null
  echo "$(cat "$tmp/c1") $(cat "$tmp/c2")" >> "$tmp/curl"
  /usr/bin/time -f '%M' -o "$tmp/r" "$pgw" relay --from "$exporter" -g "$gw" --job node --instance bench
  cat "$tmp/r" >> "$tmp/relay"
done
echo "loop overhead: $base ms per iteration (included in both figures below)"
awk -v c="$curl_cpu" '{rss+=$1+$2; if ($1+$2>max) max=$1+$2} END {printf "curl | curl      : %s ms CPU per cycle, peak RSS %.1f MiB (both curls added, mean), max %.1f MiB\n", c, rss/NR/1024, max/1024}' "$tmp/curl"
awk -v c="$relay_cpu" '{rss+=$1; if ($1>max) max=$1} END {printf "pgw relay (once): %s ms CPU per cycle, peak RSS %.1f MiB (mean), max %.1f MiB\n", c, rss/NR/1024, max/1024}' "$tmp/relay"

# The daemon: one cycle per second for DAEMON_SECONDS.
"$pgw" relay --from "$exporter" -g "$gw" --job node --instance daemon --every 1s 2>"$tmp/log" & d=$!; pids+=($d)
sleep 3
tck=$(getconf CLK_TCK)
read -r u0 s0 < <(awk '{print $14, $15}' /proc/$d/stat)
rss0=$(awk '/VmRSS/ {print $2}' /proc/$d/status)
sleep "$secs"
read -r u1 s1 < <(awk '{print $14, $15}' /proc/$d/stat)
rss1=$(awk '/VmRSS/ {print $2}' /proc/$d/status)
hwm=$(awk '/VmHWM/ {print $2}' /proc/$d/status)
echo "pgw relay --every 1s over ${secs}s: $(echo "scale=2; ($u1+$s1-$u0-$s0)*1000/$tck/$secs" | bc) ms CPU per cycle, RSS ${rss0} KiB after 3 s, ${rss1} KiB after $((secs+3)) s, peak ${hwm} KiB"
