//! Allocation counters: plain per-thread `Cell`s on the allocator path, aggregated on read.
//!
//! A thread bumps its own counters without atomics. At the exit of each outermost
//! [`with_global_arena`](super::with_global_arena) scope it copies them into its entry of a
//! static table of published counters (taken at its first scope, if one is free), and when it
//! exits it adds them to the process-wide retired totals. Reading the process-wide figures walks
//! the table; it never runs on the allocator path.

use core::cell::Cell;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Number of counters.
pub const FIELDS: usize = 13;

/// Allocation counters of a [`GlobalArena`](super::GlobalArena), for one thread or the process.
///
/// # Example
///
/// ```
/// use engram_kernels::global::GlobalStats;
///
/// let before = GlobalStats { arena_allocs: 2, arena_bytes: 64, ..GlobalStats::default() };
/// let after = GlobalStats { arena_allocs: 5, arena_bytes: 100, ..GlobalStats::default() };
/// assert_eq!(after.since(&before).arena_allocs, 3);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GlobalStats {
    /// Allocations (including reallocations that moved a block) served from a global arena.
    pub arena_allocs: u64,
    /// Bytes of those allocations.
    pub arena_bytes: u64,
    /// Frees of arena blocks (by any thread, counted on the freeing thread).
    pub arena_frees: u64,
    /// Allocations made inside a scope that went to the inner allocator, for any reason: larger
    /// than [`MAX_ARENA_REQUEST`](super::MAX_ARENA_REQUEST), no chunk to be had, or made while the
    /// crate held one of its own locks. (Calls outside scopes are not counted: the pass-through
    /// path stays a flag test.)
    pub spills: u64,
    /// Bytes requested by those spills.
    pub spill_bytes: u64,
    /// Chunks this thread (or the process) took from the reserved range, fresh or reused.
    pub chunks_taken: u64,
    /// Chunks handed back while blocks in them were still alive (escaped values): each becomes
    /// free when its last block dies.
    pub chunks_orphaned: u64,
    /// Spills because no chunk was to be had: the range is exhausted, or the OS refused to
    /// reserve or commit it. Non-zero means scopes silently lose their arena: see
    /// [`GlobalArena::region`](super::GlobalArena::region).
    pub no_chunk_spills: u64,
    /// Spills because the thread held its cap of chunks
    /// ([`set_thread_chunk_cap`](super::set_thread_chunk_cap)), or because a large request
    /// needed a span longer than the cap.
    pub cap_spills: u64,
    /// Of `arena_allocs`: large requests (above
    /// [`MAX_ARENA_REQUEST`](super::MAX_ARENA_REQUEST)) served from a span of whole chunks.
    pub large_allocs: u64,
    /// Bytes of those large requests (included in `arena_bytes`).
    pub large_bytes: u64,
    /// Of `arena_allocs`: blocks served from memory freed earlier in the same chunk (reuse
    /// inside a scope) instead of fresh bump space.
    pub reused_allocs: u64,
    /// Bytes of those reused blocks (included in `arena_bytes`).
    pub reused_bytes: u64,
}

impl GlobalStats {
    /// Field-wise difference `self - earlier` (saturating at zero): the activity in between.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::global::GlobalStats;
    ///
    /// let a = GlobalStats { spills: 1, ..GlobalStats::default() };
    /// assert_eq!(GlobalStats::default().since(&a).spills, 0);
    /// ```
    pub fn since(&self, earlier: &GlobalStats) -> GlobalStats {
        Self::from_array(core::array::from_fn(|i| {
            self.to_array()[i].saturating_sub(earlier.to_array()[i])
        }))
    }

    /// In the order of the per-thread counter slots.
    fn to_array(self) -> [u64; FIELDS] {
        [
            self.arena_allocs,
            self.spills,
            self.arena_bytes,
            self.spill_bytes,
            self.arena_frees,
            self.chunks_taken,
            self.chunks_orphaned,
            self.no_chunk_spills,
            self.cap_spills,
            self.large_allocs,
            self.large_bytes,
            self.reused_allocs,
            self.reused_bytes,
        ]
    }

