//! [`Arena`]: a fixed-capacity bump arena.
//!
//! One buffer, allocated once; allocation moves a cursor up, reset moves it back. There is no
//! per-allocation metadata, no growth and no hidden allocation: a request that does not fit is
//! refused, counted, and leaves the cursor where it was.

pub(crate) mod core;
mod stats;
pub(crate) mod typed;

pub use stats::ArenaStats;

use self::core::{BumpCore, alloc_buffer, dangling, free_buffer};
use allocator_api2::alloc::{AllocError, Allocator, Layout};
use std::fmt;
use std::ops::Deref;
use std::ptr::NonNull;

/// A fixed-capacity bump arena.
///
/// * **Allocation** is O(1): align the cursor, check the limit, move the cursor. Alignment is
///   exact and absolute (any power of two a [`Layout`] allows), and nothing wraps near
///   `usize::MAX`.
/// * **Reset** is O(1) (O(used) with [`set_zero_on_reset`](Self::set_zero_on_reset)).
/// * **Freeing** the most recent block gives its space back; any other free is a no-op until the
///   next reset. Values' destructors never run.
/// * **Overflow** is an error: a plain arena never grows and never falls back to the heap. It
///   answers [`AllocError`] (or, for the panicking helpers, a panic that says what was asked and
///   what was left) and counts the refusal in [`overflow_count`](Self::overflow_count).
///
/// `&Arena` implements [`allocator_api2::alloc::Allocator`], so `allocator_api2` and `hashbrown`
/// collections can live in it. An `Arena` is `Send` but not `Sync`.
///
/// The buffer comes from [`std::alloc::System`] directly, never from the global allocator.
///
/// # Example
///
/// ```
/// use engram_kernels::Arena;
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
    core: BumpCore,
    zero_on_reset: bool,
}

// SAFETY: an `Arena` owns its buffer outright; nothing in it refers to thread-local state, and
// every block handed out borrows the arena, so moving the arena to another thread moves the only
// access path with it. (`Cell` keeps it `!Sync`.)
unsafe impl Send for Arena {}

impl Arena {
    /// The default capacity: 1 MiB, the seed's per-thread pool size.
    pub const DEFAULT_CAPACITY: usize = 1 << 20;

    /// An arena of [`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY) bytes.
    ///
    /// Cost: one system allocation. Panics if the system allocator refuses it.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::Arena;
    ///
    /// assert_eq!(Arena::new().capacity(), 1 << 20);
    /// ```
    pub fn new() -> Arena {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// An arena of exactly `bytes` bytes; `0` is allowed (every non-empty request then fails).
    ///
    /// Cost: one system allocation (none for `0`). Panics if `bytes` exceeds `isize::MAX` or the
    /// system allocator refuses it; see [`try_with_capacity`](Self::try_with_capacity).
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::Arena;
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
    /// use engram_kernels::Arena;
    ///
    /// assert!(Arena::try_with_capacity(usize::MAX).is_err());
    /// assert_eq!(Arena::try_with_capacity(0).unwrap().capacity(), 0);
    /// ```
    pub fn try_with_capacity(bytes: usize) -> Result<Arena, AllocError> {
        let base = alloc_buffer(bytes)?;
        let core = BumpCore::empty();
        // SAFETY: `base` is a fresh buffer of `bytes` bytes that this arena owns until `Drop`.
        unsafe { core.install(base, bytes) };
        Ok(Arena {
            core,
            zero_on_reset: false,
        })
    }

    /// Size of the buffer in bytes.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::Arena;
    ///
    /// assert_eq!(Arena::with_capacity(64).capacity(), 64);
    /// ```
    #[inline]
    pub fn capacity(&self) -> usize {
        self.core.capacity()
    }

    /// Bytes consumed since the last reset, alignment padding included.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::Arena;
    ///
    /// let arena = Arena::with_capacity(64);
    /// arena.alloc(1u8);
    /// arena.alloc(2u32); // 3 bytes of padding first
    /// assert_eq!(arena.used() % 4, 0);
    /// assert!(arena.used() >= 5);
    /// ```
    #[inline]
    pub fn used(&self) -> usize {
        self.core.used()
    }

    /// `capacity() - used()`.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::Arena;
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
    /// use engram_kernels::Arena;
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
    /// use engram_kernels::Arena;
    ///
    /// let mut arena = Arena::with_capacity(64);
    /// arena.alloc([0u8; 48]);
    /// arena.reset();
    /// arena.alloc([0u8; 8]);
    /// assert_eq!(arena.high_water_mark(), 48);
    /// ```
    pub fn high_water_mark(&self) -> usize {
        self.core.high_water_mark()
    }

    /// Requests refused since the last reset.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::Arena;
    ///
    /// let arena = Arena::with_capacity(8);
    /// assert!(arena.try_alloc([0u8; 9]).is_err());
    /// assert_eq!(arena.overflow_count(), 1);
    /// ```
    pub fn overflow_count(&self) -> usize {
        self.core.overflow_count()
    }

    /// A snapshot of all the counters above.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::Arena;
    ///
    /// let arena = Arena::with_capacity(32);
    /// arena.alloc(0u64);
    /// assert_eq!(arena.stats().used, 8);
    /// ```
    pub fn stats(&self) -> ArenaStats {
        ArenaStats {
            capacity: self.capacity(),
            used: self.used(),
            high_water_mark: self.high_water_mark(),
            overflow_count: self.overflow_count(),
        }
    }

    /// Empties the arena: every block is released at once and the next allocation reuses the
    /// start of the buffer. Clears [`overflow_count`](Self::overflow_count); keeps
    /// [`high_water_mark`](Self::high_water_mark).
    ///
    /// Cost: O(1); O(bytes used since the last reset) when zeroing is on.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::Arena;
    ///
    /// let mut arena = Arena::with_capacity(64);
    /// let first = arena.alloc(1u32) as *mut u32 as usize;
    /// arena.reset();
    /// let again = arena.alloc(2u32) as *mut u32 as usize;
    /// assert_eq!(first, again);
    /// ```
    pub fn reset(&mut self) {
        self.core.reset(self.zero_on_reset);
    }

    /// Whether [`reset`](Self::reset) zeroes the bytes used since the previous reset (off by
    /// default). Only the used prefix is cleared, never the whole buffer.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::Arena;
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
        self.zero_on_reset = on;
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
    /// use engram_kernels::Arena;
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
        let checkpoint = self.core.cursor();
        ArenaScope {
            arena: self,
            checkpoint,
        }
    }

