#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang with ASan+UBSan, into build-fuzz/) and runs each
# for N seconds (default 10) from its seed corpus in fuzz/corpus/<target>/. New inputs go to
# build-fuzz/corpus/<target>/ (not committed); a crash leaves build-fuzz/crashes/<target>/crash-*
# and makes the script exit non-zero after every target ran.
# Usage: scripts/fuzz.sh [seconds] [target...]     e.g. scripts/fuzz.sh 600
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
shift || true
HIRESTREAM_FUZZ_DEPS=1 scripts/deps.sh test
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
jobs="$(nproc)"; [ "$jobs" -gt 2 ] && jobs=2
cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DHIRESTREAM_FUZZ=ON -DHIRESTREAM_TESTS=OFF >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_all

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for dir in fuzz/corpus/*/; do targets+=("$(basename "$dir")"); done
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/crashes/$t"
  log="build-fuzz/crashes/$t/last-run.log"
  # -rss_limit_mb: every input is at most 64 KiB; more than 2 GiB is a leak or a blow-up.
  if build-fuzz/fuzz/"fuzz_$t" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
       -timeout=10 -print_final_stats=1 -artifact_prefix="build-fuzz/crashes/$t/" \
       "build-fuzz/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1; then
    echo "fuzz $t: ok ($(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') runs in ${seconds}s)"
  else
    echo "fuzz $t: FAILED, input in build-fuzz/crashes/$t/"
    grep -E "ERROR|runtime error|SUMMARY|Test unit written" "$log" | head -8 || tail -20 "$log"
    status=1
  fi
done
exit $status
