#!/usr/bin/env bash
# Builds hirestream and runs every test: the unit tests (ctest), the end-to-end tests that
# drive the real binary over loopback with a real SMTP server (pytest), and the web app's
# browser tests in headless Chromium (tests/browser, Node's test runner).
# With CI=true or HIRESTREAM_FULL_TESTS=1 it then also runs, each stage reporting on its own:
#   - the unit and end-to-end tests built with ASan+UBSan (clang, build-asan/),
#   - the unit tests of the concurrent parts built with TSan (clang, build-tsan/),
#   - every fuzz target for 10 s (scripts/fuzz.sh 10, build-fuzz/).
# Any failure makes the exit status non-zero, after every stage ran.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh test
status=0
(cd build && ctest --output-on-failure -j"$(nproc)" --timeout 300) || status=1
HIRESTREAM_BIN="$PWD/build/hirestream" /usr/bin/python3 -m pytest tests/e2e -q -p no:cacheprovider \
  || status=1
# playwright-core drives Debian's /usr/bin/chromium: it never downloads a browser.
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error &&
  HIRESTREAM_BIN="$PWD/../../build/hirestream" node --test) || status=1

if [ "${CI:-}" != "true" ] && [ "${HIRESTREAM_FULL_TESTS:-0}" != "1" ]; then
  exit $status
fi

HIRESTREAM_FUZZ_DEPS=1 scripts/deps.sh test
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
jobs="$(nproc)"; [ "$jobs" -gt 2 ] && jobs=2
summary=()
# stage NAME COMMAND...: runs a stage, records its result and how long it took.
stage() {
  local name="$1" start=$SECONDS
  shift
  echo "=== $name"
  if "$@"; then
    summary+=("$name: ok ($((SECONDS - start)) s)")
  else
    summary+=("$name: FAILED ($((SECONDS - start)) s)")
    status=1
  fi
}
# Sanitizer builds use clang, as the fuzz build does: GCC 12 with -fsanitize=address reports
# false -Wmaybe-uninitialized in libstdc++'s <regex>, and -Werror stays on everywhere.
configure() {
  cmake -S . -B "$1" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo "${@:2}" \
    >/dev/null
}
san_env=(ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1"
         UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
         TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp"
         LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp")

asan_build() { configure build-asan -DHIRESTREAM_ASAN=ON && cmake --build build-asan -j"$jobs"; }
asan_unit() { (cd build-asan && env "${san_env[@]}" ctest --output-on-failure -j"$jobs" --timeout 600); }
asan_e2e() {
  env "${san_env[@]}" HIRESTREAM_BIN="$PWD/build-asan/hirestream" \
    /usr/bin/python3 -m pytest tests/e2e -q -p no:cacheprovider
}
# The concurrent parts: the store, event-source mappings, the delivery worker, the SMTP
# transport's pool, and http.
tsan_tests=(src/store/store_test src/triggers/triggers_test src/mail/delivery_worker_test
            src/mail/mail_test src/http/http_test)
tsan_build() {
  configure build-tsan -DHIRESTREAM_TSAN=ON &&
    cmake --build build-tsan -j"$jobs" --target "${tsan_tests[@]##*/}"
}
tsan_unit() {
  local failed=0 t
  for t in "${tsan_tests[@]}"; do
    env "${san_env[@]}" "build-tsan/$t" --gtest_brief=1 || failed=1
  done
  return $failed
}

stage "asan+ubsan build" asan_build
stage "asan+ubsan unit tests" asan_unit
stage "asan+ubsan end-to-end tests" asan_e2e
stage "tsan build" tsan_build
stage "tsan unit tests" tsan_unit
stage "fuzz (10 s per target)" scripts/fuzz.sh 10

echo "=== summary"
printf '%s\n' "${summary[@]}"
exit $status
