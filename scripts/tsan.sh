#!/usr/bin/env bash
# Runs the code that threads share under ThreadSanitizer: the global allocator's cross-thread
# tests, the process-wide chunk pool, and the stress suite (tests/stress*.rs) at CI scale.
#
# The standard library is rebuilt with the sanitizer (-Zbuild-std), so that its atomics and
# locks are instrumented too; without that TSan reports races inside std's own synchronisation.
# It stays restricted to a few test binaries: a TSan build of std and the crate takes minutes on
# a small machine, and the other tests are single-threaded or covered by Miri.
#
# Reports, and what was done about them: none so far. Every report must be fixed, or explained
# here (what races, why it is benign or not ours) together with the suppression that silences
# it; TSAN_OPTIONS makes the first report fail the run.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
rustup component add --toolchain nightly rust-src >/dev/null
target=x86_64-unknown-linux-gnu

export RUSTFLAGS="-Zsanitizer=thread"
export RUSTDOCFLAGS="$RUSTFLAGS"
export CARGO_TARGET_DIR=target/tsan
export TSAN_OPTIONS="halt_on_error=1 abort_on_error=1 ${TSAN_OPTIONS:-}"
# TSan runs code 5-15x slower: a smaller round than the native default.
export ENGRAM_STRESS_ITERS="${ENGRAM_STRESS_ITERS:-150}"

cargo +nightly test -Zbuild-std --target "$target" \
    --test global_threads --test arena_pool --test stress --test stress_global
