//! How a raw arena's chain changes: growth takes a spare or a pool chunk (within the limit,
//! which counts the spares), and every chunk that leaves the arena goes through one door,
//! [`RawArena::leave`], which decides what it carries (scrubbed when the arena zeroes, poisoned)
//! and where it goes ([`To`]: the pool, or the system).

use super::chunk::{self, CHUNK_ALIGN, Chunk, chain};
use super::poison::{poison, unpoison};
use super::{MAX_GROWTH, RawArena, Refill};
use allocator_api2::alloc::Layout;

/// Where a chunk that leaves an arena goes.
#[derive(Clone, Copy)]
pub(super) enum To {
    /// The process-wide pool, for any arena to reuse (within the pool's bounds).
    Pool,
    /// Straight back to the system: chunks no arena is expected to need.
    System,
}

impl RawArena {
    /// Makes a chunk with room for `layout` current: a spare one, or one from the pool sized by
    /// the growth schedule. `false` if the limit or the system says no.
    #[cold]
    pub(super) fn grow(&self, layout: Layout) -> bool {
        // Chunks start `CHUNK_ALIGN`-aligned; a larger alignment may need that much padding.
        let Some(need) = layout
            .size()
            .checked_add(layout.align().saturating_sub(CHUNK_ALIGN))
        else {
            return false;
        };
        let scheduled = self.next_size.get();
        let advance = || {
            if need <= scheduled {
                self.next_size.set((scheduled * 2).min(MAX_GROWTH));
            }
        };
        // A spare is already held, so reusing it changes nothing the limit counts.
        if let Some(c) = self.take_spare(need) {
            advance();
            self.push_chunk(c, c.header().visible, true);
            return true;
        }
        let mut size = scheduled.max(need);
        let mut visible = usize::MAX;
        if let Some(limit) = self.limit.get() {
            let mut room = limit.saturating_sub(self.held());
            if need > room && self.spare.get().is_some() {
                // Spares too small for this request only hold memory the limit could grant.
                self.release_spares();
                room = limit.saturating_sub(self.held());
            }
            if need > room {
                return false;
            }
            size = size.min(room);
            visible = room;
        }
        let Some(chunk) = chunk::take(size) else {
            return false;
        };
        advance();
        let visible = chunk.usable().min(visible);
        self.push_chunk(chunk, visible, true);
        true
    }

    /// Gives every spare back to the pool.
    fn release_spares(&self) {
        self.spare_bytes.set(0);
        for c in chain(self.spare.take()) {
            // SAFETY: spares belong to this arena (now unlinked), and no block in them is in use
            // (their scope ended).
            unsafe { self.leave(c, To::Pool) };
        }
        self.lone.set(false);
    }

    /// The one way a chunk leaves the arena: scrubbed of everything it handed out when the
    /// arena zeroes (the pool may give it to any arena, on any thread, and the system to any
    /// code of the process), poisoned, and given back to the pool or freed.
    ///
    /// # Safety
    /// The arena must own `c`, `c` must no longer be linked in the chain or the spares, and no
    /// block in it may be used afterwards.
    pub(super) unsafe fn leave(&self, c: Chunk, to: To) {
        let visible = c.header().visible;
        if self.zero.get() {
            unpoison(c.start().as_ptr(), visible);
            // SAFETY: the chunk's visible bytes are the arena's, and no block in them is in use.
            // Which of them were used is not tracked once a chunk has left the chain's head, so
            // all of them are zeroed.
            unsafe { c.start().as_ptr().write_bytes(0, visible) };
        }
        poison(c.start().as_ptr(), c.usable());
        match to {
            // SAFETY: the caller's contract: the arena owned `c` and is done with it.
            To::Pool => unsafe { chunk::give_back(c) },
            // SAFETY: as above.
            To::System => unsafe { c.free() },
        }
    }

    /// Unlinks and returns the first spare chunk with at least `need` usable bytes.
    fn take_spare(&self, need: usize) -> Option<Chunk> {
        let c = chain(self.spare.get()).find(|c| c.header().visible >= need)?;
        let mut spares = self.spare.get();
        // SAFETY: spare chunks belong to this arena, and nothing else refers to them.
        unsafe { chunk::unlink(&mut spares, c) };
        self.spare.set(spares);
        self.spare_bytes
            .set(self.spare_bytes.get() - c.header().visible);
        Some(c)
    }

    /// Links `c` as the newest chunk, handing out its first `visible` bytes.
    pub(super) fn push_chunk(&self, mut c: Chunk, visible: usize, growth: bool) {
        self.fold_peak();
        let (used, cap) = (self.used(), self.capacity());
        if self.current.get().is_some_and(|c| !c.header().growth) {
            self.tally.set_base(used, cap);
        }
        // SAFETY: `c` was just taken by this arena; nothing else refers to it.
        let h = unsafe { c.header_mut() };
        h.next = self.current.get();
        h.used_below = used;
        h.cap_below = cap;
        h.visible = visible;
        h.growth = growth;
        // Not lone while the cycle has a folded-in peak (a scope rewound to before the first
        // chunk and this chunk came back from the spares): the fast reset assumes `peak == 0`.
        self.lone.set(
            h.next.is_none()
                && self.spare.get().is_none()
                && !self.tally.has_folded_peak()
                && (!growth || matches!(self.refill, Refill::Grow)),
        );
        let start = c.start();
        self.current.set(Some(c));
        self.cursor.set(start);
        self.tally.restart_high(start.as_ptr().addr());
        self.end.set(start.as_ptr().addr() + visible);
        // Every block in a new chunk is younger than any live scope's checkpoint.
        self.floor.set(start.as_ptr().addr());
        poison(start.as_ptr(), visible);
    }
}
