//! Thread-local scratch arenas, used through scoped closures.
//!
//! Each thread gets one arena, created lazily on its first [`with_arena`] with the pool size
//! configured at that moment ([`crate::config`]; 1 MiB by default): its *pool*, one chunk from
//! the process-wide chunk pool (memory from [`std::alloc::System`], never from the global
//! allocator). The arena's state lives on the heap and the chunk goes back to the pool when the
//! thread exits.
//!
//! * **Scopes.** [`with_arena`] hands its closure a [`Scratch`] handle. Leaving the outermost
//!   scope rewinds the arena to empty in O(1); a nested scope rewinds only what it allocated. The
//!   handle's lifetime is higher-ranked, so nothing allocated through it can leave the closure.
//! * **Overflow.** A request that does not fit the pool follows the [`OverflowPolicy`], read at
//!   each overflow. By default (`Fallback`) the scope grows: it takes further chunks from the
//!   shared pool (a request larger than any chunk, 64 MiB, is served from the heap on its own),
//!   every such request is counted as an overflow, and the extra chunks go back to the pool when
//!   the outermost scope exits. `Error` and `Panic` keep the arena strictly to its pool.
//! * **Outer handles.** While an inner scope is live, an outer handle cannot bump the arena (that
//!   memory is released when the inner scope exits); its requests take the overflow path:
//!   under `Fallback` they are served from the heap, beyond the inner checkpoint, counted, and
//!   freed when the outer scope ends. (bump-scope makes this a compile error; here it is
//!   allowed and costs a heap allocation.)
//! * **Failure modes.** A panic inside a scope rewinds it during unwinding. During thread-local
//!   teardown, [`with_arena`] still works, on a heap-backed stand-in arena.
//! * **Cost.** Allocation through a handle is a depth compare plus the arena's bump, through an
//!   ordinary pointer: no thread-local access, lock or shared atomic. Entering and leaving a
//!   scope is one thread-local access and a few `Cell` updates; the outermost exit also reads
//!   the configured zeroing flag (one relaxed atomic load), so configuration reaches live arenas.
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
//! ```compile_fail,E0521
//! use engram_kernels::ArenaAlloc;
//!
//! let mut leaked: Option<&mut u32> = None;
//! engram_kernels::with_arena(|scratch| leaked = Some(scratch.alloc(5u32)));
//! ```

mod batch;

pub use batch::{pool_bytes, pool_retain, set_pool_retain, trim_pool, with_arena_sized};

use crate::arena_alloc::sealed;
use crate::config::{self, OverflowPolicy};
use crate::metrics::ThreadMetrics;
use crate::raw::stats::ArenaStats;
use crate::raw::{Checkpoint, Cycle, RawArena, Refill};
use allocator_api2::alloc::{AllocError, Allocator, Layout, System};
use allocator_api2::boxed::Box;
use core::cell::Cell;
use core::fmt;
use core::ptr::NonNull;

/// A handle on a live scratch scope, given to [`with_arena`] and [`with_arena_sized`] closures.
///
/// It is `Copy`, works directly as an allocator (`allocator_api2::vec::Vec::new_in(scratch)`,
/// `hashbrown::HashMap::new_in(scratch)`), and has the typed helpers (`alloc`,
/// `alloc_slice_copy`, ...). Blocks live until the scope ends. It is neither `Send` nor `Sync`.
///
/// # Example
///
/// ```
/// use engram_kernels::{ArenaAlloc, with_arena};
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
    /// The arena, on the heap (or the stack of a batch scope), never in a thread-local: under
    /// fat LTO a cursor in the thread-local block is addressed `%fs:`-relative on every
    /// allocation, which defeats store-to-load forwarding.
    raw: &'s RawArena,
    depth: u32,
}

impl<'s> Scratch<'s> {
    /// A snapshot of the arena behind this scope (shared by all scopes on the same arena).
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::ArenaAlloc;
    ///
    /// engram_kernels::with_arena(|s| {
    ///     s.alloc([0u8; 64]);
    ///     assert!(s.stats().used >= 64);
    /// });
    /// ```
    pub fn stats(&self) -> ArenaStats {
        self.raw.stats()
    }

    /// Opens a nested scope on the same arena: what `f` allocates is released when it returns,
    /// and what this scope allocated before stays. Equivalent to calling [`with_arena`] again
    /// for the thread arena, and the way to nest inside a [`with_arena_sized`] scope.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::ArenaAlloc;
    ///
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
        run_scope(self.raw, OnThisThread, f)
    }
}

