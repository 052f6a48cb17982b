//! [`Arena`]: a bump arena you own, growable by default or fixed-capacity.
//!
//! Every arena in the crate is a handle on one raw arena (`crate::raw::RawArena`), which owns a
//! chain of chunks from a process-wide pool. A fixed arena has one chunk and refuses what does
//! not fit; a growable one takes another chunk when the current one is full.
//!
//! This module is the [`Arena`] handle only; the typed helpers it shares with the scratch
//! handle are [`ArenaAlloc`](crate::ArenaAlloc), at the crate level (`crate::arena_alloc`).

pub use crate::raw::stats::ArenaStats;

use crate::raw::{Checkpoint, RawArena, Refill};
use allocator_api2::alloc::{AllocError, Allocator, Layout};
use std::fmt;
use std::ops::Deref;
use std::ptr::NonNull;

/// A bump arena: growable by default ([`Arena::new`], like bumpalo's `Bump::new`), or fixed
/// ([`Arena::with_capacity`]).
///
/// * **Allocation** is O(1): align the cursor, check the limit, move the cursor. Alignment is
///   exact and absolute (any power of two a [`Layout`] allows), and nothing wraps near
///   `usize::MAX`.
/// * **Reset** is O(1) (O(used) with [`set_zero_on_reset`](Self::set_zero_on_reset)).
/// * **Freeing** the most recent block gives its space back; any other free is a no-op until the
///   next reset. Values' destructors never run.
/// * **Growth**: an arena from [`new`](Self::new) takes another chunk when the current one is
///   full (doubling their size, 4 KiB first), up to an optional
///   [allocation limit](Self::set_allocation_limit).
/// * **Overflow** of a fixed arena ([`with_capacity`](Self::with_capacity)) is an error: it
///   never grows and never falls back to the heap. It answers [`AllocError`] (or, for the
///   panicking helpers, a panic that says what was asked and what was left) and counts the
///   refusal in [`overflow_count`](Self::overflow_count).
///
/// `&Arena` implements [`allocator_api2::alloc::Allocator`], so `allocator_api2` and `hashbrown`
/// collections can live in it. An `Arena` is `Send` but not `Sync`.
///
/// Chunks come from [`std::alloc::System`] directly (through a process-wide pool of idle
/// chunks), never from the global allocator. The typed helpers (`alloc`, `alloc_slice_copy`, ...)
/// are methods of [`ArenaAlloc`](crate::ArenaAlloc), implemented for `&Arena`.
///
/// # Example
///
/// ```
/// use engram_kernels::{Arena, ArenaAlloc};
/// use allocator_api2::vec::Vec;
///
/// let mut arena = Arena::with_capacity(4096);
/// let id = arena.alloc(7u32);
/// {
///     let mut v = Vec::new_in(&arena);
///     v.extend_from_slice(&[1u32, 2, 3]);
///     assert_eq!(v.iter().sum::<u32>(), 6);
/// } // the Vec was the most recent block, so dropping it gave its space back
/// assert_eq!(*id, 7);
/// assert_eq!(arena.used(), 4);
/// arena.reset(); // everything at once, in O(1)
/// assert_eq!(arena.used(), 0);
/// ```
pub struct Arena {
    raw: RawArena,
}

// SAFETY: an `Arena` owns its chunks outright; nothing in it refers to thread-local state, and
// every block handed out borrows the arena, so moving the arena to another thread moves the only
// access path with it. (`Cell` keeps it `!Sync`.)
unsafe impl Send for Arena {}

