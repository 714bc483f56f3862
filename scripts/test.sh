#!/usr/bin/env bash
# Builds hirestream and runs every test: the unit tests (ctest) and the end-to-end tests that
# drive the real binary over loopback with a real SMTP server (pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh test
status=0
(cd build && ctest --output-on-failure -j"$(nproc)" --timeout 300) || status=1
HIRESTREAM_BIN="$PWD/build/hirestream" /usr/bin/python3 -m pytest tests/e2e -q -p no:cacheprovider \
  || status=1
exit $status
