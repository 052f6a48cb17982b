//! Chunks: the memory under every arena, and the process-wide pool that recycles them.
//!
//! A chunk is one allocation from [`System`] (never from the global allocator: this crate also
//! ships one, which must not recurse into itself). It starts with a [`Header`], one cache line,
//! followed by the usable bytes, which start [`CHUNK_ALIGN`]-aligned. An arena links its chunks
//! through their headers, newest first, so it needs no memory of its own to track them.
//!
//! The pool keeps chunks that arenas gave back (the spares a growable arena gives up to stay
//! within its limit; a scratch scope's extra chunks at its outermost exit; every chunk of an
//! arena that is dropped, a batch scope's and a thread arena's included) and hands an arena that
//! needs a chunk the smallest idle one that is large enough, on any thread. Chunks arrive as
//! their arena's `RawArena::leave` made them: scrubbed if that arena zeroes, never otherwise.
//! It is bounded by [`POOL_MAX_CHUNKS`] and by the configured retention
//! ([`crate::config::ArenaConfig::pool_retain`], read at every give-back): beyond either bound
//! the smallest idle chunks go back to the system, so the memory a process keeps idle is what
//! its user allows, whichever arena gave it up. [`trim_to`] shrinks it. The pool's lock is held
//! only to link or unlink a chunk.

use crate::sync::Mutex;
use core::ptr::NonNull;
use std::alloc::{GlobalAlloc, Layout, System};

/// Alignment of every chunk and of its first usable byte: a cache line, so that the first
/// blocks of a chunk never share a line with someone else's data. Larger alignments are served
/// by padding (bump alignment is absolute).
pub(crate) const CHUNK_ALIGN: usize = 64;
/// Bytes before the usable part of a chunk.
pub(crate) const HEADER: usize = CHUNK_ALIGN;
/// The pool keeps at most this many idle chunks (and at most the configured retention in
/// bytes): a best-fit search walks them under the lock.
pub(crate) const POOL_MAX_CHUNKS: usize = 32;

/// The start of every chunk.
#[repr(C, align(64))]
pub(crate) struct Header {
    /// The next older chunk of the owning arena, or the next idle chunk in the pool.
    pub(crate) next: Option<Chunk>,
    /// Usable bytes after the header.
    usable: usize,
    /// Bytes the owning arena had used in older chunks when this one became current; lets the
    /// arena report `used` without walking its chain.
    pub(crate) used_below: usize,
    /// Capacity the owning arena had in older chunks when this one became current.
    pub(crate) cap_below: usize,
    /// How many of the usable bytes the owning arena may hand out (a fixed arena's capacity may
    /// be less than a pooled chunk's size).
    pub(crate) visible: usize,
    /// Taken by growth, rather than as the arena's first chunk.
    pub(crate) growth: bool,
}

const _: () = assert!(size_of::<Header>() == HEADER && align_of::<Header>() == CHUNK_ALIGN);

/// A chunk: a pointer to its header. Plain data; who owns it is up to the arena or the pool.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Chunk(NonNull<Header>);

// SAFETY: a chunk is plain memory from `System`; it refers to no thread-local state. Ownership
// moves with the value (arena → pool → another arena), and only the owner touches the memory.
unsafe impl Send for Chunk {}

fn layout_for(usable: usize) -> Option<Layout> {
    let total = usable.checked_add(HEADER)?;
    Layout::from_size_align(total, CHUNK_ALIGN).ok()
}

impl Chunk {
    /// A fresh chunk with at least `usable` usable bytes from the system allocator, or `None` if
    /// the size is impossible or the system refuses.
    pub(crate) fn alloc(usable: usize) -> Option<Chunk> {
        let layout = layout_for(usable)?;
        // SAFETY: `layout` has a non-zero size (it includes the header).
        let base = NonNull::new(unsafe { System.alloc(layout) })?.cast::<Header>();
        // SAFETY: `base` is fresh, aligned for `Header` and large enough for it.
        unsafe {
            base.write(Header {
                next: None,
                usable,
                used_below: 0,
                cap_below: 0,
                visible: 0,
                growth: false,
            })
        };
        Some(Chunk(base))
    }

    /// Returns the chunk to the system allocator.
    ///
    /// # Safety
    /// The chunk must come from [`Chunk::alloc`], and nothing may use it or any block in it
    /// afterwards.
    pub(crate) unsafe fn free(self) {
        let layout = layout_for(self.usable()).expect("the layout was valid at allocation");
        // SAFETY: the caller's contract; `layout` is the one it was allocated with.
        unsafe { System.dealloc(self.0.as_ptr().cast(), layout) }
    }

