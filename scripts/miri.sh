#!/usr/bin/env bash
# Runs the soundness-critical tests under Miri with strict provenance.
#
# Installs the nightly toolchain's Miri if it is missing (CI starts from a fresh machine).
# Test files are discovered, not listed: every tests/*.rs runs, except the kernels' (far too slow
# under Miri at their sizes), the layer check (it reads the sources), the tests that spawn child
# processes or read the environment at start-up, and the tokio runtime test (its I/O driver is
# beyond Miri; the same adapter runs under Miri with a hand-written executor in global_future).
# The kernels' SIMD loads are checked by `kernels_levels`, a small
# file run last with the AVX2, FMA and AVX-512F target features on, so that Miri executes those
# paths whatever CPU runs it (the AVX-512 decay path and the AVX-512 PQ gathers use intrinsics
# Miri does not implement).
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
cargo +nightly miri test --lib --all-features -- bump:: raw:: scratch:: metrics:: config:: arena:: global:: kernels::
# The C layer's argument checks (pointer and length to slice), in the engram-kernels-c crate.
cargo +nightly miri test -p engram-kernels-c --lib

skip='^(kernels_.*|global_stdio_env|global_tokio|config_env.*|layers)$'
tests=()
for f in tests/*.rs; do
    name=$(basename "$f" .rs)
    [[ "$name" =~ $skip ]] && continue
    tests+=(--test "$name")
done
echo "Miri over: ${tests[*]}"
cargo +nightly miri test "${tests[@]}"

# The cosine kernels' AVX2 and AVX-512 paths under Miri: masked tails, part remainders, spare
# query slots. Its own target directory, since the flags change every crate.
RUSTFLAGS="-C target-feature=+avx2,+fma,+avx512f" CARGO_TARGET_DIR=target/miri-simd \
    cargo +nightly miri test --features kernels --test kernels_levels
