#!/usr/bin/env bash
# The one-way import rule: fails when a module refers to a module of a higher layer (shared
# leaves → raw core → Arena and scratch side by side → global → kernels → the C library crate).
# The rule, the layer of each file and the resolution of paths are in tests/layers.rs; this runs
# just that test.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --quiet --test layers
