//! Allocation speed side by side in one process: interleaved rounds, medians, ratios to bumpalo.
//!
//! Criterion runs one member after another, minutes apart; on a shared 2-core machine that
//! compares different machine states. Here every round runs every member once, in turn, and the
//! table reports each member's median time per operation over all rounds, and its ratio to
//! bumpalo's median. Run it with and without fat LTO:
//!
//! ```text
//! cargo bench -p engram-bench --bench alloc_ratio
//! cargo bench -p engram-bench --bench alloc_ratio --profile bench-lto
//! ```
//!
//! `ENGRAM_RATIO_ROUNDS` sets the number of rounds (default 41). With `ENGRAM_RATIO_ONLY=NAME`
//! and `ENGRAM_RATIO_ROUNDS=N` the binary runs one member N times and prints nothing else: run it
//! under callgrind for two values of N and subtract, and start-up cancels (see
//! `scripts/bench-alloc-instr.sh`). With `ENGRAM_BENCH_CSV=FILE` it also writes each member's
//! median to FILE as CSV (`member,ops,ns_per_op`), for `scripts/charts.sh`.
//!
//! Workloads (each block written once, so nothing is optimised away; the handle itself is used
//! as user code would, never passed through `black_box`):
//! * `loop32k_*`: 32k 16-byte `allocate` calls in one scope (or one reset cycle);
//! * `mixed_*`: 4096 `allocate` calls of 8..=256 bytes, alignment 8;
//! * `scope_*`: enter a scope, allocate 16 bytes, leave it (`scope_with_arena_empty`: nothing
//!   inside);
//! * `vec8mb_*`: push 8 MB of `u64` into a `Vec` in a growable arena (warm: reset each round).

#[path = "support/peers.rs"]
#[allow(dead_code)]
mod peers;

use allocator_api2::alloc::{Allocator, Layout};
use bump_scope::traits::BumpAllocatorTyped;
use engram_kernels::{Arena, with_arena};
use std::hint::black_box;
use std::ptr::NonNull;
use std::time::Instant;

const LOOP: usize = 32 * 1024;
const MIXED: usize = 4096;
const SCOPES: usize = 10_000;
const PUSHES: u64 = 1 << 20;
const L16: Layout = Layout::new::<[u8; 16]>();

#[inline(always)]
fn touch(p: NonNull<[u8]>) {
    // SAFETY: every block here is at least 8 bytes and aligned to at least 1; an unaligned
    // write avoids assuming more.
    unsafe { p.cast::<u64>().as_ptr().write_unaligned(1) };
    black_box(p);
}

struct Member {
    name: &'static str,
    /// Operations per run.
    ops: usize,
    run: Box<dyn FnMut()>,
}

