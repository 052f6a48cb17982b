#!/usr/bin/env bash
# Runs the arena soundness tests under AddressSanitizer with arena poisoning on
# (`--cfg engram_asan`: free arena memory is poisoned, allocation unpoisons exactly the block),
# and the stress suite (tests/stress*.rs) at CI scale, then shows that a deliberately bad rewind
# is caught.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
target=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Zsanitizer=address --cfg engram_asan"
export RUSTDOCFLAGS="$RUSTFLAGS"
export CARGO_TARGET_DIR=target/asan
asan_test() { cargo +nightly test --all-features --target "$target" "$@"; }

asan_test --lib -- raw:: arena:: scratch:: bump::
asan_test --test arena --test arena_chunks --test arena_pool --test scratch --test scratch_policy \
    --test prop_arena
# The stress suite at CI scale: cross-thread frees, pool traffic, GlobalArena scopes.
asan_test --test stress --test stress_global

echo "--- a deliberately bad rewind must be reported by ASan ---"
if out=$(asan_test --lib -- --ignored --exact raw::tests::poisoning_catches_a_bad_rewind 2>&1); then
    echo "$out" | tail -20
    echo "FAIL: the bad rewind was not caught" >&2
    exit 1
fi
if ! grep -q "use-after-poison" <<<"$out"; then
    echo "$out" | tail -40
    echo "FAIL: the test failed, but not with ASan's use-after-poison report" >&2
    exit 1
fi
echo "ok: ASan reported use-after-poison for the bad rewind"
