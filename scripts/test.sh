#!/usr/bin/env bash
# Installs what is missing, configures, builds and runs every test, then the same suite under
# ASan+UBSan and under TSan, bounded libFuzzer runs, and a short benchmark run.
#
# Usage: scripts/test.sh [build-dir]          (default: build)
# Stages can be skipped for a quicker local run: DAGSTACK_SKIP="release asan tsan fuzz bench lint"
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${1:-build}"
jobs="$(nproc 2>/dev/null || echo 2)"
skip=" ${DAGSTACK_SKIP:-} "
start=$(date +%s)
stage() { printf '\n==== %s (%ds elapsed)\n' "$*" "$(( $(date +%s) - start ))"; }
skipped() { [[ "$skip" == *" $1 "* ]]; }

stage "setup"
scripts/setup.sh
# chromium, node and puppeteer-core for the dashboard's browser test (tests/browser).
DAGSTACK_BROWSER_DEPS="$(scripts/setup_browser.sh | tail -n 1)"
export DAGSTACK_BROWSER_DEPS

stage "plain build (warnings are errors)"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDAGSTACK_LOGGER_WERROR=ON
cmake --build "$build_dir" -j "$jobs"

stage "tests"
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" --timeout 300

if ! skipped release; then
  # Release (-O3 -DNDEBUG, no debug info): no test may depend on a helper not being inlined or on
  # debug info. The build-system tests (consumers, doc snippets) ran above and are not repeated.
  stage "Release build (-O3 -DNDEBUG, no debug info) and tests"
  cmake -S . -B "$build_dir-release" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DDAGSTACK_LOGGER_WERROR=ON -DDAGSTACK_LOGGER_BUILD_BENCH=OFF -DDAGSTACK_LOGGER_BUILD_EXAMPLES=OFF
  cmake --build "$build_dir-release" -j "$jobs"
  ctest --test-dir "$build_dir-release" --output-on-failure -j "$jobs" --timeout 300 \
    -E '^(consumer_|docs_snippets)'
fi

if ! skipped lint; then
  stage "lint (clang-format, clang-tidy naming)"
  scripts/lint.sh "$build_dir"
fi

if ! skipped bench; then
  stage "benchmarks, short run"
  scripts/run_bench.sh --quick --build-dir "$build_dir-bench"
fi

if ! skipped asan; then
  stage "ASan+UBSan build and tests"
  cmake -S . -B "$build_dir-asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DDAGSTACK_LOGGER_WERROR=ON \
    -DDAGSTACK_LOGGER_SANITIZE=address,undefined -DDAGSTACK_LOGGER_BUILD_BENCH=OFF \
    -DDAGSTACK_LOGGER_BUILD_EXAMPLES=OFF
  cmake --build "$build_dir-asan" -j "$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$build_dir-asan" --output-on-failure -j "$jobs" --timeout 600
fi

if ! skipped tsan; then
  stage "TSan build and tests"
  cmake -S . -B "$build_dir-tsan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DDAGSTACK_LOGGER_WERROR=ON \
    -DDAGSTACK_LOGGER_SANITIZE=thread -DDAGSTACK_LOGGER_BUILD_BENCH=OFF \
    -DDAGSTACK_LOGGER_BUILD_EXAMPLES=OFF
  cmake --build "$build_dir-tsan" -j "$jobs"
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    ctest --test-dir "$build_dir-tsan" --output-on-failure -j "$jobs" --timeout 600
fi

if ! skipped fuzz; then
  stage "fuzzing (libFuzzer, bounded)"
  scripts/fuzz.sh "$build_dir-fuzz" 30
fi

stage "done"
