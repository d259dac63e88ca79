#!/usr/bin/env bash
# Installs the Debian 12 packages Teller builds, runs and tests with; skips what is already there.
# Usage (as root): deploy/install-deps.sh
set -euo pipefail

packages=(
    g++ make cmake ninja-build pkg-config ca-certificates
    libboost1.81-dev libboost-json1.81-dev
    librdkafka-dev libhiredis-dev libtorch-dev
    libspdlog-dev libyaml-cpp-dev libssl-dev
    libgtest-dev libgmock-dev
    redis-server
)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$package")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-deps: all ${#packages[@]} packages are installed"
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: run this script as root (or: sudo $0)" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
