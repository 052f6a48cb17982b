#!/usr/bin/env bash
# Runs the global-allocator benches as separate binaries (one #[global_allocator] each),
# alternating them ROUNDS times so that machine drift hits all of them alike, and prints the
# median time per binary/benchmark and the ratios against System.
#
#   scripts/bench-global.sh            # 3 rounds, 1 s warm-up, 3 s measurement
#   ROUNDS=5 MEASURE=5 scripts/bench-global.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-1}
MEASURE=${MEASURE:-3}
BENCHES=(global_system global_arena global_mimalloc global_arena_mimalloc)
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT

echo "building the global-allocator benches (with mimalloc): a few minutes the first time" >&2
cargo bench -p engram-bench --quiet --no-run $(printf -- '--bench %s ' "${BENCHES[@]}") >/dev/null 2>&1
echo "running ${#BENCHES[@]} benches x $ROUNDS rounds, interleaved (about $(( ${#BENCHES[@]} * ROUNDS * (WARMUP + MEASURE + 2) )) s and more)" >&2
for round in $(seq 1 "$ROUNDS"); do
  for b in "${BENCHES[@]}"; do
    cargo bench -p engram-bench --quiet --bench "$b" -- --warm-up-time "$WARMUP" --measurement-time "$MEASURE" \
      2>/dev/null | tee -a "$LOG" | grep -E '^global/|time:' | paste -sd ' ' | sed "s/^/[round $round] /" >&2 || true
  done
done

python3 - "$LOG" <<'PY'
import re, statistics, sys
scale = {"ps": 1e-3, "ns": 1.0, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}
times, name = {}, None
for line in open(sys.argv[1], encoding="utf-8"):
    m = re.match(r"^(global/\S+)", line.strip())
    if m:
        name = m.group(1)
    m = re.search(r"time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", line)
    if m and name:
        times.setdefault(name, []).append(float(m.group(1)) * scale[m.group(2)])
        name = None
med = {k: statistics.median(v) for k, v in times.items()}
base = med.get("global/std_workload/system")
print(f"{'benchmark':40} {'median µs':>10} {'runs':>5} {'vs System':>10}")
for k in sorted(med):
    ratio = f"{base / med[k]:.2f}x" if base else "-"
    print(f"{k:40} {med[k] / 1e3:10.1f} {len(times[k]):5} {ratio:>10}")
def paired(name):
    """Median over rounds of the per-round ratio name/System (adjacent runs share drift)."""
    pairs = zip(times.get(name, []), times.get("global/std_workload/system", []))
    return statistics.median([a / b for a, b in pairs] or [float("nan")])
if base and "global/std_workload/arena_outside" in med:
    over = med["global/std_workload/arena_outside"] / base - 1
    print(f"outside-scope overhead vs System: {over * 100:+.1f}% of medians, "
          f"{(paired('global/std_workload/arena_outside') - 1) * 100:+.1f}% median per-round (target: within 5%)")
if base and "global/std_workload/arena_inside" in med:
    print(f"inside-scope speed-up vs System: {base / med['global/std_workload/arena_inside']:.2f}x (target: >= 1.5x)")
PY
