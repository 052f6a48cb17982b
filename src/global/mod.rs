//! [`GlobalArena`]: a `#[global_allocator]` that serves every heap allocation made inside a
//! [`with_global_arena`] scope from a per-thread bump arena, and passes everything else through
//! to an inner allocator.
//!
//! ```
//! use engram_kernels::{GlobalArena, with_global_arena};
//! use std::alloc::System;
//!
//! #[global_allocator]
//! static ALLOC: GlobalArena = GlobalArena::new(System);
//!
//! fn main() {
//!     let total = with_global_arena(|| {
//!         // std code, unchanged: these allocations bump in this thread's arena
//!         let words: Vec<String> = (0..100).map(|i| format!("w{i}")).collect();
//!         words.iter().map(|w| w.len()).sum::<usize>()
//!     });
//!     assert_eq!(total, 290);
//! }
//! ```
//!
//! # Design
//!
//! **One reserved range.** All global arenas live in one contiguous range of
//! [`MAX_ARENAS`] slots × [`ARENA_SIZE`] bytes, reserved from [`System`] the first time any
//! thread enters a scope (address space only: pages are committed when first touched) and
//! published with a compare-and-swap. Whether a pointer is arena memory is `addr - base <
//! range`; its slot is `(addr - base) / ARENA_SIZE`. No lock, no list walk, and the answer
//! does not depend on which thread asks or in which mode.
//!
//! **Routing.** `alloc` looks at one thread-local flag: inside a scope it bumps in the thread's
//! slot (falling back to the inner allocator, a *spill*, when the request does not fit);
//! outside it calls the inner allocator. `dealloc` and `realloc` route by address only: arena
//! blocks never reach the inner allocator, and inner blocks never touch an arena, whichever
//! thread frees them, in whichever mode, even after the owning thread has exited.
//!
//! **Reuse only when everything is dead.** A slot's memory is reused only when the number of
//! live blocks in it is zero. Until then the owner keeps bumping (a *pinned* slot) and spills
//! once it is full. Freeing the most recent block gives its space back at once, and the most
//! recent block grows and shrinks in place.
//!
//! # The slot state machine (the soundness core)
//!
//! Each slot has one atomic word, `OWNED | live × 2`, where `live` counts blocks not yet freed:
//!
//! | word               | state     | meaning                                                  |
//! |--------------------|-----------|----------------------------------------------------------|
//! | `0`                | **free**  | no owner, no live block: claimable                        |
//! | odd                | **owned** | one thread bumps here (live may be any number)           |
//! | even, `> 0`        | **orphaned** | owner exited; `word / 2` blocks still alive elsewhere |
//!
//! Transitions, each a single atomic operation:
//!
//! * **claim** (scope entry of a thread without a slot): CAS `0 → 1`, `Acquire`.
//! * **owner allocates / owner frees**: no atomic at all. The owner keeps its own count
//!   `local` (its allocations minus its own frees) in a thread-local `Cell`.
//! * **another thread frees**: `fetch_sub(2)`, `Release`. While owned the `OWNED` bit stays set
//!   whatever the count, so the word can wrap but never reads as free.
//! * **owner asks "is everything dead?"** (own frees, scope entry and exit): `Acquire` load;
//!   `live = (word - 1) / 2 + local` in wrapping arithmetic. If `0`, no block exists anywhere
//!   and only the owner could create one, so it rewinds its cursor to the slot start.
//! * **hand back** (thread exit, from a thread-local destructor): `fetch_add(2 × local - 1)`,
//!   `AcqRel`: publishes `local` and clears `OWNED` in one step, leaving exactly `live × 2`.
//!   If that is `0` the slot is free now; otherwise it is orphaned, and the free that brings the
//!   word to `0` (whoever makes it) makes it free. No thread ever has to notice this: `0` *is*
//!   free.
//!
//! Every modification is a read-modify-write with `Release`, so the value `0` that a claimer
//! reads carries a release sequence from every earlier free: all uses of the old blocks happen
//! before the new owner's first write.
//!
//! # Allocator hygiene
//!
//! The allocator path reads a `const`-initialised thread local of `Cell`s with no destructor
//! (no lazy init, no registration, still readable while other thread locals are destroyed),
//! touches per-slot atomics in a static array, and calls the inner allocator. It takes no lock
//! and never allocates. The reservation calls [`System`] directly. The thread-exit hook is
//! registered at scope entry, before the scope becomes active, so the allocation glibc makes
//! for it passes through. A scope entered while no slot is free, or during thread teardown,
//! simply passes through.
//!
//! # Statistics
//!
//! Per-thread `Cell` counters ([`GlobalStats`]); [`GlobalArena::thread_stats`] reads the calling
//! thread's. [`GlobalArena::stats`] sums what threads published at their last outermost scope
//! exit plus the totals of threads that have exited: it covers threads that entered a scope.
//!
//! # Limits
//!
//! * State is process-wide: use one `GlobalArena` per process, as the `#[global_allocator]`.
//! * At most [`MAX_ARENAS`] threads hold an arena at once; scopes on further threads pass through.
//! * A thread keeps its slot until it exits. One long-lived escaped block pins the whole slot
//!   until it is freed: later scopes on that thread bump after it and then spill.
//! * Requests larger than [`ARENA_SIZE`] always go to the inner allocator.
//! * The range (256 MiB of address space) is reserved with an ordinary `System` allocation. With
//!   strict overcommit accounting (`vm.overcommit_memory = 2`) it may be refused; scopes then
//!   pass through. Under Miri the range is 8 slots × 64 KiB.

