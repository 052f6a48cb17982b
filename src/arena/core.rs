//! The pointer half of a bump arena: a buffer, a cursor, and the few unsafe operations on them.
//!
//! [`BumpCore`] decides nothing itself: every placement comes from [`crate::bump`], and this
//! module only turns the chosen addresses back into pointers that carry the buffer's provenance
//! (`with_addr`, never an integer-to-pointer cast), so it runs under Miri's strict provenance.
//!
//! The fields are `Cell`s so that one core can sit in a `const`-initialised thread-local and get
//! its buffer lazily; for an owned [`Arena`](crate::Arena) they cost nothing.

use crate::bump;
use allocator_api2::alloc::{AllocError, Layout};
use core::cell::Cell;
use core::ptr::{self, NonNull};
use std::alloc::{GlobalAlloc, System};

/// Alignment of every arena buffer: a cache line, so that small blocks at the start never share
/// a line with someone else's data. Larger alignments are served by padding (alignment is
/// absolute, see [`crate::bump`]).
pub(crate) const BUFFER_ALIGN: usize = 64;

fn buffer_layout(capacity: usize) -> Result<Layout, AllocError> {
    Layout::from_size_align(capacity, BUFFER_ALIGN).map_err(|_| AllocError)
}

/// Allocates an arena buffer of exactly `capacity` bytes from the system allocator, never from
/// the global one (this crate also ships a global allocator, which must not recurse into itself).
///
/// A zero capacity allocates nothing and gives a dangling pointer.
pub(crate) fn alloc_buffer(capacity: usize) -> Result<NonNull<u8>, AllocError> {
    let layout = buffer_layout(capacity)?;
    if capacity == 0 {
        return Ok(NonNull::dangling());
    }
    // SAFETY: `layout` has a non-zero size, as `GlobalAlloc::alloc` requires.
    NonNull::new(unsafe { System.alloc(layout) }).ok_or(AllocError)
}

/// Frees a buffer from [`alloc_buffer`].
///
/// # Safety
/// `base` must come from `alloc_buffer(capacity)` with this same `capacity`, and must not be used
/// again.
pub(crate) unsafe fn free_buffer(base: NonNull<u8>, capacity: usize) {
    if capacity == 0 {
        return;
    }
    let layout = buffer_layout(capacity).expect("layout was valid when the buffer was allocated");
    // SAFETY: the caller guarantees `base` was allocated by `System` with this layout.
    unsafe { System.dealloc(base.as_ptr(), layout) }
}

/// An aligned, dangling pointer for zero-size blocks: valid for zero-size reads and writes, and
/// pointing at nothing, so nobody ever writes through it.
#[inline]
pub(crate) fn dangling(align: usize) -> NonNull<u8> {
    // SAFETY: a `Layout`'s alignment is a power of two, so never zero.
    unsafe { NonNull::new_unchecked(ptr::without_provenance_mut(align)) }
}

/// What a reset reports about the cycle it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cycle {
    /// Requests refused or served elsewhere during the cycle.
    pub(crate) overflows: usize,
    /// Peak `used` during the cycle, in bytes.
    pub(crate) peak: usize,
}

/// A bump cursor over one buffer, plus the statistics an arena reports.
///
/// Invariant: `base.addr() <= floor-of-any-scope <= cursor <= limit`, and `[base, limit)` is a
/// buffer this core may hand out (or empty, with `base` dangling and `limit == base.addr()`).
pub(crate) struct BumpCore {
    /// Start of the buffer; every pointer handed out is derived from it.
    base: Cell<NonNull<u8>>,
    /// Address of the first free byte.
    cursor: Cell<usize>,
    /// Address one past the buffer.
    limit: Cell<usize>,
    /// Highest cursor since the last reset. Folded in whenever the cursor moves down, so the
    /// allocation path never touches it.
    peak: Cell<usize>,
    /// Highest `used` across resets (bytes), folded in at each reset.
    high_water: Cell<usize>,
    /// Requests refused (or served elsewhere) since the last reset.
    overflows: Cell<usize>,
}

