//! The raw core: [`RawArena`], the one bump allocator under every arena handle in the crate,
//! with the memory under it. The lowest floor above the address arithmetic ([`crate::bump`]):
//! the [`Arena`](crate::arena::Arena) handle and the scratch arenas ([`crate::scratch`]) are
//! built side by side on it, and it imports neither.
//!
//! * [`chunk`]: chunks, the process-wide pool that recycles them, and the chain iterator;
//! * `spill`: heap blocks of scratch scopes that the chunks cannot serve;
//! * `poison`: makes logical reuse visible to ASan and valgrind;
//! * `tally`: what the arena counts (peaks, overflows), apart from its allocation state;
//! * this file: the arena's state, allocation, free and resize; `growth`: how its chain grows and
//!   how chunks leave it; `scope`: checkpoints, rewinds and reset.
//!
//! A raw arena owns a chain of [chunks](chunk), newest first, and bumps a cursor up through the
//! newest. Everything an arena does is here, once: allocate (a fast path of about six integer
//! instructions, then a cold path that grows, spills or refuses), free and resize the most recent
//! block in place, scopes with checkpoints, reset, statistics and poisoning. The handles on top
//! ([`Arena`](crate::arena::Arena), the scratch handle) only choose the [`Refill`] and forward.
//!
//! Placement decisions come from [`crate::bump`] (safe, fuzzed arithmetic); this module turns the
//! chosen addresses into pointers that carry their chunk's provenance (`with_addr`, never an
//! integer-to-pointer cast), so it runs under Miri's strict provenance.
//!
//! # Scope rules
//! * Each live scope has a depth (1 = outermost) and a *floor*: the lowest address in the
//!   current chunk that a free or resize may move the cursor down to. It is the cursor when the
//!   innermost scope was entered, or the start of the current chunk if the arena has grown since.
//!   So no free, resize or rewind ever hands out memory an older scope still owns.
//! * Only a handle of the innermost scope bumps; an outer handle's request takes the cold path
//!   (spilled under [`OverflowPolicy::Fallback`], refused otherwise), because the memory above the
//!   inner floor is released when the inner scope exits (GHSA-xhx6-q96x-pf9c).
//! * Leaving a scope frees its spills, and rewinds the cursor, the floor and the chain to its
//!   checkpoint; chunks taken since are kept as spares until the next reset, then go back to the
//!   pool.
//!
//! # Chunks leaving the arena
//! Every chunk the arena gives up goes through `RawArena::leave` (in `growth`): scrubbed when
//! the arena zeroes (the setting of its last reset), poisoned, and handed to the process-wide
//! pool, where any arena on any thread may receive it. While the arena holds a chunk, chain or
//! spare, it counts against the allocation limit.

pub(crate) mod chunk;
mod growth;
mod poison;
mod scope;
mod spill;
pub(crate) mod stats;
mod tally;

pub(crate) use self::tally::Cycle;

use self::chunk::{Chunk, chain};
use self::poison::{poison, unpoison};
use self::spill::SpillList;
use self::tally::Tally;
use crate::bump;
use crate::config::OverflowPolicy;
use crate::raw::stats::ArenaStats;
use allocator_api2::alloc::{AllocError, Layout};
use core::cell::Cell;
use core::ptr::{self, NonNull};

/// What the cold path does when the current chunk is full.
#[derive(Clone, Copy)]
pub(crate) enum Refill {
    /// Refuse (a fixed [`Arena`](crate::arena::Arena)).
    Fixed,
    /// Take another chunk, up to the allocation limit (a growable [`Arena`](crate::arena::Arena)).
    Grow,
    /// Ask the overflow policy, read at every overflow (scratch arenas). `Fallback` takes another
    /// chunk, or spills a request larger than [`MAX_SCRATCH_CHUNK`].
    Policy(fn() -> OverflowPolicy),
}

/// The first chunk of a growable arena.
pub(crate) const FIRST_GROWTH: usize = 4 << 10;
/// Growth doubles the chunk size up to this; a larger request gets a chunk of its own size.
pub(crate) const MAX_GROWTH: usize = 8 << 20;
/// A scratch request larger than this is spilled to the heap on its own rather than getting a
/// chunk.
pub(crate) const MAX_SCRATCH_CHUNK: usize = 64 << 20;

