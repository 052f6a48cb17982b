//! Batch scopes: a larger arena on demand, for batch work that will not fit the thread's pool
//! (the Zig implementation's "larger arena allocator for batch operations").
//!
//! A batch arena is a scratch arena on the stack whose first chunk comes from the process-wide
//! chunk pool (see `crate::raw::chunk`), so that a batch size used over and over, on any
//! thread, reuses a chunk instead of mapping a new one each call. Its chunks go back to the pool
//! when the scope ends.

use super::{OnThisThread, Scratch, run_scope, scratch_refill};
use crate::config;
use crate::raw::RawArena;
use crate::raw::chunk;
use allocator_api2::alloc::AllocError;

/// Smallest chunk a batch scope takes: below this, the thread arena is the better tool.
const MIN_BATCH: usize = 1 << 20;

/// The capacity a request for `bytes` gets: a power of two of at least 1 MiB, so that similar
/// batch sizes share chunks; the exact size when rounding would overflow.
fn rounded_capacity(bytes: usize) -> usize {
    bytes
        .max(MIN_BATCH)
        .checked_next_power_of_two()
        .unwrap_or(bytes)
}

/// Runs `f` with a scope on a batch arena of at least `bytes` bytes, taken from a process-wide
/// pool and given back afterwards.
///
/// Use it for batch work that will not fit the per-thread pool (1 MiB by default). The arena
/// behaves like the thread's: same overflow policy, same handle, and the scope's exit records one
/// reset in [`metrics`](crate::metrics). Nest with [`Scratch::scope`].
///
/// Cost: a short lock to pick a buffer and one to give it back; a system allocation only when
/// no pooled buffer is large enough. Capacities are rounded up to a power of two of at least
/// 1 MiB so that buffers are shared across similar sizes. The pool is the one every arena shares
/// (see [`pool_bytes`]): it keeps at most 32 idle chunks and the configured retention
/// (8 MiB by default, [`set_pool_retain`]), and beyond either bound gives its smallest idle
/// chunks back to the system. A batch larger than the retention maps its chunk afresh each call
/// unless the retention is raised to its size.
///
/// # Example
///
/// ```
/// use engram_kernels::{ArenaAlloc, with_arena_sized};
///
/// let n = 1_000_000;
/// let total = with_arena_sized(n * 4, |s| {
///     let xs = s.alloc_slice_fill_with(n, |i| (i % 7) as u32);
///     assert!(s.stats().capacity >= n * 4);
///     assert_eq!(s.stats().overflow_count, 0);
///     xs.iter().map(|&x| x as u64).sum::<u64>()
/// });
/// assert_eq!(total, (0..n as u64).map(|i| i % 7).sum());
/// ```
pub fn with_arena_sized<R>(bytes: usize, f: impl for<'s> FnOnce(Scratch<'s>) -> R) -> R {
    // If the system refuses the chunk, the arena starts empty and follows the overflow policy
    // from the first request: slower, never wrong.
    let arena = RawArena::with_capacity(scratch_refill(), rounded_capacity(bytes))
        .unwrap_or_else(|AllocError| RawArena::new(scratch_refill()));
    // No block outlives the scope (its handle's lifetime is higher-ranked), so dropping the
    // arena afterwards, which gives its chunks back to the pool, frees nothing in use.
    run_scope(&arena, OnThisThread, f)
}

/// Bytes currently held idle by the chunk pool that batch scopes, growable arenas and scratch
/// growth share.
///
/// The pool takes the chunks arenas give up (every chunk of a growable arena when it is dropped,
/// a scratch scope's extra chunks at its outermost exit, a batch scope's chunks, a thread
/// arena's chunk when its thread exits) and hands each to the next arena, on any thread, that
/// needs one of at most its size (the smallest that fits). It keeps at most 32 idle chunks and
/// [`pool_retain`] bytes; beyond either bound its smallest idle chunks go back to the system.
/// (A growable arena's reset keeps its largest chunk and frees the others itself: its next
/// round starts in that chunk, so they would only sit idle.) An arena that zeroes on reset
/// scrubs its chunks before they reach the pool.
///
/// # Example
///
/// ```
/// use engram_kernels::ArenaAlloc;
/// use engram_kernels::scratch::{pool_bytes, trim_pool, with_arena_sized};
///
/// with_arena_sized(2 << 20, |s| {
///     s.alloc(0u8);
/// });
/// assert!(pool_bytes() >= 2 << 20);
/// trim_pool();
/// assert_eq!(pool_bytes(), 0);
/// ```
pub fn pool_bytes() -> usize {
    chunk::idle_bytes()
}

/// Frees every idle chunk of the pool. Chunks in use stay with their arenas and are pooled again
/// when those reset or end.
///
/// # Example
///
/// ```
/// engram_kernels::scratch::trim_pool();
/// assert_eq!(engram_kernels::scratch::pool_bytes(), 0);
/// ```
pub fn trim_pool() {
    chunk::trim_to(0);
}

/// The most idle bytes the chunk pool keeps: [`ArenaConfig::pool_retain`](crate::config::ArenaConfig::pool_retain) (8 MiB unless
/// configured, or set by `ENGRAM_ARENA_POOL_RETAIN`).
///
/// # Example
///
/// ```
/// use engram_kernels::scratch::{pool_bytes, pool_retain};
///
/// assert!(pool_bytes() <= pool_retain());
/// ```
pub fn pool_retain() -> usize {
    config::pool_retain()
}

/// Sets the most idle bytes the chunk pool keeps, and trims the pool to it at once (the
/// smallest idle chunks go back to the system first). 0 keeps nothing idle: every chunk an arena
/// gives up goes straight back to the system. The same setting as
/// [`ArenaConfig::pool_retain`](crate::config::ArenaConfig::pool_retain).
///
/// # Example
///
/// ```
/// use engram_kernels::scratch::{pool_bytes, pool_retain, set_pool_retain, with_arena_sized};
///
/// let before = pool_retain();
/// set_pool_retain(16 << 20);
/// with_arena_sized(16 << 20, |s| s.stats().capacity); // its 16 MiB chunk stays pooled
/// assert!(pool_bytes() >= 16 << 20);
/// set_pool_retain(1 << 20);
/// assert!(pool_bytes() <= 1 << 20);
/// set_pool_retain(before);
/// ```
pub fn set_pool_retain(bytes: usize) {
    config::store_pool_retain(bytes);
    chunk::trim_to(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacities_round_to_shared_sizes() {
        assert_eq!(rounded_capacity(0), MIN_BATCH);
        assert_eq!(rounded_capacity(MIN_BATCH + 1), 2 * MIN_BATCH);
        assert_eq!(rounded_capacity(usize::MAX), usize::MAX);
    }
}