impl Arena {
    /// A growable arena, like bumpalo's `Bump::new()`: no memory until the first allocation, then
    /// chunks of 4 KiB, 8 KiB, ... (doubling up to 8 MiB; a larger request gets a chunk of its
    /// own size). Unlimited until [`set_allocation_limit`](Self::set_allocation_limit).
    ///
    /// [`capacity`](Self::capacity) is the sum of its chunks. [`reset`](Self::reset) keeps the
    /// largest chunk and frees the others, so a loop of fill-and-reset settles on one chunk that
    /// fits a whole round instead of growing, and keeps no more memory resident than that.
    ///
    /// For an arena that never grows (and refuses what does not fit), use
    /// [`with_capacity`](Self::with_capacity).
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    /// use allocator_api2::vec::Vec;
    ///
    /// let mut arena = Arena::new();
    /// assert_eq!(arena.capacity(), 0);
    /// let mut v = Vec::new_in(&arena);
    /// v.extend(0..1_000_000u64); // 8 MB: far beyond the first chunk
    /// assert_eq!(v.iter().sum::<u64>(), 499_999_500_000);
    /// assert!(arena.capacity() >= 8_000_000);
    /// drop(v);
    /// arena.reset();
    /// assert_eq!(arena.used(), 0);
    /// ```
    pub fn new() -> Arena {
        Arena {
            raw: RawArena::new(Refill::Grow),
        }
    }

    /// A fixed arena of exactly `bytes` bytes: it never grows, and refuses what does not fit
    /// (unlike bumpalo's `Bump::with_capacity`, whose capacity is only a first chunk). `0` is
    /// allowed (every non-empty request then fails).
    ///
    /// Cost: one chunk from the pool, or one system allocation (none for `0`). Panics if `bytes`
    /// exceeds `isize::MAX` or the system allocator refuses it; see
    /// [`try_with_capacity`](Self::try_with_capacity).
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    ///
    /// let arena = Arena::with_capacity(100);
    /// assert_eq!(arena.capacity(), 100);
    /// ```
    pub fn with_capacity(bytes: usize) -> Arena {
        match Self::try_with_capacity(bytes) {
            Ok(a) => a,
            Err(AllocError) => {
                panic!("Arena::with_capacity: cannot allocate a {bytes}-byte buffer")
            }
        }
    }

    /// Like [`with_capacity`](Self::with_capacity), but returns `Err(AllocError)` instead of
    /// panicking.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    ///
    /// assert!(Arena::try_with_capacity(usize::MAX).is_err());
    /// assert_eq!(Arena::try_with_capacity(0).unwrap().capacity(), 0);
    /// ```
    pub fn try_with_capacity(bytes: usize) -> Result<Arena, AllocError> {
        Ok(Arena {
            raw: RawArena::with_capacity(Refill::Fixed, bytes)?,
        })
    }

    /// A growable arena whose first chunk holds `bytes` bytes, like bumpalo's
    /// `Bump::with_capacity(n)`: the first `bytes` bytes need no further chunk, and the arena
    /// grows past them as [`new`](Self::new)'s does (doubling from the first chunk's size, up to
    /// 8 MiB a chunk). `0` is [`new`](Self::new).
    ///
    /// # Panics
    ///
    /// If `bytes` exceeds `isize::MAX` or the system allocator refuses the first chunk; see
    /// [`try_growable_with_capacity`](Self::try_growable_with_capacity).
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    ///
    /// let arena = Arena::growable_with_capacity(1 << 10);
    /// assert_eq!(arena.capacity(), 1 << 10);
    /// arena.alloc_slice_fill_copy(4 << 10, 0u8); // more than the first chunk: it grows
    /// assert!(arena.capacity() > 4 << 10);
    /// ```
    pub fn growable_with_capacity(bytes: usize) -> Arena {
        match Self::try_growable_with_capacity(bytes) {
            Ok(a) => a,
            Err(AllocError) => {
                panic!("Arena::growable_with_capacity: cannot allocate a {bytes}-byte first chunk")
            }
        }
    }

    /// Like [`growable_with_capacity`](Self::growable_with_capacity), but returns
    /// `Err(AllocError)` instead of panicking.
    ///
    /// # Errors
    ///
    /// `AllocError` if `bytes` exceeds `isize::MAX` or the system allocator refuses the first
    /// chunk.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::Arena;
    ///
    /// assert!(Arena::try_growable_with_capacity(usize::MAX).is_err());
    /// assert_eq!(Arena::try_growable_with_capacity(0).unwrap().capacity(), 0);
    /// ```
    pub fn try_growable_with_capacity(bytes: usize) -> Result<Arena, AllocError> {
        Ok(Arena {
            raw: RawArena::with_capacity(Refill::Grow, bytes)?,
        })
    }

