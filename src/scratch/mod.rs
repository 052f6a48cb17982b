//! SKELETON STUB: a naive, leaking System-backed stand-in with the final signatures. Replaced by
//! the real thread-local scratch arenas; do not rely on anything but the signatures.
#![allow(missing_docs, clippy::missing_safety_doc)]
use crate::ArenaStats;
use allocator_api2::alloc::{AllocError, Allocator, Layout};
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::NonNull;
use std::alloc::{GlobalAlloc, System};

#[derive(Clone, Copy)]
pub struct Scratch<'s>(PhantomData<*const &'s ()>);

pub fn with_arena<R>(f: impl for<'s> FnOnce(Scratch<'s>) -> R) -> R {
    f(Scratch(PhantomData))
}
pub fn with_arena_sized<R>(_bytes: usize, f: impl for<'s> FnOnce(Scratch<'s>) -> R) -> R {
    f(Scratch(PhantomData))
}
pub fn thread_arena_stats() -> Option<ArenaStats> {
    None
}

unsafe impl Allocator for Scratch<'_> {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let p = if layout.size() == 0 {
            layout.align() as *mut u8
        } else {
            unsafe { System.alloc(layout) }
        };
        NonNull::new(p)
            .map(|p| NonNull::slice_from_raw_parts(p, layout.size()))
            .ok_or(AllocError)
    }
    unsafe fn deallocate(&self, _ptr: NonNull<u8>, _layout: Layout) {}
}

impl<'s> Scratch<'s> {
    pub fn try_alloc_uninit_slice<T>(
        &self,
        len: usize,
    ) -> Result<&'s mut [MaybeUninit<T>], AllocError> {
        let layout = Layout::array::<T>(len).map_err(|_| AllocError)?;
        let p = self.allocate(layout)?;
        Ok(unsafe { core::slice::from_raw_parts_mut(p.as_ptr() as *mut MaybeUninit<T>, len) })
    }
    pub fn alloc_uninit_slice<T>(&self, len: usize) -> &'s mut [MaybeUninit<T>] {
        self.try_alloc_uninit_slice(len).unwrap()
    }
    pub fn try_alloc_slice_fill_with<T>(
        &self,
        len: usize,
        mut f: impl FnMut(usize) -> T,
    ) -> Result<&'s mut [T], AllocError> {
        let s = self.try_alloc_uninit_slice(len)?;
        for (i, x) in s.iter_mut().enumerate() {
            x.write(f(i));
        }
        Ok(unsafe { &mut *(s as *mut [MaybeUninit<T>] as *mut [T]) })
    }
    pub fn alloc_slice_fill_with<T>(&self, len: usize, f: impl FnMut(usize) -> T) -> &'s mut [T] {
        self.try_alloc_slice_fill_with(len, f).unwrap()
    }
    pub fn try_alloc_slice_copy<T: Copy>(&self, src: &[T]) -> Result<&'s mut [T], AllocError> {
        self.try_alloc_slice_fill_with(src.len(), |i| src[i])
    }
    pub fn alloc_slice_copy<T: Copy>(&self, src: &[T]) -> &'s mut [T] {
        self.try_alloc_slice_copy(src).unwrap()
    }
    pub fn try_alloc<T>(&self, v: T) -> Result<&'s mut T, AllocError> {
        let mut v = Some(v);
        Ok(&mut self.try_alloc_slice_fill_with(1, |_| v.take().unwrap())?[0])
    }
    pub fn alloc<T>(&self, v: T) -> &'s mut T {
        self.try_alloc(v).unwrap()
    }
    pub fn stats(&self) -> ArenaStats {
        ArenaStats::default()
    }
}
