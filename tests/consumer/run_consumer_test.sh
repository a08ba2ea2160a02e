#!/usr/bin/env bash
# run_consumer_test.sh MODE SOURCE_DIR BUILD_DIR WORK_DIR
#   find_package:     install BUILD_DIR into WORK_DIR/prefix, build a program with find_package.
#   add_subdirectory: build a program that adds SOURCE_DIR as a subdirectory.
#   fetch_content:    the same through FetchContent with SOURCE_DIR as the source.
# The program logs one record and must print a canonical JSON line.
set -euo pipefail
mode="$1" src="$2" build="$3" work="$4"
rm -rf "$work" && mkdir -p "$work"
case "$mode" in
  find_package)
    cmake --install "$build" --prefix "$work/prefix" >/dev/null
    test -f "$work/prefix/include/dagstack/logger.hpp"
    test -f "$work/prefix/lib/cmake/dagstack_logger/dagstack_logger-config.cmake"
    test -f "$work/prefix/lib/pkgconfig/dagstack_logger.pc"
    # The pkg-config file works on its own too.
    PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --cflags --libs dagstack_logger >/dev/null
    cmake -S "$src/tests/consumer/find_package" -B "$work/build" -G Ninja \
      -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
    ;;
  add_subdirectory|fetch_content)
    cmake -S "$src/tests/consumer/$mode" -B "$work/build" -G Ninja \
      -DDAGSTACK_SOURCE_DIR="$src" >/dev/null
    ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac
cmake --build "$work/build" -j 2 >/dev/null
out="$("$work/build/consumer" 2>&1 >/dev/null)"
echo "$out"
case "$out" in
  '{"attributes":{"consumer.mode":"'*'"},"body":"hello from a consumer"'*) echo "consumer $mode: ok" ;;
  *) echo "consumer $mode: unexpected output" >&2; exit 1 ;;
esac
