//! One scratch arena with its scope stack: the thread's own, a batch arena, or the heap-only
//! stand-in used during thread-local teardown.
//!
//! Scope rules, which every operation below enforces:
//! * each live scope has a depth (1 = outermost) and a *floor*, the cursor when it was entered;
//! * only a handle of the innermost scope bumps the arena; a handle of an outer scope is served
//!   by the overflow path, because memory above the inner floor is released when the inner
//!   scope exits (the bump-scope use-after-free, GHSA-xhx6-q96x-pf9c);
//! * a block is freed or resized in place only if it is the most recent one and lies at or above
//!   the innermost floor, so no rewind can ever release memory an older scope still owns;
//! * whether a block is in the arena or on the heap is decided by its address, every time.

use super::spill::SpillList;
use crate::ArenaStats;
use crate::arena::core::{BumpCore, Cycle, dangling};
use crate::config::{self, OverflowPolicy};
use crate::metrics::ThreadMetrics;
use allocator_api2::alloc::{AllocError, Layout};
use core::cell::Cell;
use core::ptr::{self, NonNull};

/// Which arena a state is, which decides where its cycles are recorded and which overflow
/// policy applies.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The thread's own arena, in the thread-local.
    Thread,
    /// A batch arena from the process-wide pool.
    Batch,
    /// A zero-capacity stand-in during thread-local teardown: always falls back to the heap.
    Teardown,
}

pub(crate) struct ScratchState {
    pub(crate) core: BumpCore,
    depth: Cell<u32>,
    floor: Cell<usize>,
    spills: SpillList,
    zero_on_reset: Cell<bool>,
    kind: Kind,
    /// Registered lazily; only used by `Kind::Thread`.
    metrics: ThreadMetrics,
}

impl ScratchState {
    pub(crate) const fn new(kind: Kind) -> Self {
        Self {
            core: BumpCore::empty(),
            depth: Cell::new(0),
            floor: Cell::new(0),
            spills: SpillList::new(),
            zero_on_reset: Cell::new(false),
            kind,
            metrics: ThreadMetrics::new(),
        }
    }

    #[inline(always)]
    pub(crate) fn depth(&self) -> u32 {
        self.depth.get()
    }

    pub(crate) fn set_zero_on_reset(&self, on: bool) {
        self.zero_on_reset.set(on);
    }

    pub(crate) fn stats(&self) -> ArenaStats {
        ArenaStats {
            capacity: self.core.capacity(),
            used: self.core.used(),
            high_water_mark: self.core.high_water_mark(),
            overflow_count: self.core.overflow_count(),
        }
    }

    /// Resets the arena between scopes; `false` (and nothing done) inside a scope.
    pub(crate) fn reset_idle(&self) -> bool {
        if self.depth.get() != 0 {
            return false;
        }
        self.core.reset(self.zero_on_reset.get());
        true
    }

    /// A block for `layout` on behalf of the scope at `depth`.
    #[inline(always)]
    pub(crate) fn alloc(&self, layout: Layout, depth: u32) -> Result<NonNull<u8>, AllocError> {
        if self.depth.get() == depth
            && let Some(p) = self.core.try_bump(layout)
        {
            return Ok(p);
        }
        self.overflow(layout, depth)
    }

    #[cold]
    #[inline(never)]
    fn overflow(&self, layout: Layout, depth: u32) -> Result<NonNull<u8>, AllocError> {
        if layout.size() == 0 {
            return Ok(dangling(layout.align()));
        }
        self.core.note_overflow();
        let policy = match self.kind {
            Kind::Teardown => OverflowPolicy::Fallback,
            Kind::Thread | Kind::Batch => config::overflow_policy(),
        };
        match policy {
            OverflowPolicy::Fallback => self.spills.alloc(layout, depth).ok_or(AllocError),
            OverflowPolicy::Error => Err(AllocError),
            OverflowPolicy::Panic => self.refuse_loudly(layout, depth),
        }
    }

    #[cold]
    pub(crate) fn refuse_loudly(&self, layout: Layout, depth: u32) -> ! {
        if depth != self.depth.get() {
            panic!(
                "scratch arena refused {} bytes aligned to {}: allocation through an outer scope's \
                 handle while an inner scope is live cannot use the arena; allocate through the \
                 innermost handle, or use OverflowPolicy::Fallback",
                layout.size(),
                layout.align()
            )
        }
        panic!(
            "scratch arena overflow: requested {} bytes aligned to {}, but only {} of {} bytes \
             remain; raise the pool with ENGRAM_ARENA_SIZE or config::configure, use \
             with_arena_sized for large batches, or use OverflowPolicy::Fallback",
            layout.size(),
            layout.align(),
            self.core.capacity() - self.core.used(),
            self.core.capacity()
        )
    }

