//! The allocation-statistics table shared by `examples/alloc_stats.rs` and the tour example.
//!
//! Include it with `#[path = "common/alloc_table.rs"] mod alloc_table;` and call
//! [`print_table`]. It installs the binary's `#[global_allocator]` (a [`GlobalArena`] over an
//! instrumented `System`), so the including example must not install another one.
//!
//! Each workload runs in four modes, the same code each time:
//! * **plain System**: allocations go straight to the instrumented `System` (frees still go
//!   through the arena's address check, one compare, so blocks from every mode are freed
//!   correctly);
//! * **GlobalArena, outside**: the global allocator outside any scope (it passes through);
//! * **GlobalArena, inside**: the same code inside `with_global_arena`;
//! * **with_arena**: the workload given an explicit `with_arena` scratch handle as allocator.
//!
//! For one run it counts the calls reaching `System` and the bytes requested from it, and the
//! bytes handed out by an arena; the time is the median of the timed runs. The scratch arena
//! takes its memory from the crate's chunk pool (`System` directly, not through the global
//! allocator), so its column is counted from the handle itself: every request the thread's pool
//! could not serve is an overflow, served from a further chunk of the shared chunk pool. Those
//! chunks are reused across scopes and threads, so they reach `System` only the first time (and
//! are held across runs, like the pool itself).
#![allow(dead_code)]

use allocator_api2::alloc::{AllocError, Allocator, Global};
use allocator_api2::vec::Vec as AVec;
use engram_kernels::collections::String as AString;
use engram_kernels::global::GlobalStats;
use engram_kernels::{GlobalArena, Scratch, thread_arena_stats, with_arena, with_global_arena};
use stats_alloc::{Region, StatsAlloc};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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

/// A workload: the same code for every allocator.
trait Workload {
    const NAME: &'static str;
    fn run<A: Allocator + Clone>(a: A) -> u64;
}

/// A `hashbrown` map of 20 000 entries whose values are small vectors.
struct HashbrownMap;

impl Workload for HashbrownMap {
    const NAME: &'static str = "hashbrown map, 20k entries of small vectors";

    fn run<A: Allocator + Clone>(a: A) -> u64 {
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
}

/// Splits 10 000 text lines into a vector of 30 000 owned strings
/// (`engram_kernels::collections::String`, in the allocator under test).
struct ParseLines;

impl Workload for ParseLines {
    const NAME: &'static str = "parse 10k lines into Vec<String>";

    fn run<A: Allocator + Clone>(a: A) -> u64 {
        let text = "id=42 name=alpha score=0.5\nid=43 name=beta score=0.25\n";
        let mut out: AVec<AString<A>, A> = AVec::new_in(a.clone());
        for _ in 0..5_000 {
            for line in text.lines() {
                for field in line.split(' ') {
                    out.push(AString::from_str_in(field, a.clone()));
                }
            }
        }
        out.iter().map(|s| s.len() as u64).sum()
    }
}

/// Scores 2 000 candidates of dimension 128 against a query with the crate's
/// `cosine_similarity_batch` kernel; the buffers come from the allocator under test.
#[cfg(feature = "kernels")]
struct KernelBatch;

#[cfg(feature = "kernels")]
impl Workload for KernelBatch {
    const NAME: &'static str = "kernel batch: cosine of 2k candidates x 128";

    fn run<A: Allocator + Clone>(a: A) -> u64 {
        use engram_kernels::kernels::similarity::cosine_similarity_batch;
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
}

/// What one run of one mode did.
#[derive(Default)]
struct Cell4 {
    system_calls: u64,
    system_bytes: u64,
    arena_bytes: u64,
    spills: u64,
    micros: f64,
    digest: u64,
}

/// Counters filled by [`Counted`]; statics, so that the wrapper is exactly as big as the
/// handle it wraps (a bigger allocator makes every `Vec` in a map bigger, which would change
/// the workload being counted).
static ARENA_BYTES: AtomicU64 = AtomicU64::new(0);
static SPILLS: AtomicU64 = AtomicU64::new(0);
static SPILL_BYTES: AtomicU64 = AtomicU64::new(0);

/// A scratch handle that counts, per request, whether the pool served it or it spilled (the
/// scope's overflow count moved). Used for the counted run only, never for the timed runs.
#[derive(Clone, Copy)]
struct Counted<'s>(Scratch<'s>);

impl Counted<'_> {
    fn note(&self, before: u64, moved: bool, r: &Result<NonNull<[u8]>, AllocError>) {
        if let Ok(block) = r {
            let bytes = block.len() as u64;
            if self.0.stats().overflow_count > before {
                SPILLS.fetch_add(1, Ordering::Relaxed);
                SPILL_BYTES.fetch_add(bytes, Ordering::Relaxed);
            } else if moved {
                ARENA_BYTES.fetch_add(bytes, Ordering::Relaxed);
            }
        }
    }
}

// SAFETY: every call is forwarded unchanged to the scratch handle, which upholds the contract;
// the wrapper only reads the handle's statistics around the calls.
unsafe impl Allocator for Counted<'_> {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let before = self.0.stats().overflow_count;
        let r = self.0.allocate(layout);
        self.note(before, true, &r);
        r
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { self.0.deallocate(ptr, layout) }
    }

    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        let before = self.0.stats().overflow_count;
        // SAFETY: forwarded contract.
        let r = unsafe { self.0.grow(ptr, old, new) };
        let moved = r.as_ref().is_ok_and(|b| b.cast::<u8>() != ptr);
        self.note(before, moved, &r);
        r
    }

    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        let before = self.0.stats().overflow_count;
        // SAFETY: forwarded contract.
        let r = unsafe { self.0.shrink(ptr, old, new) };
        let moved = r.as_ref().is_ok_and(|b| b.cast::<u8>() != ptr);
        self.note(before, moved, &r);
        r
    }
}