/// The first growth chunk's size for an arena whose first chunk has `capacity` bytes.
fn growth_after(capacity: usize) -> usize {
    capacity.clamp(FIRST_GROWTH, MAX_GROWTH).next_power_of_two()
}

/// Where a scope began: restored when it ends.
#[derive(Clone, Copy)]
pub(crate) struct Checkpoint {
    chunk: Option<Chunk>,
    cursor: usize,
    floor: usize,
}

/// A zero-size block: aligned, dangling, pointing at nothing.
#[inline]
pub(crate) fn dangling(align: usize) -> NonNull<u8> {
    // SAFETY: a `Layout`'s alignment is a power of two, so never zero.
    unsafe { NonNull::new_unchecked(ptr::without_provenance_mut(align)) }
}

/// `p` moved to address `addr`, keeping its provenance.
///
/// # Safety
/// `addr` must be non-zero (callers pass addresses inside a chunk, or the empty arena's
/// dangling cursor).
#[inline(always)]
unsafe fn at(p: NonNull<u8>, addr: usize) -> NonNull<u8> {
    // SAFETY: the caller guarantees `addr != 0`.
    unsafe { NonNull::new_unchecked(p.as_ptr().with_addr(addr)) }
}

/// The raw arena. Not `Sync`; `Send` is up to the handle that owns it.
///
/// Invariants: `current` is `None` and the cursor is the dangling empty position, or `current`
/// is the newest chunk of the chain and `chunk.start <= floor <= cursor <= end <= chunk end`.
pub(crate) struct RawArena {
    /// First free byte, with the current chunk's provenance. Read and written on every
    /// allocation, through whatever pointer the handle holds, never through a thread-local.
    cursor: Cell<NonNull<u8>>,
    /// One past the last byte the current chunk may hand out.
    end: Cell<usize>,
    /// Depth of the innermost live scope (0 = none).
    depth: Cell<u32>,
    /// Lowest address of the current chunk that a free or resize may release down to.
    floor: Cell<usize>,
    current: Cell<Option<Chunk>>,
    /// Chunks given up by scope exits, reused before asking the pool; returned at reset.
    spare: Cell<Option<Chunk>>,
    /// Visible bytes of the spares: held by the arena, so counted against the limit.
    spare_bytes: Cell<usize>,
    /// Whether chunks are scrubbed when they leave the arena: the zeroing setting of the last
    /// reset (or set by the owner), so that a drop scrubs as the owner's resets do.
    zero: Cell<bool>,
    /// The current chunk is the arena's only one (no older chunk, no spare, no peak folded in
    /// from chunks left earlier this cycle) and a reset keeps it as it is: the reset fast path,
    /// one load. Set when a chunk is linked; cleared whenever chunks change otherwise, so it is
    /// only ever conservatively false.
    lone: Cell<bool>,
    spills: SpillList,
    refill: Refill,
    /// Most bytes of chunks a growable arena may hold.
    limit: Cell<Option<usize>>,
    /// Usable size of the next growth chunk.
    next_size: Cell<usize>,
    /// Peaks, overflows and the first chunk's figures.
    tally: Tally,
}

impl RawArena {
    /// An arena with no chunk: the first non-empty request takes the cold path.
    pub(crate) const fn new(refill: Refill) -> Self {
        let empty = NonNull::<u8>::dangling();
        Self {
            cursor: Cell::new(empty),
            end: Cell::new(align_of::<u8>()),
            depth: Cell::new(0),
            floor: Cell::new(align_of::<u8>()),
            current: Cell::new(None),
            spare: Cell::new(None),
            spare_bytes: Cell::new(0),
            zero: Cell::new(false),
            lone: Cell::new(false),
            spills: SpillList::new(),
            refill,
            limit: Cell::new(None),
            next_size: Cell::new(FIRST_GROWTH),
            tally: Tally::new(align_of::<u8>()),
        }
    }

