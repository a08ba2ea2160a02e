#!/usr/bin/env bash
# run_bench.sh: builds (if needed) and runs dagstack_bench, writes the Google Benchmark JSON and
# prints the DESIGN.md §6 table (dagstack vs spdlog ratios) with scripts/bench_check.py.
#
#   scripts/run_bench.sh            full run: 3 repetitions, medians (what bench/README.md reports)
#   scripts/run_bench.sh --quick    a few milliseconds per case, 1 repetition (CI: keeps it compiling
#                                   and running; ratios are printed but never fail the run)
#   options: --build-dir DIR (default build-bench), --out FILE (default DIR/bench.json),
#            --filter REGEX (passed to --benchmark_filter); extra args go to the binary.
# Exit status: non-zero only if the build fails, the binary crashes or reports an error.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${root}/build-bench"
out=""
quick=0
filter=""
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1 ;;
    --build-dir) build_dir="$2"; shift ;;
    --out) out="$2"; shift ;;
    --filter) filter="$2"; shift ;;
    *) extra+=("$1") ;;
  esac
  shift
done
[[ -n "${out}" ]] || out="${build_dir}/bench.json"

bin="${build_dir}/bench/dagstack_bench"
if [[ ! -x "${bin}" || -n "${DAGSTACK_BENCH_REBUILD:-}" ]]; then
  if [[ ! -f "${build_dir}/build.ninja" ]]; then
    cmake -S "${root}" -B "${build_dir}" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DDAGSTACK_LOGGER_BUILD_BENCH=ON \
      -DDAGSTACK_LOGGER_BUILD_TESTS=OFF -DDAGSTACK_LOGGER_BUILD_EXAMPLES=OFF
  fi
  cmake --build "${build_dir}" --target dagstack_bench -- -j"${DAGSTACK_JOBS:-2}"
fi

args=(--benchmark_out="${out}" --benchmark_out_format=json --benchmark_counters_tabular=false)
if [[ ${quick} -eq 1 ]]; then
  export DAGSTACK_BENCH_BURSTS="${DAGSTACK_BENCH_BURSTS:-300}"
  args+=(--benchmark_min_time=0.005 --benchmark_repetitions=1)
else
  args+=(--benchmark_min_time=0.5 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true)
fi
[[ -n "${filter}" ]] && args+=(--benchmark_filter="${filter}")

echo "== $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load: $(cut -d' ' -f1-3 /proc/loadavg)"
"${bin}" "${args[@]}" "${extra[@]}"
python3 "${root}/scripts/bench_check.py" "${out}"