fn members() -> Vec<Member> {
    let mixed: &'static [Layout] = Box::leak(peers::mixed_layouts(MIXED).into_boxed_slice());
    let mut v: Vec<Member> = Vec::new();
    let mut add = |name, ops, run: Box<dyn FnMut()>| v.push(Member { name, ops, run });

    add(
        "loop32k_with_arena",
        LOOP,
        Box::new(|| {
            with_arena(|s| {
                for _ in 0..LOOP {
                    touch(s.allocate(L16).unwrap());
                }
            })
        }),
    );
    let mut fixed = Arena::with_capacity(LOOP * 16);
    add(
        "loop32k_arena_fixed",
        LOOP,
        Box::new(move || {
            for _ in 0..LOOP {
                touch((&fixed).allocate(L16).unwrap());
            }
            fixed.reset();
        }),
    );
    let mut grow = Arena::new();
    add(
        "loop32k_arena_growable",
        LOOP,
        Box::new(move || {
            for _ in 0..LOOP {
                touch((&grow).allocate(L16).unwrap());
            }
            grow.reset();
        }),
    );
    let mut bump = bumpalo::Bump::with_capacity(LOOP * 16);
    add(
        "loop32k_bumpalo",
        LOOP,
        Box::new(move || {
            for _ in 0..LOOP {
                touch((&bump).allocate(L16).unwrap());
            }
            bump.reset();
        }),
    );
    let mut bs: bump_scope::Bump = bump_scope::Bump::with_size(LOOP * 16);
    add(
        "loop32k_bump_scope",
        LOOP,
        Box::new(move || {
            for _ in 0..LOOP {
                touch(NonNull::slice_from_raw_parts(bs.allocate_layout(L16), 16));
            }
            bs.reset();
        }),
    );
    add(
        "loop32k_malloc_free",
        LOOP,
        Box::new(|| {
            let mut ptrs = Vec::with_capacity(LOOP);
            for _ in 0..LOOP {
                // SAFETY: a non-zero size.
                let p = unsafe { std::alloc::alloc(std::alloc::Layout::new::<[u8; 16]>()) };
                black_box(p);
                ptrs.push(p);
            }
            for p in ptrs {
                // SAFETY: allocated above with this layout.
                unsafe { std::alloc::dealloc(p, std::alloc::Layout::new::<[u8; 16]>()) };
            }
        }),
    );

    add(
        "mixed_with_arena",
        MIXED,
        Box::new(move || {
            with_arena(|s| {
                for &l in mixed {
                    touch(s.allocate(l).unwrap());
                }
            })
        }),
    );
    let mut fixed = Arena::with_capacity(MIXED * 256);
    add(
        "mixed_arena_fixed",
        MIXED,
        Box::new(move || {
            for &l in mixed {
                touch((&fixed).allocate(l).unwrap());
            }
            fixed.reset();
        }),
    );
    let mut grow = Arena::new();
    add(
        "mixed_arena_growable",
        MIXED,
        Box::new(move || {
            for &l in mixed {
                touch((&grow).allocate(l).unwrap());
            }
            grow.reset();
        }),
    );
    let mut bump = bumpalo::Bump::with_capacity(MIXED * 256);
    add(
        "mixed_bumpalo",
        MIXED,
        Box::new(move || {
            for &l in mixed {
                touch((&bump).allocate(l).unwrap());
            }
            bump.reset();
        }),
    );
    let mut bs: bump_scope::Bump = bump_scope::Bump::with_size(MIXED * 256);
    add(
        "mixed_bump_scope",
        MIXED,
        Box::new(move || {
            for &l in mixed {
                touch(NonNull::slice_from_raw_parts(
                    bs.allocate_layout(l),
                    l.size(),
                ));
            }
            bs.reset();
        }),
    );

    add(
        "scope_with_arena_empty",
        SCOPES,
        Box::new(|| {
            for _ in 0..SCOPES {
                with_arena(|_| {});
            }
        }),
    );
    add(
        "scope_with_arena",
        SCOPES,
        Box::new(|| {
            for _ in 0..SCOPES {
                with_arena(|s| touch(s.allocate(L16).unwrap()));
            }
        }),
    );
    add(
        "scope_nested",
        SCOPES,
        Box::new(|| {
            with_arena(|outer| {
                for _ in 0..SCOPES {
                    outer.scope(|s| touch(s.allocate(L16).unwrap()));
                }
            })
        }),
    );
    let mut bs: bump_scope::Bump = bump_scope::Bump::with_size(1 << 16);
    add(
        "scope_bump_scope",
        SCOPES,
        Box::new(move || {
            for _ in 0..SCOPES {
                bs.scoped(|s| touch(NonNull::slice_from_raw_parts(s.allocate_layout(L16), 16)));
            }
        }),
    );

    let mut grow = Arena::new();
    add(
        "vec8mb_arena_growable",
        PUSHES as usize,
        Box::new(move || {
            let mut v = allocator_api2::vec::Vec::new_in(&grow);
            for i in 0..PUSHES {
                v.push(i);
            }
            black_box(v.as_slice());
            drop(v);
            grow.reset();
        }),
    );
    let mut bump = bumpalo::Bump::new();
    add(
        "vec8mb_bumpalo",
        PUSHES as usize,
        Box::new(move || {
            let mut v = allocator_api2::vec::Vec::new_in(&bump);
            for i in 0..PUSHES {
                v.push(i);
            }
            black_box(v.as_slice());
            drop(v);
            bump.reset();
        }),
    );
    let mut bs: bump_scope::Bump = bump_scope::Bump::new();
    add(
        "vec8mb_bump_scope",
        PUSHES as usize,
        Box::new(move || {
            let mut v = bump_scope::BumpVec::new_in(&bs);
            for i in 0..PUSHES {
                v.push(i);
            }
            black_box(v.as_slice());
            drop(v);
            bs.reset();
        }),
    );
    v
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo bench --no-run` / `cargo test --benches` probes
    }
    let rounds: usize = std::env::var("ENGRAM_RATIO_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(41);
    let mut ms = members();
    if let Ok(only) = std::env::var("ENGRAM_RATIO_ONLY") {
        let m = ms
            .iter_mut()
            .find(|m| m.name == only)
            .expect("no such member");
        for _ in 0..rounds {
            (m.run)();
        }
        return;
    }
    for m in ms.iter_mut() {
        (m.run)(); // warm up: first chunks, page faults, the thread arena
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); ms.len()];
    for _ in 0..rounds {
        for (i, m) in ms.iter_mut().enumerate() {
            let t = Instant::now();
            (m.run)();
            times[i].push(t.elapsed().as_nanos() as f64 / m.ops as f64);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let meds: Vec<f64> = times.iter_mut().map(median).collect();
    println!("{:<26} {:>12} {:>10}", "member", "ns/op (med)", "/ bumpalo");
    for (i, m) in ms.iter().enumerate() {
        let group = m.name.split('_').next().unwrap();
        let base = ms
            .iter()
            .position(|b| b.name == format!("{group}_bumpalo"))
            .or_else(|| {
                ms.iter()
                    .position(|b| b.name == format!("{group}_bump_scope"))
            });
        let ratio = base.map_or(String::from("-"), |b| format!("{:.2}", meds[i] / meds[b]));
        println!("{:<26} {:>12.3} {:>10}", m.name, meds[i], ratio);
    }
    if let Ok(path) = std::env::var("ENGRAM_BENCH_CSV") {
        let mut csv = String::from("member,ops,ns_per_op\n");
        for (m, med) in ms.iter().zip(&meds) {
            csv += &format!("{},{},{med}\n", m.name, m.ops);
        }
        std::fs::write(&path, csv).unwrap_or_else(|e| panic!("writing {path}: {e}"));
    }
}
