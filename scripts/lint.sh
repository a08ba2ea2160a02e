#!/usr/bin/env bash
# Checks formatting (clang-format) and naming (clang-tidy) of the library sources.
# Usage: scripts/lint.sh [build-dir-with-compile_commands.json]
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${1:-build}"
mapfile -t files < <(git ls-files 'include/*.h' 'include/*.hpp' 'src/*.cpp' 'src/*.h' 'sinks/*.cpp' \
  'sinks/*.h' 'redaction/*.cpp' 'redaction/*.h')
echo "lint: clang-format on ${#files[@]} files"
clang-format --dry-run -Werror "${files[@]}"
mapfile -t sources < <(printf '%s\n' "${files[@]}" | grep '\.cpp$')
if [ -f "$build_dir/compile_commands.json" ]; then
  echo "lint: clang-tidy on ${#sources[@]} files"
  clang-tidy -p "$build_dir" --quiet "${sources[@]}" 2>&1 | grep -v 'warnings generated' || true
  clang-tidy -p "$build_dir" --quiet "${sources[@]}" >/dev/null 2>&1
fi
echo "lint: clean"
