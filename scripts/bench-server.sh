#!/usr/bin/env bash
# A JSON-over-HTTP server (benches/server: tokio multi-thread runtime + hyper + serde_json) under
# each global allocator, driven by a bounded load generator on loopback. One server binary per
# allocator, identical code; with GlobalArena, each request's handler runs in `in_global_arena`
# ("GA<...>"), or each whole connection task does ("conn": hyper's own per-request allocations
# go to the arena too).
#
# For each configuration it prints the medians over ROUNDS interleaved rounds (every
# configuration runs once per round, so drift hits all alike) of requests/s and of p50 / p99
# latency, the median of the per-round requests/s ratio to mimalloc, and the server's RSS,
# sampled every 50 ms: after warm-up (the first fifth of the run) and its largest value after
# that, with the growth between them.
#
#   scripts/bench-server.sh                                  # 3 rounds of 200 000 requests
#   REQUESTS=1000000 ROUNDS=1 scripts/bench-server.sh        # the long run: is RSS flat?
#   WORKERS=2 CONCURRENCY=32 scripts/bench-server.sh
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="$PWD/target/server"
echo "building benches/server (release) ..." >&2
(cd benches/server && cargo build --release --quiet --target-dir "$TARGET")
BIN="$TARGET/release" python3 - <<'PY'
import os, statistics, subprocess, sys, time, threading
B = os.environ["BIN"]
ROUNDS = int(os.environ.get("ROUNDS", "3"))
REQUESTS = int(os.environ.get("REQUESTS", "200000"))
CONCURRENCY = int(os.environ.get("CONCURRENCY", "32"))
WORKERS = os.environ.get("WORKERS", "2")
CONFIGS = [  # name, binary, where the arena scopes go
    ("System", "server_system", None),
    ("mimalloc", "server_mimalloc", None),
    ("GA<System>", "server_arena_system", "arena"),
    ("GA<MiMalloc>", "server_arena_mimalloc", "arena"),
    ("GA<System> conn", "server_arena_system", "connection"),
]

def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None

def run(binary, arena):
    args = [f"{B}/{binary}", WORKERS] + ([arena] if arena else [])
    server = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        if not line.startswith("listening on "):
            sys.exit(f"{binary}: no address ({line!r})")
        addr = line.split()[-1]
        samples, done = [], threading.Event()
        def sample():
            while not done.is_set():
                r = rss_kib(server.pid)
                if r is not None:
                    samples.append(r)
                time.sleep(0.05)
        t = threading.Thread(target=sample)
        t.start()
        load = subprocess.run([f"{B}/load", addr, str(REQUESTS), str(CONCURRENCY)],
                              capture_output=True, text=True)
        done.set()
        t.join()
        if load.returncode != 0:
            sys.exit(f"load against {binary}: {load.stderr[-2000:]}")
        n, secs, rps, p50, p99 = load.stdout.split()
        warm = samples[max(0, len(samples) // 5 - 1)] if samples else 0
        later = max(samples[len(samples) // 5:], default=warm)
        return float(rps), int(p50), int(p99), warm, later
    finally:
        server.kill()
        server.wait()

res = {}
for r in range(ROUNDS):
    for name, binary, arena in CONFIGS:
        res.setdefault(name, []).append(run(binary, arena))
    print(f"[round {r + 1}/{ROUNDS} done]", file=sys.stderr, flush=True)

print(f"{REQUESTS} requests per run, {CONCURRENCY} connections, {WORKERS} server workers, "
      f"{ROUNDS} rounds (medians)")
print(f"{'allocator':16} {'req/s':>9} {'vs mimalloc':>11} {'p50 us':>7} {'p99 us':>7}"
      f" {'RSS warm MB':>11} {'RSS max MB':>10} {'growth':>7}")
for name, _, _ in CONFIGS:
    rows = res[name]
    med = lambda i: statistics.median(x[i] for x in rows)
    ratio = statistics.median(a[0] / b[0] for a, b in zip(rows, res["mimalloc"]))
    growth = statistics.median((x[4] / x[3] - 1) * 100 if x[3] else 0.0 for x in rows)
    print(f"{name:16} {med(0):9.0f} {ratio:11.3f} {med(1):7.0f} {med(2):7.0f}"
          f" {med(3) / 1024:11.1f} {med(4) / 1024:10.1f} {growth:+6.1f}%")
PY
