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
if [ ! -f "$build_dir/compile_commands.json" ]; then
  echo "lint: no $build_dir/compile_commands.json; configure first" >&2
  exit 1
fi
echo "lint: clang-tidy on ${#sources[@]} files"
log="$(mktemp)"
status=0
for f in "${sources[@]}"; do
  if ! clang-tidy -p "$build_dir" --quiet --extra-arg=-Wno-unknown-warning-option "$f" >>"$log" 2>&1; then
    status=1
  fi
done
if [ $status -ne 0 ]; then
  grep -E 'error:|warning:' "$log" | sort -u >&2
  echo "lint: clang-tidy found problems" >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"
echo "lint: clean"