    #[cold]
    #[inline(never)]
    fn refuse(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        if layout.size() == 0 {
            // A zero-size block always succeeds, even in a full or zero-capacity arena.
            return Ok(NonNull::slice_from_raw_parts(dangling(layout.align()), 0));
        }
        self.core.note_overflow();
        Err(AllocError)
    }
}

impl Default for Arena {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: the buffer came from `alloc_buffer(capacity)` in `try_with_capacity`, and
        // `&mut self` proves no block from it is still borrowed.
        unsafe { free_buffer(self.core.base(), self.core.capacity()) }
    }
}

impl fmt::Debug for Arena {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Arena")
            .field("stats", &self.stats())
            .finish()
    }
}

// SAFETY: blocks come from `BumpCore::try_bump`, which hands out disjoint, aligned ranges of the
// arena's buffer; they stay valid until `reset` or drop, both of which need `&mut Arena` and so
// cannot happen while `&Arena` (and with it any block) is borrowed.
unsafe impl<'a> typed::BlockSource<'a> for &'a Arena {
    #[inline(always)]
    fn block(&self, layout: Layout) -> Result<NonNull<u8>, AllocError> {
        match self.core.try_bump(layout) {
            Some(p) => Ok(p),
            None => self.refuse(layout).map(|p| p.cast()),
        }
    }

    #[cold]
    fn refused(&self, layout: Layout) -> ! {
        panic!(
            "arena refused {} bytes aligned to {}: {} of {} bytes remain; \
             create it with a larger capacity or reset it",
            layout.size(),
            layout.align(),
            self.remaining(),
            self.capacity()
        )
    }
}

impl Arena {
    #[inline(always)]
    fn source(&self) -> &Self {
        self
    }

    typed::typed_helpers!(
        '_,
        "let arena = engram_kernels::Arena::with_capacity(1024);\nlet a = &arena;",
        ""
    );
}

// SAFETY: `allocate` hands out disjoint blocks of the buffer (see `BlockSource` above); blocks
// stay valid until `reset`/drop, which need `&mut Arena`. `deallocate` and in-place resizing
// only move the cursor for the most recent block, which the caller has just given up, so no live
// block is ever handed out twice. Clones of `&Arena` share one cursor, so any of them may free
// or resize a block another allocated.
unsafe impl Allocator for &Arena {
    #[inline(always)]
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        match self.core.try_bump(layout) {
            Some(p) => Ok(NonNull::slice_from_raw_parts(p, layout.size())),
            None => self.refuse(layout),
        }
    }

    #[inline]
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        self.core.release(ptr, layout.size(), self.core.base_addr());
    }

    #[inline]
    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded caller contract.
        unsafe { self.realloc(ptr, old, new, false) }
    }

    #[inline]
    unsafe fn grow_zeroed(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded caller contract.
        unsafe { self.realloc(ptr, old, new, true) }
    }

    #[inline]
    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded caller contract.
        unsafe { self.realloc(ptr, old, new, false) }
    }
}

impl Arena {
    /// `grow`, `grow_zeroed` and `shrink`: in place for the most recent block, else a move.
    ///
    /// # Safety
    /// `ptr` must be a live block of `old` from this arena.
    #[inline]
    unsafe fn realloc(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        zeroed: bool,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: the caller guarantees `ptr` is a live block of `old`; `allocate` returns fresh
        // blocks that cannot overlap it. The floor is the buffer's start: `Arena::scope` borrows
        // the arena mutably, so no scope can be live under a shared borrow.
        unsafe {
            self.core
                .realloc_in_core(ptr, old, new, self.core.base_addr(), zeroed, |l| {
                    Allocator::allocate(&self, l)
                })
        }
    }
}

/// A scope over an [`Arena`], from [`Arena::scope`]: dropping it releases everything allocated
/// through it. It dereferences to the arena, so every method (and the `Allocator` impl, through
/// `&*scope`) is available inside, except [`Arena::reset`].
///
/// # Example
///
/// ```
/// use engram_kernels::Arena;
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
    checkpoint: usize,
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
    /// use engram_kernels::Arena;
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
        self.arena.core.rewind(self.checkpoint);
    }
}

impl fmt::Debug for ArenaScope<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArenaScope")
            .field("arena", &*self.arena)
            .finish()
    }
}
