//! A snapshot of a scratch arena's counters.

/// What a scratch arena (the thread's, or a [`with_arena_sized`](crate::with_arena_sized)
/// batch arena) holds and has held: a plain snapshot, cheap to copy.
///
/// A scratch arena never refuses under the default policy: a request that does not fit its
/// *pool* is served beyond it (from extra chunks or the heap) and counted as an overflow. So
/// `overflow_count` tells about the scope cycle in progress, and `total_overflows` /
/// `overflow_bytes` keep the history after the scopes have ended, which is what a sizing
/// decision needs. The fixed and growable [`Arena`](crate::Arena) report
/// [`ArenaStats`](crate::ArenaStats) instead; process-wide totals over every thread are
/// [`metrics::ScratchMetrics`](crate::metrics::ScratchMetrics).
///
/// # Example
///
/// ```
/// use engram_kernels::{ArenaAlloc, thread_arena_stats, with_arena};
///
/// std::thread::spawn(|| {
///     with_arena(|s| {
///         s.alloc_slice_fill_copy(4 << 20, 0u8); // larger than the 1 MiB pool: an overflow
///         assert_eq!(s.stats().overflow_count, 1);
///     });
///     let after = thread_arena_stats().unwrap();
///     assert_eq!((after.used, after.overflow_count), (0, 0)); // the cycle has ended
///     assert_eq!(after.total_overflows, 1); // but its overflow is still on record
///     assert!(after.overflow_bytes >= 4 << 20);
/// })
/// .join()
/// .unwrap();
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ScratchStats {
    /// Size of the arena's pool in bytes: what its scopes use before they overflow.
    pub capacity: usize,
    /// Bytes consumed by the live scopes, alignment padding included; 0 between scopes.
    pub used: usize,
    /// Peak of `used` since the arena was created (kept across scopes).
    pub high_water_mark: usize,
    /// Requests of the current scope cycle served beyond the pool (or refused, under a strict
    /// overflow policy); cleared when the outermost scope exits.
    pub overflow_count: usize,
    /// Overflows since the arena was created, never cleared by a scope exit.
    pub total_overflows: u64,
    /// Bytes requested by those overflows since the arena was created.
    pub overflow_bytes: u64,
}

impl ScratchStats {
    /// `used / capacity`, in `[0, 1]`; `0.0` for a zero-capacity arena, never NaN. This is the
    /// Zig implementation's `getThreadArenaUtilization`.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::scratch::ScratchStats;
    ///
    /// let s = ScratchStats { capacity: 1024, used: 256, ..ScratchStats::default() };
    /// assert_eq!(s.utilization(), 0.25);
    /// ```
    pub fn utilization(&self) -> f64 {
        crate::bump::utilization(self.used, self.capacity)
    }
}
