//! The one reserved address range that every global-arena chunk is carved from.
//!
//! The range is [`CHUNK_COUNT`] chunks of [`CHUNK_SIZE`] bytes, reserved once (lazily, at the
//! first chunk a thread needs) and never returned. Chunks are 2 MiB, the x86-64 and aarch64
//! huge-page size, and aligned to it, so that one chunk can be one huge page.
//!
//! Natively the range is **one** anonymous read-write `MAP_NORESERVE` mapping: address space
//! only, nothing charged until touched, and a single VMA that the kernel may back with
//! transparent huge pages (it is advised `MADV_HUGEPAGE`). Splitting it (per-chunk `mprotect`)
//! would keep huge pages out, which costs a page fault per 4 KiB instead of per 2 MiB. Where the
//! OS refuses a writable reservation that large (strict overcommit accounting,
//! `vm.overcommit_memory = 2`), the range falls back to a `PROT_NONE` reservation whose chunks
//! are made writable one by one when first handed out ([`commit`]); everything else is the same.
//! A free chunk's pages go back to the OS with `madvise(MADV_DONTNEED)` ([`decommit`]), always a
//! whole chunk (a whole huge page); the mapping itself stays. Under Miri (no `mmap`) the range
//! is a smaller [`System`] allocation and both calls do nothing.
//!
//! The range is aligned to its own size, so whether a pointer belongs to an arena is one shift
//! and one compare of its high bits against the published [`tag`] (the pointer itself stays
//! intact for the free that follows); its chunk is the next [`CHUNK_COUNT`] bits below.
//!
//! This module and [`super::chunk`] hold all the unsafe code of the global allocator's memory
//! management; the arithmetic is in safe `const fn`s tested below.

use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicUsize, Ordering};

/// log2 of the chunk size.
#[cfg(not(miri))]
pub const CHUNK_SHIFT: u32 = 21;
/// Chunks in the reserved range (16 GiB of address space).
#[cfg(not(miri))]
pub const CHUNK_COUNT: usize = 8 << 10;
// Miri backs every allocation with real, initialisation-tracked memory: keep the range small.
#[cfg(miri)]
pub const CHUNK_SHIFT: u32 = 16;
#[cfg(miri)]
pub const CHUNK_COUNT: usize = 64;

/// Bytes per chunk; chunks are aligned to their size.
pub const CHUNK_SIZE: usize = 1 << CHUNK_SHIFT;
/// Bytes in the whole reserved range.
pub const REGION_SIZE: usize = CHUNK_COUNT * CHUNK_SIZE;
/// log2 of [`REGION_SIZE`]: the range is aligned to its size, so an address's bits above this
/// say whether it lies in the range.
pub const REGION_SHIFT: u32 = REGION_SIZE.trailing_zeros();
const _: () = assert!(
    CHUNK_COUNT.is_power_of_two(),
    "the range is aligned to its size"
);

/// The process's one reservation.
static RANGE: Reservation = Reservation::new();

/// The shared state of a reservation: one static instance ([`RANGE`]); the tests build their own
/// to replay the race for the first reservation.
struct Reservation {
    /// Base of the reserved range, or null before the first reservation (or after a refusal).
    base: AtomicPtr<u8>,
    /// `base`'s bits above [`REGION_SHIFT`] for the ownership test, or [`NO_RANGE`] while there
    /// is no range.
    tag: AtomicUsize,
    /// Not tried, reserved, or refused by the OS.
    state: AtomicU8,
    /// Whether the range is one writable mapping (`true`) or a `PROT_NONE` reservation whose
    /// chunks [`commit`] makes writable one by one (the strict-overcommit fallback). Only the
    /// thread whose mapping becomes the range stores it, so a reader sees that thread's value or
    /// the initial `false` (which costs a redundant `mprotect`, never a fault).
    writable: AtomicBool,
}

/// The tag while no range is reserved: `addr >> REGION_SHIFT` has its top bits clear, so it is
/// never `usize::MAX`, and no address is owned. With it the ownership test needs no "is there a
/// range" branch.
pub const NO_RANGE: usize = usize::MAX;

const UNTRIED: u8 = 0;
const RESERVED: u8 = 1;
const REFUSED: u8 = 2;

impl Reservation {
    const fn new() -> Reservation {
        Reservation {
            base: AtomicPtr::new(null_mut()),
            tag: AtomicUsize::new(NO_RANGE),
            state: AtomicU8::new(UNTRIED),
            writable: AtomicBool::new(false),
        }
    }

