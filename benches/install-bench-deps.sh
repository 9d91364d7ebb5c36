#!/usr/bin/env bash
# Installs what the benchmark scripts under benches/ need on a fresh Debian
# machine (Debian 12 package names): curl, wrk, bc, linux-perf, python3, the
# official Pushgateway (prometheus-pushgateway) and VictoriaMetrics
# (victoria-metrics). Only the packages not yet installed are asked of apt, so
# a second run does nothing; apt runs quietly, as root or through sudo.
# Needs: apt-get, and root or sudo.
#   usage: benches/install-bench-deps.sh
set -euo pipefail
want=(curl wrk bc linux-perf python3 prometheus-pushgateway victoria-metrics)
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "benchmark dependencies already installed: ${want[*]}"
  exit 0
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "not root and no sudo: install ${missing[*]} as root" >&2; exit 1; }
  sudo=(sudo)
fi
echo "installing: ${missing[*]}"
# The package lists of a fresh machine are empty or old: refresh them once.
"${sudo[@]}" apt-get update -qq
# Without apt-utils debconf says it delays configuring: noise, not news.
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
  >/dev/null 2> >(grep -v '^debconf: delaying package configuration' >&2)
echo "installed: ${missing[*]}"
