//! Per-thread arena state: which slot the thread owns, its bump cursor, its own live count.
//!
//! Everything here is a `Cell` in a `const`-initialised thread local without a destructor, so
//! reading it never allocates, never registers anything, and keeps working while other thread
//! locals are being destroyed. The one thread local with a destructor, [`EXIT`], is touched only
//! when a scope is entered, which is not on the allocator path.

use super::region::{self, SLOT_SIZE, SLOTS};
use super::stats::{self, Counters};
use crate::bump::{bump_up, release_last, resize_last};
use core::cell::Cell;
use core::ptr::null_mut;

const NO_SLOT: usize = usize::MAX;

/// The calling thread's view of its global arena.
pub struct Local {
    /// Owned slot index, or `NO_SLOT`.
    slot: Cell<usize>,
    /// `with_global_arena` nesting depth.
    depth: Cell<usize>,
    /// Inside a scope *and* holding a slot: allocations bump.
    active: Cell<bool>,
    /// Start of the owned slot; every arena pointer handed out derives its provenance from it.
    start: Cell<*mut u8>,
    /// Address of the next free byte, and one past the slot's last byte.
    cursor: Cell<usize>,
    limit: Cell<usize>,
    /// This thread's allocations minus its own frees in the owned slot (wrapping; see
    /// [`region::live_blocks`]).
    live: Cell<usize>,
    pub counters: Counters,
}

thread_local! {
    pub static LOCAL: Local = const {
        Local {
            slot: Cell::new(NO_SLOT),
            depth: Cell::new(0),
            active: Cell::new(false),
            start: Cell::new(null_mut()),
            cursor: Cell::new(0),
            limit: Cell::new(0),
            live: Cell::new(0),
            counters: Counters::new(),
        }
    };
    /// Its destructor hands the slot back when the thread exits.
    static EXIT: ExitGuard = const { ExitGuard };
}

pub struct ExitGuard;

impl Drop for ExitGuard {
    fn drop(&mut self) {
        LOCAL.with(Local::hand_back);
    }
}

impl Local {
    /// Whether allocations made now go to the arena.
    #[inline(always)]
    pub fn active(&self) -> bool {
        self.active.get()
    }

    /// Whether this thread owns slot `index`.
    #[inline(always)]
    pub fn owns(&self, index: usize) -> bool {
        self.slot.get() == index
    }

    /// A block of `size` bytes aligned to `align` from the owned slot, or `None` if it does not
    /// fit. Call only when [`active`](Self::active).
    #[inline(always)]
    pub fn try_bump(&self, size: usize, align: usize) -> Option<*mut u8> {
        let b = bump_up(self.cursor.get(), self.limit.get(), size, align)?;
        self.cursor.set(b.end);
        self.live.set(self.live.get().wrapping_add(1));
        // `b` lies inside the owned slot, so the pointer stays within the reservation that
        // `start` points into.
        Some(self.start.get().with_addr(b.start))
    }

    /// Frees the arena block `[addr, addr + size)` of slot `index`, from whichever thread.
    #[inline(always)]
    pub fn free(&self, index: usize, addr: usize, size: usize) {
        self.counters.arena_free();
        if !self.owns(index) {
            region::remote_free(index);
            return;
        }
        self.live.set(self.live.get().wrapping_sub(1));
        if let Some(c) = release_last(addr, size, self.cursor.get(), self.start.get().addr()) {
            self.cursor.set(c);
        }
        self.rewind_if_dead();
    }

    /// Resizes the owned slot's most recent block in place; growing only inside a scope.
    #[inline(always)]
    pub fn resize_in_place(
        &self,
        index: usize,
        addr: usize,
        old: usize,
        new: usize,
        align: usize,
    ) -> bool {
        if !self.owns(index) || (new > old && !self.active()) {
            return false;
        }
        let floor = self.start.get().addr();
        match resize_last(
            addr,
            old,
            new,
            align,
            self.cursor.get(),
            floor,
            self.limit.get(),
        ) {
            Some(c) => {
                self.cursor.set(c);
                true
            }
            None => false,
        }
    }

    /// Rewinds the cursor to the slot start when no block of the slot is alive. Only the owner
    /// moves its cursor, and only it creates blocks, so a zero count cannot go stale.
    #[inline(always)]
    fn rewind_if_dead(&self) {
        let index = self.slot.get();
        if index != NO_SLOT && region::owner_live(index, self.live.get()) == 0 {
            self.cursor.set(self.start.get().addr());
        }
    }

    /// Enters a scope; the outermost one claims a slot if the thread has none.
    pub fn enter(&self) {
        let depth = self.depth.get();
        self.depth.set(depth + 1);
        if depth > 0 {
            return;
        }
        if self.slot.get() == NO_SLOT && !self.claim() {
            return; // no slot free (or thread exiting): the scope passes through
        }
        self.rewind_if_dead();
        self.active.set(true);
    }

    /// Leaves a scope; the outermost one stops bumping, rewinds if everything died, and publishes
    /// the counters.
    pub fn leave(&self) {
        let depth = self.depth.get().saturating_sub(1);
        self.depth.set(depth);
        if depth > 0 {
            return;
        }
        self.active.set(false);
        let index = self.slot.get();
        if index != NO_SLOT {
            self.rewind_if_dead();
            stats::publish(&SLOTS[index].published, self.counters.snapshot());
        }
    }

    fn claim(&self) -> bool {
        // Register the exit hook first. It may allocate (glibc's TLS destructor list); we are not
        // active yet, so that allocation passes through. It fails only during thread teardown.
        if EXIT.try_with(|_| ()).is_err() {
            return false;
        }
        let Some(base) = region::reserve() else {
            return false;
        };
        let Some(index) = region::claim() else {
            return false;
        };
        let (lo, hi) = region::slot_bounds(index);
        debug_assert_eq!(hi - lo, SLOT_SIZE);
        // `lo < REGION_SIZE`: within the reservation `base` points to.
        let start = base.wrapping_add(lo);
        self.start.set(start);
        self.cursor.set(start.addr());
        self.limit.set(start.addr() + SLOT_SIZE);
        self.live.set(0);
        self.slot.set(index);
        true
    }

    /// Gives the slot up at thread exit. After this every call from this thread passes through,
    /// and its frees of its own old blocks count as remote frees.
    fn hand_back(&self) {
        self.active.set(false);
        let index = self.slot.replace(NO_SLOT);
        if index == NO_SLOT {
            return;
        }
        self.cursor.set(0);
        self.limit.set(0);
        stats::retire(&SLOTS[index].published, self.counters.snapshot());
        region::hand_back(index, self.live.replace(0));
    }
}
