# shellcheck shell=bash
# Helpers the benchmark runners under benches/ source (not a script of its
# own): finding the pgw binaries and the payloads, checking counts and the
# settings of the read benchmarks, refusing the environment variable bash
# cannot pass on, wrk's p50 and its latencies in milliseconds, medians,
# filling a server's groups with parallel curl, and starting `pgw serve`.
#   usage: here=$(cd "$(dirname "$0")" && pwd); . "$here/bench_lib.sh"

# The directory the script was started in (paths given to it are relative to
# it), this checkout, and the shared payloads and wrk scripts.
start_dir=$PWD
checkout=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared_bench=$(cd "$checkout/../shared/bench" && pwd)

# Sets pgw to the binary to run: $PGW, or the release build of this checkout.
need_pgw() {
  if [ -n "${PGW:-}" ]; then
    pgw=$(cd "$start_dir" && realpath -m "$PGW")
  else
    pgw=$checkout/target/release/pgw
  fi
  [ -x "$pgw" ] || { echo "no pgw binary at $pgw: cargo build --release, or PGW=path" >&2; exit 1; }
}

# Sets n, rounds and dur from NGROUPS (default 50000), ROUNDS (default 2)
# and DUR (default 5s), the counts checked: the settings of the scripts
# that read one store from several builds in turn.
need_read_env() {
  n=${NGROUPS:-50000}
  rounds=${ROUNDS:-2}
  dur=${DUR:-5s}
  need_count NGROUPS "$n"
  need_count ROUNDS "$rounds"
}

# The p50 of GET $1 (a URL) over $dur with one connection, as wrk prints
# it; further arguments go to wrk.
wrk_p50() {
  local url=$1
  shift
  wrk -t1 -c1 -d"$dur" --timeout 60s --latency "$@" "$url" | awk '$1 == "50%" {print $2}'
}

# Sets the array bins to the pgw binaries named (paths relative to the
# start directory), or to the one need_pgw finds when none is; pgw to the
# first.
need_bins() {
  bins=()
  if [ $# -eq 0 ]; then
    need_pgw
    bins=("$pgw")
    return
  fi
  local b
  for b in "$@"; do
    b=$(cd "$start_dir" && realpath -m "$b")
    [ -x "$b" ] || { echo "no pgw binary at $b" >&2; exit 1; }
    bins+=("$b")
  done
  pgw=${bins[0]}
}

# Sets variable $1 to payload $2: a file of ../shared/bench, or a path.
need_payload() {
  # Named so as not to shadow the caller's variable $1.
  local _need_payload=$2
  if [ -f "$shared_bench/$2" ]; then
    _need_payload=$shared_bench/$2
  else
    _need_payload=$(cd "$start_dir" && realpath -m "$2")
  fi
  [ -r "$_need_payload" ] || { echo "no payload file $_need_payload" >&2; exit 2; }
  printf -v "$1" %s "$_need_payload"
}

# Exits unless $2 is a positive whole number; $1 names it.
need_count() {
  [[ $2 =~ ^[1-9][0-9]*$ ]] || { echo "$1 must be a positive count, not '$2'" >&2; exit 2; }
}

# Bash keeps GROUPS for itself (the user's group ids): a bash caller never
# exports it (`GROUPS=1000 script` sets nothing), and a script's bash drops it
# from the environment it was given, so the script would silently run its
# defaults. A GROUPS from another caller (env, sh, zsh) is still in this
# process's initial environment: refuse it. The scripts take NGROUPS.
refuse_groups_env() {
  if tr '\0' '\n' <"/proc/$$/environ" 2>/dev/null | grep -q '^GROUPS='; then
    echo "GROUPS is a bash variable that cannot be passed to a script: use NGROUPS=\"$(tr '\0' '\n' <"/proc/$$/environ" | sed -n 's/^GROUPS=//p')\"" >&2
    exit 2
  fi
}

# Exits unless every argument is a command on PATH.
need() {
  local cmd
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null || { echo "missing command $cmd: run benches/install-bench-deps.sh" >&2; exit 1; }
  done
}

# A wrk duration (850.00us, 1.23ms, 2.01s, 1.50m) in milliseconds; n/a stays n/a.
ms() {
  awk -v v="$1" 'BEGIN {
    if (v !~ /^[0-9.]+(us|ms|s|m)$/) { print "n/a"; exit }
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : 60000
    printf "%.3f\n", n * f }'
}

# The median of the numbers on stdin, one a line (other lines ignored), with
# printf format $1 (default %.2f); n/a when there is none.
median() {
  sort -g | awk -v fmt="${1:-%.2f}" '/^-?[0-9.]+([eE][-+]?[0-9]+)?$/ { v[n++] = $1 }
    END {
      if (n == 0) { print "n/a"; exit }
      m = (n % 2) ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
      printf fmt "\n", m }'
}

# Number $2 in printf format $1; n/a when it is not a number.
num() {
  awk -v fmt="$1" -v v="$2" 'BEGIN { if (v !~ /^[0-9.]+$/) print "n/a"; else printf fmt "\n", v }'
}

# a / b with printf format $3 (default %.2f); n/a when either is not a number or b is 0.
ratio() {
  awk -v a="$1" -v b="$2" -v fmt="${3:-%.2f}" 'BEGIN {
    if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b + 0 == 0) { print "n/a"; exit }
    printf fmt "\n", a / b }'
}

# Sends file $3 once with method $2 to each of $4 URLs, URL template $1 with
# %d the index 0..$4-1, $5 requests at a time (default 16, as
# gateway_bench.sh), and prints the seconds it took and the answers' status
# counts in gateway_bench.sh's words: `1.234 s (status counts: 5000 200 )`.
# upload-file, not data-binary: in one curl operation data-binary bodies
# would add up (joined by &) from URL to URL.
fill_groups() {
  local template=$1 method=$2 payload=$3 n=$4 par=${5:-16} cfg t0 t1 codes
  cfg=$(mktemp)
  awk -v t="$template" -v m="$method" -v f="$payload" -v n="$n" 'BEGIN {
    for (i = 0; i < n; i++) {
      printf "url = \"" t "\"\n", i
      printf "upload-file = \"%s\"\nrequest = \"%s\"\n", f, m
    } }' >"$cfg"
  t0=$(date +%s.%N)
  codes=$(curl -s --no-progress-meter -Z --parallel-max "$par" -K "$cfg" -o /dev/null -w '%{http_code}\n' |
    sort | uniq -c | tr -s ' \n' ' ')
  t1=$(date +%s.%N)
  rm -f "$cfg"
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}') s (status counts:$codes)"
}

# The series (sample lines) in exposition file $1.
series_in() {
  grep -vc -e '^#' -e '^[[:space:]]*$' "$1"
}

# Resident memory of process $1 in MiB.
rss_mib() {
  awk '/VmRSS/ {printf "%.1f\n", $2 / 1024}' "/proc/$1/status"
}

# Starts `$pgw serve` on 127.0.0.1:$1 with the further arguments as flags,
# its output into file $2, sets pid, and returns once it answers
# /-/healthy; exits if it does not within 10 s.
start_pgw() {
  local port=$1 log=$2
  shift 2
  "$pgw" serve --web.listen-address=127.0.0.1:"$port" "$@" >"$log" 2>&1 &
  # shellcheck disable=SC2034 # the caller's, to stop the server
  pid=$!
  for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/-/healthy" && return
    sleep 0.1
  done
  echo "pgw did not start:" >&2
  tail -5 "$log" >&2
  exit 1
}
