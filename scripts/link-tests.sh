#!/usr/bin/env bash
# Link tests of the C library, each a real build that runs and checks kernel values:
#   1. scripts/dist.sh (which fails if the archive has a global symbol outside engram_*);
#   2. every tests/c/*_test.c against libengram_kernels.a and libengram_kernels.so;
#   3. tests/link-client, a Rust program laid out like the engine (a library crate declaring the
#      exports with #[link(kind = "static")], a binary on top, mimalloc as global allocator),
#      built with fat LTO + codegen-units=1 + panic=abort, with thin LTO, and with the dev profile;
#   4. the archive built by the MSRV toolchain (rust-version in Cargo.toml, installed with rustup)
#      linked into that client built by the default toolchain, under fat LTO and dev.
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

msrv=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml)
client="$root/tests/link-client/Cargo.toml"
export CARGO_TARGET_DIR="$root/target/link-client"

run_client() { # $1: dist directory, $2: cargo profile
    local dir=$2
    [[ $2 == dev ]] && dir=debug
    echo "== Rust client, profile $2, archive from $1"
    ENGRAM_DIST=$1 cargo build --quiet --manifest-path "$client" --profile "$2"
    "$CARGO_TARGET_DIR/$dir/engram-link-client"
}

echo "== scripts/dist.sh"
bash scripts/dist.sh
ENGRAM_DIST="$root/target/dist" bash scripts/c-abi-test.sh
for profile in release release-thin dev; do
    run_client "$root/target/dist" "$profile"
done

echo "== the MSRV ($msrv) archive in a client built by $(rustc --version)"
rustup toolchain install "$msrv" --profile minimal >/dev/null
if [[ $(rustc "+$msrv" --version) == "$(rustc --version)" ]]; then
    echo "link-tests: the default toolchain is the MSRV; the cross-version test proves nothing" >&2
    exit 1
fi
bash scripts/dist.sh --toolchain "$msrv" --out "$root/target/dist-msrv"
for profile in release dev; do
    run_client "$root/target/dist-msrv" "$profile"
done
echo "link-tests: all passed"
