//! Batch scopes: a larger arena on demand, for batch work that will not fit the thread's pool
//! (the seed's "larger arena allocator for batch operations").
//!
//! Buffers come from a process-wide pool behind a [`parking_lot::Mutex`], so that a batch size
//! used over and over, on any thread, reuses a buffer instead of mapping a new one each call. The
//! lock is held only to pick or return a buffer, never while allocating or running the scope.

use super::state::{Kind, ScratchState};
use super::{Scratch, run_scope};
use crate::arena::core::{alloc_buffer, free_buffer};
use crate::sync::Mutex;
use allocator_api2::alloc::System;
use allocator_api2::vec::Vec;
use core::ptr::NonNull;

/// Buffers kept for reuse at most; a returned buffer beyond that frees the smallest one.
const MAX_POOLED: usize = 4;
/// Smallest buffer the pool creates: below this, the thread arena is the better tool.
const MIN_BATCH: usize = 1 << 20;

struct Buffer {
    base: NonNull<u8>,
    capacity: usize,
}

// SAFETY: a pooled buffer is plain memory owned by the pool (or by the one scope that took it);
// no thread-local state refers to it.
unsafe impl Send for Buffer {}

/// The pool's own list lives in [`System`], not the global allocator: with
/// [`GlobalArena`](crate::GlobalArena) installed it would otherwise land in (and pin) a global
/// arena whenever it first grows inside a global scope.
static POOL: Mutex<Vec<Buffer, System>> = Mutex::new(Vec::new_in(System));

/// The capacity a request for `bytes` gets: a power of two of at least 1 MiB, so that similar
/// batch sizes share buffers; the exact size when rounding would overflow.
fn rounded_capacity(bytes: usize) -> usize {
    bytes
        .max(MIN_BATCH)
        .checked_next_power_of_two()
        .unwrap_or(bytes)
}

fn take(bytes: usize) -> Buffer {
    let reused = {
        let mut pool = POOL.lock();
        let best = pool
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity >= bytes)
            .min_by_key(|(_, b)| b.capacity)
            .map(|(i, _)| i);
        best.map(|i| pool.swap_remove(i))
    };
    reused.unwrap_or_else(|| {
        let capacity = rounded_capacity(bytes);
        match alloc_buffer(capacity) {
            Ok(base) => Buffer { base, capacity },
            // Zero capacity: every request takes the overflow path. Slower, never wrong.
            Err(_) => Buffer {
                base: NonNull::dangling(),
                capacity: 0,
            },
        }
    })
}

fn give_back(buffer: Buffer) {
    if buffer.capacity == 0 {
        return;
    }
    let evicted = {
        let mut pool = POOL.lock();
        pool.push(buffer);
        if pool.len() > MAX_POOLED {
            let smallest = (0..pool.len())
                .min_by_key(|&i| pool[i].capacity)
                .expect("non-empty");
            Some(pool.swap_remove(smallest))
        } else {
            None
        }
    };
    if let Some(b) = evicted {
        // SAFETY: pooled buffers come from `alloc_buffer(capacity)` and are in no one's use.
        unsafe { free_buffer(b.base, b.capacity) };
    }
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
/// 1 MiB so that buffers are shared across similar sizes; at most four are kept.
///
/// # Example
///
/// ```
/// use engram_kernels::with_arena_sized;
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
    // Read before taking the buffer: the first read of the configuration may print (and so,
    // in principle, panic), and nothing may stand between taking the buffer and `Return`.
    let zero_on_reset = crate::config::current().zero_on_reset;
    let buffer = take(bytes);
    let state = ScratchState::new(Kind::Batch);
    // SAFETY: the buffer is ours until `Return` gives it back, which happens when this function
    // returns or unwinds, after `run_scope` has closed the scope. No block outlives the scope
    // (its handle's lifetime is higher-ranked), and `state` is not used after that.
    unsafe { state.core.install(buffer.base, buffer.capacity) };
    state.set_zero_on_reset(zero_on_reset);
    let _return = Return(Some(buffer));
    run_scope(&state, f)
}

/// Gives the buffer back to the pool when the batch scope is over, also during unwinding.
struct Return(Option<Buffer>);

impl Drop for Return {
    fn drop(&mut self) {
        if let Some(b) = self.0.take() {
            give_back(b);
        }
    }
}

/// Bytes currently held by the batch pool, idle.
///
/// # Example
///
/// ```
/// use engram_kernels::scratch::{batch_pool_bytes, trim_batch_pool, with_arena_sized};
///
/// with_arena_sized(2 << 20, |s| {
///     s.alloc(0u8);
/// });
/// assert!(batch_pool_bytes() >= 2 << 20);
/// trim_batch_pool();
/// assert_eq!(batch_pool_bytes(), 0);
/// ```
pub fn batch_pool_bytes() -> usize {
    POOL.lock().iter().map(|b| b.capacity).sum()
}

/// Frees every idle buffer of the batch pool. Buffers in use are kept by their scopes and
/// pooled again when those end.
///
/// # Example
///
/// ```
/// engram_kernels::scratch::trim_batch_pool();
/// assert_eq!(engram_kernels::scratch::batch_pool_bytes(), 0);
/// ```
pub fn trim_batch_pool() {
    let drained = std::mem::replace(&mut *POOL.lock(), Vec::new_in(System));
    for b in drained {
        // SAFETY: pooled buffers come from `alloc_buffer(capacity)` and are in no one's use.
        unsafe { free_buffer(b.base, b.capacity) };
    }
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
