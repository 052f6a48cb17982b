//! The allocation-statistics table shared by `examples/alloc_stats.rs` and the tour example.
//!
//! Include it with `#[path = "common/alloc_table.rs"] mod alloc_table;` and call
//! [`print_table`]. It installs the binary's `#[global_allocator]` (a [`GlobalArena`] over an
//! instrumented `System`), so the including example must not install another one.
//!
//! Modes (columns):
//! * **system**: allocations go straight to the instrumented `System` (frees still go through
//!   the arena's address check, one compare, so blocks from every mode are freed correctly);
//! * **outside**: `GlobalArena` outside any scope (pass-through);
//! * **inside**: the same code inside `with_global_arena`;
//! * **with_arena**: the workload written against an explicit `with_arena` scratch allocator.
//!
//! Figures per workload run: calls reaching `System` (alloc + realloc + dealloc), bytes
//! requested from it, and the median wall time over the repetitions.
#![allow(dead_code)]

use allocator_api2::alloc::{Allocator, Global};
use allocator_api2::vec::Vec as AVec;
use engram_kernels::kernels::similarity::cosine_similarity_batch;
use engram_kernels::{GlobalArena, with_arena, with_global_arena};
use stats_alloc::{Region, StatsAlloc};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// `System`, counting every call.
pub static STATS: StatsAlloc<System> = StatsAlloc::system();

/// The arena's inner allocator: forwards to [`STATS`].
pub struct ToStats;