impl fmt::Debug for Scratch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scratch")
            .field("depth", &self.depth)
            .field("stats", &self.stats())
            .finish()
    }
}

// SAFETY: blocks come from `RawArena::alloc` on behalf of the scope at `depth`: bumped by the
// innermost scope (released only when that scope, which outlives `'s`, exits) or spilled to the
// heap and freed no earlier than the exit of the scope at `depth`. Both outlive `'s`.
unsafe impl<'s> sealed::Handle<'s> for Scratch<'s> {
    #[cold]
    fn refused(self, layout: Layout) -> ! {
        self.raw.refuse_loudly(layout, self.depth)
    }
}

// SAFETY: see `Handle` above for validity. `deallocate` and the resizing methods give space back
// only for the most recent block at or above the innermost floor (so no live block is handed out
// twice), and free spilled blocks exactly once. Copies of a handle share one arena, so any of
// them may free another's blocks.
unsafe impl Allocator for Scratch<'_> {
    #[inline(always)]
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        self.raw.allocate(layout, self.depth)
    }

    #[inline]
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded caller contract.
        unsafe { self.raw.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded caller contract.
        unsafe { self.raw.realloc(ptr, old, new, self.depth, false) }
    }

    #[inline]
    unsafe fn grow_zeroed(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded caller contract.
        unsafe { self.raw.realloc(ptr, old, new, self.depth, true) }
    }

    #[inline]
    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded caller contract.
        unsafe { self.raw.realloc(ptr, old, new, self.depth, false) }
    }
}

/// The refill of the thread and batch arenas: the policy configured at the moment of each
/// overflow, so `config::configure` reaches arenas that already exist.
fn scratch_refill() -> Refill {
    Refill::Policy(config::overflow_policy)
}

/// The thread's own arena: created on first use, on the heap (from `System`), freed at thread
/// exit. Its metrics live here rather than in the arena, so that batch scopes can record against
/// a thread that never used its own arena.
struct ThreadScratch {
    arena: Cell<Option<NonNull<RawArena>>>,
    metrics: ThreadMetrics,
}

impl ThreadScratch {
    #[inline(always)]
    fn arena(&self) -> &RawArena {
        let p = match self.arena.get() {
            Some(p) => p,
            None => self.create(),
        };
        // SAFETY: the box is live until `release`, which refuses while a scope is open; every
        // borrow handed out here is used inside a scope or within this call.
        unsafe { p.as_ref() }
    }

    #[cold]
    fn create(&self) -> NonNull<RawArena> {
        let cfg = config::current();
        // If the system refuses the first chunk, the arena starts empty and grows (or refuses,
        // per the policy) on first use: slower, never wrong.
        let raw = RawArena::with_capacity(scratch_refill(), cfg.pool_size)
            .unwrap_or_else(|AllocError| RawArena::new(scratch_refill()));
        let p = NonNull::from(Box::leak(Box::new_in(raw, System)));
        self.arena.set(Some(p));
        p
    }

    fn release(&self) -> bool {
        let Some(p) = self.arena.get() else {
            return false;
        };
        // SAFETY: the box is live (it is only freed below, after being unlinked).
        if unsafe { p.as_ref() }.depth() != 0 {
            return false;
        }
        self.arena.set(None);
        // SAFETY: unlinked above; outside any scope no block of it is in use, and `p` came from
        // `Box::leak` of a `Box<_, System>`.
        drop(unsafe { Box::from_raw_in(p.as_ptr(), System) });
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
        ThreadScratch { arena: Cell::new(None), metrics: ThreadMetrics::new() }
    };
}

/// Where an outermost scope exit records its cycle: a type parameter rather than an `Option`, so
/// that `with_arena`, which has the thread's counters at hand, pays no test for them.
trait Recorder: Copy {
    fn record(self, cycle: Cycle);
}

impl Recorder for &ThreadMetrics {
    #[inline(always)]
    fn record(self, cycle: Cycle) {
        ThreadMetrics::record(self, cycle.overflows, cycle.peak);
    }
}

/// Finds the thread's counters at exit (nested and batch scopes, which rarely reset).
#[derive(Clone, Copy)]
struct OnThisThread;

impl Recorder for OnThisThread {
    fn record(self, cycle: Cycle) {
        record_on_this_thread(cycle);
    }
}

