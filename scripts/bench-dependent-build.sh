#!/usr/bin/env bash
# What depending on the crate costs a new user: a fresh binary crate with one dependency,
# `cargo build --release` from an empty target/, against the same program on bumpalo and
# bump-scope. Rounds are interleaved (one build of each dependent per round) and the medians
# printed, so a noisy machine slows every dependent alike.
#
# Usage: scripts/bench-dependent-build.sh [ROUNDS]   (default 5)
# Prints, per dependent: median wall seconds, median CPU seconds (user + system), target/ size,
# and each figure as a ratio to bump-scope's. It also checks that `cargo tree -e normal` of the
# dependent names no C-library crate and that the build leaves no static or shared library.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
rounds=${1:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# name | dependency line | program
dependents=(
    "engram-kernels|engram-kernels = { path = \"$repo\" }|use engram_kernels::ArenaAlloc; let a = engram_kernels::Arena::new(); let x = (&a).alloc(5u32); println!(\"{x}\");"
    "engram-kernels+kernels|engram-kernels = { path = \"$repo\", features = [\"kernels\"] }|let s = engram_kernels::kernels::similarity::cosine_similarity(&[1.0f32, 0.0], &[1.0, 0.0]); println!(\"{s:?}\");"
    "bumpalo|bumpalo = \"3\"|let b = bumpalo::Bump::new(); let x = b.alloc(5u32); println!(\"{x}\");"
    "bump-scope|bump-scope = \"2\"|let b: bump_scope::Bump = bump_scope::Bump::new(); let x = b.alloc(5u32); println!(\"{x}\");"
)

for entry in "${dependents[@]}"; do
    IFS='|' read -r name dep program <<<"$entry"
    dir="$work/$name"
    mkdir -p "$dir/src"
    printf '[package]\nname = "dependent"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n%s\n' \
        "$dep" >"$dir/Cargo.toml"
    printf 'fn main() {\n    %s\n}\n' "$program" >"$dir/src/main.rs"
    echo "preparing $name (fetching its sources, one untimed build)..." >&2
    (cd "$dir" && cargo build --release --quiet && cargo run --release --quiet >/dev/null)
    if (cd "$dir" && cargo tree -e normal --prefix none) | grep -q 'engram-kernels-c'; then
        echo "FAIL: $name's dependency tree names the C library crate" >&2
        exit 1
    fi
    if find "$dir/target/release" -maxdepth 2 \( -name '*.a' -o -name '*.so' \) | grep -q .; then
        echo "FAIL: $name's build left a static or shared library" >&2
        exit 1
    fi
done

for ((r = 1; r <= rounds; r++)); do
    echo "round $r of $rounds..." >&2
    for entry in "${dependents[@]}"; do
        IFS='|' read -r name _ _ <<<"$entry"
        dir="$work/$name"
        rm -rf "$dir/target"
        /usr/bin/time -f "%e %U %S" -o "$dir/time.$r" \
            cargo build --release --quiet --offline --manifest-path "$dir/Cargo.toml"
        du -sk "$dir/target" | cut -f1 >"$dir/size.$r"
    done
done

python3 - "$work" "$rounds" "${dependents[@]}" <<'EOF'
import statistics, sys
work, rounds, entries = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
rows = {}
for entry in entries:
    name = entry.split('|')[0]
    wall, cpu, size = [], [], []
    for r in range(1, rounds + 1):
        e, u, s = map(float, open(f"{work}/{name}/time.{r}").read().split())
        wall.append(e); cpu.append(u + s)
        size.append(int(open(f"{work}/{name}/size.{r}").read()) / 1024)
    rows[name] = (statistics.median(wall), statistics.median(cpu), statistics.median(size))
base = rows["bump-scope"]
print(f"{'dependent':<24} {'wall s':>7} {'CPU s':>7} {'target MB':>10}   {'/ bump-scope (wall, CPU, size)'}")
for name, (w, c, s) in rows.items():
    print(f"{name:<24} {w:7.2f} {c:7.2f} {s:10.1f}   {w / base[0]:.2f} {c / base[1]:.2f} {s / base[2]:.2f}")
EOF
