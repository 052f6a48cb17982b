//! The one reserved address range that holds every global arena, and slot ownership.
//!
//! The range is `SLOT_COUNT` slots of `SLOT_SIZE` bytes, reserved once (lazily) from
//! [`System`] and never returned. Whether a pointer belongs to an arena is one subtraction and one
//! compare against the published base; its slot is the offset divided by `SLOT_SIZE`.
//!
//! Each slot has one atomic *state word* that encodes both who may bump in it and how many of its
//! blocks are still alive (see the state machine in the [module docs](super)). The word arithmetic
//! lives in small pure functions below so it can be unit-tested on its own.

use core::ptr::null_mut;
use core::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use crossbeam_utils::CachePadded;
use std::alloc::{GlobalAlloc, Layout, System};

/// Number of arena slots (threads that can hold a global arena at the same time).
#[cfg(not(miri))]
pub const SLOT_COUNT: usize = 256;
/// Bytes per arena slot.
#[cfg(not(miri))]
pub const SLOT_SIZE: usize = 1 << 20;
// Miri backs every allocation with real, initialised-tracked memory: keep the region small.
#[cfg(miri)]
pub const SLOT_COUNT: usize = 8;
#[cfg(miri)]
pub const SLOT_SIZE: usize = 64 << 10;

/// Bytes in the whole reserved range.
pub const REGION_SIZE: usize = SLOT_COUNT * SLOT_SIZE;
const REGION_ALIGN: usize = 4096;

/// State-word bit set while a thread owns the slot (may bump in it).
pub const OWNED: usize = 1;
/// State-word weight of one live block.
pub const ONE_BLOCK: usize = 2;

/// Base of the reserved range, or null before the first scope. Published once with a CAS.
static BASE: AtomicPtr<u8> = AtomicPtr::new(null_mut());

/// Per-slot shared metadata. Cache-padded: remote frees into one slot must not slow another.
pub struct SlotMeta {
    /// `OWNED` bit | live-block count × `ONE_BLOCK` (see [`live_blocks`]); `0` means free.
    pub word: AtomicUsize,
    /// The owner's counters, published at scope exits (off the allocator path).
    pub published: [AtomicU64; super::stats::FIELDS],
}

#[allow(clippy::declare_interior_mutable_const)] // used only as an array-repeat initialiser
const EMPTY_SLOT: CachePadded<SlotMeta> = CachePadded::new(SlotMeta {
    word: AtomicUsize::new(0),
    published: [const { AtomicU64::new(0) }; super::stats::FIELDS],
});

/// The metadata of every slot, statically allocated so that nothing here ever allocates.
pub static SLOTS: [CachePadded<SlotMeta>; SLOT_COUNT] = [EMPTY_SLOT; SLOT_COUNT];

/// Where the next claim starts looking, so threads spread over the slots.
static CLAIM_HINT: AtomicUsize = AtomicUsize::new(0);

/// Slot index of address `addr` when the region starts at `base`, or `None` when `addr` lies
/// outside the region (or no region exists: `base == 0`). Never wraps or panics.
#[inline(always)]
pub const fn slot_index(addr: usize, base: usize) -> Option<usize> {
    let offset = addr.wrapping_sub(base);
    if base != 0 && offset < REGION_SIZE {
        Some(offset / SLOT_SIZE)
    } else {
        None
    }
}

/// Offset of slot `index` from the region base, and one past its end.
#[inline(always)]
pub const fn slot_bounds(index: usize) -> (usize, usize) {
    (index * SLOT_SIZE, (index + 1) * SLOT_SIZE)
}

/// Live blocks of a slot, seen by its owner: the shared `word` (which holds `OWNED` minus
/// `ONE_BLOCK` per free made by other threads) plus the owner's own unpublished count `local`
/// (its allocations minus its own frees). Both sides wrap; their sum does not.
#[inline(always)]
pub const fn live_blocks(word: usize, local: usize) -> usize {
    word.wrapping_sub(OWNED)
        .wrapping_add(local.wrapping_mul(ONE_BLOCK))
        / ONE_BLOCK
}

/// The amount the owner adds to the word when it hands the slot back: publishes `local` and
/// clears `OWNED` in one atomic add. The result is `live × ONE_BLOCK`, so `0` means free.
#[inline(always)]
pub const fn hand_back_delta(local: usize) -> usize {
    local.wrapping_mul(ONE_BLOCK).wrapping_sub(OWNED)
}

/// The region base if it is reserved; a plain load, for the deallocation path.
#[inline(always)]
pub fn base_addr() -> usize {
    BASE.load(Ordering::Relaxed).addr()
}

/// Slot index owning `ptr`, or `None` if `ptr` did not come from an arena.
///
/// A `Relaxed` load suffices: a thread holding an arena pointer obtained it through some
/// synchronisation with the allocating thread, which had already seen the published base.
#[inline(always)]
pub fn owner_of(ptr: *mut u8) -> Option<usize> {
    slot_index(ptr.addr(), base_addr())
}

/// The region base pointer, reserving the range on first use. Never calls the global allocator.
pub fn reserve() -> Option<*mut u8> {
    let current = BASE.load(Ordering::Acquire);
    if !current.is_null() {
        return Some(current);
    }
    let layout = Layout::from_size_align(REGION_SIZE, REGION_ALIGN).ok()?;
    // SAFETY: `layout` has a non-zero size. Pages of an mmap-backed allocation are committed only
    // when touched, so this reserves address space, not memory.
    let fresh = unsafe { System.alloc(layout) };
    if fresh.is_null() {
        return None;
    }
    match BASE.compare_exchange(null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => Some(fresh),
        Err(winner) => {
            // SAFETY: `fresh` came from `System.alloc(layout)` above and was never published.
            unsafe { System.dealloc(fresh, layout) };
            Some(winner)
        }
    }
}

