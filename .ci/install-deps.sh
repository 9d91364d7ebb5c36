#!/usr/bin/env bash
# Installs what the interop tests run next to `pgw serve`: the official
# Pushgateway, Prometheus, node_exporter (Debian packages, with curl, wrk and bc
# for the load scripts), Chromium and its driver for the web page's test,
# systemd for systemd-socket-activate, etcd (the server) for the
# cluster mode's tests, and
# the Python packages `prometheus_client` and `selenium`.
# Idempotent and quiet: when everything is present it only checks and exits.
set -euo pipefail

missing_bins=()
for bin in prometheus prometheus-pushgateway prometheus-node-exporter chromium chromedriver tmux systemd-socket-activate etcd; do
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
        chromium chromium-driver tmux systemd etcd-server >/dev/null
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

# `pgw relay` builds for Windows: the rustup target and the MinGW linker, and
# a test runs that build under Wine.
if ! command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || [[ ! -x /usr/lib/wine/wine64 ]]; then
    echo "install-deps: installing gcc-mingw-w64-x86-64 and wine64 (the Windows build of pgw relay)"
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        sudo=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq >/dev/null
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends gcc-mingw-w64-x86-64 wine64 >/dev/null
fi
if command -v rustup >/dev/null 2>&1 &&
    ! rustup target list --installed | grep -qx x86_64-pc-windows-gnu; then
    echo "install-deps: adding the rustup target x86_64-pc-windows-gnu"
    rustup target add x86_64-pc-windows-gnu >/dev/null
fi
