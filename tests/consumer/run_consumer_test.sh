#!/usr/bin/env bash
# run_consumer_test.sh MODE SOURCE_DIR BUILD_DIR WORK_DIR
#   find_package:     install BUILD_DIR into WORK_DIR/prefix, build a program with
#                     find_package(... COMPONENTS northstar), and a core-only one with spdlog and
#                     CURL hidden.
#   pkg_config:       install BUILD_DIR into a prefix, move the tree elsewhere (the .pc files are
#                     relocatable), and build with a plain compiler command line.
#   add_subdirectory: add SOURCE_DIR as a subdirectory with spdlog and CURL hidden.
#   fetch_content:    the same through FetchContent with SOURCE_DIR as the source, spdlog hidden.
# The program logs one record and one exception; both must come out as canonical JSON lines.
set -euo pipefail
mode="$1" src="$2" build="$3" work="$4"
rm -rf "$work" && mkdir -p "$work"
hide_all=(-DCMAKE_DISABLE_FIND_PACKAGE_spdlog=ON -DCMAKE_DISABLE_FIND_PACKAGE_CURL=ON)

check_output() {  # $1 = program
  local out
  out="$("$1" 2>&1 >/dev/null)"
  echo "$out"
  local first second
  first="$(sed -n 1p <<<"$out")" second="$(sed -n 2p <<<"$out")"
  case "$first" in
    '{"attributes":{"consumer.mode":"'*'"},"body":"hello from a consumer"'*) ;;
    *) echo "consumer $mode: unexpected first line" >&2; exit 1 ;;
  esac
  case "$second" in
    *'"body":"caught in the consumer"'*) ;;
    *) echo "consumer $mode: unexpected exception line" >&2; exit 1 ;;
  esac
  grep -q '"exception.message":"consumer failure"' <<<"$second"
  grep -q '"exception.stacktrace":"' <<<"$second"
  grep -q '"exception.type":"std::runtime_error"' <<<"$second"
}

case "$mode" in
  find_package)
    cmake --install "$build" --prefix "$work/prefix" >/dev/null
    libdir="$(cd "$work/prefix" && dirname "$(find . -name dagstack_logger-config.cmake)" | sed 's|/cmake/dagstack_logger||')"
    test -f "$work/prefix/include/dagstack/logger.hpp"
    test -f "$work/prefix/$libdir/pkgconfig/dagstack_logger.pc"
    test -x "$work/prefix/bin/northstar-local"
    cmake -S "$src/tests/consumer/find_package" -B "$work/build" -G Ninja \
      -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
    cmake --build "$work/build" -j 2 >/dev/null
    check_output "$work/build/consumer"
    # The core alone needs neither spdlog nor CURL.
    cmake -S "$src/tests/consumer/find_package" -B "$work/core" -G Ninja \
      -DCMAKE_PREFIX_PATH="$work/prefix" -DCONSUMER_CORE_ONLY=ON "${hide_all[@]}" >/dev/null
    cmake --build "$work/core" -j 2 >/dev/null
    check_output "$work/core/consumer"
    # A component that is asked for but whose dependency is missing is reported, not half-loaded.
    if cmake -S "$src/tests/consumer/find_package" -B "$work/missing" -G Ninja \
         -DCMAKE_PREFIX_PATH="$work/prefix" "${hide_all[@]}" >"$work/missing.log" 2>&1; then
      echo "consumer $mode: configured the northstar component without CURL" >&2; exit 1
    fi
    grep -q "component northstar needs CURL" "$work/missing.log"
    ;;
  pkg_config)
    cmake --install "$build" --prefix "$work/installed" >/dev/null
    mv "$work/installed" "$work/moved"  # relocatable: nothing may point at the install prefix
    pcdir="$(dirname "$(find "$work/moved" -name dagstack_logger.pc)")"
    for pc in dagstack_logger dagstack_logger_northstar; do test -f "$pcdir/$pc.pc"; done
    export PKG_CONFIG_PATH="$pcdir"
    # shellcheck disable=SC2046
    c++ -o "$work/consumer" -DCONSUMER_MODE='"pkg_config"' -DCONSUMER_WITH_NORTHSTAR \
      "$src/tests/consumer/main.cpp" $(pkg-config --cflags --libs dagstack_logger_northstar)
    check_output "$work/consumer"
    # The core alone, too.
    # shellcheck disable=SC2046
    c++ -o "$work/consumer-core" -DCONSUMER_MODE='"pkg_config"' "$src/tests/consumer/main.cpp" \
      $(pkg-config --cflags --libs dagstack_logger)
    check_output "$work/consumer-core"
    ;;
  add_subdirectory)
    cmake -S "$src/tests/consumer/$mode" -B "$work/build" -G Ninja \
      -DDAGSTACK_SOURCE_DIR="$src" "${hide_all[@]}" >"$work/configure.log"
    grep -q "spdlog not found: the spdlog component is off" "$work/configure.log"
    grep -q "libcurl not found: the northstar component is off" "$work/configure.log"
    cmake --build "$work/build" -j 2 >/dev/null
    check_output "$work/build/consumer"
    ;;
  fetch_content)
    cmake -S "$src/tests/consumer/$mode" -B "$work/build" -G Ninja \
      -DDAGSTACK_SOURCE_DIR="$src" -DCMAKE_DISABLE_FIND_PACKAGE_spdlog=ON >"$work/configure.log"
    grep -q "spdlog not found: the spdlog component is off" "$work/configure.log"
    cmake --build "$work/build" -j 2 >/dev/null
    check_output "$work/build/consumer"
    ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac
echo "consumer $mode: ok"
