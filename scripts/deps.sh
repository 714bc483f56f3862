#!/usr/bin/env bash
# Installs what hirestream needs from Debian 12's packages, only when something is missing.
# Usage: scripts/deps.sh [build|test]; HIRESTREAM_FUZZ_DEPS=1 with test adds fuzz_packages.
set -euo pipefail

build_packages=(
  g++ make cmake pkg-config ccache
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev libcurl4-openssl-dev libssl-dev
  libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev libexpected-dev libkainjow-mustache-dev
  libgtest-dev libgmock-dev
)
test_packages=(python3 python3-aiosmtpd python3-pytest openssl)
# The web app's browser tests (tests/browser): Debian's Chromium, driven by playwright-core.
browser_packages=(chromium)
# The sanitizer builds and the libFuzzer targets (scripts/fuzz.sh) use clang and its runtimes.
fuzz_packages=(clang libclang-rt-14-dev)

wanted=("${build_packages[@]}")
if [ "${1:-build}" = "test" ]; then
  wanted+=("${test_packages[@]}")
  wanted+=("${browser_packages[@]}")
  # The process-handler tests run a Node.js handler, as the tutorial's function was written;
  # the browser tests run on Node's test runner and install playwright-core with npm.
  command -v node >/dev/null 2>&1 || wanted+=(nodejs)
  command -v npm >/dev/null 2>&1 || wanted+=(npm)
  # Only when the sanitizer or fuzz stages run (scripts/test.sh in CI, scripts/fuzz.sh).
  if [ "${HIRESTREAM_FUZZ_DEPS:-0}" = "1" ]; then wanted+=("${fuzz_packages[@]}"); fi
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
