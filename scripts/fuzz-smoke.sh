#!/usr/bin/env bash
# A short run of each cargo-fuzz target (FUZZ_SECONDS each, 30 by default): the bump arithmetic
# against 128-bit reference arithmetic, and random allocate / grow / shrink / free / scope /
# reset sequences over fixed, growable and scratch arenas with content and overlap checks.
#
# Longer runs: `cd fuzz && cargo +nightly fuzz run arena_ops -O -- -max_total_time=3600`
# (any target; crashes land in fuzz/artifacts/ and replay with `cargo fuzz run TARGET FILE`).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
seconds="${FUZZ_SECONDS:-30}"
cargo +nightly fuzz build -O
for target in bump arena_ops; do
    echo "--- fuzz $target for ${seconds}s ---"
    cargo +nightly fuzz run "$target" -O -- -max_total_time="$seconds" 2>&1 | tail -n 3
    test "${PIPESTATUS[0]}" -eq 0
done
