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

# Unit tests of the pure arithmetic, the spill list, metrics, config and the global arena region.
cargo +nightly miri test --lib -- bump:: scratch:: metrics:: config:: arena:: global::
# The arena core, scratch scopes (nesting, outer handles, panics, teardown, threads), the model
# checker, process-wide metrics, and the arena String on every handle.
cargo +nightly miri test --test arena --test scratch --test prop_arena --test metrics \
    --test collections_string
# The global allocator: each test binary installs its own #[global_allocator]. (global_stdio_env
# spawns child processes and skips itself under Miri.)
cargo +nightly miri test --test global_counting --test global_escape --test global_realloc \
    --test global_threads --test global_scratch --test global_reentrant
