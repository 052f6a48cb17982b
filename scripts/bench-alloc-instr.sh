#!/usr/bin/env bash
# Instructions per operation of the alloc_ratio members, from callgrind: each member runs for a
# short and a long number of rounds and the difference is divided by the extra operations, so
# start-up and warm-up cancel. Stable on a noisy machine, unlike wall time.
#
#   scripts/bench-alloc-instr.sh                 # default profile
#   PROFILE=bench-lto scripts/bench-alloc-instr.sh
#   CSV=target/charts/alloc-instr.csv scripts/bench-alloc-instr.sh   # also write member,instr_per_op
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${PROFILE:-bench}"
echo "building alloc_ratio with the peers (bumpalo, bump-scope, mimalloc, simsimd, numkong) in profile $profile: a few minutes the first time" >&2
bin=$(cargo bench -p engram-bench --profile "$profile" --no-run --bench alloc_ratio \
    --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "alloc_ratio" and m.get("executable"):
        print(m["executable"])')
# member, operations per round
members=(
    "loop32k_with_arena 32768" "loop32k_arena_fixed 32768" "loop32k_arena_growable 32768"
    "loop32k_bumpalo 32768" "loop32k_bump_scope 32768"
    "mixed_with_arena 4096" "mixed_arena_fixed 4096" "mixed_bumpalo 4096" "mixed_bump_scope 4096"
    "scope_with_arena_empty 10000" "scope_with_arena 10000" "scope_nested 10000"
    "scope_bump_scope 10000"
)
echo "running each member twice under callgrind (${#members[@]} members, about 10 s each)" >&2
printf '%-26s %14s\n' member "instr/op"
if [ -n "${CSV:-}" ]; then echo "member,instr_per_op" >"$CSV"; fi
for entry in "${members[@]}"; do
    read -r name ops <<<"$entry"
    ir() {
        ENGRAM_RATIO_ONLY="$name" ENGRAM_RATIO_ROUNDS="$1" valgrind --tool=callgrind \
            --callgrind-out-file=/dev/null "$bin" 2>&1 >/dev/null |
            sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
    }
    short=$(ir 2)
    long=$(ir 12)
    python3 -c "print(f'{\"$name\":<26} {($long - $short) / (10 * $ops):14.1f}')"
    if [ -n "${CSV:-}" ]; then
        python3 -c "print(f'$name,{($long - $short) / (10 * $ops)}')" >>"$CSV"
    fi
done
