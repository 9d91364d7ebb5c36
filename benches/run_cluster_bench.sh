#!/usr/bin/env bash
# Throughput of `pgw serve` on etcd: a 3-member etcd cluster (Debian's
# etcd-server, data on tmpfs in /dev/shm, default settings otherwise: a
# heartbeat of 100 ms, --max-request-bytes 1.5 MiB, --max-txn-ops 128) and
# 3 pgw replicas on this machine. ../shared/bench/gateway_bench.sh drives
# replica 1 with 16 connections for both payloads while replicas 2 and 3
# follow the store; then the time from a push acknowledged on replica 1 to
# the value served by replica 2 is sampled.
#   usage: benches/run_cluster_bench.sh [DUR] [SAMPLES]   (defaults: 10s, 200)
# env:   PGW (the binary, default target/release/pgw), PAYLOADS (default
#        "node_exporter.prom:200 batch_job.prom:5000"), SAMPLES=0 skips the
#        visibility samples: for A/B runs of two builds.
# needs: etcd curl wrk bc, and a release build (`cargo build --release`).
set -euo pipefail
cd "$(dirname "$0")/.."
bench=$(cd ../shared/bench && pwd)
dur=${1:-10s}
samples=${2:-200}
pgw=${PGW:-$PWD/target/release/pgw}
[ -x "$pgw" ] || { echo "build first: cargo build --release" >&2; exit 1; }
data=$(mktemp -d /dev/shm/pgw-etcd-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT
cluster=""
for i in 1 2 3; do cluster+="${cluster:+,}m$i=http://127.0.0.1:$((23800 + i))"; done
for i in 1 2 3; do
  etcd --name "m$i" --data-dir "$data/m$i" \
    --listen-client-urls "http://127.0.0.1:$((23790 + i))" \
    --advertise-client-urls "http://127.0.0.1:$((23790 + i))" \
    --listen-peer-urls "http://127.0.0.1:$((23800 + i))" \
    --initial-advertise-peer-urls "http://127.0.0.1:$((23800 + i))" \
    --initial-cluster "$cluster" --initial-cluster-state new \
    --initial-cluster-token pgw-bench >"$data/m$i.log" 2>&1 &
  pids+=($!)
done
endpoints="http://127.0.0.1:23791,http://127.0.0.1:23792,http://127.0.0.1:23793"
for _ in $(seq 100); do curl -sf http://127.0.0.1:23791/health | grep -q true && break; sleep 0.2; done
echo "## etcd $(etcd --version | head -1 | awk '{print $3}'): 3 members on loopback, data on tmpfs"
for setup in ${PAYLOADS:-node_exporter.prom:200 batch_job.prom:5000}; do
  set -- ${setup/:/ }
  prefix="/bench-${1%%.*}/"
  follow=()
  for port in 19102 19103; do
    "$pgw" serve --web.listen-address=127.0.0.1:$port --store.etcd.endpoints=$endpoints \
      --store.etcd.prefix="$prefix" >"$data/follower-$port.log" 2>&1 &
    follow+=($!)
  done
  echo "## PAYLOAD=$1 NGROUPS=$2 DUR=$dur CONC=16, replica 1 of 3"
  PAYLOAD=$bench/$1 NGROUPS=$2 DUR=$dur bash $bench/gateway_bench.sh pgw-etcd 19101 -- \
    "$pgw" serve --web.listen-address=127.0.0.1:19101 --store.etcd.endpoints=$endpoints \
      --store.etcd.prefix="$prefix"
  # What one group takes in etcd: its record, as the replicas wrote it.
  python3 - "$prefix" <<'PY'
import base64, json, sys, urllib.request
key = (sys.argv[1] + "groups/").encode()
end = key[:-1] + bytes([key[-1] + 1])
body = json.dumps({"key": base64.b64encode(key).decode(), "range_end": base64.b64encode(end).decode(), "limit": 50}).encode()
kvs = json.load(urllib.request.urlopen("http://127.0.0.1:23791/v3/kv/range", body)).get("kvs", [])
sizes = [len(base64.b64decode(kv["value"])) for kv in kvs]
print(f"[pgw-etcd] a group's record in etcd: {sum(sizes) // max(1, len(sizes))} bytes on average ({len(sizes)} read)")
PY
  kill "${follow[@]}" 2>/dev/null || true
  wait "${follow[@]}" 2>/dev/null || true
done

[ "$samples" -gt 0 ] || exit 0
# Visibility: PUT to replica 1, then poll replica 2 until it serves the value.
prefix=/bench-visibility/
for port in 19101 19102; do
  "$pgw" serve --web.listen-address=127.0.0.1:$port --store.etcd.endpoints=$endpoints \
    --store.etcd.prefix=$prefix >"$data/vis-$port.log" 2>&1 &
  pids+=($!)
done
for port in 19101 19102; do
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/-/ready" && break; sleep 0.1; done
done
# One keep-alive connection to each replica, so that the figure is the
# replica's delay, not a client's start-up.
python3 - "$samples" <<'PY'
import http.client, sys, time
samples = int(sys.argv[1])
a = http.client.HTTPConnection("127.0.0.1", 19101)
b = http.client.HTTPConnection("127.0.0.1", 19102)
got = []
for n in range(1, samples + 1):
    a.request("PUT", "/metrics/job/visibility", body=f"# TYPE v gauge\nv {n}\n")
    r = a.getresponse(); r.read()
    assert r.status == 200, r.status
    t0 = time.perf_counter()
    want = f'v{{instance="",job="visibility"}} {n}\n'.encode()
    polls = 0
    while True:
        polls += 1
        b.request("GET", "/metrics")
        r = b.getresponse(); body = r.read()
        if want in body:
            break
    got.append(((time.perf_counter() - t0) * 1000, polls))
ms = sorted(g[0] for g in got)
q = lambda f: ms[min(len(ms) - 1, int(len(ms) * f))]
print(f"## visibility (push acknowledged on replica 1 -> served by replica 2), {samples} samples: "
      f"p50 {q(0.5):.2f} ms, p90 {q(0.9):.2f} ms, p99 {q(0.99):.2f} ms, max {ms[-1]:.2f} ms; "
      f"{sum(g[1] for g in got) / len(got):.1f} polls of replica 2 per sample")
PY
