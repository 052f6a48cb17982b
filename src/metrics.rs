//! Process-wide scratch metrics: resets, overflows and the peak arena use.
//!
//! Every outermost scratch scope exit records one reset, the overflows of its cycle and its peak
//! `used`. The write side must stay off every lock and shared cache line, so each thread owns a
//! [`CachePadded`] block of counters that only it writes (plain relaxed loads and stores, no
//! read-modify-write). The blocks are listed in a [`parking_lot`] registry that is locked only
//! when a thread registers or exits, and when someone reads or resets the totals.
//!
//! Resetting cannot zero another thread's counts without racing its writes (a zero stored
//! between the owner's load and store would be overwritten by the old count plus one). So the
//! counts only ever grow, and a reset records each block's current counts as its *baseline*,
//! under the registry lock; readers report counts minus baseline. The peak is different: the
//! owner only ever stores the peak of the cycle it is recording, so a reader may zero it
//! directly. A reset therefore never loses to a concurrent write: a cycle recorded concurrently
//! may or may not be counted, and nothing counted before it is counted again. The owner's record
//! is two increments and a compare, with no check for resets.
//!
//! # Example
//!
//! ```
//! use engram_kernels::ArenaAlloc;
//! use engram_kernels::{metrics, with_arena};
//!
//! let before = metrics::snapshot();
//! with_arena(|s| {
//!     s.alloc([0u8; 100]);
//! });
//! let after = metrics::snapshot();
//! assert!(after.total_resets > before.total_resets);
//! assert!(after.max_high_water_mark >= 100);
//! ```

use crate::sync::Mutex;
use allocator_api2::alloc::System;
use allocator_api2::boxed::Box;
use allocator_api2::vec::Vec;
use crossbeam_utils::CachePadded;
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

/// Totals over every thread's scratch scopes since the start of the process (or the last
/// [`reset`]).
///
/// # Example
///
/// ```
/// use engram_kernels::metrics::ScratchMetrics;
///
/// let a = ScratchMetrics { total_resets: 2, total_overflows: 0, max_high_water_mark: 12 };
/// let b = ScratchMetrics { total_resets: 1, total_overflows: 1, max_high_water_mark: 40 };
/// let sum = a.merge(b);
/// assert_eq!((sum.total_resets, sum.total_overflows, sum.max_high_water_mark), (3, 1, 40));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ScratchMetrics {
    /// Arena resets: outermost scope exits, and the explicit resets counted by [`record_reset`].
    pub total_resets: u64,
    /// Requests that did not fit, summed over all cycles.
    pub total_overflows: u64,
    /// The largest peak `used` of any cycle, in bytes.
    pub max_high_water_mark: usize,
}

impl ScratchMetrics {
    /// Combines two sets of totals: counts add, peaks take the maximum.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::metrics::ScratchMetrics;
    ///
    /// let z = ScratchMetrics::default();
    /// assert_eq!(z.merge(z), z);
    /// ```
    pub fn merge(self, other: ScratchMetrics) -> ScratchMetrics {
        ScratchMetrics {
            total_resets: self.total_resets.saturating_add(other.total_resets),
            total_overflows: self.total_overflows.saturating_add(other.total_overflows),
            max_high_water_mark: self.max_high_water_mark.max(other.max_high_water_mark),
        }
    }
}

/// One thread's counters. Only the owning thread writes `resets` and `overflows`; `peak` is
/// raised by the owner and zeroed by readers; the baselines are read and written only under the
/// registry lock.
#[derive(Default)]
struct Counters {
    resets: AtomicU64,
    overflows: AtomicU64,
    peak: AtomicUsize,
    base_resets: AtomicU64,
    base_overflows: AtomicU64,
}

/// Owner-only increment: a relaxed load and store, no `lock`-prefixed instruction. Wrapping, not
/// saturating: a `u64` count of resets or overflows cannot wrap in the life of a process, and a
/// saturation check would sit on every scope exit.
#[inline(always)]
fn add(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
}

impl Counters {
    #[inline]
    fn record(&self, overflows: u64, peak: usize) {
        add(&self.resets, 1);
        add(&self.overflows, overflows);
        // Only this cycle's peak is ever stored, so a reader's zero can be overwritten by a cycle
        // concurrent with the reset, never by one before it.
        if peak > self.peak.load(Relaxed) {
            self.peak.store(peak, Relaxed);
        }
    }

    /// Makes the current counts the zero point (registry lock held).
    fn rebase(&self) {
        self.base_resets.store(self.resets.load(Relaxed), Relaxed);
        self.base_overflows
            .store(self.overflows.load(Relaxed), Relaxed);
        self.peak.store(0, Relaxed);
    }

    /// The counts since the last [`rebase`](Self::rebase) (registry lock held).
    fn read(&self) -> ScratchMetrics {
        let since =
            |n: &AtomicU64, base: &AtomicU64| n.load(Relaxed).wrapping_sub(base.load(Relaxed));
        ScratchMetrics {
            total_resets: since(&self.resets, &self.base_resets),
            total_overflows: since(&self.overflows, &self.base_overflows),
            max_high_water_mark: self.peak.load(Relaxed),
        }
    }
}

/// A thread's counter block. Blocks are allocated once from [`System`] and recycled through the
/// registry's spare list when their thread exits, so they can be `'static` (no reference count
/// on the scope path), and memory stays bounded by the most threads alive at once.
///
/// Everything the registry owns comes from `System`, never from the global allocator: with
/// [`GlobalArena`](crate::GlobalArena) installed, a block registered inside a global scope would
/// otherwise pin that thread's global arena for as long as the thread lives.
type Block = &'static CachePadded<Counters>;

