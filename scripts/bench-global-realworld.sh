#!/usr/bin/env bash
# Real third-party workloads (benches/realworld: serde_json, toml, regex, syn + prettyplease,
# format!, std maps) under each global allocator, one binary per allocator, identical code.
#
# For each workload and configuration it prints
#   * instructions per iteration from callgrind, deterministic on a busy machine: callgrind counts
#     only what runs inside `measured_iterations` (--collect-atstart=no --toggle-collect), after
#     one uncounted warm-up iteration, so process start-up, input generation and one-time lazy
#     work drop out exactly as when subtracting a short run from a long one, at half the runs;
#   * the median wall-clock time per iteration over ROUNDS interleaved rounds (every configuration
#     runs once per round, so drift hits all alike), and the median of the per-round ratios to
#     System and to mimalloc (each ratio taken within one round);
#   * the same ratio to mimalloc for the fastest tenth of the iterations of each timed run (its
#     10th-percentile iteration time), which a slow phase of a shared machine does not move;
#   * steady-state minor page faults per iteration (after a warm-up iteration), peak RSS, and the
#     share of resident memory on transparent huge pages at the end: of the whole process, and
#     (GlobalArena binaries) of the arena's reserved range (medians over the rounds);
# and checks every configuration's output byte-for-byte against System's.
#
#   scripts/bench-global-realworld.sh                 # everything (about 10 minutes)
#   WORKLOADS="json_100k maps" ROUNDS=3 scripts/bench-global-realworld.sh
#   NO_CALLGRIND=1 scripts/bench-global-realworld.sh  # wall clock only
#   PROFILE=release-lto scripts/bench-global-realworld.sh  # fat LTO
#   CSV=target/charts/realworld.csv scripts/bench-global-realworld.sh  # also write the figures as CSV
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="$PWD/target/realworld"
PROFILE=${PROFILE:-release}
echo "building benches/realworld (profile $PROFILE; serde, toml, regex, syn): a few minutes the first time" >&2
(cd benches/realworld && cargo build --profile "$PROFILE" --quiet --target-dir "$TARGET")
BIN="$TARGET/$PROFILE" python3 - <<'PY'
import os, statistics, subprocess, sys, tempfile, filecmp
B = os.environ["BIN"]
W = os.environ.get("WORKLOADS", "json_100k json_2m toml_50k regex syn format maps").split()
ROUNDS = int(os.environ.get("ROUNDS", "5"))
CALLGRIND = not os.environ.get("NO_CALLGRIND")
CONFIGS = [  # name, binary, mode
    ("System", "system", "outside"),
    ("mimalloc", "mimalloc", "outside"),
    ("GA<System> outside", "arena_system", "outside"),
    ("GA<System> inside", "arena_system", "inside"),
    ("GA<MiMalloc> outside", "arena_mimalloc", "outside"),
    ("GA<MiMalloc> inside", "arena_mimalloc", "inside"),
]
# (callgrind iterations, wall-clock iterations per timed run), sized so that the whole table
# takes about 15 minutes on a 2-core machine (NO_CALLGRIND=1: about 5).
# Timed runs last a few hundred milliseconds each, so that one run's clock is not at the mercy of
# a short stall on a shared machine.
ITERS = {"json_100k": (4, 300), "json_2m": (1, 10), "toml_50k": (4, 150),
         "regex": (2, 50), "syn": (1, 15), "format": (2, 80), "maps": (2, 40)}
tmp = tempfile.mkdtemp()

def ir(binary, w, mode, n, out):
    r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                        "--collect-atstart=no", "--toggle-collect=*measured_iterations*",
                        f"{B}/{binary}", "run", w, str(n), mode, out],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{binary} {w} {mode}: {r.stderr[-2000:]}")
    for line in r.stderr.splitlines():
        if "Collected :" in line:
            return int(line.split()[-1])
    sys.exit(f"no callgrind total for {binary} {w} {mode}")

