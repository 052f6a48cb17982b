//! Reuse inside a chunk: dead blocks of the thread's current chunk, kept in size-class bins so
//! that the buffers left behind by growth (a `Vec` or `String` that moved when it outgrew its
//! block) serve later requests instead of fresh bump space. That keeps a scope's footprint, and
//! so its cache and TLB misses, closer to what is alive.
//!
//! A bin is an intrusive singly linked list: the first bytes of each dead block hold the next
//! block's address. Bin `c` holds blocks of at least `2^c` bytes, so a request of `size` bytes
//! is served from the first non-empty bin at or above `ceil(log2(size))`, with one bit-mask
//! test. Only blocks of at least [`MIN_BLOCK`] bytes are kept: smaller ones are too cheap to bump
//! to be worth the bookkeeping, and the request-side test (`size >= MIN_BLOCK`, then a mask
//! test) keeps the common small allocation at two extra instructions. A request that a bin can
//! serve takes the allocator's slow path, so that the fast path stays a leaf function.
//!
//! Soundness rests on one rule, kept by the thread's view (`thread.rs`): the bins hold only dead
//! blocks of the *current* chunk, and they are emptied whenever the current chunk changes or is
//! rewound. A block in a bin is counted dead in the chunk's live count; taking it out counts it
//! live again. The size-class arithmetic is in safe `const fn`s tested below.

use core::cell::Cell;
use core::ptr::null_mut;

/// Smallest block kept for reuse (a power of two).
pub const MIN_BLOCK: usize = 256;
const MIN_CLASS: u32 = MIN_BLOCK.trailing_zeros();
/// Size classes `MIN_CLASS..=MAX_CLASS`; blocks above `2^MAX_CLASS` share the last bin.
const CLASSES: usize = 16;
const MAX_CLASS: u32 = MIN_CLASS + CLASSES as u32 - 1;

/// The bin a dead block of `size >= MIN_BLOCK` bytes goes to: `floor(log2(size))`, clamped.
#[inline(always)]
pub const fn keep_class(size: usize) -> usize {
    let c = usize::BITS - 1 - size.leading_zeros();
    let c = if c > MAX_CLASS { MAX_CLASS } else { c };
    (c - MIN_CLASS) as usize
}

/// The lowest bin whose every block fits a request of `size` bytes: `ceil(log2(size))`, or
/// `None` when no bin can hold a block that large.
#[inline(always)]
pub const fn serve_class(size: usize) -> Option<usize> {
    if size <= MIN_BLOCK {
        return Some(0);
    }
    let c = usize::BITS - (size - 1).leading_zeros();
    if c > MAX_CLASS {
        None
    } else {
        Some((c - MIN_CLASS) as usize)
    }
}

/// Whether a freed block is worth keeping.
#[inline(always)]
pub const fn worth_keeping(size: usize) -> bool {
    size >= MIN_BLOCK
}

/// Whether a request should look in the bins: large enough, and a bin that could serve it is
/// non-empty. Two instructions for the common small request.
#[inline(always)]
pub fn worth_a_look(size: usize, bins: &Bins) -> bool {
    size >= MIN_BLOCK
        && match serve_class(size) {
            Some(c) => bins.mask.get() >> c != 0,
            None => false,
        }
}

/// The bins of one thread: list heads and a mask of the non-empty ones.
pub struct Bins {
    heads: [Cell<*mut u8>; CLASSES],
    mask: Cell<u32>,
}

impl Bins {
    pub const fn new() -> Self {
        Bins {
            heads: [const { Cell::new(null_mut()) }; CLASSES],
            mask: Cell::new(0),
        }
    }

    /// Forgets every kept block (their memory is reclaimed with the chunk).
    #[inline(always)]
    pub fn clear(&self) {
        if self.mask.get() != 0 {
            self.mask.set(0);
            for h in &self.heads {
                h.set(null_mut());
            }
        }
    }