    fn from_array(a: [u64; FIELDS]) -> GlobalStats {
        GlobalStats {
            arena_allocs: a[0],
            spills: a[1],
            arena_bytes: a[2],
            spill_bytes: a[3],
            arena_frees: a[4],
            chunks_taken: a[5],
            chunks_orphaned: a[6],
            no_chunk_spills: a[7],
            cap_spills: a[8],
            large_allocs: a[9],
            large_bytes: a[10],
            reused_allocs: a[11],
            reused_bytes: a[12],
        }
    }
}

/// One thread's counters. `Cell`s: only the owning thread touches them.
pub struct Counters {
    c: [Cell<u64>; FIELDS],
}

// Slots of the counters that one call updates together are not adjacent: adjacent ones tempt
// LLVM into a six-instruction vector load-add-store where two scalar adds do.
const ARENA_ALLOCS: usize = 0;
const SPILLS: usize = 1;
const ARENA_BYTES: usize = 2;
const SPILL_BYTES: usize = 3;
const ARENA_FREES: usize = 4;
const CHUNKS_TAKEN: usize = 5;
const CHUNKS_ORPHANED: usize = 6;
const NO_CHUNK: usize = 7;
const CAP: usize = 8;
const LARGE_ALLOCS: usize = 9;
const LARGE_BYTES: usize = 10;
const REUSED_ALLOCS: usize = 11;
const REUSED_BYTES: usize = 12;

impl Counters {
    pub const fn new() -> Self {
        Counters {
            c: [const { Cell::new(0) }; FIELDS],
        }
    }

    #[inline(always)]
    fn add(&self, field: usize, n: u64) {
        self.c[field].set(self.c[field].get().wrapping_add(n));
    }

    #[inline(always)]
    pub fn arena_alloc(&self, bytes: usize) {
        self.add(ARENA_ALLOCS, 1);
        self.add(ARENA_BYTES, bytes as u64);
    }

    /// A large request served from a span (also counted as an arena allocation).
    pub fn large_alloc(&self, bytes: usize) {
        self.arena_alloc(bytes);
        self.add(LARGE_ALLOCS, 1);
        self.add(LARGE_BYTES, bytes as u64);
    }

    /// A block served from freed memory (also counted as an arena allocation).
    #[inline(always)]
    pub fn reused_alloc(&self, bytes: usize) {
        self.arena_alloc(bytes);
        self.add(REUSED_ALLOCS, 1);
        self.add(REUSED_BYTES, bytes as u64);
    }

    #[inline(always)]
    pub fn arena_free(&self) {
        self.add(ARENA_FREES, 1);
    }

    #[inline(always)]
    pub fn spill(&self, bytes: usize) {
        self.add(SPILLS, 1);
        self.add(SPILL_BYTES, bytes as u64);
    }

    pub fn chunk_taken(&self) {
        self.add(CHUNKS_TAKEN, 1);
    }

    pub fn chunk_orphaned(&self) {
        self.add(CHUNKS_ORPHANED, 1);
    }

    pub fn no_chunk(&self) {
        self.add(NO_CHUNK, 1);
    }

    pub fn cap_reached(&self) {
        self.add(CAP, 1);
    }

    /// Puts the allocation counters back to `before` (the chunk counters stay): the crate's own
    /// probe allocations must not show up in a user's figures.
    pub fn forget_allocations_since(&self, before: &GlobalStats) {
        for (field, v) in [
            (ARENA_ALLOCS, before.arena_allocs),
            (ARENA_BYTES, before.arena_bytes),
            (ARENA_FREES, before.arena_frees),
            (SPILLS, before.spills),
            (SPILL_BYTES, before.spill_bytes),
            (LARGE_ALLOCS, before.large_allocs),
            (LARGE_BYTES, before.large_bytes),
            (REUSED_ALLOCS, before.reused_allocs),
            (REUSED_BYTES, before.reused_bytes),
        ] {
            self.c[field].set(v);
        }
    }

