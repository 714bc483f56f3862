#!/usr/bin/env bash
# Builds hirestream and starts it on its embedded defaults: a SQLite database under ./data,
# mail as .eml files in ./outbox (unless HIRESTREAM_SMTP_URL is set), the sample assignments.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh build
exec build/hirestream serve --config "${HIRESTREAM_CONFIG:-config/hirestream.yaml}"