// SAFETY: forwards every call unchanged to `STATS`.
unsafe impl GlobalAlloc for ToStats {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        unsafe { STATS.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        unsafe { STATS.alloc_zeroed(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: forwarded contract.
        unsafe { STATS.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        // SAFETY: forwarded contract.
        unsafe { STATS.realloc(p, l, n) }
    }
}

/// The arena itself.
pub static ARENA: GlobalArena<ToStats> = GlobalArena::new(ToStats);

/// While set, new allocations bypass the arena entirely ("system" column).
static PLAIN: AtomicBool = AtomicBool::new(false);

/// The installed allocator: `ARENA`, or plain `STATS` for allocations while [`PLAIN`] is set.
pub struct Modal;

// SAFETY: every block either comes from `ARENA` or from `STATS` directly; `ARENA` routes frees and
// reallocs by address, so it sends `STATS` blocks back to `STATS` (its inner allocator).
unsafe impl GlobalAlloc for Modal {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        unsafe {
            if PLAIN.load(Ordering::Relaxed) {
                STATS.alloc(l)
            } else {
                ARENA.alloc(l)
            }
        }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        unsafe {
            if PLAIN.load(Ordering::Relaxed) {
                STATS.alloc_zeroed(l)
            } else {
                ARENA.alloc_zeroed(l)
            }
        }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: forwarded contract; routing by address, see above.
        unsafe { ARENA.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        // SAFETY: forwarded contract; routing by address, see above.
        unsafe { ARENA.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Modal = Modal;

/// Builds a `hashbrown` map of 20 000 entries whose values are small vectors.
fn hashbrown_map<A: Allocator + Clone>(a: A) -> u64 {
    let mut m =
        hashbrown::HashMap::with_hasher_in(hashbrown::DefaultHashBuilder::default(), a.clone());
    for i in 0..20_000u32 {
        let mut v = AVec::with_capacity_in(2, a.clone());
        v.push(i);
        v.push(i ^ 0x55);
        m.insert(i.wrapping_mul(2_654_435_761), v);
    }
    m.values().map(|v| u64::from(v[1])).sum()
}

/// Parses 10 000 text lines into a vector of owned strings (byte vectors checked as UTF-8, so the
/// same code runs on any allocator).
fn parse_lines<A: Allocator + Clone>(a: A) -> u64 {
    let text = "id=42 name=alpha score=0.5\nid=43 name=beta score=0.25\n";
    let mut out: AVec<AVec<u8, A>, A> = AVec::new_in(a.clone());
    for _ in 0..5_000 {
        for line in text.lines() {
            for field in line.split(' ') {
                let mut s = AVec::with_capacity_in(field.len(), a.clone());
                s.extend_from_slice(field.as_bytes());
                assert!(std::str::from_utf8(&s).is_ok());
                out.push(s);
            }
        }
    }
    out.iter().map(|s| s.len() as u64).sum()
}

/// Scores 2 000 candidates of dimension 128 against a query with the crate's
/// `cosine_similarity_batch` kernel; the buffers come from the allocator under test.
fn kernel_batch<A: Allocator + Clone>(a: A) -> u64 {
    const DIM: usize = 128;
    const N: usize = 2_000;
    let mut query = AVec::with_capacity_in(DIM, a.clone());
    query.extend((0..DIM).map(|i| (i % 7) as f32 - 3.0));
    let mut candidates = AVec::with_capacity_in(DIM * N, a.clone());
    candidates.extend((0..DIM * N).map(|i| ((i * 37) % 101) as f32 - 50.0));
    let mut scores = AVec::with_capacity_in(N, a.clone());
    scores.resize(N, 0f32);
    cosine_similarity_batch(&query, &candidates, &mut scores)
        .expect("lengths match by construction");
    scores.iter().filter(|&&s| s > 0.0).count() as u64
}

type Workload = (&'static str, fn(Global) -> u64, fn() -> u64);

fn workloads() -> [Workload; 3] {
    [
        (
            "hashbrown map (20k entries)",
            hashbrown_map::<Global>,
            || with_arena(|s| hashbrown_map(s)),
        ),
        (
            "parse lines into Vec<String>",
            parse_lines::<Global>,
            || with_arena(|s| parse_lines(s)),
        ),
        (
            "kernel batch (cosine, 2k×128)",
            kernel_batch::<Global>,
            || with_arena(|s| kernel_batch(s)),
        ),
    ]
}

/// One cell: calls and bytes reaching `System` during one run, and the median time of `reps`.
struct Cell {
    calls: usize,
    bytes: usize,
    micros: f64,
    digest: u64,
}

fn measure(reps: usize, mut run: impl FnMut() -> u64) -> Cell {
    black_box(run()); // warm-up: page faults and heap growth are not the mode's fault
    let region = Region::new(&STATS);
    let digest = black_box(run());
    let s = region.change();
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            black_box(run());
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    Cell {
        calls: s.allocations + s.reallocations + s.deallocations,
        bytes: s.bytes_allocated,
        micros: times[times.len() / 2],
        digest,
    }
}

/// Runs every workload in every mode and prints the table (`reps` timed runs per cell).
pub fn print_table(reps: usize) {
    let modes = ["system", "outside", "inside", "with_arena"];
    println!(
        "Allocation statistics: calls reaching System / bytes requested from it / median time"
    );
    print!("{:30}", "workload");
    for m in modes {
        print!(" | {:>26}", m);
    }
    println!();
    let mut overflows = Vec::new();
    for (name, std_run, scratch_run) in workloads() {
        let cells = [
            {
                PLAIN.store(true, Ordering::Relaxed);
                let c = measure(reps, || std_run(Global));
                PLAIN.store(false, Ordering::Relaxed);
                c
            },
            measure(reps, || std_run(Global)),
            measure(reps, || with_global_arena(|| std_run(Global))),
            {
                let before = engram_kernels::metrics::snapshot().total_overflows;
                let c = measure(reps, scratch_run);
                let n = engram_kernels::metrics::snapshot().total_overflows - before;
                overflows.push(format!("{name}: {}", n / (reps + 2)));
                c
            },
        ];
        assert!(
            cells.iter().all(|c| c.digest == cells[0].digest),
            "{name}: modes disagree"
        );
        print!("{name:30}");
        for c in &cells {
            print!(
                " | {:>6} {:>9} {:>8.1}µs",
                c.calls,
                format_bytes(c.bytes),
                c.micros
            );
        }
        println!();
    }
    println!(
        "global arenas: chunks of {} KiB. with_arena takes its buffer and overflow blocks from System \
         directly (not counted above); overflow blocks per run: {}",
        engram_kernels::global::CHUNK_SIZE >> 10,
        overflows.join(", ")
    );
}

fn format_bytes(b: usize) -> String {
    if b >= 1 << 20 {
        format!("{:.1}MiB", b as f64 / f64::from(1 << 20))
    } else if b >= 1 << 10 {
        format!("{:.1}KiB", b as f64 / 1024.0)
    } else {
        format!("{b}B")
    }
}