    #[inline(always)]
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: a `Chunk` always points at a live, initialised header; the owner is the only
        // one touching it, and mutation goes through `header_mut` on the owner's side.
        unsafe { self.0.as_ref() }
    }

    /// # Safety
    /// The caller must own the chunk, and no other reference to its header may be live.
    #[inline(always)]
    pub(crate) unsafe fn header_mut(&mut self) -> &mut Header {
        // SAFETY: the caller's contract.
        unsafe { self.0.as_mut() }
    }

    /// Usable bytes after the header.
    #[inline(always)]
    pub(crate) fn usable(&self) -> usize {
        self.header().usable
    }

    /// The first usable byte, carrying the whole allocation's provenance.
    #[inline(always)]
    pub(crate) fn start(&self) -> NonNull<u8> {
        // SAFETY: the usable bytes begin right after the header, inside the same allocation.
        unsafe { self.0.cast::<u8>().add(HEADER) }
    }

    /// Address of the first usable byte.
    #[inline(always)]
    pub(crate) fn start_addr(&self) -> usize {
        self.0.as_ptr().addr() + HEADER
    }

    /// Whether `addr` lies in the usable bytes of this chunk.
    #[inline(always)]
    pub(crate) fn contains(&self, addr: usize) -> bool {
        addr.wrapping_sub(self.start_addr()) < self.usable()
    }
}

/// The chunks of a list linked through their headers' `next`, from `head`: an arena's chain or
/// spares, or the pool's idle list.
///
/// Each chunk's `next` is read before the chunk is yielded, so the caller may relink it, give it
/// back or free it, and the walk goes on along the old links.
pub(crate) fn chain(head: Option<Chunk>) -> Chain {
    Chain(head)
}

/// The iterator of [`chain`].
pub(crate) struct Chain(Option<Chunk>);

impl Iterator for Chain {
    type Item = Chunk;

    #[inline]
    fn next(&mut self) -> Option<Chunk> {
        let c = self.0?;
        self.0 = c.header().next;
        Some(c)
    }
}

/// Unlinks `target` from the list that starts at `*head`; nothing happens if it is not there.
///
/// # Safety
/// The caller must own every chunk of the list (no one else may be reading or relinking it).
pub(crate) unsafe fn unlink(head: &mut Option<Chunk>, mut target: Chunk) {
    let next = target.header().next;
    if *head == Some(target) {
        *head = next;
    } else if let Some(mut prev) = chain(*head).find(|c| c.header().next == Some(target)) {
        // SAFETY: the caller owns the list.
        unsafe { prev.header_mut() }.next = next;
    } else {
        return;
    }
    // SAFETY: as above; `target` is now off the list.
    unsafe { target.header_mut() }.next = None;
}

/// The pool's idle chunks, linked through their headers.
struct Idle {
    head: Option<Chunk>,
    count: usize,
    bytes: usize,
}

static POOL: Mutex<Idle> = Mutex::new(Idle {
    head: None,
    count: 0,
    bytes: 0,
});

/// A chunk with at least `usable` usable bytes: the smallest idle one that fits, else a fresh
/// one from the system. `None` if the system refuses.
pub(crate) fn take(usable: usize) -> Option<Chunk> {
    let reused = unlink_smallest(&mut POOL.lock(), usable);
    reused.or_else(|| Chunk::alloc(usable))
}

/// Hands a chunk back to the pool; beyond the pool's bounds, the smallest idle chunks go back
/// to the system (this one too, if it alone is larger than the retention).
///
/// # Safety
/// The caller must own `chunk`, and no block in it may be used afterwards.
pub(crate) unsafe fn give_back(mut chunk: Chunk) {
    // Read before the lock: the first read of the configuration may read the environment.
    let retain = crate::config::pool_retain();
    if chunk.usable() > retain {
        // SAFETY: the caller hands ownership over and uses no block in it again.
        unsafe { chunk.free() };
        return;
    }
    let evicted = {
        let mut idle = POOL.lock();
        // SAFETY: the caller hands ownership over.
        let h = unsafe { chunk.header_mut() };
        h.next = idle.head;
        h.used_below = 0;
        idle.head = Some(chunk);
        idle.count += 1;
        idle.bytes += chunk.usable();
        evict(&mut idle, POOL_MAX_CHUNKS, retain)
    };
    free_list(evicted);
}

/// Unlinks the smallest idle chunks until the pool holds at most `chunks` chunks and `bytes`
/// bytes, and returns them as a list for the caller to free outside the lock.
fn evict(idle: &mut Idle, chunks: usize, bytes: usize) -> Option<Chunk> {
    let mut evicted = None::<Chunk>;
    while idle.count > chunks || idle.bytes > bytes {
        let Some(mut small) = unlink_smallest(idle, 0) else {
            break;
        };
        // SAFETY: `small` is now ours; chain it on the list to free outside the lock.
        unsafe { small.header_mut() }.next = evicted;
        evicted = Some(small);
    }
    evicted
}