    /// An arena whose first chunk hands out exactly `capacity` bytes; `Err` if the system
    /// refuses. A zero capacity takes no chunk.
    pub(crate) fn with_capacity(refill: Refill, capacity: usize) -> Result<Self, AllocError> {
        let raw = Self::new(refill);
        if capacity > 0 {
            let c = chunk::take(capacity).ok_or(AllocError)?;
            raw.push_chunk(c, capacity, false);
        }
        raw.next_size.set(growth_after(capacity));
        Ok(raw)
    }

    // ---- statistics -------------------------------------------------------------------------

    #[inline(always)]
    pub(crate) fn depth(&self) -> u32 {
        self.depth.get()
    }

    /// Whether chunks taken by growth count in `used` and `capacity`: yes for a growable arena;
    /// no for a scratch arena, whose growth is overflow beyond its pool, counted apart.
    #[inline(always)]
    fn counts_growth(&self) -> bool {
        !matches!(self.refill, Refill::Policy(_))
    }

    /// Bytes handed out since the last reset, alignment padding included (of the first chunk
    /// only, for a scratch arena).
    #[inline]
    pub(crate) fn used(&self) -> usize {
        self.used_at(self.cursor.get().as_ptr().addr())
    }

    /// What [`used`](Self::used) would be with the cursor at `addr` in the current chunk.
    fn used_at(&self, addr: usize) -> usize {
        match self.current.get() {
            None => 0,
            Some(c) => {
                let here = addr - c.start_addr();
                if self.counts_growth() {
                    c.header().used_below + here
                } else if c.header().growth {
                    self.tally.base().0
                } else {
                    here
                }
            }
        }
    }

