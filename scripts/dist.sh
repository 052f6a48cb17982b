#!/usr/bin/env bash
# Builds the C library (the capi/ crate, engram-kernels-c) into target/dist/ (or --out DIR):
#
#   lib/libengram_kernels.a          one relocatable object whose only global symbols are the
#                                    engram_* exports; the Rust runtime inside it (std, core,
#                                    alloc, hashbrown, compiler-builtins, rust_eh_personality and
#                                    its DW.ref COMDAT) is local, so it links into C programs and
#                                    into Rust programs built by any rustc, with or without LTO
#   lib/libengram_kernels.so         exports only engram_*; soname libengram_kernels.so.<abi>
#   include/engram_kernels.h
#   lib/pkgconfig/engram_kernels.pc
#
# Usage: scripts/dist.sh [--toolchain NAME] [--out DIR]
#   --toolchain 1.89   build with that rustup toolchain (CI builds the MSRV archive this way)
#
# Needs binutils (ld, objcopy, nm, ar, readelf). The build has its own target directory, so the
# ordinary `cargo build` artefacts are left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

toolchain=""
out="$root/target/dist"
while [[ $# -gt 0 ]]; do
    case $1 in
        --toolchain) toolchain=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) echo "usage: scripts/dist.sh [--toolchain NAME] [--out DIR]" >&2; exit 2 ;;
    esac
done
out=$(realpath -m "$out")
for tool in ld objcopy nm ar readelf perl; do
    command -v "$tool" >/dev/null || { echo "dist.sh: $tool (binutils) is missing" >&2; exit 1; }
done

cargo=(cargo)
[[ -n $toolchain ]] && cargo=(cargo "+$toolchain")
build="$root/target/dist-build${toolchain:+-$toolchain}"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' capi/Cargo.toml | head -n1)
# The soname changes when the ABI may: on the major version, or on the minor one before 1.0.
IFS=. read -r major minor _ <<<"$version"
abi=$major
[[ $major == 0 ]] && abi="0.$minor"
soname="libengram_kernels.so.$abi"

# No debug info in the shipped build (the release profile keeps line tables for profiling).
export CARGO_PROFILE_RELEASE_DEBUG=false
# rustc's own version script for a cdylib exports exactly the #[no_mangle] items; the soname is
# ours. Both crate types come from one compilation. The crate's own name is engram_kernels_c
# (engram_kernels is the Rust library it wraps); the files shipped below take the C name.
CARGO_TARGET_DIR=$build "${cargo[@]}" rustc --release -p engram-kernels-c --lib \
    --crate-type staticlib,cdylib -- -C link-arg=-Wl,-soname,"$soname"
staticlib="$build/release/libengram_kernels_c.a"
cdylib="$build/release/libengram_kernels_c.so"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The exports: every engram_* symbol the staticlib defines, which must be exactly what the header
# declares (capi/tests/header.rs checks the header against the Rust source).
readelf -sW "$staticlib" | awk '($5 == "GLOBAL" || $5 == "WEAK") && $7 != "UND" && $8 ~ /^engram_/ {print $8}' |
    sort -u >"$tmp/exports"
perl -0777 -pe 's{/\*.*?\*/}{}gs' include/engram_kernels.h |
    grep -o '\bengram_[a-z0-9_]*[[:space:]]*(' | tr -d ' (' | sort -u >"$tmp/declared"
if ! diff -u "$tmp/declared" "$tmp/exports"; then
    echo "dist.sh: the header's declarations (-) and the library's exports (+) differ" >&2
    exit 1
fi

