#!/usr/bin/env bash
# Instruction counts (callgrind "Ir") of the global-allocator bench workload, per global
# allocator: deterministic and immune to machine load, unlike wall time. Complements
# scripts/bench-global.sh. Each figure is instructions per workload call, the process start-up
# cost removed by subtracting a run with ITERS_LO iterations from one with ITERS_HI.
#
#   scripts/bench-global-instr.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ITERS_LO=${ITERS_LO:-5}
ITERS_HI=${ITERS_HI:-25}
declare -A BENCH=(
  [system]=global_system [arena_outside]=global_arena [arena_inside]=global_arena
  [mimalloc]=global_mimalloc [arena_mimalloc_outside]=global_arena_mimalloc
  [arena_mimalloc_inside]=global_arena_mimalloc
)
ORDER=(system arena_outside arena_inside mimalloc arena_mimalloc_outside arena_mimalloc_inside)

exe() { # path of the built bench executable
  cargo bench -p engram-bench --no-run --bench "$1" --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == sys.argv[1]:
        print(m["executable"])' "$1"
}

echo "building the global-allocator benches (with mimalloc): a few minutes the first time" >&2
cargo bench -p engram-bench --no-run --bench global_system --bench global_arena \
  --bench global_mimalloc --bench global_arena_mimalloc >/dev/null 2>&1

ir() { # instructions of one run: bench, filter, iterations
  GLOBAL_BENCH_ITERS=$3 GLOBAL_BENCH_FILTER=$2 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    "$(exe "$1")" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

declare -A PER_CALL
for name in "${ORDER[@]}"; do
  lo=$(ir "${BENCH[$name]}" "$name" "$ITERS_LO")
  hi=$(ir "${BENCH[$name]}" "$name" "$ITERS_HI")
  PER_CALL[$name]=$(( (hi - lo) / (ITERS_HI - ITERS_LO) ))
done
base=${PER_CALL[system]}
printf '%-26s %14s %10s\n' workload instr/call "vs System"
for name in "${ORDER[@]}"; do
  printf '%-26s %14d %+9.1f%%\n' "$name" "${PER_CALL[$name]}" \
    "$(python3 -c "print((${PER_CALL[$name]} / $base - 1) * 100)")"
done
