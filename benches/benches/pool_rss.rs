//! Peak resident memory of a fill-and-reset loop: our growable `Arena` and thread scratch arena
//! (`with_arena`), bumpalo and bump-scope.
//!
//! ```text
//! cargo bench -p engram-bench --bench pool_rss
//! ```
//!
//! Each member runs in a child process of its own (this binary again, with
//! `ENGRAM_RSS_CHILD=<member>`), so that what one allocator keeps cannot count against another,
//! and reports its peak resident set (`VmHWM` in `/proc/self/status`). The parent runs every
//! member `ENGRAM_RSS_RUNS` times (default 5), interleaved, and prints the median peak of each,
//! the median minus the `baseline` child's (the same process, allocating nothing in an arena),
//! and the ratio of each peak to bumpalo's. Peak RSS does not depend on the machine's load.
//!
//! The loop, as a user would write it: each round pushes 200,000 `u64` and as many `u32` into two
//! `Vec`s in the arena (interleaved, so neither grows in place and every growth leaves its old
//! buffer behind) and allocates a 24-byte block every fourth push: about 6 MB a round, then a
//! reset (or the end of the `with_arena` scope). Linux only (`/proc`).

use allocator_api2::vec::Vec as ArenaVec;
use engram_kernels::{Arena, ArenaAlloc, with_arena};
use std::hint::black_box;
use std::process::Command;

const ROUNDS: usize = 40;
const PUSHES: usize = 200_000;
const MEMBERS: [&str; 5] = [
    "baseline",
    "engram_arena",
    "engram_with_arena",
    "bumpalo",
    "bump_scope",
];

/// One round's worth of work through any bump allocator: `vec_u64` and `vec_u32` make the two
/// vectors, `small` allocates a 24-byte block. Returns a checksum so nothing is optimised away.
macro_rules! round {
    ($vec_u64:expr, $vec_u32:expr, $small:expr) => {{
        let mut a = $vec_u64;
        let mut b = $vec_u32;
        let mut sum = 0u64;
        for i in 0..PUSHES {
            a.push(i as u64);
            b.push(i as u32);
            if i % 4 == 0 {
                let block: &mut [u64; 3] = $small([i as u64; 3]);
                sum = sum.wrapping_add(block[1]);
            }
        }
        sum.wrapping_add(a[PUSHES / 2])
            .wrapping_add(u64::from(b[PUSHES - 1]))
    }};
}

fn run_member(name: &str) -> u64 {
    let mut sum = 0u64;
    match name {
        "baseline" => {}
        "engram_arena" => {
            let mut arena = Arena::new();
            for _ in 0..ROUNDS {
                sum ^= round!(
                    ArenaVec::<u64, _>::new_in(&arena),
                    ArenaVec::<u32, _>::new_in(&arena),
                    |x| arena.alloc(x)
                );
                arena.reset();
            }
        }
        "engram_with_arena" => {
            // The thread's scratch arena: the first MiB is its own, the rest of each round
            // overflows into chunks of the shared pool, which its outermost exit gives back.
            for _ in 0..ROUNDS {
                sum ^= with_arena(|s| {
                    round!(
                        ArenaVec::<u64, _>::new_in(s),
                        ArenaVec::<u32, _>::new_in(s),
                        |x| s.alloc(x)
                    )
                });
            }
        }
        "bumpalo" => {
            let mut bump = bumpalo::Bump::new();
            for _ in 0..ROUNDS {
                sum ^= round!(
                    ArenaVec::<u64, _>::new_in(&bump),
                    ArenaVec::<u32, _>::new_in(&bump),
                    |x| bump.alloc(x)
                );
                bump.reset();
            }
        }
        "bump_scope" => {
            let mut bump: bump_scope::Bump = bump_scope::Bump::new();
            for _ in 0..ROUNDS {
                sum ^= round!(
                    bump_scope::BumpVec::<u64, _>::new_in(&bump),
                    bump_scope::BumpVec::<u32, _>::new_in(&bump),
                    |x: [u64; 3]| bump.alloc(x).into_mut()
                );
                bump.reset();
            }
        }
        other => panic!("unknown member {other}"),
    }
    sum
}

/// Peak resident set of this process, in KiB.
fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status (Linux)");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmHWM line")
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn main() {
    if let Ok(name) = std::env::var("ENGRAM_RSS_CHILD") {
        black_box(run_member(&name));
        println!("{}", vm_hwm_kib());
        return;
    }
    let runs: usize = std::env::var("ENGRAM_RSS_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let exe = std::env::current_exe().expect("the path of this binary");
    let mut peaks: Vec<Vec<u64>> = vec![Vec::new(); MEMBERS.len()];
    for _ in 0..runs {
        for (m, name) in MEMBERS.iter().enumerate() {
            let out = Command::new(&exe)
                .env("ENGRAM_RSS_CHILD", name)
                .output()
                .expect("the child runs");
            assert!(out.status.success(), "{name}: {out:?}");
            let kib = String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .expect("a number");
            peaks[m].push(kib);
        }
    }
    let medians: Vec<u64> = peaks.into_iter().map(median).collect();
    let (base, bumpalo) = (medians[0], medians[3]);
    println!(
        "fill-and-reset, {ROUNDS} rounds of ~6 MB; peak RSS (VmHWM), median of {runs} runs each"
    );
    println!(
        "{:<18} {:>10} {:>16} {:>12}",
        "member", "peak MiB", "above baseline", "vs bumpalo"
    );
    for (name, &kib) in MEMBERS.iter().zip(&medians) {
        println!(
            "{name:<18} {:>10.1} {:>16.1} {:>11.2}x",
            mib(kib),
            mib(kib.saturating_sub(base)),
            kib as f64 / bumpalo as f64
        );
    }
}