    /// Keeps the dead block at `block` of `size >= MIN_BLOCK` bytes.
    ///
    /// # Safety
    ///
    /// `block` is valid for writes of `size` bytes, nothing else uses it until it is popped or
    /// the bins are cleared, and it lies in the chunk the bins currently serve.
    #[inline(always)]
    pub unsafe fn push(&self, block: *mut u8, size: usize) {
        debug_assert!(worth_keeping(size));
        let c = keep_class(size);
        // SAFETY: `size >= MIN_BLOCK >= 8` writable bytes at `block` (our caller); unaligned,
        // since the block may have been aligned to less than a pointer.
        unsafe { block.cast::<*mut u8>().write_unaligned(self.heads[c].get()) };
        self.heads[c].set(block);
        self.mask.set(self.mask.get() | 1 << c);
    }

    /// Takes a kept block of at least `size` bytes aligned to `align`, or null. Only the head of
    /// the first suitable bin is looked at: a misaligned head means a miss, not a search.
    ///
    /// # Safety
    ///
    /// The bins hold only blocks pushed under [`push`](Self::push)'s contract that are still
    /// unused, all inside the chunk that starts at `chunk` (whose provenance the result takes).
    #[inline(always)]
    pub unsafe fn pop(&self, size: usize, align: usize, chunk: *mut u8) -> *mut u8 {
        let Some(c) = serve_class(size) else {
            return null_mut();
        };
        let candidates = self.mask.get() >> c << c;
        if candidates == 0 {
            return null_mut();
        }
        let b = candidates.trailing_zeros() as usize;
        let block = self.heads[b].get();
        if block.addr() & (align - 1) != 0 {
            return null_mut();
        }
        // SAFETY: `block` was pushed with at least `MIN_BLOCK` bytes and is unused; its first
        // bytes hold the next block's address.
        let next = unsafe { block.cast::<*mut u8>().read_unaligned() };
        self.heads[b].set(next);
        if next.is_null() {
            self.mask.set(self.mask.get() & !(1 << b));
        }
        chunk.with_addr(block.addr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_served_class_never_holds_a_block_smaller_than_the_request() {
        for size in [
            1,
            8,
            255,
            256,
            257,
            511,
            512,
            513,
            4096,
            4097,
            1 << 20,
            (1 << 20) + 1,
        ] {
            let Some(serve) = serve_class(size) else {
                assert!(size > 1 << MAX_CLASS, "{size}");
                continue;
            };
            // every block kept in `serve` or above is at least `size` bytes
            for block in [MIN_BLOCK, 300, 512, 1000, 4096, 5000, 1 << 20, 1 << 22] {
                if keep_class(block) >= serve && keep_class(block) < CLASSES - 1 {
                    assert!(block >= size, "block {block} served {size}");
                }
            }
            if size >= MIN_BLOCK {
                assert!(keep_class(size) <= serve, "{size}");
            }
        }
    }

    #[test]
    fn the_last_class_takes_the_largest_blocks_but_serves_only_what_fits_its_floor() {
        assert_eq!(keep_class(usize::MAX), CLASSES - 1);
        assert_eq!(serve_class(1 << MAX_CLASS), Some(CLASSES - 1));
        assert_eq!(serve_class((1 << MAX_CLASS) + 1), None);
        assert_eq!(serve_class(usize::MAX), None);
    }

    #[test]
    fn bins_are_lifo_per_class_and_respect_alignment() {
        let mut memory = vec![0u64; 1024]; // 8 KiB, 8-aligned
        let base = memory.as_mut_ptr().cast::<u8>();
        let bins = Bins::new();
        // SAFETY: disjoint pieces of `memory`, unused while in the bins.
        unsafe {
            bins.push(base, 256);
            bins.push(base.add(1024), 1024);
            bins.push(base.add(2048 + 1), 600);
            assert_eq!(bins.pop(300, 1, base), base.add(2048 + 1));
            assert_eq!(bins.pop(300, 8, base), base.add(1024));
            assert!(
                bins.pop(300, 1, base).is_null(),
                "only a 256-byte block is left"
            );
            assert_eq!(bins.pop(100, 8, base), base);
            assert!(bins.pop(1, 1, base).is_null());
            bins.push(base.add(4096 + 4), 512);
            assert!(bins.pop(512, 8, base).is_null(), "misaligned head: a miss");
            bins.clear();
            assert!(bins.pop(256, 1, base).is_null());
        }
        drop(memory);
    }
}
