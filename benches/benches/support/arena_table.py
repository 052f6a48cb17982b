#!/usr/bin/env python3
"""Prints the `arena` bench results as the README's markdown table.

Reads criterion's estimates under target/criterion (run `cargo bench -p engram-bench --bench arena` first) and
gives, per member, the time per element (slope estimate, 95% interval) and its ratio to the
group's bumpalo and glibc members.
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
PER = {"alloc16": 1000, "mixed": 1000, "scope": 1, "hashmap": 10000}
BASE = {
    "alloc16": ("bumpalo_alloc", "glibc_malloc_free_pairs"),
    "mixed": ("bumpalo_alloc_layout", "glibc_malloc_free_pairs"),
    "scope": (None, None),
    "hashmap": ("bumpalo", "global_allocator"),
}


def ns_per_elem(group, bench):
    est = json.loads((ROOT / group / bench / "new" / "estimates.json").read_text())
    e = est.get("slope") or est["mean"]
    ci = e["confidence_interval"]
    n = PER[group]
    return e["point_estimate"] / n, ci["lower_bound"] / n, ci["upper_bound"] / n


for group in PER:
    gdir = ROOT / group
    if not gdir.is_dir():
        continue
    rows = {b.name: ns_per_elem(group, b.name) for b in sorted(gdir.iterdir())
            if (b / "new" / "estimates.json").exists()}
    bump, glibc = BASE[group]
    unit = "ns per insert" if group == "hashmap" else "ns per scope" if group == "scope" else "ns per alloc"
    print(f"\n**{group}**\n")
    print(f"| member | {unit} (95% CI) | vs bumpalo | vs glibc/global |")
    print("|---|---|---|---|")
    for name, (t, lo, hi) in rows.items():
        rb = f"{t / rows[bump][0]:.2f}×" if bump in rows else "–"
        rg = f"{t / rows[glibc][0]:.3f}×" if glibc in rows else "–"
        print(f"| `{name}` | {t:.3g} ({lo:.3g}–{hi:.3g}) | {rb} | {rg} |")
