#!/usr/bin/env bash
# Times the web page with a large store in headless Chromium
# (tests/browser/ui_check.py measure): a release `pgw serve` is filled with
# N groups (default 10000) of three series each, then the page is loaded
# until every group is counted and the first rows are drawn, and a selector
# is typed into the filter box. Needs: chromium, chromedriver, python3 with
# selenium (.ci/install-deps.sh), and `cargo build --release`.
#   usage: benches/run_ui_bench.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
pgw=target/release/pgw
[ -x "$pgw" ] || { echo "build first: cargo build --release" >&2; exit 1; }
port=19093
"$pgw" serve --web.listen-address=127.0.0.1:$port 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null' EXIT
sleep 0.5
python3 - "$port" "$n" <<'PY'
import http.client, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", port)
for i in range(n):
    body = f"jobs_done_total {i}\nlast_run_seconds 1.7e9\nrun_duration_seconds{{phase=\"x\"}} 0.5\n"
    c.request("PUT", f"/metrics/job/bench/instance/host-{i}", body)
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
PY
shots=$(mktemp -d)
python3 tests/browser/ui_check.py measure "http://127.0.0.1:$port" "$shots" "$n"
echo "screenshot: $shots/groups-$n.png"
