#!/usr/bin/env bash
# Runs the arena tests under valgrind memcheck with arena poisoning on (`--cfg engram_valgrind`:
# memory an arena does not hand out is marked inaccessible through client requests), then shows
# that a deliberately bad rewind is reported.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || (apt-get update && apt-get install -y valgrind)

export RUSTFLAGS="--cfg engram_valgrind"
export CARGO_TARGET_DIR=target/valgrind
bins() {
    cargo test --no-run --message-format=json "$@" 2>/dev/null |
        python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        print(m["executable"])'
}
cargo test --no-run --lib --test arena --test arena_chunks --test scratch >/dev/null
vg() { valgrind --quiet --error-exitcode=9 --exit-on-first-error=yes "$@"; }
for b in $(bins --test arena --test arena_chunks --test scratch); do
    echo "--- valgrind $(basename "$b") ---"
    vg "$b" --test-threads=2 -q
done
lib=$(bins --lib)
vg "$lib" -q raw:: arena::

echo "--- a deliberately bad rewind must be reported by valgrind ---"
if out=$(vg "$lib" --ignored --exact raw::tests::poisoning_catches_a_bad_rewind 2>&1); then
    echo "$out" | tail -20
    echo "FAIL: the bad rewind was not reported" >&2
    exit 1
fi
if ! grep -q "Invalid write of size 8" <<<"$out"; then
    echo "$out" | tail -40
    echo "FAIL: valgrind failed the run, but not with an invalid write" >&2
    exit 1
fi
echo "ok: valgrind reported the write through the bad rewind"
