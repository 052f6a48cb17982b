#!/usr/bin/env bash
# The README's charts: runs the benchmarks behind them, saves their figures as CSV under
# target/charts/, and draws docs/charts/*.svg from those files (benches/charts, plotters' SVG
# backend). The CSV files are copied next to the charts (docs/charts/data/), so that the figures
# behind a committed chart are committed too.
#
#   scripts/charts.sh                # the full run (about 15 minutes on a 2-core machine)
#   QUICK=1 scripts/charts.sh        # a fast pass (about 3 minutes once built): fewer rounds,
#                                    # sizes and workloads, no callgrind
#   PLOT_ONLY=1 scripts/charts.sh    # redraw from the CSV files of the last run (those in
#                                    # target/charts/, else the committed ones)
#   OUT=/tmp/charts scripts/charts.sh    # write the SVGs elsewhere
#
# Charts, and the benchmark that feeds each:
#   alloc-time.svg, alloc-instr.svg   alloc_ratio, scripts/bench-alloc-instr.sh
#   realworld-wall.svg, realworld-instr.svg   scripts/bench-global-realworld.sh
#   cosine.svg                        the similarity bench (single-query cases)
set -euo pipefail
cd "$(dirname "$0")/.."
data=target/charts
out=${OUT:-docs/charts}
say() { printf '\n[charts] %s\n' "$*" >&2; }
mkdir -p "$data"

if [ -z "${PLOT_ONLY:-}" ]; then
    if [ -n "${QUICK:-}" ]; then
        mode="QUICK=1"
        alloc_rounds=11
        sim_rounds=3
        sim_cases=(d768)                      # single d768 × 1k/10k/100k and the many-query cases
        realworld=(env NO_CALLGRIND=1 ROUNDS=3 WORKLOADS="json_100k toml_50k regex format maps")
    else
        mode="full run"
        alloc_rounds=41
        sim_rounds=9
        sim_cases=()
        realworld=(env ROUNDS=9)
    fi
    rm -f "$data"/*.csv
    say "building the benchmarks (alloc_ratio, similarity) and the charts binary..."
    cargo bench -p engram-bench --no-run --bench alloc_ratio --bench similarity
    cargo build -p engram-bench --profile bench --bin charts

    say "alloc_ratio: $alloc_rounds interleaved rounds of every member..."
    ENGRAM_RATIO_ROUNDS=$alloc_rounds ENGRAM_BENCH_CSV="$PWD/$data/alloc.csv" \
        cargo bench -p engram-bench --bench alloc_ratio
    if [ -z "${QUICK:-}" ]; then
        say "callgrind instructions per allocation (scripts/bench-alloc-instr.sh)..."
        CSV="$data/alloc-instr.csv" scripts/bench-alloc-instr.sh
    fi

    say "similarity: $sim_rounds interleaved rounds per case${sim_cases:+ (cases: ${sim_cases[*]})}..."
    ENGRAM_BENCH_ROUNDS=$sim_rounds ENGRAM_BENCH_CSV="$PWD/$data/similarity.csv" \
        cargo bench -p engram-bench --bench similarity -- "${sim_cases[@]}"

    say "real workloads under each global allocator (scripts/bench-global-realworld.sh)..."
    "${realworld[@]}" CSV="$data/realworld.csv" scripts/bench-global-realworld.sh

    cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
    simd=AVX2
    grep -qw avx512f /proc/cpuinfo && simd=AVX-512
    grep -qw avx2 /proc/cpuinfo || simd="no AVX2"
    printf '%s\n' "scripts/charts.sh ($mode), $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD), $cpu ($simd), $(nproc) CPUs" \
        >"$data/caption.txt"
fi

if [ -z "${PLOT_ONLY:-}" ]; then
    mkdir -p "$out/data"
    rm -f "$out/data"/*.csv
    cp "$data"/*.csv "$data/caption.txt" "$out/data/"
elif ! ls "$data"/*.csv >/dev/null 2>&1; then
    data=$out/data
fi
say "drawing the charts from $data/*.csv into $out/..."
cargo run --quiet -p engram-bench --profile bench --bin charts -- "$data" "$out"
