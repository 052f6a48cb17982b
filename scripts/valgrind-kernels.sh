#!/usr/bin/env bash
# Runs the kernel test binaries under valgrind memcheck.
#
# valgrind 3.19 cannot decode AVX-512, so the kernels are capped at AVX2+FMA (ENGRAM_SIMD=avx2);
# the tests still force the scalar and AVX2 paths in turn. Proptest cases are reduced to keep the
# run short (override with PROPTEST_CASES).
#
# Usage: scripts/valgrind-kernels.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null; then
    SUDO=""
    if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
    $SUDO apt-get update && $SUDO apt-get install -y valgrind
fi

export ENGRAM_SIMD=avx2
export PROPTEST_CASES="${PROPTEST_CASES:-6}"
# proptest writes regression files next to the tests; not wanted from a memcheck run.
export PROPTEST_FAILURE_PERSISTENCE=off

tests=(kernels_similarity kernels_many kernels_fixed kernels_decay kernels_dispatch kernels_scratch kernels_pq)
args=()
for t in "${tests[@]}"; do args+=(--test "$t"); done

# Release build (debug info is on in the release profile) so valgrind's slowdown stays tolerable.
build_log=$(cargo test --release --no-run --features kernels "${args[@]}" "$@" 2>&1) || { echo "$build_log"; exit 1; }
echo "$build_log" | grep -E 'Executable' || true

status=0
for t in "${tests[@]}"; do
    exe=$(echo "$build_log" | sed -n "s/.*Executable tests\/$t\.rs (\(.*\))/\1/p" | tail -n1)
    if [ -z "$exe" ]; then
        echo "valgrind-kernels: no executable found for $t" >&2
        exit 1
    fi
    echo "== valgrind memcheck: $t ($exe)"
    valgrind --tool=memcheck --error-exitcode=1 --leak-check=no --track-origins=yes \
        --quiet "$exe" --test-threads=2 || status=1
done
exit $status