    /// Caps the bytes of chunks a growable arena may hold (`None`: no cap), like bumpalo's
    /// `set_allocation_limit`. Past it, requests fail with [`AllocError`] and collections'
    /// `try_reserve` fails cleanly. The chunks a [`scope`](Self::scope) gave up and the arena
    /// keeps for reuse count too: when a request needs their room, the arena gives them back to
    /// the pool first. A limit below the current capacity stops further growth and takes nothing
    /// away. A fixed arena never grows, so the limit changes nothing for it.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    /// use allocator_api2::vec::Vec;
    ///
    /// let mut arena = Arena::new();
    /// arena.set_allocation_limit(Some(64 << 10));
    /// let mut v: Vec<u8, _> = Vec::new_in(&arena);
    /// assert!(v.try_reserve(32 << 10).is_ok());
    /// assert!(v.try_reserve(1 << 20).is_err());
    /// assert!(arena.capacity() <= 64 << 10);
    /// ```
    pub fn set_allocation_limit(&mut self, bytes: Option<usize>) {
        self.raw.set_limit(bytes);
    }

    /// The cap set by [`set_allocation_limit`](Self::set_allocation_limit), if any.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    ///
    /// let mut arena = Arena::new();
    /// assert_eq!(arena.allocation_limit(), None);
    /// arena.set_allocation_limit(Some(1 << 20));
    /// assert_eq!(arena.allocation_limit(), Some(1 << 20));
    /// ```
    pub fn allocation_limit(&self) -> Option<usize> {
        self.raw.limit()
    }

    /// Bytes the arena can hand out without growing: its buffer's size for a fixed arena, the sum
    /// of its chunks for a growable one.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    ///
    /// assert_eq!(Arena::with_capacity(64).capacity(), 64);
    /// ```
    #[inline]
    pub fn capacity(&self) -> usize {
        self.raw.capacity()
    }

    /// Bytes of chunks the arena holds, like bumpalo's `Bump::allocated_bytes`: what
    /// [`set_allocation_limit`](Self::set_allocation_limit) caps, whether handed out or not, and
    /// without the chunks' 64-byte headers (so the system gave the arena a little more).
    ///
    /// It is [`capacity`](Self::capacity) plus the chunks a [`scope`](Self::scope) gave up and
    /// the arena keeps for reuse until the next [`reset`](Self::reset); so
    /// `used() <= capacity() <= allocated_bytes()`.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    ///
    /// let mut arena = Arena::new();
    /// assert_eq!(arena.allocated_bytes(), 0); // nothing until the first allocation
    /// arena.alloc(1u8);
    /// assert_eq!(arena.allocated_bytes(), arena.capacity());
    /// {
    ///     let scope = arena.scope();
    ///     scope.alloc_slice_fill_copy(64 << 10, 0u8); // takes a larger chunk
    /// } // the scope gives it up; the arena keeps it as a spare
    /// assert!(arena.allocated_bytes() > arena.capacity());
    /// arena.reset();
    /// assert_eq!(arena.allocated_bytes(), arena.capacity());
    /// ```
    pub fn allocated_bytes(&self) -> usize {
        self.raw.held()
    }

    /// Bytes consumed since the last reset, alignment padding included.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    ///
    /// let arena = Arena::with_capacity(64);
    /// arena.alloc(1u8);
    /// arena.alloc(2u32); // 3 bytes of padding first
    /// assert_eq!(arena.used() % 4, 0);
    /// assert!(arena.used() >= 5);
    /// ```
    #[inline]
    pub fn used(&self) -> usize {
        self.raw.used()
    }

