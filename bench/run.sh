#!/usr/bin/env bash
# Runs hirestream's benchmarks: installs their tools (wrk, postfix's smtp-sink and smtp-source,
# Node.js with npm's dynalite), builds hirestream, prints one table and writes bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
for p in wrk postfix; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# By command: a Node.js installed otherwise (with its own npm) serves as well as Debian's.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
(cd bench && npm install --no-audit --no-fund --silent)
scripts/build.sh build
exec /usr/bin/python3 bench/run.py "$@"
