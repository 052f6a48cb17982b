//! Thread-local scratch arenas, used through scoped closures.
//!
//! Each thread gets one arena, created lazily on its first [`with_arena`] with the pool size
//! configured at that moment ([`crate::config`]; 1 MiB by default). Its buffer comes from
//! [`std::alloc::System`] directly and is freed when the thread exits.
//!
//! * **Scopes.** [`with_arena`] hands its closure a [`Scratch`] handle. Leaving the outermost
//!   scope rewinds the arena to empty in O(1); a nested scope rewinds only what it allocated. The
//!   handle's lifetime is higher-ranked, so nothing allocated through it can leave the closure.
//! * **Overflow.** A request that does not fit follows the
//!   [`OverflowPolicy`](crate::OverflowPolicy): by default it is served from the system heap,
//!   counted as an overflow, and freed no later than the end of its scope.
//! * **Outer handles.** While an inner scope is live, an outer handle cannot bump the arena (that
//!   memory is released when the inner scope exits); its requests take the overflow path.
//! * **Failure modes.** A panic inside a scope rewinds it during unwinding. During thread-local
//!   teardown, [`with_arena`] still works, on a heap-backed stand-in arena.
//! * **Cost.** Allocation through a handle is a depth compare plus the arena's bump: no
//!   thread-local access, lock or shared atomic. Entering and leaving a scope is one
//!   thread-local access and a few `Cell` updates.
//!
//! # Example
//!
//! ```
//! use engram_kernels::with_arena;
//! use allocator_api2::vec::Vec;
//!
//! let norm = with_arena(|scratch| {
//!     let mut squares = Vec::with_capacity_in(3, scratch);
//!     squares.extend([3.0f32, 4.0, 12.0].iter().map(|x| x * x));
//!     squares.iter().sum::<f32>().sqrt()
//! });
//! assert_eq!(norm, 13.0);
//! ```
//!
//! Nothing from the scope can escape it:
//!
//! ```compile_fail
//! let leaked = engram_kernels::with_arena(|scratch| scratch.alloc(5u32));
//! ```

mod batch;
mod spill;
mod state;

pub use batch::{batch_pool_bytes, trim_batch_pool, with_arena_sized};

use crate::arena::core::{alloc_buffer, free_buffer};
use crate::arena::typed::{self, BlockSource};
use crate::{ArenaStats, config};
use allocator_api2::alloc::{AllocError, Allocator, Layout};
use core::cell::Cell;
use core::fmt;
use core::ptr::NonNull;
use state::{Kind, ScratchState};

/// A handle on a live scratch scope, given to [`with_arena`] and [`with_arena_sized`] closures.
///
/// It is `Copy`, works directly as an allocator (`allocator_api2::vec::Vec::new_in(scratch)`,
/// `hashbrown::HashMap::new_in(scratch)`), and has the typed helpers (`alloc`,
/// `alloc_slice_copy`, ...). Blocks live until the scope ends. It is neither `Send` nor `Sync`.
///
/// # Example
///
/// ```
/// use engram_kernels::with_arena;
/// use hashbrown::HashMap;
///
/// with_arena(|scratch| {
///     let mut seen = HashMap::new_in(scratch);
///     let ids = scratch.alloc_slice_copy(&[3u32, 1, 3, 2]);
///     for &id in ids.iter() {
///         *seen.entry(id).or_insert(0) += 1;
///     }
///     assert_eq!(seen[&3], 2);
/// });
/// ```
#[derive(Clone, Copy)]
pub struct Scratch<'s> {
    state: &'s ScratchState,
    depth: u32,
}

impl<'s> Scratch<'s> {
    /// A snapshot of the arena behind this scope (shared by all scopes on the same arena).
    ///
    /// # Example
    ///
    /// ```
    /// engram_kernels::with_arena(|s| {
    ///     s.alloc([0u8; 64]);
    ///     assert!(s.stats().used >= 64);
    /// });
    /// ```
    pub fn stats(&self) -> ArenaStats {
        self.state.stats()
    }