    /// `capacity() - used()`.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    ///
    /// let arena = Arena::with_capacity(64);
    /// arena.alloc([0u8; 24]);
    /// assert_eq!(arena.remaining(), 40);
    /// ```
    #[inline]
    pub fn remaining(&self) -> usize {
        self.capacity() - self.used()
    }

    /// `used / capacity`, in `[0, 1]`; `0.0` for a zero-capacity arena, never NaN.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    ///
    /// let arena = Arena::with_capacity(64);
    /// arena.alloc([0u8; 16]);
    /// assert_eq!(arena.utilization(), 0.25);
    /// assert_eq!(Arena::with_capacity(0).utilization(), 0.0);
    /// ```
    pub fn utilization(&self) -> f64 {
        crate::bump::utilization(self.used(), self.capacity())
    }

    /// Peak [`used`](Self::used) since the arena was created; kept across resets.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    ///
    /// let mut arena = Arena::with_capacity(64);
    /// arena.alloc([0u8; 48]);
    /// arena.reset();
    /// arena.alloc([0u8; 8]);
    /// assert_eq!(arena.high_water_mark(), 48);
    /// ```
    pub fn high_water_mark(&self) -> usize {
        self.raw.high_water_mark()
    }

    /// Requests refused since the last reset.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    ///
    /// let arena = Arena::with_capacity(8);
    /// assert!(arena.try_alloc([0u8; 9]).is_err());
    /// assert_eq!(arena.overflow_count(), 1);
    /// ```
    pub fn overflow_count(&self) -> u64 {
        self.raw.overflow_count()
    }

    /// A snapshot of all the counters above.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    ///
    /// let arena = Arena::with_capacity(32);
    /// arena.alloc(0u64);
    /// assert_eq!(arena.stats().used, 8);
    /// ```
    pub fn stats(&self) -> ArenaStats {
        self.raw.stats()
    }

    /// Empties the arena: every block is released at once and the next allocation reuses the
    /// start of the buffer. Clears [`overflow_count`](Self::overflow_count); keeps
    /// [`high_water_mark`](Self::high_water_mark).
    ///
    /// A growable arena keeps its largest chunk, where its next round starts, and frees the
    /// others (scrubbed first when [zeroing](Self::set_zero_on_reset) is on): a fill-and-reset
    /// loop keeps about one round's memory resident.
    ///
    /// Cost: O(1) for a fixed arena, O(chunks) for a growable one; plus O(bytes used since the
    /// last reset) when zeroing is on.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    ///
    /// let mut arena = Arena::with_capacity(64);
    /// let first = arena.alloc(1u32) as *mut u32 as usize;
    /// arena.reset();
    /// let again = arena.alloc(2u32) as *mut u32 as usize;
    /// assert_eq!(first, again);
    /// ```
    pub fn reset(&mut self) {
        self.raw.reset(self.raw.zeroes());
    }

    /// Whether [`reset`](Self::reset) zeroes the bytes used since the previous reset (off by
    /// default). Only the used prefix is cleared, never the whole buffer. Chunks the arena lets
    /// go (a growable arena's extra chunks at reset, every chunk when it is dropped) are scrubbed
    /// too, so that no other arena, and no other code of the process, receives this one's
    /// bytes.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    ///
    /// let mut arena = Arena::with_capacity(64);
    /// arena.set_zero_on_reset(true);
    /// arena.alloc(0xFFu8);
    /// arena.reset();
    /// let byte = arena.alloc_uninit_slice::<u8>(1);
    /// // SAFETY: the reset zeroed the byte the arena hands out again.
    /// assert_eq!(unsafe { byte[0].assume_init() }, 0);
    /// ```
    pub fn set_zero_on_reset(&mut self, on: bool) {
        self.raw.set_zero(on);
    }