/// Unlinks the smallest idle chunk with at least `usable` bytes (best fit; the list is short,
/// at most `POOL_MAX_CHUNKS`). The caller holds the pool's lock.
fn unlink_smallest(idle: &mut Idle, usable: usize) -> Option<Chunk> {
    let c = chain(idle.head)
        .filter(|c| c.usable() >= usable)
        .min_by_key(Chunk::usable)?;
    // SAFETY: idle chunks belong to the pool, whose lock the caller holds.
    unsafe { unlink(&mut idle.head, c) };
    idle.count -= 1;
    idle.bytes -= c.usable();
    Some(c)
}

/// Frees a list of chunks linked through `next`, which the caller owns.
fn free_list(list: Option<Chunk>) {
    for c in chain(list) {
        // SAFETY: the caller owns every chunk on the list and uses none of them again; the walk
        // read `next` before handing `c` over.
        unsafe { c.free() };
    }
}

/// Bytes held idle by the pool.
pub(crate) fn idle_bytes() -> usize {
    POOL.lock().bytes
}

/// Frees idle chunks, the smallest first, until at most `bytes` idle bytes remain (0 empties
/// the pool). Chunks in use stay with their arenas.
pub(crate) fn trim_to(bytes: usize) {
    let evicted = evict(&mut POOL.lock(), POOL_MAX_CHUNKS, bytes);
    free_list(evicted);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_aligned_and_sized() {
        for usable in [0usize, 1, 64, 4096, 100_000] {
            let c = Chunk::alloc(usable).unwrap();
            assert_eq!(c.start_addr() % CHUNK_ALIGN, 0);
            assert_eq!(c.usable(), usable);
            assert!(c.contains(c.start_addr()) == (usable > 0));
            assert!(!c.contains(c.start_addr() + usable));
            assert!(!c.contains(c.start_addr() - 1));
            // SAFETY: fresh chunk, not used again.
            unsafe { c.free() };
        }
        assert!(Chunk::alloc(usize::MAX).is_none());
        assert!(Chunk::alloc(isize::MAX as usize).is_none());
    }

    /// Eviction brings a list within both bounds, the smallest chunks first. (On a local list:
    /// the shared pool is process-wide state that other unit tests use.)
    #[test]
    fn eviction_keeps_the_largest_chunks_within_the_bounds() {
        let mut idle = Idle {
            head: None,
            count: 0,
            bytes: 0,
        };
        for usable in [4096usize, 65536, 1 << 20, 8192] {
            let mut c = Chunk::alloc(usable).unwrap();
            // SAFETY: fresh chunk, owned by this test.
            unsafe { c.header_mut() }.next = idle.head;
            idle.head = Some(c);
            idle.count += 1;
            idle.bytes += usable;
        }
        let evicted = evict(&mut idle, POOL_MAX_CHUNKS, (1 << 20) + 65536);
        let gone: Vec<usize> = chain(evicted).map(|c| c.usable()).collect();
        assert_eq!(gone, [8192, 4096], "the smallest go first");
        assert_eq!((idle.count, idle.bytes), (2, (1 << 20) + 65536));
        let evicted_all = evict(&mut idle, 1, 0);
        assert_eq!((idle.count, idle.bytes, idle.head), (0, 0, None));
        free_list(evicted);
        free_list(evicted_all);
    }

    #[test]
    fn chain_walks_links_read_before_each_chunk_is_handed_out() {
        let cs: Vec<Chunk> = (0..4)
            .map(|i| Chunk::alloc(64 * (i + 1)).unwrap())
            .collect();
        let mut head = None;
        for &c in cs.iter().rev() {
            let mut c = c;
            // SAFETY: fresh chunks, owned by this test.
            unsafe { c.header_mut() }.next = head;
            head = Some(c);
        }
        assert_eq!(chain(head).collect::<Vec<_>>(), cs);
        // SAFETY: the test owns the list.
        unsafe { unlink(&mut head, cs[0]) };
        // SAFETY: as above.
        unsafe { unlink(&mut head, cs[2]) };
        // SAFETY: as above; `cs[2]` is no longer on it, so nothing happens.
        unsafe { unlink(&mut head, cs[2]) };
        assert_eq!(chain(head).collect::<Vec<_>>(), [cs[1], cs[3]]);
        assert_eq!(cs[0].header().next, None);
        // Relinking each chunk as it is handed out does not derail the walk.
        let mut reversed = None;
        for mut c in chain(head) {
            // SAFETY: as above.
            unsafe { c.header_mut() }.next = reversed;
            reversed = Some(c);
        }
        assert_eq!(chain(reversed).collect::<Vec<_>>(), [cs[3], cs[1]]);
        free_list(reversed);
        for c in [cs[0], cs[2]] {
            // SAFETY: unlinked, not used again.
            unsafe { c.free() };
        }
    }
}