struct Registry {
    live: Vec<Block, System>,
    /// Blocks of exited threads, zeroed, waiting for a new thread.
    spare: Vec<Block, System>,
    /// Totals of threads that have exited, and of cycles recorded without a thread block.
    retired: ScratchMetrics,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    live: Vec::new_in(System),
    spare: Vec::new_in(System),
    retired: ScratchMetrics {
        total_resets: 0,
        total_overflows: 0,
        max_high_water_mark: 0,
    },
});

/// The totals over all threads, live and exited.
///
/// Cost: takes the registry lock and reads each live thread's counters once.
///
/// # Example
///
/// ```
/// use engram_kernels::ArenaAlloc;
/// engram_kernels::with_arena(|s| {
///     s.alloc(1u8);
/// });
/// assert!(engram_kernels::metrics::snapshot().total_resets >= 1);
/// ```
pub fn snapshot() -> ScratchMetrics {
    let reg = REGISTRY.lock();
    reg.live
        .iter()
        .fold(reg.retired, |acc, b| acc.merge(b.read()))
}

/// Zeroes the totals. Cycles recorded concurrently with the reset may or may not be counted;
/// nothing recorded before it is counted again.
///
/// # Example
///
/// ```
/// use engram_kernels::ArenaAlloc;
/// use engram_kernels::{metrics, with_arena};
///
/// with_arena(|s| {
///     s.alloc([0u8; 4096]);
/// });
/// metrics::reset();
/// with_arena(|s| {
///     s.alloc(0u8);
/// });
/// // Only this thread records here, so the 4096-byte cycle before the reset is gone.
/// let m = metrics::snapshot();
/// assert_eq!((m.total_resets, m.max_high_water_mark), (1, 1));
/// ```
pub fn reset() {
    let mut reg = REGISTRY.lock();
    reg.retired = ScratchMetrics::default();
    for b in &reg.live {
        b.rebase();
    }
}

/// Counts one arena reset that was not a scope exit, for an API that promises to count every
/// reset it is asked for (the C library's `engram_reset_arenas` counts one per call, as the
/// library it replaces did). [`snapshot`] includes it and [`reset`] clears it.
///
/// Cost: takes the registry lock; not for hot paths.
///
/// # Example
///
/// ```
/// use engram_kernels::metrics;
///
/// let before = metrics::snapshot().total_resets;
/// metrics::record_reset();
/// assert!(metrics::snapshot().total_resets > before); // other threads may count resets too
/// ```
pub fn record_reset() {
    record_detached(0, 0);
}

/// Records a cycle outside the calling thread's counter block: for a thread that has none (for
/// example during thread-local teardown), or for an explicit reset ([`record_reset`]). Takes
/// the registry lock: only for cold paths.
pub(crate) fn record_detached(overflows: u64, peak: usize) {
    let mut reg = REGISTRY.lock();
    reg.retired = reg.retired.merge(ScratchMetrics {
        total_resets: 1,
        total_overflows: overflows,
        max_high_water_mark: peak,
    });
}

/// A thread's handle on its counter block, registered lazily at the first record. Lives in the
/// scratch thread-local; dropping it folds the thread's totals into the retired ones and hands
/// the block to the next thread.
pub(crate) struct ThreadMetrics {
    block: Cell<Option<Block>>,
}

impl ThreadMetrics {
    pub(crate) const fn new() -> Self {
        Self {
            block: Cell::new(None),
        }
    }

    /// Records one outermost-scope cycle: one reset, `overflows`, and a peak of `peak` bytes.
    #[inline]
    pub(crate) fn record(&self, overflows: u64, peak: usize) {
        let block = match self.block.get() {
            Some(b) => b,
            None => self.register(),
        };
        block.record(overflows, peak);
    }

    #[cold]
    fn register(&self) -> Block {
        let mut reg = REGISTRY.lock();
        let block = match reg.spare.pop() {
            Some(b) => b,
            None => Box::leak(Box::new_in(CachePadded::new(Counters::default()), System)),
        };
        reg.live.push(block);
        self.block.set(Some(block));
        block
    }
}

impl Drop for ThreadMetrics {
    fn drop(&mut self) {
        if let Some(block) = self.block.take() {
            let mut reg = REGISTRY.lock();
            reg.retired = reg.retired.merge(block.read());
            reg.live.retain(|b| !std::ptr::eq(*b, block));
            // The owner is gone and readers hold the lock: leave the block at zero for the next
            // thread.
            block.rebase();
            reg.spare.push(block);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_hides_earlier_cycles_and_later_ones_count_from_zero() {
        let c = Counters::default();
        c.record(2, 100);
        c.record(0, 50);
        assert_eq!(
            c.read(),
            ScratchMetrics {
                total_resets: 2,
                total_overflows: 2,
                max_high_water_mark: 100
            }
        );
        c.rebase();
        assert_eq!(
            c.read(),
            ScratchMetrics::default(),
            "a reset hides old counts"
        );
        c.record(1, 10);
        assert_eq!(
            c.read(),
            ScratchMetrics {
                total_resets: 1,
                total_overflows: 1,
                max_high_water_mark: 10
            }
        );
    }

    #[test]
    fn counts_that_wrap_still_read_right_after_a_reset() {
        let c = Counters::default();
        c.resets.store(u64::MAX, Relaxed);
        c.rebase();
        c.record(0, 0);
        c.record(0, 0);
        assert_eq!(c.read().total_resets, 2);
    }

    #[test]
    fn merge_saturates() {
        let big = ScratchMetrics {
            total_resets: u64::MAX,
            total_overflows: 1,
            max_high_water_mark: 0,
        };
        assert_eq!(big.merge(big).total_resets, u64::MAX);
    }
}