    /// Opens a nested scope on the same arena: what `f` allocates is released when it returns,
    /// and what this scope allocated before stays. Equivalent to calling [`with_arena`] again
    /// for the thread arena, and the way to nest inside a [`with_arena_sized`] scope.
    ///
    /// # Example
    ///
    /// ```
    /// engram_kernels::with_arena_sized(1 << 20, |outer| {
    ///     outer.alloc(1u64);
    ///     let used = outer.stats().used;
    ///     outer.scope(|inner| {
    ///         inner.alloc_slice_fill_copy(1000, 0u8);
    ///     });
    ///     assert_eq!(outer.stats().used, used);
    /// });
    /// ```
    pub fn scope<R>(&self, f: impl for<'i> FnOnce(Scratch<'i>) -> R) -> R {
        run_scope(self.state, f)
    }

    #[inline(always)]
    fn source(&self) -> Self {
        *self
    }

    typed::typed_helpers!('s, "engram_kernels::with_arena(|a| {", "});");
}

impl fmt::Debug for Scratch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scratch")
            .field("depth", &self.depth)
            .field("stats", &self.stats())
            .finish()
    }
}

// SAFETY: blocks come from `ScratchState::alloc`: either bumped from the arena by the innermost
// scope (released only when that scope, which outlives `'s`, exits) or spilled to the heap and
// freed no earlier than the exit of the scope at `depth`. Both outlive `'s`.
unsafe impl<'s> BlockSource<'s> for Scratch<'s> {
    #[inline(always)]
    fn block(&self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        self.state.alloc(layout, self.depth)
    }

    fn refused(&self, layout: Layout) -> ! {
        self.state.refuse_loudly(layout, self.depth)
    }
}

// SAFETY: see `BlockSource` above for validity. `deallocate` and the resizing methods route by
// address: arena blocks only move the cursor when they are the most recent block at or above the
// innermost floor (so no live block is handed out twice), and spilled blocks are unlinked and
// freed exactly once. Copies of a handle share one state, so any of them may free another's
// blocks.
unsafe impl Allocator for Scratch<'_> {
    #[inline(always)]
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let p = self.state.alloc(layout, self.depth)?;
        Ok(NonNull::slice_from_raw_parts(p, layout.size()))
    }

    #[inline]
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded caller contract.
        unsafe { self.state.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded caller contract.
        unsafe { self.state.realloc(ptr, old, new, self.depth, false) }
    }

    #[inline]
    unsafe fn grow_zeroed(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded caller contract.
        unsafe { self.state.realloc(ptr, old, new, self.depth, true) }
    }

    #[inline]
    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded caller contract.
        unsafe { self.state.realloc(ptr, old, new, self.depth, false) }
    }
}

/// The thread's own arena; the buffer is installed on first use and freed at thread exit.
struct ThreadScratch {
    state: ScratchState,
    ready: Cell<bool>,
}

impl ThreadScratch {
    #[inline(always)]
    fn ensure_ready(&self) {
        if !self.ready.get() {
            self.create();
        }
    }

    #[cold]
    fn create(&self) {
        let cfg = config::current();
        // If the system refuses the buffer, the arena stays at zero capacity and every request
        // takes the overflow path: slower, never wrong.
        let (base, capacity) = match alloc_buffer(cfg.pool_size) {
            Ok(base) => (base, cfg.pool_size),
            Err(AllocError) => (NonNull::dangling(), 0),
        };
        // SAFETY: a fresh buffer this thread-local owns until `release` or drop; no block of the
        // previous (empty or released) buffer is live, since we are outside any scope.
        unsafe { self.state.core.install(base, capacity) };
        self.state.set_zero_on_reset(cfg.zero_on_reset);
        self.ready.set(true);
    }

    fn release(&self) -> bool {
        if !self.ready.get() || self.state.depth() != 0 {
            return false;
        }
        let (base, capacity) = (self.state.core.base(), self.state.core.capacity());
        // SAFETY: outside any scope no block of the buffer is live; the core is pointed at an
        // empty buffer before the old one is freed.
        unsafe {
            self.state.core.install(NonNull::dangling(), 0);
            free_buffer(base, capacity);
        }
        self.ready.set(false);
        true
    }
}

impl Drop for ThreadScratch {
    fn drop(&mut self) {
        self.release();
    }
}

thread_local! {
    static THREAD: ThreadScratch = const {
        ThreadScratch { state: ScratchState::new(Kind::Thread), ready: Cell::new(false) }
    };
}

#[inline(always)]
fn run_scope<R>(state: &ScratchState, f: impl for<'s> FnOnce(Scratch<'s>) -> R) -> R {
    let guard = state.enter();
    let r = f(Scratch {
        state,
        depth: guard.depth(),
    });
    guard.close();
    r
}