    /// Bytes the arena can hand out without growing (the first chunk only, for a scratch arena).
    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        match self.current.get() {
            None => 0,
            Some(c) => {
                let here = self.end.get() - c.start_addr();
                if self.counts_growth() {
                    c.header().cap_below + here
                } else if c.header().growth {
                    self.tally.base().1
                } else {
                    here
                }
            }
        }
    }

    /// Bytes the current chunk can still hand out to a byte-aligned request.
    pub(crate) fn remaining_in_chunk(&self) -> usize {
        self.end.get() - self.cursor.get().as_ptr().addr()
    }

    pub(crate) fn high_water_mark(&self) -> usize {
        self.tally.high_water_mark(self.cycle_peak())
    }

    fn cycle_peak(&self) -> usize {
        let top = self.tally.top(self.cursor.get().as_ptr().addr());
        self.tally.cycle_peak(self.used_at(top))
    }

    /// Overflows since the last reset.
    pub(crate) fn overflow_count(&self) -> u64 {
        self.tally.overflow_count()
    }

    /// A snapshot of the counters, for every handle.
    pub(crate) fn stats(&self) -> ArenaStats {
        let (total_overflows, overflow_bytes) = self.tally.total_overflows();
        ArenaStats {
            capacity: self.capacity(),
            used: self.used(),
            high_water_mark: self.high_water_mark(),
            overflow_count: self.overflow_count(),
            total_overflows,
            overflow_bytes,
        }
    }

    pub(crate) fn limit(&self) -> Option<usize> {
        self.limit.get()
    }

    pub(crate) fn set_limit(&self, bytes: Option<usize>) {
        self.limit.set(bytes);
    }

    /// Whether resets zero the used bytes and chunks leaving the arena are scrubbed.
    pub(crate) fn zeroes(&self) -> bool {
        self.zero.get()
    }

    /// Sets what [`zeroes`](Self::zeroes) reports; [`reset`](Self::reset) sets it too.
    pub(crate) fn set_zero(&self, on: bool) {
        self.zero.set(on);
    }

    /// Bytes of chunks the arena holds (its chain and its spares): what the limit caps.
    pub(crate) fn held(&self) -> usize {
        self.chain_capacity() + self.spare_bytes.get()
    }

    /// Visible bytes of the chain, whatever the refill (a scratch arena's `capacity` reports
    /// its first chunk only).
    fn chain_capacity(&self) -> usize {
        match self.current.get() {
            None => 0,
            Some(c) => c.header().cap_below + (self.end.get() - c.start_addr()),
        }
    }

    /// Records the cursor's height before it moves down.
    #[inline(always)]
    fn fold_high(&self) {
        self.tally.raise_high(self.cursor.get().as_ptr().addr());
    }

    /// Folds the current chunk's height into the cycle's peak, before the chunk changes.
    fn fold_peak(&self) {
        let top = self.tally.top(self.cursor.get().as_ptr().addr());
        self.tally.fold_peak(self.used_at(top));
    }

    // ---- allocation -------------------------------------------------------------------------

    /// A block for `layout` on behalf of the scope at `depth`.
    #[inline(always)]
    pub(crate) fn alloc(&self, layout: Layout, depth: u32) -> Result<NonNull<u8>, AllocError> {
        let cur = self.cursor.get();
        if depth == self.depth.get()
            && let Some(b) = bump::bump_pow2(
                cur.as_ptr().addr(),
                self.end.get(),
                layout.size(),
                layout.align(),
            )
        {
            // SAFETY: `b.start >= cursor > 0`; both addresses lie in `[cursor, end]`.
            let (p, next) = unsafe { (at(cur, b.start), at(cur, b.end)) };
            self.cursor.set(next);
            unpoison(p.as_ptr(), layout.size());
            return Ok(p);
        }
        self.alloc_slow(layout, depth)
    }

    /// [`alloc`](Self::alloc) as `Allocator::allocate` wants it.
    #[inline(always)]
    pub(crate) fn allocate(&self, layout: Layout, depth: u32) -> Result<NonNull<[u8]>, AllocError> {
        let p = self.alloc(layout, depth)?;
        Ok(NonNull::slice_from_raw_parts(p, layout.size()))
    }

    #[cold]
    #[inline(never)]
    fn alloc_slow(&self, layout: Layout, depth: u32) -> Result<NonNull<u8>, AllocError> {
        if layout.size() == 0 {
            // Zero-size blocks always succeed, in a full arena or through an outer handle.
            return Ok(dangling(layout.align()));
        }
        let innermost = depth == self.depth.get();
        match self.refill {
            Refill::Fixed => {}
            Refill::Grow => {
                if innermost && self.grow(layout) {
                    return self.alloc(layout, depth);
                }
            }
            Refill::Policy(policy) => {
                self.tally.note_overflow(layout.size());
                return match policy() {
                    OverflowPolicy::Fallback => {
                        if innermost && layout.size() <= MAX_SCRATCH_CHUNK && self.grow(layout) {
                            self.alloc(layout, depth)
                        } else {
                            self.spills.alloc(layout, depth).ok_or(AllocError)
                        }
                    }
                    OverflowPolicy::Error => Err(AllocError),
                    OverflowPolicy::Panic => self.refuse_loudly(layout, depth),
                };
            }
        }
        self.tally.note_overflow(layout.size());
        Err(AllocError)
    }

    /// Panics with a message that says what was asked and why it could not be served.
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
        match self.refill {
            Refill::Policy(_) => panic!(
                "scratch arena overflow: requested {} bytes aligned to {}, but only {} of {} bytes \
                 remain; raise the pool with ENGRAM_ARENA_SIZE or config::configure, use \
                 with_arena_sized for large batches, or use OverflowPolicy::Fallback",
                layout.size(),
                layout.align(),
                self.remaining_in_chunk(),
                self.capacity()
            ),
            Refill::Fixed => panic!(
                "arena refused {} bytes aligned to {}: {} of {} bytes remain; create it with a \
                 larger capacity, reset it, or use a growable Arena::new()",
                layout.size(),
                layout.align(),
                self.remaining_in_chunk(),
                self.capacity()
            ),
            Refill::Grow => panic!(
                "growable arena refused {} bytes aligned to {}: it holds {} bytes and its \
                 allocation limit is {:?}",
                layout.size(),
                layout.align(),
                self.capacity(),
                self.limit.get()
            ),
        }
    }

    // ---- free and resize --------------------------------------------------------------------

    /// Frees a block: gives its space back if it is the most recent one at or above the floor,
    /// frees it if it was spilled, and otherwise leaves it until its scope ends or a reset.
    ///
    /// # Safety
    /// `ptr` must be a live block of this arena, allocated for `layout`.
    #[inline]
    pub(crate) unsafe fn dealloc(&self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() == 0 {
            return;
        }
        let cur = self.cursor.get();
        if let Some(c) = bump::release_last(
            ptr.as_ptr().addr(),
            layout.size(),
            cur.as_ptr().addr(),
            self.floor.get(),
        ) {
            self.fold_high();
            // SAFETY: `c` is the block's start, at or above the floor, so inside the chunk.
            self.cursor.set(unsafe { at(cur, c) });
            poison(ptr.as_ptr(), layout.size());
            return;
        }
        if !self.spills.is_empty() && !self.in_chunks(ptr.as_ptr().addr()) {
            // SAFETY: a live, non-empty block of this arena outside its chunks was spilled.
            unsafe { self.spills.free(ptr, layout) }
        }
    }

    /// Whether `addr` lies in one of the chunks of the chain: the current one first (one
    /// compare), then the older ones (short: growth doubles their size).
    fn in_chunks(&self, addr: usize) -> bool {
        chain(self.current.get()).any(|c| c.contains(addr))
    }

    /// Grows or shrinks a block for the scope at `depth`: in place for the most recent block,
    /// otherwise a move of `min(old, new)` bytes (never more: reading past the old block is a
    /// classic bump bug). Zeroes the new tail when `zeroed`.
    ///
    /// # Safety
    /// `ptr` must be a live block of this arena, allocated for `old`.
    #[inline]
    pub(crate) unsafe fn realloc(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        depth: u32,
        zeroed: bool,
    ) -> Result<NonNull<[u8]>, AllocError> {
        let start = ptr.as_ptr().addr();
        let cur = self.cursor.get();
        if old.size() != 0
            && let Some(c) = bump::resize_last(
                start,
                old.size(),
                new.size(),
                new.align(),
                cur.as_ptr().addr(),
                self.floor.get(),
                self.end.get(),
            )
        {
            if c < cur.as_ptr().addr() {
                self.fold_high();
                poison(ptr.as_ptr().with_addr(c), cur.as_ptr().addr() - c);
            } else {
                // Only the new tail: the kept bytes are already accessible.
                unpoison(
                    ptr.as_ptr().wrapping_add(old.size()),
                    new.size() - old.size(),
                );
            }
            // SAFETY: `c` lies in `[start, end]`, inside the current chunk.
            self.cursor.set(unsafe { at(cur, c) });
            if zeroed && new.size() > old.size() {
                // SAFETY: the block now spans `new.size()` bytes of the chunk.
                unsafe {
                    ptr.as_ptr()
                        .add(old.size())
                        .write_bytes(0, new.size() - old.size())
                };
            }
            return Ok(NonNull::slice_from_raw_parts(ptr, new.size()));
        }
        if old.size() != 0
            && new.size() <= old.size()
            && bump::is_aligned(start, new.align())
            && (self.spills.is_empty() || self.in_chunks(start))
        {
            // A shrink that cannot give space back keeps the block where it is. (Not a spilled
            // block: where its header sits depends on its layout's alignment, so it moves.)
            return Ok(NonNull::slice_from_raw_parts(ptr, new.size()));
        }
        let fresh = self.alloc(new, depth)?;
        let keep = old.size().min(new.size());
        // SAFETY: both blocks are valid for `keep` bytes (the caller's contract and `alloc`'s),
        // and a fresh block never overlaps a live one.
        unsafe { ptr::copy_nonoverlapping(ptr.as_ptr(), fresh.as_ptr(), keep) };
        if zeroed && new.size() > keep {
            // SAFETY: `fresh` is valid for `new.size()` bytes.
            unsafe { fresh.as_ptr().add(keep).write_bytes(0, new.size() - keep) };
        }
        // SAFETY: the caller gave up `ptr`; the copy is done.
        unsafe { self.dealloc(ptr, old) };
        Ok(NonNull::slice_from_raw_parts(fresh, new.size()))
    }
}