impl BumpCore {
    /// A core with no buffer: every non-empty request fails.
    pub(crate) const fn empty() -> Self {
        Self {
            base: Cell::new(NonNull::dangling()),
            cursor: Cell::new(1),
            limit: Cell::new(1),
            peak: Cell::new(1),
            high_water: Cell::new(0),
            overflows: Cell::new(0),
        }
    }

    /// Points the core at a new buffer, empty. Statistics other than `used` are kept.
    ///
    /// # Safety
    /// `[base, base + capacity)` must be valid for reads and writes, owned by the caller, and
    /// outlive every block this core hands out from it; no block from the previous buffer may
    /// still be in use through this core.
    pub(crate) unsafe fn install(&self, base: NonNull<u8>, capacity: usize) {
        self.fold_peak();
        let start = base.as_ptr().addr();
        self.base.set(base);
        self.cursor.set(start);
        // A buffer never ends past `isize::MAX` bytes, so this cannot overflow.
        self.limit.set(start + capacity);
        self.peak.set(start);
    }

    /// Address of the buffer's first byte.
    #[inline(always)]
    pub(crate) fn base_addr(&self) -> usize {
        self.base.get().as_ptr().addr()
    }

    /// The buffer's first byte (dangling for a zero capacity).
    #[inline(always)]
    pub(crate) fn base(&self) -> NonNull<u8> {
        self.base.get()
    }

    /// Address of the first free byte.
    #[inline(always)]
    pub(crate) fn cursor(&self) -> usize {
        self.cursor.get()
    }

    #[inline(always)]
    pub(crate) fn capacity(&self) -> usize {
        self.limit.get() - self.base_addr()
    }

    #[inline(always)]
    pub(crate) fn used(&self) -> usize {
        self.cursor.get() - self.base_addr()
    }

    /// Peak `used` since the last reset.
    #[inline]
    pub(crate) fn cycle_peak(&self) -> usize {
        self.peak.get().max(self.cursor.get()) - self.base_addr()
    }

    pub(crate) fn high_water_mark(&self) -> usize {
        self.high_water.get().max(self.cycle_peak())
    }

    pub(crate) fn overflow_count(&self) -> usize {
        self.overflows.get()
    }

    #[cold]
    pub(crate) fn note_overflow(&self) {
        self.overflows.set(self.overflows.get() + 1);
    }

    /// Whether `ptr` lies inside this core's buffer.
    #[inline(always)]
    pub(crate) fn owns(&self, ptr: NonNull<u8>) -> bool {
        let addr = ptr.as_ptr().addr();
        addr >= self.base_addr() && addr < self.limit.get()
    }

    #[inline(always)]
    fn fold_peak(&self) {
        if self.cursor.get() > self.peak.get() {
            self.peak.set(self.cursor.get());
        }
    }

    /// A pointer to `addr`, which must lie in `[base, limit]`, carrying the buffer's provenance.
    #[inline(always)]
    fn ptr_at(&self, addr: usize) -> NonNull<u8> {
        let p = self.base.get().as_ptr().with_addr(addr);
        // SAFETY: callers pass addresses at or above `base`, which is non-null.
        unsafe { NonNull::new_unchecked(p) }
    }

    /// Bumps out a block for `layout`, or `None` (cursor untouched) if it does not fit.
    ///
    /// Cost: about five integer instructions and one store.
    #[inline(always)]
    pub(crate) fn try_bump(&self, layout: Layout) -> Option<NonNull<u8>> {
        let b = bump::bump_up(
            self.cursor.get(),
            self.limit.get(),
            layout.size(),
            layout.align(),
        )?;
        self.cursor.set(b.end);
        Some(self.ptr_at(b.start))
    }

    /// Gives the space of `[ptr, ptr + size)` back if it is the most recent block and not below
    /// `floor`; otherwise does nothing.
    #[inline]
    pub(crate) fn release(&self, ptr: NonNull<u8>, size: usize, floor: usize) {
        if let Some(c) = bump::release_last(ptr.as_ptr().addr(), size, self.cursor.get(), floor) {
            self.fold_peak();
            self.cursor.set(c);
        }
    }

