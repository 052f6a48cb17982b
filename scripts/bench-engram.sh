#!/usr/bin/env bash
# Runs the Engram engine's own kernel benchmarks (engram-core/benches/decay_comparison.rs,
# spreading_comparison.rs, vector_similarity_comparison.rs) against two builds of the C library
# and prints, per benchmark id, the time with LIB_A over the time with LIB_B.
#
# Usage: scripts/bench-engram.sh ENGRAM_DIR LIB_A LIB_B
#   ENGRAM_DIR  a checkout of the Engram engine (with engram-core/ and zig/)
#   LIB_A/B     two libengram_kernels.a files: say the Zig implementation's
#               (zig/zig-out/lib/libengram_kernels.a after `zig build -Doptimize=ReleaseFast`) and
#               this crate's (target/dist/lib/libengram_kernels.a from scripts/dist.sh)
# Environment: ENGRAM_BENCH_ROUNDS (default 2), ENGRAM_CRITERION_ARGS (default
#   "--warm-up-time 1 --measurement-time 3").
#
# Engram links the library through its `zig-kernels` feature: engram-core/build.rs runs
# `zig build` in ENGRAM_DIR/zig and links zig/zig-out/lib/libengram_kernels.a statically. Here a
# stand-in `zig` on PATH copies the library under test there instead; the benchmarks are built
# once per library (the dependencies once for both) and the runs alternate A, B, A, B. Ids whose name says "rust" time Engram's own Rust code, which
# does not call the library: their ratio shows the noise.
#
# Not run in CI: it needs an Engram checkout and builds it (about 300 crates with fat LTO: some
# 20 minutes on 2 cores, then engram-core and the three benchmarks once more for the second
# library). Engram's dependencies need hwloc and libudev (Debian: libhwloc-dev libudev-dev
# pkg-config).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
usage="usage: scripts/bench-engram.sh ENGRAM_DIR LIB_A LIB_B"
[[ $# -eq 3 ]] || { echo "$usage" >&2; exit 2; }
engram=$(realpath "$1")
libs=("$(realpath "$2")" "$(realpath "$3")")
[[ -f $engram/engram-core/build.rs && -d $engram/zig ]] ||
    { echo "$engram is not an Engram checkout (no engram-core/build.rs or zig/)" >&2; exit 2; }
for lib in "${libs[@]}"; do
    [[ -f $lib ]] || { echo "no such library: $lib" >&2; exit 2; }
done
rounds=${ENGRAM_BENCH_ROUNDS:-2}
read -r -a criterion_args <<<"${ENGRAM_CRITERION_ARGS:---warm-up-time 1 --measurement-time 3}"
benches=(decay_comparison spreading_comparison vector_similarity_comparison)
work="$root/target/bench-engram"
host=$(rustc -vV | sed -n 's/^host: //p')
mkdir -p "$work"

# The stand-in writes zig/zig-out/lib/libengram_kernels.a: keep the checkout's own file (often
# LIB_A itself) and put it back at the end.
zig_out="$engram/zig/zig-out/lib/libengram_kernels.a"
restore=()
if [[ -f $zig_out ]]; then
    cp "$zig_out" "$work/zig-out.saved"
    restore+=("cp '$work/zig-out.saved' '$zig_out'")
fi
# Engram's manifest declares spreading_comparison with `harness = false` but not the other two,
# so cargo builds them with the libtest harness, which runs none of their criterion benchmarks.
# Declare them for the run (the benchmark sources stay as they are) and put the manifest back.
manifest="$engram/engram-core/Cargo.toml"
cp "$manifest" "$work/Cargo.toml.saved"
restore+=("cp '$work/Cargo.toml.saved' '$manifest'")
trap 'for c in "${restore[@]}"; do eval "$c"; done' EXIT
for b in "${benches[@]}"; do
    grep -q "^name = \"$b\"" "$manifest" ||
        printf '\n[[bench]]\nname = "%s"\nharness = false\n' "$b" >>"$manifest"
done

# Builds the benchmarks against one library; prints the directory holding its stand-in, its copy
# of the library, its benchmark executables (benches/) and its criterion data (target/).
# The dependencies (a few hundred crates, fat LTO) are built once, in one target directory shared
# by both libraries; only engram-core and the benchmarks are rebuilt for the second.
build() {
    local dir
    dir="$work/$(sha256sum "$1" | cut -c1-16)"
    mkdir -p "$dir/bin" "$dir/benches"
    cp "$1" "$dir/libengram_kernels.a"
    local lib="$dir/libengram_kernels.a"
    cat >"$dir/bin/zig" <<EOF
#!/bin/sh
# Stand-in for Engram's build script: "building" the Zig library copies the one under test.
case "\$1" in
    version) echo 0.13.0 ;;
    build) mkdir -p zig-out/lib && cp "$lib" zig-out/lib/libengram_kernels.a ;;
    *) echo "stand-in zig: unsupported command \$1" >&2; exit 1 ;;