/// Claims a free slot for the calling thread (state word `0 → OWNED`), lock-free.
///
/// `Acquire` pairs with the `Release` of whichever free or hand-back made the word `0`, so every
/// use of the slot's memory by earlier owners and freers happens before the new owner's writes.
pub fn claim() -> Option<usize> {
    let start = CLAIM_HINT.fetch_add(1, Ordering::Relaxed);
    (0..SLOT_COUNT)
        .map(|k| (start + k) % SLOT_COUNT)
        .find(|&i| {
            let word = &SLOTS[i].word;
            word.load(Ordering::Relaxed) == 0
                && word
                    .compare_exchange(0, OWNED, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
        })
}

/// Records that a thread other than the owner freed one block of slot `index`.
#[inline(always)]
pub fn remote_free(index: usize) {
    // Release: the freer's last accesses to the block happen before any later reuse.
    SLOTS[index].word.fetch_sub(ONE_BLOCK, Ordering::Release);
}

/// The slot's live-block count as seen by its owner (see [`live_blocks`]).
#[inline(always)]
pub fn owner_live(index: usize, local: usize) -> usize {
    live_blocks(SLOTS[index].word.load(Ordering::Acquire), local)
}

/// The owner gives slot `index` up; it becomes claimable now if nothing in it is alive, otherwise
/// when the last block is freed, by whichever thread. Returns whether it is free now.
pub fn hand_back(index: usize, local: usize) -> bool {
    let delta = hand_back_delta(local);
    let prev = SLOTS[index].word.fetch_add(delta, Ordering::AcqRel);
    prev.wrapping_add(delta) == 0
}

/// How many slots are owned or still hold live blocks.
pub fn slots_in_use() -> usize {
    SLOTS
        .iter()
        .filter(|s| s.word.load(Ordering::Acquire) != 0)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_index_is_a_range_check() {
        let base = 0x10_0000_0000usize;
        assert_eq!(slot_index(base, base), Some(0));
        assert_eq!(slot_index(base + SLOT_SIZE - 1, base), Some(0));
        assert_eq!(slot_index(base + SLOT_SIZE, base), Some(1));
        assert_eq!(
            slot_index(base + REGION_SIZE - 1, base),
            Some(SLOT_COUNT - 1)
        );
        assert_eq!(slot_index(base + REGION_SIZE, base), None);
        assert_eq!(slot_index(base - 1, base), None);
        assert_eq!(slot_index(0, base), None);
        assert_eq!(slot_index(usize::MAX, base), None);
    }

    #[test]
    fn no_region_owns_nothing() {
        for addr in [0, 1, 8, 4096, REGION_SIZE - 1, usize::MAX] {
            assert_eq!(slot_index(addr, 0), None);
        }
    }

    #[test]
    fn region_at_the_top_of_the_address_space_does_not_wrap() {
        let base = usize::MAX - REGION_SIZE + 1;
        assert_eq!(slot_index(usize::MAX, base), Some(SLOT_COUNT - 1));
        assert_eq!(slot_index(0, base), None);
    }

    #[test]
    fn slot_bounds_tile_the_region() {
        let mut expect_start = 0;
        for i in 0..SLOT_COUNT {
            let (s, e) = slot_bounds(i);
            assert_eq!(s, expect_start);
            assert_eq!(e - s, SLOT_SIZE);
            expect_start = e;
        }
        assert_eq!(expect_start, REGION_SIZE);
    }

    /// Replays owner and remote events on a plain word and checks the count the owner computes.
    #[test]
    fn word_arithmetic_tracks_live_blocks() {
        // (owner allocs, owner frees, remote frees) sequences, including remote frees that
        // outnumber the owner's unpublished count for a while (the word wraps).
        for &(allocs, own_frees, remote) in
            &[(0, 0, 0), (5, 2, 3), (10, 0, 10), (3, 3, 0), (1000, 1, 998)]
        {
            let mut word = OWNED;
            let mut local = 0usize;
            for _ in 0..allocs {
                local = local.wrapping_add(1);
            }
            for _ in 0..remote {
                word = word.wrapping_sub(ONE_BLOCK);
                assert_ne!(word, 0, "an owned slot never reads as free");
            }
            for _ in 0..own_frees {
                local = local.wrapping_sub(1);
            }
            let live = allocs - own_frees - remote;
            assert_eq!(live_blocks(word, local), live);
            let after = word.wrapping_add(hand_back_delta(local));
            assert_eq!(
                after,
                live * ONE_BLOCK,
                "hand-back publishes the exact count"
            );
            // remaining remote frees drive it to exactly zero, never below
            let mut w = after;
            for _ in 0..live {
                assert_ne!(w, 0);
                w = w.wrapping_sub(ONE_BLOCK);
            }
            assert_eq!(w, 0);
        }
    }

    #[test]
    fn owned_word_is_never_zero_even_after_wrapping() {
        let word = OWNED.wrapping_sub(ONE_BLOCK.wrapping_mul(usize::MAX / 4));
        assert_eq!(word & OWNED, OWNED);
    }
}