    /// The range base pointer, reserving the range with `map` on first use (`unmap` gives back
    /// a mapping that lost the race); `None` if the OS refused it.
    ///
    /// Whoever returns a base has published its tag first, so [`owner_of`] recognises every
    /// block carved from it: the thread that installs the base stores the tag just after, and a
    /// thread that finds the base installed (or loses the race) stores the same tag itself
    /// rather than trust that the installer has got that far.
    fn reserve(
        &self,
        map: impl FnOnce() -> Option<(*mut u8, bool)>,
        unmap: impl FnOnce(*mut u8),
    ) -> Option<*mut u8> {
        let current = self.base.load(Ordering::Acquire);
        if !current.is_null() {
            self.publish(current);
            return Some(current);
        }
        if self.state.load(Ordering::Relaxed) == REFUSED {
            return None;
        }
        let Some((fresh, writable)) = map() else {
            self.state.store(REFUSED, Ordering::Relaxed);
            return None;
        };
        match self
            .base
            .compare_exchange(null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {
                self.writable.store(writable, Ordering::Relaxed);
                self.publish(fresh);
                Some(fresh)
            }
            Err(winner) => {
                unmap(fresh);
                self.publish(winner);
                Some(winner)
            }
        }
    }

    /// Stores `base`'s tag (every caller passes the one installed base, so every store writes
    /// the same value) and marks the range reserved.
    fn publish(&self, base: *mut u8) {
        if self.tag.load(Ordering::Relaxed) == NO_RANGE {
            self.tag.store(tag_of(base.addr()), Ordering::Release);
            self.state.store(RESERVED, Ordering::Relaxed);
        }
    }
}

/// The ownership tag of a range starting at `base` (aligned to [`REGION_SIZE`]).
#[inline(always)]
pub const fn tag_of(base: usize) -> usize {
    base >> REGION_SHIFT
}

/// Chunk index of address `addr` when the range's tag is `tag` ([`NO_RANGE`] when there is
/// none), or `None` when `addr` lies outside the range. Never wraps or panics.
#[inline(always)]
pub const fn chunk_index(addr: usize, tag: usize) -> Option<usize> {
    if addr >> REGION_SHIFT == tag {
        Some((addr >> CHUNK_SHIFT) & (CHUNK_COUNT - 1))
    } else {
        None
    }
}

/// Offset of chunk `index` from the range base.
#[inline(always)]
pub const fn chunk_offset(index: usize) -> usize {
    index << CHUNK_SHIFT
}

/// The range's tag if it is reserved, else `NO_RANGE`; a plain load, for the deallocation path.
#[inline(always)]
pub fn tag() -> usize {
    RANGE.tag.load(Ordering::Relaxed)
}

/// Chunk index owning `ptr`, or `None` if `ptr` did not come from an arena.
///
/// A `Relaxed` load suffices: a thread holding an arena pointer obtained it through some
/// synchronisation with the allocating thread, which had published the tag (or seen it) before
/// it carved the block ([`reserve`]).
#[inline(always)]
pub fn owner_of(ptr: *mut u8) -> Option<usize> {
    chunk_index(ptr.addr(), tag())
}

/// Whether the reservation was tried and refused (scopes then pass through).
pub fn refused() -> bool {
    RANGE.state.load(Ordering::Relaxed) == REFUSED
}

/// Whether the range is reserved.
pub fn reserved() -> bool {
    RANGE.state.load(Ordering::Relaxed) == RESERVED
}

/// The range base pointer, reserving the range on first use; `None` if the OS refused it.
/// Never calls the global allocator.
pub fn reserve() -> Option<*mut u8> {
    RANGE.reserve(map_range, unmap_range)
}

/// Maps `REGION_SIZE` bytes aligned to `REGION_SIZE`: one writable `MAP_NORESERVE` mapping
/// advised for huge pages, or, where the OS refuses that, a `PROT_NONE` one (see the module docs).
/// Aligning takes twice the range in address space for a moment; the slack is unmapped at once.
/// Returns the base and whether the mapping is writable.
#[cfg(all(unix, not(miri)))]
fn map_range() -> Option<(*mut u8, bool)> {
    let (base, writable) = match map_aligned(REGION_SIZE, REGION_SIZE, true) {
        Some(base) => (base, true),
        None => (map_aligned(REGION_SIZE, REGION_SIZE, false)?, false),
    };
    // Advice only: where THP is off (or the kernel predates it) the range simply uses 4 KiB
    // pages. In the `PROT_NONE` fallback the advice is kept per chunk as it is made writable.
    advise_huge_pages(base, REGION_SIZE);
    Some((base, writable))
}