impl Drop for RawArena {
    fn drop(&mut self) {
        // A reset with the arena's zeroing setting frees the spills, scrubs and gives back every
        // chunk but one, and zeroes what that one handed out: it leaves as the others did.
        self.reset(self.zero.get());
        if let Some(c) = self.current.take() {
            // SAFETY: the arena owned `c`; dropping it means no block is in use, and the reset
            // above already scrubbed it if the arena zeroes.
            unsafe { chunk::give_back(c) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A nested scope that rewinds to before the arena's first chunk leaves that chunk's height
    /// folded into the cycle's peak; when the chunk comes back from the spares it is the lone
    /// chunk again, and the outermost reset (its fast path) must still report that peak.
    #[test]
    fn the_fast_reset_keeps_a_peak_folded_in_by_an_inner_scope() {
        let raw = RawArena::new(Refill::Grow);
        let (outer, outer_cp) = raw.enter();
        let (inner, inner_cp) = raw.enter();
        raw.alloc(Layout::from_size_align(3000, 8).unwrap(), inner)
            .unwrap();
        assert!(raw.exit(inner, &inner_cp, || false).is_none());
        raw.alloc(Layout::from_size_align(100, 8).unwrap(), outer)
            .unwrap();
        let cycle = raw
            .exit(outer, &outer_cp, || false)
            .expect("outermost exit resets");
        assert_eq!(cycle.peak, 3000);
        assert_eq!(raw.high_water_mark(), 3000);
        assert_eq!(raw.used(), 0);
    }

    /// A growable arena's first chunk may come from the pool larger than the capacity it shows;
    /// a reset keeps the chunk that hands out the most, not the largest allocation.
    #[test]
    fn a_growable_reset_keeps_the_chunk_handing_out_the_most() {
        let raw = RawArena::new(Refill::Grow);
        let big = chunk::Chunk::alloc(64 << 10).unwrap();
        raw.push_chunk(big, 8 << 10, false);
        raw.next_size.set(growth_after(8 << 10));
        raw.alloc(Layout::from_size_align(8 << 10, 8).unwrap(), 0)
            .unwrap();
        raw.alloc(Layout::from_size_align(20 << 10, 8).unwrap(), 0)
            .unwrap();
        raw.reset(false);
        assert_eq!(raw.used(), 0);
        assert!(raw.capacity() >= 20 << 10, "{}", raw.capacity());
    }

    #[test]
    fn a_checkpoint_rewinds_within_and_across_chunks() {
        let raw = RawArena::new(Refill::Grow);
        let l = Layout::from_size_align(1000, 8).unwrap();
        let first = raw.alloc(l, 0).unwrap();
        let cp = raw.checkpoint();
        let used = raw.used();
        for _ in 0..20 {
            raw.alloc(l, 0).unwrap();
        }
        assert!(raw.capacity() > FIRST_GROWTH);
        raw.rewind(&cp);
        assert_eq!(raw.used(), used);
        let again = raw.alloc(l, 0).unwrap();
        assert_eq!(again.as_ptr().addr(), first.as_ptr().addr() + 1000);
    }

    /// Deliberately unsound: rewinds below a block that is still in use and writes to it.
    /// `scripts/asan.sh` and `scripts/valgrind-arena.sh` run it with poisoning on and expect the
    /// tool to report the write: the proof that poisoning makes a bad rewind visible.
    #[cfg(any(engram_asan, engram_valgrind))]
    #[test]
    #[ignore = "deliberately faulty; run by scripts/asan.sh and scripts/valgrind-arena.sh"]
    fn poisoning_catches_a_bad_rewind() {
        let raw = RawArena::with_capacity(Refill::Fixed, 4096).unwrap();
        let cp = raw.checkpoint();
        let live = raw.alloc(Layout::new::<u64>(), 0).unwrap().cast::<u64>();
        raw.rewind(&cp); // the bug: `live` is still in use
        // SAFETY: none; this write is the use-after-rewind the tool must report.
        unsafe { live.as_ptr().write_volatile(1) };
    }
}
