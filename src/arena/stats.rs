//! A snapshot of an arena's counters.

/// What an [`Arena`](crate::Arena) holds and has held: a plain snapshot, cheap to copy.
///
/// Scratch arenas report [`ScratchStats`](crate::ScratchStats), where an overflow is
/// a request served beyond the pool rather than a refusal.
///
/// # Example
///
/// ```
/// use engram_kernels::{Arena, ArenaAlloc};
///
/// let arena = Arena::with_capacity(1024);
/// arena.alloc([0u8; 256]);
/// let s = arena.stats();
/// assert_eq!((s.capacity, s.used, s.overflow_count), (1024, 256, 0));
/// assert_eq!(s.utilization(), 0.25);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ArenaStats {
    /// Size of the arena's buffer in bytes; for a growable arena, the sum of its chunks.
    pub capacity: usize,
    /// Bytes consumed since the last reset, alignment padding included.
    pub used: usize,
    /// Peak of `used` since the arena was created (kept across resets).
    pub high_water_mark: usize,
    /// Requests refused since the last reset: a fixed arena that is full, or a growable one at
    /// its allocation limit.
    pub overflow_count: usize,
    /// Refusals since the arena was created: unlike `overflow_count`, never cleared by a reset.
    pub total_overflows: u64,
    /// Bytes requested by those refusals since the arena was created.
    pub overflow_bytes: u64,
}

impl ArenaStats {
    /// `used / capacity`, in `[0, 1]`; `0.0` for a zero-capacity arena, never NaN.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::ArenaStats;
    ///
    /// let s = ArenaStats { capacity: 0, ..ArenaStats::default() };
    /// assert_eq!(s.utilization(), 0.0);
    /// ```
    pub fn utilization(&self) -> f64 {
        crate::bump::utilization(self.used, self.capacity)
    }

    /// `capacity - used`: the most a single byte-aligned request can still get.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::ArenaStats;
    ///
    /// let s = ArenaStats { capacity: 100, used: 60, ..ArenaStats::default() };
    /// assert_eq!(s.remaining(), 40);
    /// ```
    pub fn remaining(&self) -> usize {
        self.capacity.saturating_sub(self.used)
    }
}
