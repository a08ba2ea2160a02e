#!/usr/bin/env bash
# Builds the libFuzzer targets with Clang and runs each for a bounded time on its committed corpus.
# Usage: scripts/fuzz.sh [build-dir] [seconds-per-target]
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${1:-build-fuzz}"
seconds="${2:-30}"
CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DDAGSTACK_LOGGER_BUILD_FUZZ=ON -DDAGSTACK_LOGGER_BUILD_TESTS=OFF \
  -DDAGSTACK_LOGGER_BUILD_BENCH=OFF -DDAGSTACK_LOGGER_BUILD_EXAMPLES=OFF \
  -DDAGSTACK_LOGGER_BUILD_TOOLS=OFF -DDAGSTACK_LOGGER_WITH_SPDLOG=OFF >/dev/null
cmake --build "$build_dir" -j "$(nproc 2>/dev/null || echo 2)"
status=0
for corpus in fuzz/corpus/*/; do
  target="$(basename "$corpus")"
  bin="$build_dir/fuzz/$target"
  [ -x "$bin" ] || { echo "fuzz: no binary for $target" >&2; status=1; continue; }
  work="$(mktemp -d)"
  cp -r "$corpus". "$work/"
  echo "fuzz: $target for ${seconds}s"
  if ! "$bin" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$build_dir/$target-" \
       "$work" 2>"$build_dir/$target.log"; then
    echo "fuzz: $target FAILED; see $build_dir/$target.log and the crash artifact" >&2
    tail -40 "$build_dir/$target.log" >&2
    status=1
  else
    grep -E 'stat::number_of_executed_units|Done' "$build_dir/$target.log" | tail -2
  fi
  rm -rf "$work"
done
exit $status