    /// Resizes the most recent block in place, if [`bump::resize_last`] allows it.
    #[inline]
    pub(crate) fn resize_in_place(
        &self,
        ptr: NonNull<u8>,
        old_size: usize,
        new: Layout,
        floor: usize,
    ) -> bool {
        let start = ptr.as_ptr().addr();
        let cursor = self.cursor.get();
        match bump::resize_last(
            start,
            old_size,
            new.size(),
            new.align(),
            cursor,
            floor,
            self.limit.get(),
        ) {
            Some(c) => {
                self.fold_peak();
                self.cursor.set(c);
                true
            }
            None => false,
        }
    }

    /// Moves the cursor back to `addr` (a scope's checkpoint). Never moves it forward, and never
    /// below the buffer.
    #[inline(always)]
    pub(crate) fn rewind(&self, addr: usize) {
        if addr < self.cursor.get() && addr >= self.base_addr() {
            self.fold_peak();
            self.cursor.set(addr);
        }
    }

    /// Empties the arena, optionally zeroing the bytes used since the last reset. Returns the
    /// finished cycle's overflow count and peak `used`, so that callers recording it need not
    /// read them separately.
    #[inline]
    pub(crate) fn reset(&self, zero: bool) -> Cycle {
        let base = self.base_addr();
        let dirty = self.peak.get().max(self.cursor.get()) - base;
        if zero && dirty > 0 {
            // SAFETY: `[base, base + dirty)` lies inside the buffer (the peak never passes
            // `limit`), and resetting means no block handed out from it is still in use.
            unsafe { ptr::write_bytes(self.base.get().as_ptr(), 0, dirty) };
        }
        if dirty > self.high_water.get() {
            self.high_water.set(dirty);
        }
        self.cursor.set(base);
        self.peak.set(base);
        Cycle {
            overflows: self.overflows.replace(0),
            peak: dirty,
        }
    }

    /// Reallocation shared by every allocator built on a core: in place when
    /// [`resize_in_place`](Self::resize_in_place) allows it, otherwise through `alloc` and a copy
    /// of `min(old, new)` bytes, never more (reading past the old block is a classic bump bug).
    ///
    /// # Safety
    /// `ptr` must be a live block of `old` bytes handed out by this core, and `alloc` must return
    /// a fresh block valid for `new.size()` bytes that does not overlap it.
    #[inline]
    pub(crate) unsafe fn realloc_in_core(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        floor: usize,
        zeroed: bool,
        alloc: impl FnOnce(Layout) -> Result<NonNull<[u8]>, AllocError>,
    ) -> Result<NonNull<[u8]>, AllocError> {
        if self.resize_in_place(ptr, old.size(), new, floor) {
            if zeroed && new.size() > old.size() {
                // SAFETY: the block now spans `new.size()` bytes of the buffer.
                unsafe {
                    ptr.as_ptr()
                        .add(old.size())
                        .write_bytes(0, new.size() - old.size())
                };
            }
            return Ok(NonNull::slice_from_raw_parts(ptr, new.size()));
        }
        if new.size() <= old.size() && bump::is_aligned(ptr.as_ptr().addr(), new.align()) {
            // A shrink that cannot give space back keeps the block where it is.
            return Ok(NonNull::slice_from_raw_parts(ptr, new.size()));
        }
        let fresh = alloc(new)?;
        let keep = old.size().min(new.size());
        // SAFETY: both blocks are valid for `keep` bytes and do not overlap (the caller's
        // contract for `alloc`); the old one stays allocated until after the copy.
        unsafe { ptr::copy_nonoverlapping(ptr.as_ptr(), fresh.cast::<u8>().as_ptr(), keep) };
        if zeroed && new.size() > keep {
            // SAFETY: `fresh` is valid for `new.size()` bytes.
            unsafe {
                fresh
                    .cast::<u8>()
                    .as_ptr()
                    .add(keep)
                    .write_bytes(0, new.size() - keep)
            };
        }
        // The old block is not the most recent any more, so there is nothing to give back.
        Ok(fresh)
    }
}
