#!/usr/bin/env bash
# Configures and builds hirestream into build/ (ccache when available). The binary is
# build/hirestream.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh "${1:-build}"
# Paths relative to the checkout, so a fresh clone elsewhere (CI) reuses the cache.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
cmake -S . -B build -DCMAKE_BUILD_TYPE="${HIRESTREAM_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build build -j"$(nproc)"
