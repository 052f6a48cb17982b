#!/usr/bin/env bash
# Runs the soundness-critical tests under Miri with strict provenance.
#
# Installs the nightly toolchain's Miri if it is missing (CI starts from a fresh machine).
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

# Unit tests of the pure arithmetic, the spill list, metrics and config.
cargo +nightly miri test --lib -- bump:: scratch:: metrics:: config:: arena::
# The arena core, scratch scopes (nesting, outer handles, panics, teardown, threads), the model
# checker, and process-wide metrics.
cargo +nightly miri test --test arena --test scratch --test prop_arena --test metrics
