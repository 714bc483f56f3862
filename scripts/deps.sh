#!/usr/bin/env bash
# Installs what hirestream needs from Debian 12's packages, only when something is missing.
# Usage: scripts/deps.sh [build|test]
set -euo pipefail

build_packages=(
  g++ make cmake pkg-config ccache
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev libcurl4-openssl-dev libssl-dev
  libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev libexpected-dev libkainjow-mustache-dev
  libgtest-dev libgmock-dev
)
test_packages=(python3 python3-aiosmtpd python3-pytest openssl)

wanted=("${build_packages[@]}")
if [ "${1:-build}" = "test" ]; then
  wanted+=("${test_packages[@]}")
  # The process-handler tests run a Node.js handler, as the tutorial's function was written.
  command -v node >/dev/null 2>&1 || wanted+=(nodejs)
fi

missing=()
for p in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
