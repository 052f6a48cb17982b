//! Scopes and reset: checkpoints, the rewind (within a chunk or across chunks, restoring the
//! cursor and the floor alike), and the reset that keeps one chunk and gives the rest back.

use super::chunk::{Chunk, chain};
use super::growth::To;
use super::poison::{poison, unpoison};
use super::{Checkpoint, Cycle, RawArena, Refill, at, growth_after};
use core::ptr::NonNull;

impl RawArena {
    /// Where the arena is now, for [`rewind`](Self::rewind).
    #[inline(always)]
    pub(crate) fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            chunk: self.current.get(),
            cursor: self.cursor.get().as_ptr().addr(),
            floor: self.floor.get(),
        }
    }

    /// Opens a scope: the next depth, with its floor at the cursor. Returns the depth and what
    /// [`exit`](Self::exit) restores.
    #[inline(always)]
    pub(crate) fn enter(&self) -> (u32, Checkpoint) {
        let cp = self.checkpoint();
        let depth = self.depth.get() + 1;
        self.depth.set(depth);
        self.floor.set(cp.cursor);
        (depth, cp)
    }

    /// Closes the scope at `depth` opened by [`enter`](Self::enter): frees its spills and
    /// restores its checkpoint. At the outermost depth it resets the arena instead and returns
    /// the finished cycle, for the owner to record.
    #[inline(always)]
    pub(crate) fn exit(
        &self,
        depth: u32,
        cp: &Checkpoint,
        zero: impl FnOnce() -> bool,
    ) -> Option<Cycle> {
        if !self.spills.is_empty() {
            self.spills.free_from_depth(depth);
        }
        self.depth.set(depth - 1);
        if depth == 1 {
            Some(self.reset(zero()))
        } else {
            self.rewind(cp);
            None
        }
    }

    /// Moves back to `cp`: chunks taken since become spares, and the cursor and the floor
    /// return to where they were, within the chunk or across chunks alike (a floor left at the
    /// start of a chunk that became a spare would keep the last block from being freed or
    /// resized in place). Never moves forward (a checkpoint from before a reset is ignored).
    #[inline(always)]
    pub(crate) fn rewind(&self, cp: &Checkpoint) {
        if self.current.get() != cp.chunk {
            self.pop_chunks_to(cp);
            return;
        }
        let cur = self.cursor.get();
        if cp.chunk.is_some() && cp.cursor <= cur.as_ptr().addr() {
            if cp.cursor < cur.as_ptr().addr() {
                self.fold_high();
                poison(
                    cur.as_ptr().with_addr(cp.cursor),
                    cur.as_ptr().addr() - cp.cursor,
                );
                // SAFETY: a checkpoint's cursor lies inside its chunk, which is current.
                self.cursor.set(unsafe { at(cur, cp.cursor) });
            }
            self.floor.set(cp.floor);
        } else if cp.chunk.is_none() {
            self.floor.set(cp.floor);
        }
    }

    #[cold]
    fn pop_chunks_to(&self, cp: &Checkpoint) {
        // The checkpoint's chunk must still be in the chain (it is, unless the arena was reset
        // under a forgotten scope guard, and then there is nothing to rewind).
        if cp
            .chunk
            .is_some_and(|target| !chain(self.current.get()).any(|c| c == target))
        {
            return;
        }
        self.fold_peak();
        for mut c in chain(self.current.get()).take_while(|&c| Some(c) != cp.chunk) {
            poison(c.start().as_ptr(), c.usable());
            // SAFETY: `c` belongs to this arena; no block in it outlives the scope being left.
            // The walk has read its old link already.
            unsafe { c.header_mut() }.next = self.spare.get();
            self.spare.set(Some(c));
            self.spare_bytes
                .set(self.spare_bytes.get() + c.header().visible);
            self.lone.set(false);
        }
        self.current.set(cp.chunk);
        match cp.chunk {
            Some(c) => {
                let start = c.start();
                self.end.set(start.as_ptr().addr() + c.header().visible);
                // SAFETY: the checkpoint's cursor lies inside `c`.
                self.cursor.set(unsafe { at(start, cp.cursor) });
                self.tally.restart_high(cp.cursor);
            }
            None => {
                self.cursor.set(NonNull::dangling());
                self.end.set(align_of::<u8>());
                self.tally.restart_high(align_of::<u8>());
            }
        }
        self.floor.set(cp.floor);
    }

    /// Empties the arena: frees the spills, keeps one chunk (the largest of a growable arena,
    /// the first of any other) and lets every other chunk go: a growable arena frees them (its
    /// next round starts in the largest, and its growth goes on from its last size, so it would
    /// not take them back, and pooled they would double what a fill-and-reset loop keeps resident); a scratch
    /// arena gives them to the pool, where its next overflow finds them. When `zero`, zeroes
    /// the kept chunk's used bytes and scrubs the chunks given back (and remembers the setting
    /// for the chunks a drop gives back). Returns the finished cycle.
    ///
    /// The common case, one chunk and nothing spilled, is a few stores.
    #[inline]
    pub(crate) fn reset(&self, zero: bool) -> Cycle {
        self.zero.set(zero);
        match self.current.get() {
            Some(c) if self.lone.get() && self.spills.is_empty() => {
                let start = c.start();
                let top = self.tally.top(self.cursor.get().as_ptr().addr());
                let dirty = top - start.as_ptr().addr();
                // A lone chunk leaves no chunk behind and has no folded-in peak (see `lone`).
                debug_assert!(!self.tally.has_folded_peak(), "lone with a folded-in peak");
                let peak = dirty;
                if zero {
                    unpoison(start.as_ptr(), dirty);
                    // SAFETY: `[start, top)` lies in the chunk, and a reset means no block in it
                    // is in use.
                    unsafe { start.as_ptr().write_bytes(0, dirty) };
                }
                poison(start.as_ptr(), dirty);
                self.cursor.set(start);
                self.tally.restart_high(start.as_ptr().addr());
                self.floor.set(start.as_ptr().addr());
                self.tally.end_cycle(peak)
            }
            _ => self.reset_slow(zero),
        }
    }

    #[cold]
    fn reset_slow(&self, zero: bool) -> Cycle {
        self.lone.set(false);
        let peak = self.cycle_peak();
        if !self.spills.is_empty() {
            self.spills.free_from_depth(0);
        }
        let keep = self.choose_kept();
        let to = match self.refill {
            Refill::Grow => To::System,
            _ => To::Pool,
        };
        let mut kept_visible = 0;
        self.spare_bytes.set(0);
        // Walk the chain, then the spares: everything but `keep` goes back.
        for c in chain(self.current.take()).chain(chain(self.spare.take())) {
            if Some(c) == keep {
                kept_visible = c.header().visible;
                continue;
            }
            // SAFETY: the arena owned `c` (now unlinked: the walk read its link already), and a
            // reset means no block in it is in use.
            unsafe { self.leave(c, to) };
        }
        self.cursor.set(NonNull::dangling());
        self.end.set(align_of::<u8>());
        self.floor.set(align_of::<u8>());
        self.tally.restart_high(align_of::<u8>());
        self.tally.clear_peak();
        if let Some(mut c) = keep {
            // SAFETY: the kept chunk is ours; it is relinked alone.
            let h = unsafe { c.header_mut() };
            h.next = None;
            h.used_below = 0;
            h.cap_below = 0;
            if zero {
                // Which part of the kept chunk was used is not tracked once the arena has
                // grown; zero all of it.
                unpoison(c.start().as_ptr(), kept_visible);
                // SAFETY: the chunk's visible bytes are ours, and no block in them is in use.
                unsafe { c.start().as_ptr().write_bytes(0, kept_visible) };
            }
            let growth = c.header().growth;
            self.push_chunk(c, kept_visible, growth);
            if !matches!(self.refill, Refill::Grow) {
                // A scratch arena's next overflow grows as its first did, so the next round takes
                // back the chunks this one gave the pool instead of a larger fresh one (which
                // would hold both sizes resident).
                self.next_size.set(growth_after(kept_visible));
            }
            // The kept chunk starts the next cycle: what `push_chunk` folded in belongs to this
            // one.
            self.tally.clear_peak();
        }
        self.tally.end_cycle(peak)
    }

    fn choose_kept(&self) -> Option<Chunk> {
        let held = || chain(self.current.get()).chain(chain(self.spare.get()));
        match self.refill {
            // The first of those handing out the most. Not the largest allocation: a first
            // chunk from the pool may be larger than the capacity it was asked to show.
            Refill::Grow => held().reduce(|l, c| {
                if c.header().visible > l.header().visible {
                    c
                } else {
                    l
                }
            }),
            // The arena's first chunk: the one not taken by growth.
            _ => held().filter(|c| !c.header().growth).last(),
        }
    }
}