/// Closes its scope (explicitly on the normal path, or on drop while unwinding): the arena frees the
/// scope's spills and rewinds; at the outermost level it resets and the cycle is recorded.
struct ScopeGuard<'s, M: Recorder> {
    raw: &'s RawArena,
    metrics: M,
    depth: u32,
    checkpoint: Checkpoint,
}

impl<M: Recorder> ScopeGuard<'_, M> {
    #[inline(always)]
    fn exit(&self) {
        // Zeroing is read at each reset, so `config::configure` reaches existing arenas.
        if let Some(cycle) = self
            .raw
            .exit(self.depth, &self.checkpoint, config::zero_on_reset)
        {
            self.metrics.record(cycle);
        }
    }
}

impl<M: Recorder> Drop for ScopeGuard<'_, M> {
    /// Reached only when the scope's closure panics: `run_scope` handles every normal exit.
    #[cold]
    #[inline(never)]
    fn drop(&mut self) {
        self.exit();
    }
}

#[inline(always)]
fn run_scope<R, M: Recorder>(
    raw: &RawArena,
    metrics: M,
    f: impl for<'s> FnOnce(Scratch<'s>) -> R,
) -> R {
    let (depth, checkpoint) = raw.enter();
    let guard = ScopeGuard {
        raw,
        metrics,
        depth,
        checkpoint,
    };
    let r = f(Scratch { raw, depth });
    // The normal exit reads the guard where it lies, then forgets it (`Drop` does the same work,
    // but only while unwinding). Moving the guard first, into `ManuallyDrop` or a `self`
    // parameter, made the compiler copy the checkpoint with 16-byte loads of fresh 8-byte
    // stores: a store-forwarding stall that cost more than the rest of the scope.
    guard.exit();
    core::mem::forget(guard);
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
/// use engram_kernels::{ArenaAlloc, with_arena};
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
    let on_thread =
        THREAD.try_with(|t| run_scope(t.arena(), &t.metrics, f.take().expect("f is taken once")));
    match on_thread {
        Ok(r) => r,
        Err(_) => run_detached(f.take().expect("f was not taken: the thread-local is gone")),
    }
}

/// During thread-local teardown: a stand-in arena on the stack that always falls back to the
/// heap (chunks from the pool, or spills), whatever the configured policy.
#[cold]
fn run_detached<R>(f: impl for<'s> FnOnce(Scratch<'s>) -> R) -> R {
    let stand_in = RawArena::new(Refill::Policy(|| OverflowPolicy::Fallback));
    run_scope(&stand_in, OnThisThread, f)
}

/// Records a finished cycle against this thread (or, during teardown, against the process
/// totals directly).
fn record_on_this_thread(cycle: Cycle) {
    // Registering a counter block needs no arena, so this works before the thread's first scope.
    let recorded = THREAD.try_with(|t| t.metrics.record(cycle.overflows, cycle.peak));
    if recorded.is_err() {
        crate::metrics::record_detached(cycle.overflows, cycle.peak);
    }
}

/// This thread's scratch arena statistics, or `None` until its arena is first used (or after
/// [`release_thread_arena`]).
///
/// Inside a scope this shows the live use; between scopes `used` is 0 and the high-water mark
/// tells the peak so far, and `total_overflows` / `overflow_bytes` what was served beyond the
/// pool. [`ArenaStats::utilization`] is the Zig implementation's `getThreadArenaUtilization`.
///
/// # Example
///
/// ```
/// use engram_kernels::{ArenaAlloc, thread_arena_stats, with_arena};
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
        .try_with(|t| {
            t.arena.get().map(|p| {
                // SAFETY: the box is live while linked (see `ThreadScratch::arena`).
                unsafe { p.as_ref() }.stats()
            })
        })
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
        .try_with(|t| match t.arena.get() {
            // SAFETY: the box is live while linked (see `ThreadScratch::arena`).
            Some(p) => reset_idle(unsafe { p.as_ref() }),
            None => false,
        })
        .unwrap_or(false)
}

/// Frees this thread's arena buffer; the next [`with_arena`] creates a new one with the pool size
/// configured then. Returns `false`, doing nothing, when there is no arena or inside a scope.
/// Idempotent.
///
/// # Example
///
/// ```
/// use engram_kernels::{ArenaAlloc, scratch::release_thread_arena, thread_arena_stats, with_arena};
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

/// Resets an arena between scopes; `false` (and nothing done) inside one.
fn reset_idle(raw: &RawArena) -> bool {
    if raw.depth() != 0 {
        return false;
    }
    raw.reset(config::zero_on_reset());
    true
}