esac
EOF
    chmod +x "$dir/bin/zig"
    # engram-core's build script reruns when build.rs changes: that runs the stand-in (the copy)
    # and rebuilds engram-core, which bundles the static library, before the benchmarks link.
    touch "$engram/engram-core/build.rs"
    # -no-pie: `zig build` makes position-dependent objects, which a PIE cannot link; both
    # libraries get the same flag. The library is also named to the linker of every program:
    # the similarity and decay benchmarks declare the exports themselves, and under fat LTO the
    # copy bundled into engram-core does not reach their link. Its path is the same for both
    # libraries (the flags, and so the dependencies' build, stay the same). An explicit --target
    # keeps all this off the proc macros and build scripts (shared objects and host programs,
    # which RUSTFLAGS then do not reach).
    cp "$lib" "$work/libengram_kernels.a"
    (cd "$engram" && PATH="$dir/bin:$PATH" CARGO_TARGET_DIR="$work/target" \
        RUSTFLAGS="${RUSTFLAGS:-} -C link-arg=-no-pie -C link-arg=$work/libengram_kernels.a" \
        cargo bench -p engram-core --features zig-kernels --no-run --target "$host" \
        $(printf -- '--bench %s ' "${benches[@]}") >&2)
    local b exe
    for b in "${benches[@]}"; do
        exe=$(find "$work/target/$host/release/deps" -maxdepth 1 -type f -executable -name "$b-*" \
            -newer "$lib" | head -n1)
        [[ -n $exe ]] || { echo "no $b benchmark built for $1" >&2; exit 1; }
        cp "$exe" "$dir/benches/$b"
    done
    echo "$dir"
}

dirs=()
for lib in "${libs[@]}"; do
    dir=$(build "$lib") # a plain assignment, so that a failed build stops the script
    dirs+=("$dir")
done

for ((r = 1; r <= rounds; r++)); do
    for i in 0 1; do
        for b in "${benches[@]}"; do
            exe="${dirs[i]}/benches/$b"
            echo "round $r, library $((i + 1)) (${libs[i]}): $b" >&2
            # Criterion keeps its data under the target directory: one per library, so a run
            # never compares itself with the other library's.
            (cd "$engram/engram-core" && CARGO_TARGET_DIR="${dirs[i]}/target" \
                "$exe" --bench "${criterion_args[@]}") >"$work/run-$r-$i-$b.txt" 2>&1
        done
    done
done

# Criterion prints "id  time: [low estimate high]" (the id on its own line when it is long).
python3 - "$work" "$rounds" <<'EOF'
import re, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
unit = {"ps": 1e-3, "ns": 1.0, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}
pat = re.compile(r"^(\S[^\n]*?)\s*\n?\s+time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", re.M)
times = {}  # (bench file, id) -> [[A times], [B times]]
for b in ["decay_comparison", "spreading_comparison", "vector_similarity_comparison"]:
    for r in range(1, rounds + 1):
        for i in (0, 1):
            text = open(f"{work}/run-{r}-{i}-{b}.txt", encoding="utf-8").read()
            for name, value, u in pat.findall(text):
                times.setdefault(name.strip(), ([], []))[i].append(float(value) * unit[u])
print(f"{'benchmark id':<60} {'LIB_A':>12} {'LIB_B':>12} {'A/B':>7}")
for name, (a, b) in times.items():
    if a and b:
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"{name:<60} {ma:>9.1f} ns {mb:>9.1f} ns {ma / mb:>7.2f}")
EOF