mod region;
mod slot;
mod stats;

pub use stats::GlobalStats;

use core::ptr::null_mut;
use slot::LOCAL;
use std::alloc::{GlobalAlloc, Layout, System};

/// Bytes in one thread's global arena (one slot of the reserved range).
///
/// # Example
///
/// ```
/// assert!(engram_kernels::global::ARENA_SIZE.is_power_of_two());
/// ```
pub const ARENA_SIZE: usize = region::SLOT_SIZE;

/// How many threads can hold a global arena at the same time.
///
/// # Example
///
/// ```
/// assert!(engram_kernels::global::MAX_ARENAS >= 1);
/// ```
pub const MAX_ARENAS: usize = region::SLOT_COUNT;

/// A global allocator that routes allocations made inside [`with_global_arena`] into per-thread
/// bump arenas, and everything else to `inner`. See the [module docs](self) for the design.
///
/// # Example
///
/// ```
/// use engram_kernels::GlobalArena;
/// use std::alloc::System;
///
/// #[global_allocator]
/// static ALLOC: GlobalArena = GlobalArena::new(System);
///
/// let s = engram_kernels::with_global_arena(|| format!("{}-{}", 1, 2));
/// assert_eq!(s, "1-2"); // escaped the scope, still valid
/// # assert!(ALLOC.thread_stats().arena_allocs >= 1);
/// ```
pub struct GlobalArena<A: GlobalAlloc = System> {
    inner: A,
}

impl<A: GlobalAlloc> GlobalArena<A> {
    /// Wraps `inner`, the allocator used outside scopes and for requests that do not fit.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::GlobalArena;
    /// use std::alloc::System;
    ///
    /// static ALLOC: GlobalArena<System> = GlobalArena::new(System);
    /// ```
    pub const fn new(inner: A) -> Self {
        GlobalArena { inner }
    }

    /// The inner allocator.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::GlobalArena;
    /// use std::alloc::System;
    ///
    /// let a = GlobalArena::new(System);
    /// let _: &System = a.inner();
    /// ```
    pub const fn inner(&self) -> &A {
        &self.inner
    }

    /// The calling thread's counters since it started (exact, not aggregated).
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{GlobalArena, with_global_arena};
    /// use std::alloc::System;
    ///
    /// #[global_allocator]
    /// static ALLOC: GlobalArena = GlobalArena::new(System);
    ///
    /// let before = ALLOC.thread_stats();
    /// let v = with_global_arena(|| vec![1u8; 100]);
    /// let d = ALLOC.thread_stats().since(&before);
    /// assert_eq!((d.arena_allocs, d.spills), (1, 0));
    /// # drop(v);
    /// ```
    pub fn thread_stats(&self) -> GlobalStats {
        LOCAL.with(|l| l.counters.snapshot())
    }

    /// Process-wide counters: every thread that entered a scope, as of its last outermost scope
    /// exit, plus threads that have exited. Walks the slot table; not for hot loops.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{GlobalArena, with_global_arena};
    /// use std::alloc::System;
    ///
    /// #[global_allocator]
    /// static ALLOC: GlobalArena = GlobalArena::new(System);
    ///
    /// std::thread::spawn(|| with_global_arena(|| drop(vec![0u64; 8]))).join().unwrap();
    /// assert!(ALLOC.stats().arena_allocs >= 1);
    /// ```
    pub fn stats(&self) -> GlobalStats {
        stats::aggregate(region::SLOTS.iter().map(|s| &s.published))
    }

    /// How many arena slots are owned by a thread or still hold live blocks.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{GlobalArena, with_global_arena};
    /// use std::alloc::System;
    ///
    /// #[global_allocator]
    /// static ALLOC: GlobalArena = GlobalArena::new(System);
    ///
    /// with_global_arena(|| ());
    /// assert!(ALLOC.arenas_in_use() >= 1); // this thread keeps its slot until it exits
    /// ```
    /// use engram_kernels::ArenaAlloc;
    pub fn arenas_in_use(&self) -> usize {
        region::slots_in_use()
    }

