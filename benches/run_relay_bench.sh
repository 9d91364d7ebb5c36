#!/usr/bin/env bash
# Measures `pgw relay` against the cron pipeline it replaces,
#   curl -s $EXPORTER | curl -s --data-binary @- $GW/metrics/job/node/instance/$HOST
# with a real node_exporter payload: CPU time (user+sys) and peak resident
# memory per cycle (the two curls' figures added, as they run together), then
# the daemon's CPU per cycle and resident memory.
#   usage: benches/run_relay_bench.sh [RUNS] [DAEMON_SECONDS]   (defaults: 30, 60)
# Needs curl, prometheus-node-exporter and a release build (`cargo build --release`).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
secs=${2:-60}
pgw=$PWD/target/release/pgw
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

# %U %S: user and system CPU seconds; %M: peak resident KiB.
fmt='%U %S %M'
for i in $(seq "$runs"); do
  /usr/bin/time -f "$fmt" -o "$tmp/c1" curl -s "$exporter" |
    /usr/bin/time -f "$fmt" -o "$tmp/c2" curl -s --data-binary @- "$gw/metrics/job/node/instance/bench" >/dev/null
  paste -d' ' "$tmp/c1" "$tmp/c2" >> "$tmp/curl"
  /usr/bin/time -f "$fmt" -o "$tmp/r" "$pgw" relay --from "$exporter" -g "$gw" --job node --instance bench
  cat "$tmp/r" >> "$tmp/relay"
done
awk '{cpu+=$1+$2+$4+$5; rss+=$3+$6; if ($3+$6>max) max=$3+$6} END {printf "curl | curl      : %.2f ms CPU per cycle, peak RSS %.1f MiB (mean of both curls added), max %.1f MiB\n", cpu/NR*1000, rss/NR/1024, max/1024}' "$tmp/curl"
awk '{cpu+=$1+$2; rss+=$3; if ($3>max) max=$3} END {printf "pgw relay (once): %.2f ms CPU per cycle, peak RSS %.1f MiB (mean), max %.1f MiB\n", cpu/NR*1000, rss/NR/1024, max/1024}' "$tmp/relay"

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
