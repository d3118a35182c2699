#!/usr/bin/env bash
# Installs what the local cluster and the tests need on a fresh Debian machine: the few
# system packages (when missing), then the pinned Python requirements in .venv (hack/venv.sh).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

need=()
# The real node: Debian's containerd, runc and CNI plugins; debootstrap builds its image.
# Chromium and its driver: the web page's test runs in a real headless browser.
for pair in openssl:openssl curl:curl ss:iproute2 pgrep:procps make:make gcc:gcc \
            containerd:containerd runc:runc /usr/lib/cni/bridge:containernetworking-plugins \
            iptables:iptables conntrack:conntrack debootstrap:debootstrap \
            chromium:chromium chromedriver:chromium-driver; do
  [ -e "${pair%%:*}" ] || command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
if ((${#need[@]})); then
  echo "installing ${need[*]} ..."
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
fi
command -v go >/dev/null || { echo "Go 1.25+ is needed to build the local cluster: https://go.dev/doc/install" >&2; exit 1; }

"$repo/hack/venv.sh"
