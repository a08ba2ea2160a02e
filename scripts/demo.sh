#!/usr/bin/env bash
# Installs what is missing, builds, and runs the quick-start example.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${1:-build}"
scripts/setup.sh
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build_dir" -j "$(nproc 2>/dev/null || echo 2)" --target quick_start
"$build_dir/examples/quick_start"
