//! What a raw arena counts, apart from its allocation state: how high it has been (this cycle
//! and ever), how often it overflowed and by how much, and what its first chunk held when growth
//! left it. Plain `Cell` arithmetic, no unsafe; the arena feeds it addresses and sizes.

use core::cell::Cell;

/// What a reset reports about the cycle it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cycle {
    /// Requests refused or served beyond the arena's first chunk during the cycle.
    pub(crate) overflows: u64,
    /// Peak `used` during the cycle, in bytes.
    pub(crate) peak: usize,
}

/// The arena's counters.
pub(super) struct Tally {
    /// Highest cursor address seen in the current chunk: raised when the cursor moves down, a
    /// compare and a store, so that tracking the peak costs the allocation path nothing.
    high: Cell<usize>,
    /// Peak `used` this cycle in the chunks left behind; folded in when the chunk changes.
    peak: Cell<usize>,
    /// Peak `used` of the cycles already ended.
    high_water: Cell<usize>,
    /// Overflows this cycle.
    overflows: Cell<u64>,
    /// Overflows, and their requested bytes, since the arena was created.
    total_overflows: Cell<u64>,
    overflow_bytes: Cell<u64>,
    /// What the first chunk held when growth left it (scratch arenas report only their first
    /// chunk: their growth is overflow, counted apart).
    base_used: Cell<usize>,
    base_cap: Cell<usize>,
}

impl Tally {
    pub(super) const fn new(empty: usize) -> Self {
        Tally {
            high: Cell::new(empty),
            peak: Cell::new(0),
            high_water: Cell::new(0),
            overflows: Cell::new(0),
            total_overflows: Cell::new(0),
            overflow_bytes: Cell::new(0),
            base_used: Cell::new(0),
            base_cap: Cell::new(0),
        }
    }

    /// Records that the cursor was at `addr` before it moves down.
    #[inline(always)]
    pub(super) fn raise_high(&self, addr: usize) {
        if addr > self.high.get() {
            self.high.set(addr);
        }
    }

    /// The highest of the recorded height and the cursor at `cursor`.
    #[inline(always)]
    pub(super) fn top(&self, cursor: usize) -> usize {
        self.high.get().max(cursor)
    }

    /// Starts tracking the height afresh at `addr` (the chunk changed, or was reset).
    #[inline(always)]
    pub(super) fn restart_high(&self, addr: usize) {
        self.high.set(addr);
    }

    /// This cycle's peak so far, given what `used` is at the current chunk's top.
    pub(super) fn cycle_peak(&self, used_at_top: usize) -> usize {
        self.peak.get().max(used_at_top)
    }

    /// Folds the current chunk's peak in, before the chunk changes.
    pub(super) fn fold_peak(&self, used_at_top: usize) {
        self.peak.set(self.cycle_peak(used_at_top));
    }

    /// Whether chunks left behind this cycle have folded a peak in (the fast reset assumes not).
    pub(super) fn has_folded_peak(&self) -> bool {
        self.peak.get() != 0
    }

    /// Forgets the folded-in peak (the cycle's chunks are gone).
    pub(super) fn clear_peak(&self) {
        self.peak.set(0);
    }

    /// The peak of every cycle, this one's given as `cycle_peak`.
    pub(super) fn high_water_mark(&self, cycle_peak: usize) -> usize {
        self.high_water.get().max(cycle_peak)
    }

    /// Ends the cycle whose peak was `peak`: it joins the high-water mark and the overflow
    /// count starts over.
    pub(super) fn end_cycle(&self, peak: usize) -> Cycle {
        if peak > self.high_water.get() {
            self.high_water.set(peak);
        }
        Cycle {
            overflows: self.overflows.replace(0),
            peak,
        }
    }

    #[cold]
    pub(super) fn note_overflow(&self, bytes: usize) {
        self.overflows.set(self.overflows.get() + 1);
        self.total_overflows.set(self.total_overflows.get() + 1);
        self.overflow_bytes
            .set(self.overflow_bytes.get().saturating_add(bytes as u64));
    }

    /// Overflows this cycle.
    pub(super) fn overflow_count(&self) -> u64 {
        self.overflows.get()
    }

    /// Overflows and their bytes since the arena was created.
    pub(super) fn total_overflows(&self) -> (u64, u64) {
        (self.total_overflows.get(), self.overflow_bytes.get())
    }

    /// Records what the first chunk holds as growth leaves it.
    pub(super) fn set_base(&self, used: usize, cap: usize) {
        self.base_used.set(used);
        self.base_cap.set(cap);
    }

    /// What the first chunk held when growth left it: `(used, capacity)`.
    pub(super) fn base(&self) -> (usize, usize) {
        (self.base_used.get(), self.base_cap.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cycle_folds_its_peaks_and_starts_its_count_over() {
        let t = Tally::new(0);
        t.note_overflow(100);
        t.note_overflow(usize::MAX);
        t.fold_peak(40);
        assert!(t.has_folded_peak());
        assert_eq!(t.cycle_peak(10), 40);
        let c = t.end_cycle(t.cycle_peak(50));
        assert_eq!(
            c,
            Cycle {
                overflows: 2,
                peak: 50
            }
        );
        assert_eq!(t.overflow_count(), 0);
        assert_eq!(t.total_overflows(), (2, u64::MAX));
        t.clear_peak();
        assert_eq!(t.high_water_mark(t.cycle_peak(20)), 50);
        t.raise_high(8);
        t.raise_high(4);
        assert_eq!((t.top(6), t.top(9)), (8, 9));
    }
}
