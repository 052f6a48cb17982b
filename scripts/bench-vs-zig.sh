#!/usr/bin/env bash
# Compares this crate's C library with the Zig implementation's exports of the same names, both
# called through the C ABI from one C program (benches/c/vs_zig.c): cosine similarity, decay
# (with a memory floor and a bit-for-bit check against the engine's reference) and the fixed
# cost of tiny calls.
#
# Usage: scripts/bench-vs-zig.sh ZIG_DIR [similarity] [many] [decay] [overhead] [levels]
#   ZIG_DIR  the Zig implementation's directory (the one holding its build.zig); it is built
#            with `zig build -Doptimize=ReleaseFast` for the host CPU, as its README says.
#   sections which parts of vs_zig.c to run (default: all but `many`, which times this library's
#            many-query export alone). `levels` runs the similarity, many and decay parts under
#            ENGRAM_SIMD=avx2 and ENGRAM_SIMD=avx512 in alternating processes, three of each, to
#            compare the two x86 paths.
# Environment: ZIG (default: `zig` on PATH, else Zig 0.13 from PyPI's `ziglang` package, installed
# into target/zig-venv), ENGRAM_BENCH_ROUNDS (default 9).
#
# The Zig library exports the same engram_* names as ours, so its copy is renamed zig_engram_*
# with objcopy before linking. Not run in CI: it needs the Zig sources.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
[[ $# -ge 1 && -f $1/build.zig ]] || { echo "usage: scripts/bench-vs-zig.sh ZIG_DIR (with build.zig) [SECTION...]" >&2; exit 2; }
src=$(realpath "$1")
shift
levels=0
sections=()
for a in "$@"; do
    case $a in
        levels) levels=1 ;;
        similarity|many|decay|overhead) sections+=("$a") ;;
        *) echo "unknown section $a" >&2; exit 2 ;;
    esac
done

zig=(${ZIG:-})
if [[ ${#zig[@]} -eq 0 ]]; then
    if command -v zig >/dev/null; then
        zig=(zig)
    else
        venv="$root/target/zig-venv"
        [[ -x $venv/bin/python ]] || python3 -m venv "$venv"
        "$venv/bin/python" -c 'import ziglang' 2>/dev/null || "$venv/bin/pip" install -q ziglang==0.13.0
        zig=("$venv/bin/python" -m ziglang)
    fi
fi

work="$root/target/vs-zig"
rm -rf "$work" && mkdir -p "$work"
cp -r "$src" "$work/zig"
echo "building the Zig library (zig build -Doptimize=ReleaseFast)" >&2
(cd "$work/zig" && "${zig[@]}" build -Doptimize=ReleaseFast)
zlib=$(find "$work/zig/zig-out/lib" -name '*.a' | head -n1)
renames=()
for sym in $(nm --defined-only -g "$zlib" 2>/dev/null | awk '$2 == "T" && $3 ~ /^engram_/ {print $3}'); do
    renames+=(--redefine-sym "$sym=zig_$sym")
done
# Zig's archive members carry absolute paths, which objcopy refuses: relink them as one object
# (built without -fPIE, so the program links with -no-pie).
ld -r -o "$work/zig_kernels.o" --whole-archive "$zlib"
objcopy "${renames[@]}" "$work/zig_kernels.o"

echo "building the C library (scripts/dist.sh): a minute or two the first time" >&2
scripts/dist.sh >/dev/null 2>&1
# -O3 vectorises the memory floor's loop; the kernels themselves come prebuilt.
gcc -O3 -no-pie -o "$work/vs_zig" benches/c/vs_zig.c -I target/dist/include \
    target/dist/lib/libengram_kernels.a "$work/zig_kernels.o" -lm -lpthread -ldl
if [[ $levels -eq 0 || ${#sections[@]} -gt 0 ]]; then
    "$work/vs_zig" "${sections[@]}"
fi
if [[ $levels -eq 1 ]]; then
    # ENGRAM_SIMD is read once per process, so the levels alternate between processes.
    for round in 1 2 3; do
        for level in avx2 avx512; do
            echo "== ENGRAM_SIMD=$level, round $round"
            ENGRAM_SIMD=$level "$work/vs_zig" similarity many decay
        done
    done
fi
