#!/usr/bin/env bash
# Installs what the interop tests run next to `pgw serve`: the official
# Pushgateway, Prometheus, node_exporter (Debian packages, with curl, wrk and bc
# for the load scripts), Chromium and its driver for the web page's test, and
# the Python packages `prometheus_client` and `selenium`.
# Idempotent and quiet: when everything is present it only checks and exits.
set -euo pipefail

missing_bins=()
for bin in prometheus prometheus-pushgateway prometheus-node-exporter chromium chromedriver; do
    command -v "$bin" >/dev/null 2>&1 || missing_bins+=("$bin")
done

if ((${#missing_bins[@]} > 0)); then
    echo "install-deps: installing Debian packages (missing: ${missing_bins[*]})"
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        sudo=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq >/dev/null
    # policy-rc.d-less containers have no init system, so nothing starts; on a
    # machine with one the tests still run, because they only use free ports.
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
        prometheus prometheus-pushgateway prometheus-node-exporter curl wrk bc \
        chromium chromium-driver >/dev/null
fi

for module in prometheus_client selenium; do
    if ! python3 -c "import $module" >/dev/null 2>&1; then
        echo "install-deps: installing the Python package $module"
        # Debian's python is "externally managed" (PEP 668); this is a test
        # machine, so installing next to the system packages is what we want.
        python3 -m pip install --quiet "$module" 2>/dev/null ||
            python3 -m pip install --quiet --break-system-packages "$module"
    fi
done