/// Runs `f` with a scope on this thread's scratch arena, then releases everything `f`
/// allocated.
///
/// * The first call on a thread creates its arena (one system allocation of the configured pool
///   size); later calls only open and close a scope: a thread-local access and a few `Cell`
///   updates, no lock.
/// * Nesting is allowed: an inner call rewinds only what it allocated.
/// * If `f` panics, the scope is rewound during unwinding.
/// * During thread-local teardown (for example from another thread-local's destructor), `f`
///   runs on a heap-backed stand-in arena instead.
///
/// Leaving the outermost scope records one reset, its overflows and its peak in
/// [`metrics`](crate::metrics).
///
/// # Example
///
/// ```
/// use engram_kernels::with_arena;
///
/// let sum = with_arena(|s| {
///     let xs = s.alloc_slice_fill_with(100, |i| i as u64);
///     xs.iter().sum::<u64>()
/// });
/// assert_eq!(sum, 4950);
/// ```
#[inline]
pub fn with_arena<R>(f: impl for<'s> FnOnce(Scratch<'s>) -> R) -> R {
    let mut f = Some(f);
    let on_thread = THREAD.try_with(|t| {
        t.ensure_ready();
        run_scope(&t.state, f.take().expect("f is taken once"))
    });
    match on_thread {
        Ok(r) => r,
        Err(_) => run_detached(f.take().expect("f was not taken: the thread-local is gone")),
    }
}

#[cold]
fn run_detached<R>(f: impl for<'s> FnOnce(Scratch<'s>) -> R) -> R {
    let stand_in = ScratchState::new(Kind::Teardown);
    run_scope(&stand_in, f)
}

/// Records a finished cycle of a batch or stand-in arena against this thread (or, during
/// teardown, against the process totals directly).
fn record_on_this_thread(overflows: usize, peak: usize) {
    // Registering a counter block needs no arena, so this works before the thread's first scope.
    let recorded = THREAD.try_with(|t| t.state.record_cycle(overflows, peak));
    if recorded.is_err() {
        crate::metrics::record_detached(overflows, peak);
    }
}

/// This thread's scratch arena statistics, or `None` until its arena is first used (or after
/// [`release_thread_arena`]).
///
/// Inside a scope this shows the live use; between scopes `used` is 0 and the high-water mark
/// tells the peak so far. Use [`ArenaStats::utilization`] for the seed's
/// `getThreadArenaUtilization`.
///
/// # Example
///
/// ```
/// use engram_kernels::{thread_arena_stats, with_arena};
///
/// std::thread::spawn(|| {
///     assert_eq!(thread_arena_stats(), None);
///     with_arena(|s| {
///         s.alloc([0u8; 512]);
///         assert!(thread_arena_stats().unwrap().utilization() > 0.0);
///     });
///     assert_eq!(thread_arena_stats().unwrap().used, 0);
///     assert!(thread_arena_stats().unwrap().high_water_mark >= 512);
/// })
/// .join()
/// .unwrap();
/// ```
pub fn thread_arena_stats() -> Option<ArenaStats> {
    THREAD
        .try_with(|t| t.ready.get().then(|| t.state.stats()))
        .ok()
        .flatten()
}

/// Resets this thread's arena. Returns `false`, doing nothing, when the thread has no arena or
/// is inside a scope (a reset then would free live blocks). Scopes reset on exit anyway; this
/// clears the overflow count and zeroes the used bytes if zeroing is on.
///
/// # Example
///
/// ```
/// use engram_kernels::scratch::reset_thread_arena;
///
/// engram_kernels::with_arena(|_| {
///     assert!(!reset_thread_arena()); // inside a scope: refused
/// });
/// assert!(reset_thread_arena());
/// ```
pub fn reset_thread_arena() -> bool {
    THREAD
        .try_with(|t| t.ready.get() && t.state.reset_idle())
        .unwrap_or(false)
}

/// Frees this thread's arena buffer; the next [`with_arena`] creates a new one with the pool size
/// configured then. Returns `false`, doing nothing, when there is no arena or inside a scope.
/// Idempotent.
///
/// # Example
///
/// ```
/// use engram_kernels::{scratch::release_thread_arena, thread_arena_stats, with_arena};
///
/// with_arena(|s| {
///     s.alloc(1u8);
/// });
/// assert!(release_thread_arena());
/// assert!(!release_thread_arena());
/// assert_eq!(thread_arena_stats(), None);
/// ```
pub fn release_thread_arena() -> bool {
    THREAD.try_with(ThreadScratch::release).unwrap_or(false)
}