/// Maps `len` bytes of anonymous memory aligned to `align` (a power of two): read-write if
/// `writable`, else `PROT_NONE`. `MAP_NORESERVE`: address space, not commit charge.
#[cfg(all(unix, not(miri)))]
pub(super) fn map_aligned(len: usize, align: usize, writable: bool) -> Option<*mut u8> {
    let padded = len.checked_add(align)?; // slack to align the start
    let prot = if writable {
        libc::PROT_READ | libc::PROT_WRITE
    } else {
        libc::PROT_NONE
    };
    // SAFETY: an anonymous private mapping at an address of the kernel's choosing; it touches
    // no existing memory.
    let raw = unsafe {
        libc::mmap(
            null_mut(),
            padded,
            prot,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if raw == libc::MAP_FAILED {
        return None;
    }
    let raw = raw.cast::<u8>();
    let lead = raw.addr().next_multiple_of(align) - raw.addr();
    let tail = align - lead;
    // SAFETY: both pieces lie inside the mapping just made, which nothing else knows about.
    unsafe {
        if lead > 0 {
            libc::munmap(raw.cast(), lead);
        }
        if tail > 0 {
            libc::munmap(raw.add(lead + len).cast(), tail);
        }
    }
    // `lead < align <= padded`: within the mapping.
    Some(raw.wrapping_add(lead))
}

#[cfg(all(unix, not(miri)))]
fn unmap_range(base: *mut u8) {
    // SAFETY: `base` is a range this module mapped and never published; no pointer into it exists.
    unsafe { libc::munmap(base.cast(), REGION_SIZE) };
}

#[cfg(miri)]
fn map_range() -> Option<(*mut u8, bool)> {
    use std::alloc::{GlobalAlloc, Layout, System};
    let layout = Layout::from_size_align(REGION_SIZE, REGION_SIZE).ok()?;
    // SAFETY: non-zero size. `System` directly: never the global allocator.
    let p = unsafe { System.alloc(layout) };
    // Not a writable mapping in the sense of `writable()`: `commit` does nothing under Miri.
    (!p.is_null()).then_some((p, false))
}

#[cfg(miri)]
fn unmap_range(base: *mut u8) {
    use std::alloc::{GlobalAlloc, Layout, System};
    // SAFETY: allocated by `map_range` with this layout and never published.
    unsafe {
        System.dealloc(
            base,
            Layout::from_size_align_unchecked(REGION_SIZE, REGION_SIZE),
        )
    };
}

/// Start of chunk `index` (requires a reserved range), with the range's provenance.
#[inline(always)]
pub fn chunk_start(index: usize) -> *mut u8 {
    // `index < CHUNK_COUNT`: within the reservation the base points to.
    RANGE
        .base
        .load(Ordering::Relaxed)
        .wrapping_add(chunk_offset(index))
}

/// Makes a never-used chunk readable and writable: nothing to do when the range is one writable
/// mapping; in the `PROT_NONE` fallback an `mprotect`. `false` if the OS refuses (strict
/// overcommit accounting when memory is short).
#[cfg(all(unix, not(miri)))]
pub fn commit(index: usize) -> bool {
    if RANGE.writable.load(Ordering::Relaxed) {
        return true;
    }
    commit_range(chunk_start(index), CHUNK_SIZE)
}

/// Makes `[start, start + len)` of a `PROT_NONE` reservation readable and writable and advises
/// huge pages for it.
#[cfg(all(unix, not(miri)))]
pub(super) fn commit_range(start: *mut u8, len: usize) -> bool {
    // SAFETY: the caller passes a piece of one of our mappings that no pointer handed out points
    // into yet (a chunk claimed fresh), so changing its protection affects nobody.
    unsafe {
        let ok = libc::mprotect(start.cast(), len, libc::PROT_READ | libc::PROT_WRITE) == 0;
        if ok {
            advise_huge_pages(start, len);
        }
        ok
    }
}

/// Advises transparent huge pages for `[start, start + len)` of one of our mappings (Linux;
/// elsewhere nothing).
#[cfg(all(unix, not(miri)))]
fn advise_huge_pages(start: *mut u8, len: usize) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: advice on a range of our own mapping; it changes no contents.
    unsafe {
        libc::madvise(start.cast(), len, libc::MADV_HUGEPAGE);
    }
    let _ = (start, len);
}

// Without `mmap` (Windows and other non-Unix targets) the range is never reserved: `reserve`
// reports a refusal once, and every scope passes through to the inner allocator, counted as
// `no_chunk_spills`. Everything above the range (routing, statistics) is the same.
#[cfg(not(any(unix, miri)))]
fn map_range() -> Option<(*mut u8, bool)> {
    None
}

#[cfg(not(any(unix, miri)))]
fn unmap_range(_base: *mut u8) {}

#[cfg(not(any(unix, miri)))]
pub fn commit(_index: usize) -> bool {
    false
}

#[cfg(not(any(unix, miri)))]
pub fn decommit(_index: usize) {}

/// Gives a free chunk's pages back to the OS; they read as zero when next touched. A chunk is
/// 2 MiB and 2 MiB-aligned, so this drops whole huge pages and never splits one.
#[cfg(all(unix, not(miri)))]
pub fn decommit(index: usize) {
    // SAFETY: the caller owns the chunk and no block in it is alive, so no one reads or writes
    // it; MADV_DONTNEED on a private anonymous mapping only drops its pages.
    unsafe { libc::madvise(chunk_start(index).cast(), CHUNK_SIZE, libc::MADV_DONTNEED) };
}

#[cfg(miri)]
pub fn commit(_index: usize) -> bool {
    true
}

#[cfg(miri)]
pub fn decommit(_index: usize) {}

/// Whether the range is one writable mapping (not the per-chunk `PROT_NONE` fallback).
pub fn writable() -> bool {
    RANGE.writable.load(Ordering::Relaxed)
}

/// Start and length of the reserved range, or `None` before it is reserved.
pub fn range() -> Option<(usize, usize)> {
    let tag = tag();
    (tag != NO_RANGE).then_some((tag << REGION_SHIFT, REGION_SIZE))
}

/// Debug builds: says once on stderr that scopes found no chunk. Written with one `write(2)`, so
/// it never allocates (it runs on the allocation path).
pub fn warn_no_chunk_once() {
    static WARNED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
    if !cfg!(debug_assertions) || WARNED.swap(true, Ordering::Relaxed) {
        return;
    }
    crate::diag::report_str(if refused() {
        "the global arena's address range was refused (ulimit -v?): scopes pass through; see \
         GlobalArena::region() (shown once)"
    } else {
        "no global-arena chunk to be had (range exhausted or commit refused): scopes pass \
         through; see GlobalArena::region() (shown once)"
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::Cell;
    use core::ptr::without_provenance_mut;

    fn fake_base(k: usize) -> *mut u8 {
        without_provenance_mut(k * REGION_SIZE)
    }

    #[test]
    fn a_thread_that_finds_the_base_installed_publishes_its_tag() {
        // Another thread's CAS installed the base and it was preempted before storing the tag.
        // Blocks carved now must already be recognised by the free path.
        let r = Reservation::new();
        let base = fake_base(7);
        r.base.store(base, Ordering::Release);
        let got = r.reserve(
            || panic!("the range is reserved"),
            |_| panic!("nothing to unmap"),
        );
        assert_eq!(got, Some(base));
        let tag = r.tag.load(Ordering::Relaxed);
        assert_eq!(tag, tag_of(base.addr()));
        assert_eq!(chunk_index(base.addr() + 3 * CHUNK_SIZE + 5, tag), Some(3));
        assert_eq!(r.state.load(Ordering::Relaxed), RESERVED);
    }

    #[test]
    fn the_loser_of_the_first_reservation_unmaps_its_range_and_publishes_the_winners() {
        let r = Reservation::new();
        let (winner, ours) = (fake_base(3), fake_base(5));
        let unmapped = Cell::new(None);
        let got = r.reserve(
            || {
                // The winner installs its base while we map ours (its tag not stored yet).
                r.base.store(winner, Ordering::Release);
                Some((ours, true))
            },
            |p| unmapped.set(Some(p)),
        );
        assert_eq!(got, Some(winner));
        assert_eq!(unmapped.get(), Some(ours));
        assert_eq!(r.tag.load(Ordering::Relaxed), tag_of(winner.addr()));
        assert!(
            !r.writable.load(Ordering::Relaxed),
            "the loser's kind of mapping is not the range's"
        );
    }

    #[test]
    fn the_first_reservation_publishes_base_tag_and_kind_and_a_refusal_sticks() {
        let r = Reservation::new();
        let base = fake_base(2);
        assert_eq!(
            r.reserve(|| Some((base, false)), |_| unreachable!()),
            Some(base)
        );
        assert_eq!(r.tag.load(Ordering::Relaxed), tag_of(base.addr()));
        assert!(!r.writable.load(Ordering::Relaxed));
        assert_eq!(r.reserve(|| unreachable!(), |_| unreachable!()), Some(base));

        let refused = Reservation::new();
        assert_eq!(refused.reserve(|| None, |_| unreachable!()), None);
        assert_eq!(refused.state.load(Ordering::Relaxed), REFUSED);
        assert_eq!(refused.reserve(|| unreachable!(), |_| unreachable!()), None);
        assert_eq!(refused.tag.load(Ordering::Relaxed), NO_RANGE);
    }

    #[test]
    fn chunk_index_is_a_range_check_and_a_shift() {
        let base = 3 * REGION_SIZE;
        let tag = tag_of(base);
        assert_eq!(chunk_index(base, tag), Some(0));
        assert_eq!(chunk_index(base + CHUNK_SIZE - 1, tag), Some(0));
        assert_eq!(chunk_index(base + CHUNK_SIZE, tag), Some(1));
        assert_eq!(
            chunk_index(base + REGION_SIZE - 1, tag),
            Some(CHUNK_COUNT - 1)
        );
        assert_eq!(chunk_index(base + REGION_SIZE, tag), None);
        assert_eq!(chunk_index(base - 1, tag), None);
        assert_eq!(chunk_index(0, tag), None);
        assert_eq!(chunk_index(usize::MAX, tag), None);
    }

    #[test]
    fn the_tag_identifies_exactly_the_aligned_range() {
        let base = 5 * REGION_SIZE;
        let tag = tag_of(base);
        for probe in [0, 1, REGION_SIZE / 2, REGION_SIZE - 1] {
            assert!(chunk_index(base + probe, tag).is_some());
            assert_eq!(chunk_index(base - 1 - probe, tag), None);
            assert_eq!(chunk_index(base + REGION_SIZE + probe, tag), None);
        }
    }

    #[test]
    fn no_range_owns_no_user_space_address() {
        for addr in [
            0,
            1,
            8,
            4096,
            REGION_SIZE - 1,
            REGION_SIZE,
            1 << 47,
            (1 << 56) - 1,
        ] {
            assert_eq!(chunk_index(addr, NO_RANGE), None);
        }
        assert_eq!(chunk_index(usize::MAX, NO_RANGE), None);
        assert_eq!(tag(), NO_RANGE, "no range in this unit-test process yet");
    }

    #[test]
    fn range_at_the_top_of_the_address_space_does_not_wrap() {
        let base = usize::MAX - REGION_SIZE + 1;
        assert_eq!(base % REGION_SIZE, 0);
        assert_eq!(chunk_index(usize::MAX, tag_of(base)), Some(CHUNK_COUNT - 1));
        assert_eq!(chunk_index(0, tag_of(base)), None);
    }

    /// Both ways of reserving a range, on a small one of our own: aligned, and writable either
    /// at once or after `commit_range` (the strict-overcommit fallback).
    #[cfg(all(unix, not(miri)))]
    #[test]
    fn both_reservations_are_aligned_and_writable_once_committed() {
        let len = 4 * CHUNK_SIZE;
        for writable in [true, false] {
            let base = map_aligned(len, CHUNK_SIZE, writable).expect("a small reservation");
            assert_eq!(base.addr() % CHUNK_SIZE, 0);
            let second = base.wrapping_add(CHUNK_SIZE);
            if !writable {
                assert!(commit_range(second, CHUNK_SIZE));
            }
            // SAFETY: the second chunk of our own reservation, writable now.
            unsafe {
                second.write_bytes(0xAB, CHUNK_SIZE);
                assert_eq!(*second.add(CHUNK_SIZE - 1), 0xAB);
                libc::madvise(second.cast(), CHUNK_SIZE, libc::MADV_DONTNEED);
                assert_eq!(*second, 0, "decommitted pages read as zero");
                libc::munmap(base.cast(), len);
            }
        }
    }

    #[test]
    fn chunks_tile_the_range() {
        for i in [0, 1, CHUNK_COUNT / 2, CHUNK_COUNT - 1] {
            assert_eq!(chunk_offset(i), i * CHUNK_SIZE);
            let base = 7 * REGION_SIZE;
            assert_eq!(chunk_index(base + chunk_offset(i), tag_of(base)), Some(i));
        }
        assert_eq!(chunk_offset(CHUNK_COUNT), REGION_SIZE);
    }
}
