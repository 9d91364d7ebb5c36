#!/usr/bin/env bash
# CPU time the server spends per push, for builds compared on a machine that
# is not idle: throughput moves with whatever else runs, the CPU time of the
# server's own process much less. Starts `BIN serve` in memory mode, pushes
# PAYLOAD to NGROUPS groups with ../shared/bench/push.lua (wrk, 16
# connections, 5 s), and divides the process's task-clock (perf stat) by the
# pushes answered.
# With PROTOBUF=1 the server is scraped once in protobuf first, so that it
# encodes every push to protobuf as it prepares it (a server only scraped
# in text leaves that to the first reader that asks).
# With DURABLE=1 the server keeps its store in a fresh --persistence.file
# (in TMPDIR), so the figure includes writing and syncing the log; the
# kernel's own writeback threads are not counted.
# With PER_THREAD=1 it also prints the CPU per push of each kind of thread
# (the runtime's workers, the log writer, its spare maker, compaction).
# With SYSCALLS=1 it also prints, per push, the context switches and the
# system calls that say where a small push's time goes outside the code
# (waking threads, waiting on locks). The rest of the environment
# (TOKIO_WORKER_THREADS, say) reaches the server.
# Needs: curl wrk perf (benches/install-bench-deps.sh).
#   usage: [PROTOBUF=1] [SYSCALLS=1] [DURABLE=1] [PER_THREAD=1] benches/cpu_per_push.sh BIN [PAYLOAD] [NGROUPS]
#          (default ../shared/bench/node_exporter.prom, 200)
set -euo pipefail
if [ "${PER_THREAD:-0}" = 1 ] && [ "${SYSCALLS:-0}" = 1 ]; then
  echo "PER_THREAD and SYSCALLS are measured in separate runs" >&2
  exit 2
fi
cd "$(dirname "$0")/.."
bench=$(cd ../shared/bench && pwd)
bin=$(realpath "$1")
payload=$(realpath "${2:-$bench/node_exporter.prom}")
ngroups=${3:-200}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
files=$(mktemp -d)
args=()
[ "${DURABLE:-0}" = 1 ] && args=(--persistence.file="$files/store")
"$bin" serve --web.listen-address=127.0.0.1:$port "${args[@]}" >/dev/null 2>&1 &
pid=$!
stat=$(mktemp)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$stat" "$files"' EXIT
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/-/healthy" && break; sleep 0.1; done
if [ "${PROTOBUF:-0}" = 1 ]; then
  curl -sf -o /dev/null -H 'Accept: application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited' \
    "http://127.0.0.1:$port/metrics"
fi
events=(-e task-clock)
per_thread=()
[ "${PER_THREAD:-0}" = 1 ] && per_thread=(--per-thread)
if [ "${SYSCALLS:-0}" = 1 ]; then
  events+=(-e context-switches)
  for call in epoll_wait recvfrom writev futex sched_yield; do
    events+=(-e "syscalls:sys_enter_$call")
  done
fi
perf stat -x, "${per_thread[@]}" "${events[@]}" -p $pid -o "$stat" -- sleep 6 &
perf_pid=$!
sleep 0.5
out=$(cd "$bench" && PAYLOAD=$payload NGROUPS=$ngroups wrk -t2 -c16 -d5s -s push.lua "http://127.0.0.1:$port" 2>&1)
wait $perf_pid
pushes=$(echo "$out" | awk '/requests in/{print $1}')
if [ "${PER_THREAD:-0}" = 1 ]; then
  # Lines are "name-tid,msec,...": summed per name.
  ms=$(awk -F, '/task-clock/{ s += $2 } END { print s }' "$stat")
else
  ms=$(awk -F, '/task-clock/{print $1}' "$stat")
fi
printf '%s %s%s%s: %s pushes, %.1f µs of server CPU per push\n' "$bin" "$(basename "$payload")" \
  "$([ "${PROTOBUF:-0}" = 1 ] && echo " (protobuf)")" "$([ "${DURABLE:-0}" = 1 ] && echo " (durable)")" "$pushes" "$(echo "$ms * 1000 / $pushes" | bc -l)"
if [ "${SYSCALLS:-0}" = 1 ]; then
  awk -F, -v n="$pushes" '
    BEGIN { printf "  per push:" }
    /context-switches/ { printf " %.2f context switches", $1 / n }
    /syscalls:/ { name = $3; sub("syscalls:sys_enter_", "", name); printf ", %.2f %s", $1 / n, name }
    END { print "" }' "$stat"
fi
if [ "${PER_THREAD:-0}" = 1 ]; then
  awk -F, -v n="$pushes" '/task-clock/ { name = $1; sub(/-[0-9]+$/, "", name); ms[name] += $2 }
    END { for (k in ms) if (ms[k] * 1000 / n >= 0.5) printf "  %-16s %6.1f µs per push\n", k, ms[k] * 1000 / n }' "$stat" |
    sort -k2 -nr
fi
