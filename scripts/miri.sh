#!/usr/bin/env bash
# Runs the soundness-critical tests under Miri with strict provenance.
#
# Installs the nightly toolchain's Miri if it is missing (CI starts from a fresh machine).
# Test files are discovered, not listed: every tests/*.rs runs, except the kernels' (SIMD
# arithmetic with no unsafe memory handling of its own, and far too slow under Miri), the C
# header check, and the tests that spawn child processes or read the environment at start-up.
# Proptest cases are kept low: Miri is ~1000x slower than native, and the native run of the same
# property tests covers the breadth.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo +nightly miri --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal --component miri,rust-src
fi
cargo +nightly miri setup >/dev/null

export MIRIFLAGS="${MIRIFLAGS:--Zmiri-strict-provenance}"
export PROPTEST_CASES="${PROPTEST_CASES:-4}"

# Unit tests of the pure arithmetic, chunks, spills, metrics, config and the global allocator.
cargo +nightly miri test --lib -- bump:: scratch:: metrics:: config:: arena:: global:: ffi:: kernels::

skip='^(kernels_.*|ffi_header|global_stdio_env|config_env.*)$'
tests=()
for f in tests/*.rs; do
    name=$(basename "$f" .rs)
    [[ "$name" =~ $skip ]] && continue
    tests+=(--test "$name")
done
echo "Miri over: ${tests[*]}"
cargo +nightly miri test "${tests[@]}"
