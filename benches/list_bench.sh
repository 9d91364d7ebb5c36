#!/usr/bin/env bash
# The time of `pgw list` against one store, for one or more pgw binaries
# side by side (a build before a change and one after): it starts `pgw
# serve` (the first binary, or SERVE), fills NGROUPS groups of PAYLOAD
# (parallel curl, 32 at a time), then runs `BIN list --gateway URL
# >/dev/null` RUNS times for each binary, taking turns so that a busy moment of the machine
# falls on all of them, and prints for each binary the medians and runs (in
# ms) of the wall time and of the CPU time (user + system) the client took;
# and the time of GET /api/v1/groups alone (RUNS curl calls).
# Needs: curl.
#   usage: benches/list_bench.sh [BIN...]   (default: target/release/pgw)
#   env:   NGROUPS   the number of groups (default 10000)
#          PAYLOAD   the payload, in ../shared/bench or a path (default batch_job.prom)
#          RUNS      runs for each binary (default 9)
#          ARGS      further arguments to pgw list (for example "--wide" or "-o json")
#          SERVE     the pgw binary that serves (default: the first BIN)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=bench_lib.sh
. "$here/bench_lib.sh"
refuse_groups_env
need_bins "$@"
if [ -n "${SERVE:-}" ]; then
  pgw=$(cd "$start_dir" && realpath -m "$SERVE")
  [ -x "$pgw" ] || { echo "no pgw binary at $pgw (SERVE)" >&2; exit 1; }
fi
n=${NGROUPS:-10000}
runs=${RUNS:-9}
need_count NGROUPS "$n"
need_count RUNS "$runs"
need_payload payload "${PAYLOAD:-batch_job.prom}"
need curl
read -r -a extra <<<"${ARGS:-}"
port=19097
url=http://127.0.0.1:$port
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT

start_pgw $port "$dir/serve.log"
echo "serving: $pgw"
echo "fill $n groups of $(basename "$payload"): $(fill_groups "$url/metrics/job/node/instance/host-%d" PUT "$payload" "$n" 32)"
# Wall time, and the CPU time (user + system) of the pgw list process.
declare -A wall cpu
TIMEFORMAT='%R %U %S'
for _ in $(seq "$runs"); do
  for b in "${bins[@]}"; do
    took=$({ time "$b" list --gateway "$url" "${extra[@]}" >/dev/null 2>"$dir/list.err"; } 2>&1) ||
      { echo "$b list failed:" >&2; cat "$dir/list.err" >&2; exit 1; }
    read -r real user sys <<<"$took"
    wall[$b]+="$(awk -v r="$real" 'BEGIN {printf "%.0f", r * 1000}') "
    cpu[$b]+="$(awk -v u="$user" -v s="$sys" 'BEGIN {printf "%.0f", (u + s) * 1000}') "
  done
done
api=()
for _ in $(seq "$runs"); do
  api+=("$(curl -s -o /dev/null -w '%{time_total}' "$url/api/v1/groups" | awk '{printf "%.1f", $1 * 1000}')")
done
echo "GET /api/v1/groups ($(curl -s "$url/api/v1/groups" | wc -c) bytes): median $(printf '%s\n' "${api[@]}" | median %.1f) ms (runs: ${api[*]})"
for b in "${bins[@]}"; do
  read -r -a ws <<<"${wall[$b]}"
  read -r -a cs <<<"${cpu[$b]}"
  echo "$b list${extra[*]:+ ${extra[*]}} at $n groups: wall median $(printf '%s\n' "${ws[@]}" | median %.0f) ms (runs: ${ws[*]}), CPU median $(printf '%s\n' "${cs[@]}" | median %.0f) ms (runs: ${cs[*]})"
done