    /// Frees a block from [`alloc`](Self::alloc).
    ///
    /// # Safety
    /// `ptr` must be a live block of this state, allocated for `layout`.
    #[inline]
    pub(crate) unsafe fn dealloc(&self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() == 0 {
            return;
        }
        if self.core.owns(ptr) {
            self.core.release(ptr, layout.size(), self.floor.get());
        } else {
            // SAFETY: a live non-empty block outside the buffer can only be a spilled block.
            unsafe { self.spills.free(ptr, layout) }
        }
    }

    /// Grows or shrinks a block from [`alloc`](Self::alloc) for the scope at `depth`.
    ///
    /// # Safety
    /// `ptr` must be a live block of this state, allocated for `old`.
    #[inline]
    pub(crate) unsafe fn realloc(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        depth: u32,
        zeroed: bool,
    ) -> Result<NonNull<[u8]>, AllocError> {
        let fresh = |l: Layout| {
            let p = self.alloc(l, depth)?;
            if zeroed {
                // SAFETY: `p` is a fresh block of `l.size()` bytes.
                unsafe { p.as_ptr().write_bytes(0, l.size()) };
            }
            Ok(NonNull::slice_from_raw_parts(p, l.size()))
        };
        if old.size() == 0 {
            // Zero-size blocks are dangling pointers, owned by nobody.
            return fresh(new);
        }
        if self.core.owns(ptr) {
            // SAFETY: `ptr` is a live arena block of `old` (caller), and `fresh` returns new
            // blocks that cannot overlap it.
            return unsafe {
                self.core
                    .realloc_in_core(ptr, old, new, self.floor.get(), zeroed, fresh)
            };
        }
        let moved = fresh(new)?;
        // SAFETY: `ptr` is a live spilled block of `old.size()` bytes (caller), `moved` is a
        // fresh block; copying the smaller size never reads past either.
        unsafe {
            ptr::copy_nonoverlapping(
                ptr.as_ptr(),
                moved.cast::<u8>().as_ptr(),
                old.size().min(new.size()),
            );
            self.spills.free(ptr, old);
        }
        Ok(moved)
    }

    /// Opens a scope. The returned guard closes it when dropped, also during unwinding.
    #[inline(always)]
    pub(crate) fn enter(&self) -> ScopeGuard<'_> {
        let depth = self.depth.get() + 1;
        self.depth.set(depth);
        let saved_floor = self.floor.replace(self.core.cursor());
        ScopeGuard {
            state: self,
            saved_floor,
            depth,
        }
    }

    /// Records a finished cycle in this (thread) state's counters.
    #[inline]
    pub(crate) fn record_cycle(&self, overflows: usize, peak: usize) {
        self.metrics.record(overflows, peak);
    }

    /// The end of an outermost scope: record the cycle, then reset.
    #[inline]
    fn end_cycle(&self) {
        let Cycle { overflows, peak } = self.core.reset(self.zero_on_reset.get());
        match self.kind {
            Kind::Thread => self.record_cycle(overflows, peak),
            Kind::Batch | Kind::Teardown => super::record_on_this_thread(overflows, peak),
        }
    }
}

impl Drop for ScratchState {
    fn drop(&mut self) {
        // Scopes free their spills on exit; this only matters if a state dies mid-scope, which
        // the scope guards' borrows rule out. Kept as a backstop: nothing is leaked.
        self.spills.free_from_depth(0);
    }
}

/// Closes its scope ([`close`](Self::close), or on drop while unwinding): frees the scope's
/// spilled blocks, rewinds to the floor, and at the outermost level records the cycle and resets
/// the arena.
pub(crate) struct ScopeGuard<'s> {
    state: &'s ScratchState,
    saved_floor: usize,
    depth: u32,
}

impl ScopeGuard<'_> {
    #[inline(always)]
    pub(crate) fn depth(&self) -> u32 {
        self.depth
    }

    /// Closes the scope on the normal path. Inlined into the caller, where the guard then lives
    /// in registers; `Drop` does the same work, but only while unwinding.
    #[inline(always)]
    pub(crate) fn close(self) {
        core::mem::ManuallyDrop::new(self).exit();
    }

    #[inline(always)]
    fn exit(&self) {
        let s = self.state;
        if !s.spills.is_empty() {
            s.spills.free_from_depth(self.depth);
        }
        let floor = s.floor.replace(self.saved_floor);
        s.depth.set(self.depth - 1);
        if self.depth == 1 {
            // The outermost floor is the buffer's start, so the reset is also the rewind.
            s.end_cycle();
        } else {
            s.core.rewind(floor);
        }
    }
}

impl Drop for ScopeGuard<'_> {
    /// Reached only when the scope's closure panics: `close` handles every normal exit.
    #[cold]
    #[inline(never)]
    fn drop(&mut self) {
        self.exit();
    }
}
