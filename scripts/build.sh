#!/usr/bin/env bash
# Configures and builds hirestream into build/ (ccache when available). The binary is
# build/hirestream.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh "${1:-build}"
cmake -S . -B build -DCMAKE_BUILD_TYPE="${HIRESTREAM_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build build -j"$(nproc)"
