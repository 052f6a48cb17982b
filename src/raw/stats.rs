//! [`ArenaStats`]: the one snapshot of a raw arena's counters, whichever handle asks.

/// What an arena holds and has held: a plain snapshot, cheap to copy. The same six figures for
/// every arena: an [`Arena`](crate::arena::Arena) (from [`Arena::stats`]), a scratch scope
/// (from [`Scratch::stats`]) and the thread's scratch arena (from [`thread_arena_stats`]).
///
/// What an *overflow* is depends on the arena. An `Arena` refuses a request that does not fit
/// (a fixed one that is full, a growable one at its allocation limit): that refusal is the
/// overflow. A scratch arena never refuses under the default policy: a request that does not fit
/// its *pool* is served beyond it (from further chunks or the heap) and counted as an overflow.
/// Either way `overflow_count` tells about the cycle in progress (since the last reset, or the
/// outermost scope's entry), and `total_overflows` / `overflow_bytes` keep the history, which
/// is what a sizing decision needs. Process-wide totals over every thread's scratch scopes are
/// [`metrics::ScratchMetrics`](crate::metrics::ScratchMetrics).
///
/// [`Arena::stats`]: crate::arena::Arena::stats
/// [`Scratch::stats`]: crate::scratch::Scratch::stats
/// [`thread_arena_stats`]: crate::scratch::thread_arena_stats
///
/// # Example
///
/// ```
/// use engram_kernels::{Arena, ArenaAlloc, thread_arena_stats, with_arena};
///
/// let arena = Arena::with_capacity(1024);
/// arena.alloc([0u8; 256]);
/// let s = arena.stats();
/// assert_eq!((s.capacity, s.used, s.overflow_count), (1024, 256, 0));
/// assert_eq!(s.utilization(), 0.25);
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
pub struct ArenaStats {
    /// Bytes the arena hands out before it overflows: an `Arena`'s buffer (for a growable one,
    /// the sum of its chunks), or a scratch arena's pool.
    pub capacity: usize,
    /// Bytes consumed since the last reset (for a scratch arena: by the live scopes, 0 between
    /// scopes), alignment padding included.
    pub used: usize,
    /// Peak of `used` since the arena was created (kept across resets and scopes).
    pub high_water_mark: usize,
    /// Overflows of the current cycle: requests an `Arena` refused since its last reset, or
    /// requests a scratch arena served beyond its pool (or refused, under a strict overflow
    /// policy) since its outermost scope began.
    pub overflow_count: u64,
    /// Overflows since the arena was created: unlike `overflow_count`, never cleared.
    pub total_overflows: u64,
    /// Bytes requested by those overflows since the arena was created.
    pub overflow_bytes: u64,
}

impl ArenaStats {
    /// `used / capacity`, in `[0, 1]`; `0.0` for a zero-capacity arena, never NaN. For the
    /// thread's scratch arena this is the Zig implementation's `getThreadArenaUtilization`.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::ArenaStats;
    ///
    /// let s = ArenaStats { capacity: 0, ..ArenaStats::default() };
    /// assert_eq!(s.utilization(), 0.0);
    /// let s = ArenaStats { capacity: 1024, used: 256, ..ArenaStats::default() };
    /// assert_eq!(s.utilization(), 0.25);
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