    /// Inside a scope: an arena block, or a spill to `inner`; outside: `inner`.
    ///
    /// The thread-local closure only decides and counts; the inner call stays outside it so the
    /// pass-through path inlines into `__rust_alloc` as a flag test, two adds and a tail call.
    #[inline(always)]
    fn alloc_routed<const ZEROED: bool>(&self, layout: Layout) -> *mut u8 {
        let p = LOCAL.with(|l| {
            if l.active() {
                if let Some(p) = l.try_bump(layout.size(), layout.align()) {
                    l.counters.arena_alloc(layout.size());
                    return p;
                }
                l.counters.spill(layout.size());
            } else {
                l.counters.pass_alloc(layout.size());
            }
            null_mut()
        });
        if !p.is_null() {
            if ZEROED {
                // SAFETY: `p` is a fresh arena block of `layout.size()` writable bytes.
                unsafe { p.write_bytes(0, layout.size()) };
            }
            return p;
        }
        // SAFETY: forwarded from our caller, who upholds `GlobalAlloc::alloc`'s contract.
        unsafe {
            if ZEROED {
                self.inner.alloc_zeroed(layout)
            } else {
                self.inner.alloc(layout)
            }
        }
    }
}

// SAFETY: arena blocks are disjoint `[start, end)` ranges of the owned slot handed out by bump
// arithmetic, aligned as asked, never reused while alive (the slot state machine above); inner
// blocks come from `inner` and go back to it, because ownership is decided by address.
unsafe impl<A: GlobalAlloc> GlobalAlloc for GlobalArena<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.alloc_routed::<false>(layout)
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.alloc_routed::<true>(layout)
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match region::owner_of(ptr) {
            Some(index) => LOCAL.with(|l| l.free(index, ptr.addr(), layout.size())),
            None => {
                LOCAL.with(|l| l.counters.pass_free());
                // SAFETY: `ptr` is not arena memory, so it came from `inner` with `layout`.
                unsafe { self.inner.dealloc(ptr, layout) }
            }
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        let Some(index) = region::owner_of(ptr) else {
            // SAFETY: `ptr` is not arena memory, so it came from `inner`; the caller upholds the
            // rest of `realloc`'s contract.
            return unsafe { self.realloc_inner(ptr, layout, new_size) };
        };
        LOCAL.with(|l| {
            if l.resize_in_place(index, ptr.addr(), old, new_size, layout.align()) {
                return ptr;
            }
            if new_size <= old {
                // The block keeps its space until it is freed (or the slot rewinds).
                return ptr;
            }
            // SAFETY: the caller guarantees `new_size`, rounded up to `layout.align()`, does not
            // overflow `isize`; the alignment is `layout`'s, already valid.
            let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
            let new = self.alloc_routed::<false>(new_layout);
            if new.is_null() {
                return null_mut(); // the old block stays valid, as `realloc` requires
            }
            // SAFETY: `ptr` is valid for `old` bytes, `new` for `new_size > old`; distinct blocks.
            unsafe { core::ptr::copy_nonoverlapping(ptr, new, old) };
            l.free(index, ptr.addr(), old);
            new
        })
    }
}

impl<A: GlobalAlloc> GlobalArena<A> {
    /// `realloc` of an inner block: grown inside a scope it moves into the arena if it fits.
    ///
    /// # Safety
    ///
    /// `ptr` came from `inner` with `layout`; `GlobalAlloc::realloc`'s contract holds.
    #[inline]
    unsafe fn realloc_inner(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = LOCAL.with(|l| {
            if l.active() && new_size > layout.size() {
                if let Some(new) = l.try_bump(new_size, layout.align()) {
                    l.counters.arena_alloc(new_size);
                    l.counters.pass_free();
                    return new;
                }
                l.counters.spill(new_size);
            } else {
                l.counters.pass_alloc(new_size);
            }
            null_mut()
        });
        if !moved.is_null() {
            // SAFETY: `ptr` is valid for `layout.size()` bytes, `moved` for more; the old block is
            // inner memory and `moved` arena memory, so they are disjoint. `ptr` came from `inner`
            // with `layout`.
            unsafe {
                core::ptr::copy_nonoverlapping(ptr, moved, layout.size());
                self.inner.dealloc(ptr, layout);
            }
            return moved;
        }
        // SAFETY: `ptr` came from `inner` with `layout`; the caller upholds the rest.
        unsafe { self.inner.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` with every heap allocation made on this thread served from the thread's global
/// arena (when [`GlobalArena`] is the global allocator). Nested calls join the outer scope.
///
/// Values may escape the scope: they stay valid, and the arena is reused only once they are all
/// freed. When everything allocated in the scope has died, its exit rewinds the arena in O(1).
///
/// # Example
///
/// ```
/// use engram_kernels::{GlobalArena, with_global_arena};
/// use std::collections::HashMap;
/// use std::alloc::System;
///
/// #[global_allocator]
/// static ALLOC: GlobalArena = GlobalArena::new(System);
///
/// let before = ALLOC.thread_stats();
/// let n = with_global_arena(|| {
///     let mut m = HashMap::new();
///     for w in "a b a c".split(' ') {
///         *m.entry(w.to_string()).or_insert(0) += 1;
///     }
///     m["a"]
/// });
/// assert_eq!(n, 2);
/// assert_eq!(ALLOC.thread_stats().since(&before).spills, 0);
/// ```
pub fn with_global_arena<R>(f: impl FnOnce() -> R) -> R {
    struct Scope;
    impl Drop for Scope {
        fn drop(&mut self) {
            LOCAL.with(slot::Local::leave);
        }
    }
    LOCAL.with(slot::Local::enter);
    let _scope = Scope;
    f()
}
