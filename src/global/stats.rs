//! Allocation counters: plain per-thread `Cell`s on the allocator path, aggregated on read.
//!
//! A thread bumps its own counters without atomics. At the exit of each outermost
//! [`with_global_arena`](super::with_global_arena) scope it copies them into its slot's metadata,
//! and when it hands its slot back it adds them to the process-wide retired totals. Reading the
//! process-wide figures walks the slots; it never runs on the allocator path.

use core::cell::Cell;
use core::sync::atomic::{AtomicU64, Ordering};

/// Number of counters.
pub const FIELDS: usize = 7;

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
    /// `alloc`, `alloc_zeroed` and `realloc` calls forwarded to the inner allocator, spills
    /// included.
    pub passthrough_allocs: u64,
    /// Bytes requested by those calls.
    pub passthrough_bytes: u64,
    /// `dealloc` calls forwarded to the inner allocator.
    pub passthrough_frees: u64,
    /// Allocations made inside a scope that did not fit the arena and went to the inner allocator.
    pub spills: u64,
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

    fn to_array(self) -> [u64; FIELDS] {
        [
            self.arena_allocs,
            self.arena_bytes,
            self.arena_frees,
            self.passthrough_allocs,
            self.passthrough_bytes,
            self.passthrough_frees,
            self.spills,
        ]
    }

    fn from_array(a: [u64; FIELDS]) -> GlobalStats {
        GlobalStats {
            arena_allocs: a[0],
            arena_bytes: a[1],
            arena_frees: a[2],
            passthrough_allocs: a[3],
            passthrough_bytes: a[4],
            passthrough_frees: a[5],
            spills: a[6],
        }
    }
}

/// One thread's counters. `Cell`s: only the owning thread touches them.
pub struct Counters {
    c: [Cell<u64>; FIELDS],
}

const ARENA_ALLOCS: usize = 0;
const ARENA_BYTES: usize = 1;
const ARENA_FREES: usize = 2;
const PASS_ALLOCS: usize = 3;
const PASS_BYTES: usize = 4;
const PASS_FREES: usize = 5;
const SPILLS: usize = 6;

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

    #[inline(always)]
    pub fn arena_free(&self) {
        self.add(ARENA_FREES, 1);
    }

    #[inline(always)]
    pub fn pass_alloc(&self, bytes: usize) {
        self.add(PASS_ALLOCS, 1);
        self.add(PASS_BYTES, bytes as u64);
    }

    #[inline(always)]
    pub fn spill(&self, bytes: usize) {
        self.add(SPILLS, 1);
        self.pass_alloc(bytes);
    }

    #[inline(always)]
    pub fn pass_free(&self) {
        self.add(PASS_FREES, 1);
    }

    pub fn snapshot(&self) -> GlobalStats {
        GlobalStats::from_array(core::array::from_fn(|i| self.c[i].get()))
    }
}

/// Totals of threads that have handed their slot back.
static RETIRED: [AtomicU64; FIELDS] = [const { AtomicU64::new(0) }; FIELDS];

/// Copies a thread's counters into its slot's published copy.
pub fn publish(dst: &[AtomicU64; FIELDS], s: GlobalStats) {
    for (d, v) in dst.iter().zip(s.to_array()) {
        d.store(v, Ordering::Relaxed);
    }
}

/// Moves a thread's counters into the retired totals and clears its slot's published copy.
pub fn retire(slot: &[AtomicU64; FIELDS], s: GlobalStats) {
    for ((r, d), v) in RETIRED.iter().zip(slot).zip(s.to_array()) {
        r.fetch_add(v, Ordering::Relaxed);
        d.store(0, Ordering::Relaxed);
    }
}

/// Retired totals plus every slot's published counters.
pub fn aggregate<'a>(slots: impl Iterator<Item = &'a [AtomicU64; FIELDS]>) -> GlobalStats {
    let mut sum: [u64; FIELDS] = core::array::from_fn(|i| RETIRED[i].load(Ordering::Relaxed));
    for slot in slots {
        for (s, v) in sum.iter_mut().zip(slot) {
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
        c.pass_alloc(1);
        c.pass_free();
        let s = c.snapshot();
        assert_eq!(
            s,
            GlobalStats {
                arena_allocs: 2,
                arena_bytes: 16,
                arena_frees: 1,
                passthrough_allocs: 2,
                passthrough_bytes: 101,
                passthrough_frees: 1,
                spills: 1,
            }
        );
        assert_eq!(GlobalStats::from_array(s.to_array()), s);
        assert_eq!(s.since(&s), GlobalStats::default());
    }
}