# 1. One relocatable object: every member of the staticlib, minus the sections the exports and
#    the runtime's init/unwind tables cannot reach (ld -r --gc-sections, rooted at the exports).
#    One object named engram_kernels.o also means rustc's LTO never mistakes a member for a Rust
#    object whose bitcode it should load.
roots=()
while read -r sym; do roots+=(-u "$sym"); done <"$tmp/exports"
ld -r --whole-archive --gc-sections "${roots[@]}" "$staticlib" -o "$tmp/linked.o"
# 2. Only the exports stay global. The personality routine's DW.ref pointer sits in a COMDAT group
#    whose signature every Rust program also has: renamed, the linker never merges ours with the
#    client's (which would point our unwind tables at another std's personality, or theirs at a
#    discarded section). Embedded bitcode and debug info go.
#    `ld -r --gc-sections` leaves the weak references of dropped code (pidfd_spawnp, ...) behind as
#    undefined symbols that objcopy would then make strong; they are removed where nothing refers
#    to them, so the client's libc need not have them.
readelf -sW "$tmp/linked.o" | awk '$7 == "UND" && $8 != "" {print $8}' | sort -u >"$tmp/undefined"
objcopy --keep-global-symbols="$tmp/exports" --strip-unneeded-symbols="$tmp/undefined" \
    --redefine-sym DW.ref.rust_eh_personality=engram_kernels.DW.ref.rust_eh_personality \
    --remove-section=.llvmbc --remove-section=.llvmcmd --strip-debug \
    "$tmp/linked.o" "$tmp/engram_kernels.o"

rm -rf "$out"
mkdir -p "$out/lib/pkgconfig" "$out/include"
(cd "$tmp" && ar rcsD "$out/lib/libengram_kernels.a" engram_kernels.o)
objcopy --strip-debug "$cdylib" "$out/lib/$soname"
ln -s "$soname" "$out/lib/libengram_kernels.so"
cp include/engram_kernels.h "$out/include/"
cat >"$out/lib/pkgconfig/engram_kernels.pc" <<EOF
prefix=\${pcfiledir}/../..
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: engram_kernels
Description: Per-thread scratch arenas and SIMD graph-memory kernels (C ABI of engram-kernels)
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lengram_kernels
Libs.private: -lpthread -ldl -lm
EOF

# The checks CI relies on: nothing but engram_* is global in the archive or dynamic in the .so,
# no bitcode or debug sections remain, and the .so carries its soname.
fail=0
check_exports() { # $1: description, stdin: symbol names
    local bad
    bad=$(grep -v '^engram_' || true)
    if [[ -n $bad ]]; then
        echo "dist.sh: $1 has global symbols outside engram_*:" >&2
        echo "$bad" | head -n 20 >&2
        fail=1
    fi
}
nm -g --defined-only "$out/lib/libengram_kernels.a" | awk 'NF == 3 {print $3}' |
    check_exports libengram_kernels.a
nm -D --defined-only "$out/lib/$soname" | awk 'NF == 3 {print $3}' | check_exports "$soname"
if nm -g --defined-only "$out/lib/libengram_kernels.a" | awk 'NF == 3 {print $3}' | sort |
    diff -q - "$tmp/exports" >/dev/null; then :; else
    echo "dist.sh: libengram_kernels.a does not define every export" >&2
    fail=1
fi
if readelf -SW "$out/lib/libengram_kernels.a" "$out/lib/$soname" | grep -E '\.(llvmbc|llvmcmd|debug_)'; then
    echo "dist.sh: bitcode or debug sections remain" >&2
    fail=1
fi
readelf -dW "$out/lib/$soname" | grep -q "SONAME.*\[$soname\]" ||
    { echo "dist.sh: $soname lacks its soname" >&2; fail=1; }
# Every undefined symbol left is a reference some kept code makes, with its binding unchanged.
if readelf -sW "$out/lib/libengram_kernels.a" | awk '$7 == "UND" && $8 != "" && $5 == "LOCAL"' | grep .; then
    echo "dist.sh: local undefined symbols remain" >&2
    fail=1
fi
[[ $fail == 0 ]] || exit 1

rustc_cmd=(rustc)
[[ -n $toolchain ]] && rustc_cmd=(rustc "+$toolchain")
echo "dist.sh: built $out with $("${rustc_cmd[@]}" --version)"
(cd "$out" && find . -type f -o -type l | sort | while read -r f; do
    printf '  %-40s %s\n' "$f" "$(du -h --apparent-size "$f" | cut -f1)"
done)
