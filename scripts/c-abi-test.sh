#!/usr/bin/env bash
# The C ABI test: builds target/dist with scripts/dist.sh (or uses ENGRAM_DIST=DIR, a directory
# dist.sh made), then compiles every tests/c/*_test.c against include/engram_kernels.h with
# warnings as errors, links each twice, against libengram_kernels.a and against
# libengram_kernels.so, with the flags from engram_kernels.pc, and runs all of them. Exits
# non-zero on any failure.
#
# VALGRIND=1 scripts/c-abi-test.sh runs the statically linked programs under valgrind (memcheck)
# with the scalar kernels (ENGRAM_SIMD=scalar), since valgrind cannot decode AVX-512.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z ${ENGRAM_DIST:-} ]]; then
    bash scripts/dist.sh
    ENGRAM_DIST=target/dist
fi
dist=$(realpath "$ENGRAM_DIST")
command -v pkg-config >/dev/null || { echo "c-abi-test: pkg-config is missing" >&2; exit 1; }
export PKG_CONFIG_PATH="$dist/lib/pkgconfig"
cflags=(-std=c11 -Wall -Wextra -Werror -O2 $(pkg-config --cflags engram_kernels))
# -lpthread -lm at the end of each link are the test programs' own needs (threads, exp).
shared_libs=($(pkg-config --libs engram_kernels) -Wl,-rpath,"$dist/lib" -lpthread -lm)
# The archive by path (a plain -l would pick the .so beside it), then what Libs.private says a
# static link needs.
static_libs=("$dist/lib/libengram_kernels.a")
for flag in $(pkg-config --static --libs-only-l engram_kernels); do
    [[ $flag == -lengram_kernels ]] || static_libs+=("$flag")
done

# Position-independent: the whole archive links into a shared object.
gcc -shared -o target/c-abi-pic-check.so -Wl,--whole-archive "$dist/lib/libengram_kernels.a" \
    -Wl,--no-whole-archive "${static_libs[@]:1}"

shopt -s nullglob
sources=(tests/c/*_test.c)
[[ ${#sources[@]} -gt 0 ]] || { echo "c-abi-test: no tests/c/*_test.c" >&2; exit 1; }
soname=$(cd "$dist/lib" && echo libengram_kernels.so.*)
mkdir -p target/c-abi
for src in "${sources[@]}"; do
    name=$(basename "$src" .c)
    gcc "${cflags[@]}" "$src" "${static_libs[@]}" -o "target/c-abi/$name-static"
    gcc "${cflags[@]}" "$src" "${shared_libs[@]}" -o "target/c-abi/$name-shared"
    # Each program really uses the library it was linked against.
    if readelf -dW "target/c-abi/$name-static" | grep -q "NEEDED.*libengram_kernels"; then
        echo "c-abi-test: $name-static depends on the shared library" >&2
        exit 1
    fi
    readelf -dW "target/c-abi/$name-shared" | grep -q "NEEDED.*\[$soname\]" ||
        { echo "c-abi-test: $name-shared does not load $soname" >&2; exit 1; }
    for kind in static shared; do
        echo "== $name ($kind)"
        if [[ ${VALGRIND:-0} == 1 && $kind == static ]]; then
            ENGRAM_SIMD=scalar valgrind --error-exitcode=9 --quiet "target/c-abi/$name-$kind"
        elif [[ ${VALGRIND:-0} != 1 ]]; then
            "target/c-abi/$name-$kind"
        fi
    done
done
