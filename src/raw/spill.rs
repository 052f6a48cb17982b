//! Heap blocks served by a scratch scope when its arena cannot serve them.
//!
//! Under [`OverflowPolicy::Fallback`](crate::OverflowPolicy::Fallback) a request that does not
//! fit (or that comes through an outer handle while an inner scope is live) is served from
//! [`System`]. Typed helpers such as `alloc_slice_copy` never free their blocks, so every spilled
//! block carries a small header that links it into its state's list, tagged with the depth of the
//! scope that owns it. Freeing a block unlinks it; a scope's exit frees whatever of its depth is
//! left. Nothing is lost, and nothing is freed twice.

use allocator_api2::alloc::Layout;
use core::cell::Cell;
use core::ptr::{self, NonNull};
use std::alloc::{GlobalAlloc, System};

#[repr(C)]
struct Header {
    prev: *mut Header,
    next: *mut Header,
    /// The caller's layout, needed to free the block at scope exit.
    user: Layout,
    /// Depth of the scope that owns the block.
    depth: u32,
}

/// Layout of a spilled block (header, then the caller's bytes) and the offset of the caller's
/// bytes in it. Pure arithmetic; `None` if it would pass `isize::MAX`.
pub(crate) fn spill_layout(user: Layout) -> Option<(Layout, usize)> {
    let (total, offset) = Layout::new::<Header>().extend(user).ok()?;
    Some((total.pad_to_align(), offset))
}

/// The list of live spilled blocks of one scratch state.
pub(crate) struct SpillList {
    head: Cell<*mut Header>,
    len: Cell<usize>,
}

impl SpillList {
    pub(crate) const fn new() -> Self {
        Self {
            head: Cell::new(ptr::null_mut()),
            len: Cell::new(0),
        }
    }

    #[inline(always)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len.get() == 0
    }

    /// Allocates a block for `user` owned by the scope at `depth`, or `None` if the system
    /// allocator refuses.
    pub(crate) fn alloc(&self, user: Layout, depth: u32) -> Option<NonNull<u8>> {
        let (total, offset) = spill_layout(user)?;
        // SAFETY: `total` has a non-zero size (it contains the header).
        let block = NonNull::new(unsafe { System.alloc(total) })?;
        let header = block.cast::<Header>().as_ptr();
        let next = self.head.get();
        // SAFETY: `block` is fresh, aligned for `Header` (the total layout's alignment is at
        // least the header's) and large enough for it; `next`, if non-null, is a live header of
        // this list.
        unsafe {
            header.write(Header {
                prev: ptr::null_mut(),
                next,
                user,
                depth,
            });
            if !next.is_null() {
                (*next).prev = header;
            }
        }
        self.head.set(header);
        self.len.set(self.len.get() + 1);
        // SAFETY: `offset + user.size() <= total.size()`, so the caller's bytes are in bounds.
        Some(unsafe { block.add(offset) })
    }

    /// Unlinks and frees a block from [`alloc`](Self::alloc).
    ///
    /// # Safety
    /// `user_ptr` must be a live block of this list, allocated for `user`.
    pub(crate) unsafe fn free(&self, user_ptr: NonNull<u8>, user: Layout) {
        let (_, offset) = spill_layout(user).expect("the layout was valid at allocation");
        // SAFETY: the block starts `offset` bytes before the caller's bytes, with the header.
        let header = unsafe { user_ptr.sub(offset) }.cast::<Header>().as_ptr();
        // SAFETY: `header` is a live header of this list.
        unsafe { self.unlink_and_free(header) }
    }

    /// Frees every block owned by scopes at `depth` or deeper.
    pub(crate) fn free_from_depth(&self, depth: u32) {
        let mut cur = self.head.get();
        while !cur.is_null() {
            // SAFETY: `cur` is a live header of this list; we read `next` before freeing it.
            let (next, owner) = unsafe { ((*cur).next, (*cur).depth) };
            if owner >= depth {
                // SAFETY: as above.
                unsafe { self.unlink_and_free(cur) };
            }
            cur = next;
        }
    }

    /// # Safety
    /// `header` must be a live header of this list.
    unsafe fn unlink_and_free(&self, header: *mut Header) {
        // SAFETY: the caller guarantees `header` is live; its neighbours are live headers of
        // this list or null.
        unsafe {
            let Header {
                prev, next, user, ..
            } = header.read();
            if prev.is_null() {
                self.head.set(next);
            } else {
                (*prev).next = next;
            }
            if !next.is_null() {
                (*next).prev = prev;
            }
            let (total, _) = spill_layout(user).expect("the layout was valid at allocation");
            System.dealloc(header.cast(), total);
        }
        self.len.set(self.len.get() - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_places_user_bytes_after_header_and_aligned() {
        for align in [1usize, 8, 16, 64, 4096] {
            for size in [0usize, 1, 7, 100] {
                let user = Layout::from_size_align(size, align).unwrap();
                let (total, offset) = spill_layout(user).unwrap();
                assert!(offset >= size_of::<Header>());
                assert_eq!(offset % align, 0);
                assert!(offset + size <= total.size());
                assert_eq!(total.align(), align.max(align_of::<Header>()));
            }
        }
    }

    #[test]
    fn huge_layouts_are_refused() {
        let user = Layout::from_size_align(isize::MAX as usize - 8, 8).unwrap();
        assert!(spill_layout(user).is_none());
    }

    #[test]
    fn free_and_depth_sweep_leave_a_consistent_list() {
        let list = SpillList::new();
        let l = Layout::from_size_align(24, 8).unwrap();
        let a = list.alloc(l, 1).unwrap();
        let b = list.alloc(l, 2).unwrap();
        let c = list.alloc(l, 1).unwrap();
        // SAFETY: fresh 24-byte blocks.
        unsafe {
            a.as_ptr().write_bytes(1, 24);
            b.as_ptr().write_bytes(2, 24);
            c.as_ptr().write_bytes(3, 24);
        }
        // SAFETY: `c` is live in `list`.
        unsafe { list.free(c, l) };
        assert_eq!(list.len.get(), 2);
        list.free_from_depth(2);
        assert_eq!(list.len.get(), 1);
        // SAFETY: `a` is still live and was filled with ones.
        assert_eq!(unsafe { *a.as_ptr().add(23) }, 1);
        list.free_from_depth(0);
        assert!(list.is_empty());
    }
}
