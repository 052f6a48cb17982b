//! SKELETON STUB: the global allocator issue replaces this.
#![allow(missing_docs)]
use std::alloc::{GlobalAlloc, Layout, System};
pub struct GlobalArena<A: GlobalAlloc = System> {
    inner: A,
}
impl<A: GlobalAlloc> GlobalArena<A> {
    pub const fn new(inner: A) -> Self {
        Self { inner }
    }
}
unsafe impl<A: GlobalAlloc> GlobalAlloc for GlobalArena<A> {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        unsafe { self.inner.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { self.inner.dealloc(p, l) }
    }
}
pub fn with_global_arena<R>(f: impl FnOnce() -> R) -> R {
    f()
}