    pub fn snapshot(&self) -> GlobalStats {
        GlobalStats::from_array(core::array::from_fn(|i| self.c[i].get()))
    }
}

/// Threads that can publish their counters at the same time; later ones show up in
/// [`aggregate`] once they exit.
pub const PUBLISHERS: usize = 256;

/// One thread's published counters.
pub struct Published {
    in_use: AtomicBool,
    counters: [AtomicU64; FIELDS],
}

#[allow(clippy::declare_interior_mutable_const)] // used only as an array-repeat initialiser
const EMPTY: Published = Published {
    in_use: AtomicBool::new(false),
    counters: [const { AtomicU64::new(0) }; FIELDS],
};

static TABLE: [Published; PUBLISHERS] = [EMPTY; PUBLISHERS];

/// Totals of threads that have exited.
static RETIRED: [AtomicU64; FIELDS] = [const { AtomicU64::new(0) }; FIELDS];

/// "No table entry".
pub const NO_ENTRY: usize = usize::MAX;

/// Takes a free table entry for the calling thread, or `NO_ENTRY` if all are taken.
pub fn join() -> usize {
    TABLE
        .iter()
        .position(|p| {
            !p.in_use.load(Ordering::Relaxed)
                && p.in_use
                    .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
        })
        .unwrap_or(NO_ENTRY)
}

/// Copies a thread's counters into its table entry.
pub fn publish(entry: usize, s: GlobalStats) {
    if let Some(p) = TABLE.get(entry) {
        for (d, v) in p.counters.iter().zip(s.to_array()) {
            d.store(v, Ordering::Relaxed);
        }
    }
}

/// Moves an exiting thread's counters into the retired totals and frees its table entry.
pub fn retire(entry: usize, s: GlobalStats) {
    for (r, v) in RETIRED.iter().zip(s.to_array()) {
        r.fetch_add(v, Ordering::Relaxed);
    }
    if let Some(p) = TABLE.get(entry) {
        for d in &p.counters {
            d.store(0, Ordering::Relaxed);
        }
        p.in_use.store(false, Ordering::Release);
    }
}

/// Counts an arena free made by a thread without a table entry (see `Local::free`).
pub fn count_unpublished_free() {
    RETIRED[ARENA_FREES].fetch_add(1, Ordering::Relaxed);
}

/// Retired totals plus every published entry.
pub fn aggregate() -> GlobalStats {
    let mut sum: [u64; FIELDS] = core::array::from_fn(|i| RETIRED[i].load(Ordering::Relaxed));
    for p in &TABLE {
        for (s, v) in sum.iter_mut().zip(&p.counters) {
            *s = s.wrapping_add(v.load(Ordering::Relaxed));
        }
    }
    GlobalStats::from_array(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_round_trip_through_the_array_form() {
        let c = Counters::new();
        c.arena_alloc(10);
        c.arena_alloc(6);
        c.arena_free();
        c.spill(100);
        c.chunk_taken();
        c.chunk_orphaned();
        c.no_chunk();
        c.cap_reached();
        c.large_alloc(1000);
        c.reused_alloc(24);
        let s = c.snapshot();
        assert_eq!(
            s,
            GlobalStats {
                arena_allocs: 4,
                arena_bytes: 1040,
                arena_frees: 1,
                spill_bytes: 100,
                spills: 1,
                chunks_taken: 1,
                chunks_orphaned: 1,
                no_chunk_spills: 1,
                cap_spills: 1,
                large_allocs: 1,
                large_bytes: 1000,
                reused_allocs: 1,
                reused_bytes: 24,
            }
        );
        assert_eq!(GlobalStats::from_array(s.to_array()), s);
        assert_eq!(s.since(&s), GlobalStats::default());
    }
}
