#!/usr/bin/env bash
# Packages the crate as crates.io would receive it, and builds the package: proves that the
# published crate holds everything its build and its docs need (the README the crate docs
# include, every module) and nothing it should not (the `include` list in Cargo.toml).
#
# It works on a copy of the files git knows (so nothing local slips into the package) with the
# manifest's `publish = false` removed, as a release would have it. The verification build
# compiles the unpacked crate once, with every feature, in the copy's own target directory
# (about half a minute).
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work"
sed -i '/^publish = false$/d' "$work/Cargo.toml"

cd "$work"
echo "packaging engram-kernels and building the package (all features): about half a minute"
cargo package -p engram-kernels --allow-dirty --all-features 2>&1 | grep -v "^ *Compiling"
list=$(cargo package -p engram-kernels --allow-dirty --list)
for must in README.md src/lib.rs LICENSE-MIT LICENSE-APACHE; do
    grep -qx "$must" <<<"$list" || { echo "check-package: $must is not in the package" >&2; exit 1; }
done
if grep -E '^(benches|capi|fuzz|scripts|include|\.ci)/' <<<"$list"; then
    echo "check-package: the files above do not belong in the package" >&2
    exit 1
fi
size=$(stat -c %s target/package/engram-kernels-*.crate)
echo "check-package: ok ($(grep -c . <<<"$list") files, $((size / 1024)) KiB compressed)"