/// Runs `run` once untimed (warm-up: page faults and heap growth are not the mode's fault),
/// once counted, and `reps` times timed.
fn measure(reps: usize, mut counted: impl FnMut() -> u64, mut timed: impl FnMut() -> u64) -> Cell4 {
    black_box(timed());
    let region = Region::new(&STATS);
    let arena_before = ARENA.thread_stats();
    let digest = black_box(counted());
    let s = region.change();
    let g: GlobalStats = ARENA.thread_stats().since(&arena_before);
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            black_box(timed());
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    Cell4 {
        system_calls: (s.allocations + s.reallocations + s.deallocations) as u64,
        system_bytes: s.bytes_allocated as u64,
        arena_bytes: g.arena_bytes,
        spills: g.spills,
        micros: times[times.len() / 2],
        digest,
    }
}

/// The four modes of one workload.
fn modes<W: Workload>(reps: usize) -> [(&'static str, Cell4); 4] {
    let plain = {
        PLAIN.store(true, Ordering::Relaxed);
        let c = measure(reps, || W::run(Global), || W::run(Global));
        PLAIN.store(false, Ordering::Relaxed);
        c
    };
    let outside = measure(reps, || W::run(Global), || W::run(Global));
    let inside = measure(
        reps,
        || with_global_arena(|| W::run(Global)),
        || with_global_arena(|| W::run(Global)),
    );
    for counter in [&ARENA_BYTES, &SPILLS, &SPILL_BYTES] {
        counter.store(0, Ordering::Relaxed);
    }
    let mut scratch = measure(
        reps,
        || with_arena(|s| W::run(Counted(s))),
        || with_arena(|s| W::run(s)),
    );
    // Overflows are served from further chunks of the shared chunk pool, which reach System only
    // when the pool has none (held across runs, like the thread's pool): no per-block calls.
    scratch.spills = SPILLS.load(Ordering::Relaxed);
    scratch.arena_bytes = ARENA_BYTES.load(Ordering::Relaxed) + SPILL_BYTES.load(Ordering::Relaxed);
    [
        ("plain System", plain),
        ("GlobalArena, outside", outside),
        ("GlobalArena, inside", inside),
        ("with_arena", scratch),
    ]
}

fn print_workload(name: &str, cells: &[(&str, Cell4); 4]) {
    assert!(
        cells.iter().all(|(_, c)| c.digest == cells[0].1.digest),
        "{name}: modes disagree"
    );
    println!("{name}");
    for (mode, c) in cells {
        println!(
            "  {mode:<22}{:>13}{:>13}{:>8}{:>15}{:>12.0} µs",
            group(c.system_calls),
            format_bytes(c.system_bytes),
            group(c.spills),
            format_bytes(c.arena_bytes),
            c.micros
        );
    }
    let (plain, scratch) = (&cells[0].1, &cells[3].1);
    let pool = thread_arena_stats().map_or(0, |s| s.capacity as u64);
    let fit = match scratch.spills {
        0 => format!("everything fit the {} pool", format_bytes(pool)),
        n => format!(
            "{n} request(s) did not fit the {} pool and were served from further\n     \
             chunks of the shared chunk pool (counted as overflows)",
            format_bytes(pool)
        ),
    };
    let calls = match scratch.system_calls {
        0 => format!(
            "no System calls (plain System: {})",
            group(plain.system_calls)
        ),
        n => format!(
            "{:.0}x fewer System calls than plain System",
            plain.system_calls as f64 / n as f64
        ),
    };
    println!("  -> with_arena: {fit};\n     {calls}\n");
}

/// Runs every workload in every mode and prints the table (`reps` timed runs per cell).
pub fn print_table(reps: usize) {
    println!(
        "Each workload runs the same code in four modes; one run is counted, {reps} are timed.\n\
         \x20 System calls    alloc + realloc + free calls that reached the system allocator\n\
         \x20 from System     bytes requested from it\n\
         \x20 spills          GlobalArena: requests sent to System instead (counted in the two\n\
         \x20                 columns before); with_arena: overflows, served from further chunks\n\
         \x20                 of the shared chunk pool (counted in the next column)\n\
         \x20 from an arena   bytes of the blocks an arena handed out (a block moved by a\n\
         \x20                 realloc counts again; grown in place, it does not)\n\
         \x20 median time     median wall time of one run (noisy on a shared machine)\n"
    );
    println!(
        "  {:<22}{:>13}{:>13}{:>8}{:>15}{:>15}",
        "mode", "System calls", "from System", "spills", "from an arena", "median time"
    );
    print_workload(HashbrownMap::NAME, &modes::<HashbrownMap>(reps));
    print_workload(ParseLines::NAME, &modes::<ParseLines>(reps));
    #[cfg(feature = "kernels")]
    print_workload(KernelBatch::NAME, &modes::<KernelBatch>(reps));
    let pool = thread_arena_stats().map_or(0, |s| s.capacity as u64);
    println!(
        "Held across all runs (not in the per-run counts): the with_arena pool, {} from System\n\
         in one call at this thread's first scope; the global arena's chunks of {}, carved\n\
         from one range of address space reserved once per process (pages are committed when\n\
         touched).",
        format_bytes(pool),
        format_bytes(engram_kernels::global::CHUNK_SIZE as u64)
    );
}

/// `12345` as `12,345`.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn format_bytes(b: u64) -> String {
    if b >= 1 << 20 {
        format!("{:.1} MiB", b as f64 / f64::from(1 << 20))
    } else if b >= 1 << 10 {
        format!("{:.1} KiB", b as f64 / 1024.0)
    } else {
        format!("{b} B")
    }
}