    /// Opens a scope: everything allocated through the returned guard is released when it is
    /// dropped, and what was allocated before stays.
    ///
    /// The guard borrows the arena mutably, so no block from inside can outlive it. Forgetting
    /// it (`mem::forget`) only leaks the scope's blocks until the next reset; it can never rewind
    /// anything wrongly.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    ///
    /// let mut arena = Arena::with_capacity(1024);
    /// arena.alloc(1u64);
    /// {
    ///     let scope = arena.scope();
    ///     scope.alloc_slice_fill_copy(100, 0u8);
    ///     assert_eq!(scope.used(), 108);
    /// }
    /// assert_eq!(arena.used(), 8);
    /// ```
    pub fn scope(&mut self) -> ArenaScope<'_> {
        let checkpoint = self.raw.checkpoint();
        ArenaScope {
            arena: self,
            checkpoint,
        }
    }
}

impl Default for Arena {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Arena {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Arena")
            .field("stats", &self.stats())
            .field("allocation_limit", &self.allocation_limit())
            .finish()
    }
}

// SAFETY: blocks come from `RawArena::alloc`, disjoint ranges of the arena's chunks; they stay
// valid until `reset` or drop, both of which need `&mut Arena` and so cannot happen while
// `&'a Arena` (and with it any block) is borrowed.
unsafe impl<'a> crate::arena_alloc::sealed::Handle<'a> for &'a Arena {
    #[cold]
    fn refused(self, layout: Layout) -> ! {
        self.raw.refuse_loudly(layout, self.raw.depth())
    }
}

// SAFETY: as for `Handle` above. `deallocate` and in-place resizing only move the cursor for the
// most recent block, which the caller has just given up, so no live block is handed out twice.
// Copies of `&Arena` share one cursor, so any of them may free or resize another's block.
unsafe impl Allocator for &Arena {
    #[inline(always)]
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        self.raw.allocate(layout, self.raw.depth())
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
        unsafe { self.raw.realloc(ptr, old, new, self.raw.depth(), false) }
    }

    #[inline]
    unsafe fn grow_zeroed(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded caller contract.
        unsafe { self.raw.realloc(ptr, old, new, self.raw.depth(), true) }
    }

    #[inline]
    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded caller contract.
        unsafe { self.raw.realloc(ptr, old, new, self.raw.depth(), false) }
    }
}

/// A scope over an [`Arena`], from [`Arena::scope`]: dropping it releases everything allocated
/// through it. It dereferences to the arena, so every method (and the `Allocator` impl, through
/// `&*scope`) is available inside, except [`Arena::reset`].
///
/// # Example
///
/// ```
/// use engram_kernels::{Arena, ArenaAlloc};
///
/// let mut arena = Arena::with_capacity(256);
/// let mut outer = arena.scope();
/// outer.alloc(1u32);
/// {
///     let inner = outer.scope();
///     inner.alloc([0u8; 64]);
/// }
/// assert_eq!(outer.used(), 4);
/// ```
pub struct ArenaScope<'a> {
    arena: &'a mut Arena,
    checkpoint: Checkpoint,
}

impl Deref for ArenaScope<'_> {
    type Target = Arena;
    fn deref(&self) -> &Arena {
        self.arena
    }
}

impl ArenaScope<'_> {
    /// Opens a nested scope; see [`Arena::scope`].
    ///
    /// There is deliberately no `DerefMut` to the arena: with one, the arena could be swapped
    /// out from under the guard and the rewind would land in the wrong buffer.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    ///
    /// let mut arena = Arena::with_capacity(64);
    /// let mut outer = arena.scope();
    /// outer.alloc(0u64);
    /// outer.scope().alloc(0u64);
    /// assert_eq!(outer.used(), 8);
    /// ```
    pub fn scope(&mut self) -> ArenaScope<'_> {
        self.arena.scope()
    }
}

impl Drop for ArenaScope<'_> {
    fn drop(&mut self) {
        // Only ever downward: if the scope reset the arena, there is nothing more to release.
        self.arena.raw.rewind(&self.checkpoint);
    }
}

impl fmt::Debug for ArenaScope<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArenaScope")
            .field("arena", &*self.arena)
            .finish()
    }
}