instr, wall, fast, mem, mismatch = {}, {}, {}, {}, []
for w in W:
    n, t_iters = ITERS[w]
    print(f"[{w}: {'callgrind, then ' if CALLGRIND else ''}{ROUNDS} timed rounds...]",
          file=sys.stderr, flush=True)
    ref = None
    for name, binary, mode in CONFIGS:
        out = f"{tmp}/{w}.{binary}.{mode}"
        if CALLGRIND:
            instr[w, name] = ir(binary, w, mode, n, out) / n
        else:
            subprocess.run([f"{B}/{binary}", "run", w, "1", mode, out], check=True)
        if ref is None:
            ref = out
        elif not filecmp.cmp(ref, out, shallow=False):
            mismatch.append(f"{w}/{name}")
    for _ in range(ROUNDS):
        for name, binary, mode in CONFIGS:
            r = subprocess.run([f"{B}/{binary}", "time", w, str(t_iters), mode],
                               capture_output=True, text=True, check=True)
            ns, faults, hwm, rss, huge, arena_rss, arena_huge, p10 = r.stdout.split()
            wall.setdefault((w, name), []).append(int(ns))
            fast.setdefault((w, name), []).append(int(p10))
            mem.setdefault((w, name), []).append((float(faults), int(hwm), int(rss), int(huge),
                                                  int(arena_rss), int(arena_huge)))
    print(f"[{w} done]", file=sys.stderr, flush=True)

def ratio(w, name, base, times=wall):
    """Median over rounds of this round's time / the base's time in the same round."""
    return statistics.median(a / b for a, b in zip(times[w, name], times[w, base]))

print(f"{'workload':10} {'configuration':22} {'Minstr/iter':>11} {'vs mimalloc':>11}"
      f" {'median ms':>10} {'vs System':>9} {'vs mimalloc':>11} {'faults/iter':>11}"
      f" {'p10 vs mimalloc':>15} {'peak RSS MB':>11} {'huge: all':>9} {'arena':>6}")
for w in W:
    for name, _, _ in CONFIGS:
        med = statistics.median(wall[w, name]) / 1e6
        if CALLGRIND:
            i, m = instr[w, name], instr[w, "mimalloc"]
            ic = f"{i / 1e6:11.2f} {i / m:11.3f}"
        else:
            ic = f"{'-':>11} {'-':>11}"
        faults = statistics.median(x[0] for x in mem[w, name])
        hwm = statistics.median(x[1] for x in mem[w, name]) / 1024
        huge = statistics.median(x[3] / x[2] if x[2] else 0.0 for x in mem[w, name])
        arena = (f"{statistics.median(x[5] / x[4] for x in mem[w, name]) * 100:5.0f}%"
                 if mem[w, name][0][4] else f"{'-':>6}")
        print(f"{w:10} {name:22} {ic} {med:10.2f} {ratio(w, name, 'System'):9.3f}"
              f" {ratio(w, name, 'mimalloc'):11.3f} {faults:11.1f}"
              f" {ratio(w, name, 'mimalloc', fast):15.3f} {hwm:11.1f} {huge * 100:8.0f}% {arena}")
if os.environ.get("CSV"):
    with open(os.environ["CSV"], "w") as f:
        f.write("workload,configuration,instr_per_iter,median_ns,ratio_system,ratio_mimalloc,"
                "faults_per_iter,peak_rss_kb,p10_ratio_mimalloc\n")
        for w in W:
            for name, _, _ in CONFIGS:
                i = f"{instr[w, name]:.0f}" if CALLGRIND else ""
                faults = statistics.median(x[0] for x in mem[w, name])
                hwm = statistics.median(x[1] for x in mem[w, name])
                f.write(f"{w},{name},{i},{statistics.median(wall[w, name])},"
                        f"{ratio(w, name, 'System')},{ratio(w, name, 'mimalloc')},{faults},{hwm},"
                        f"{ratio(w, name, 'mimalloc', fast)}\n")
print(f"outputs identical to System's: {'yes' if not mismatch else 'NO: ' + ', '.join(mismatch)}")
sys.exit(1 if mismatch else 0)
PY
