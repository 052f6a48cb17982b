//! Typed allocation helpers (`alloc`, `alloc_slice_copy`, ...), written once for every arena
//! handle.
//!
//! A handle implements [`BlockSource`]; [`typed_helpers!`] then stamps the bumpalo-style inherent
//! methods onto it. The helpers never hand out uninitialised memory as `&mut [T]`: uninitialised
//! slices are `&mut [MaybeUninit<T>]`.

use allocator_api2::alloc::{AllocError, Layout};
use core::mem::MaybeUninit;
use core::ptr::NonNull;

/// Something that hands out raw blocks valid for `'a`.
///
/// # Safety
/// A block returned by `block` must be valid for reads and writes of `layout.size()` bytes,
/// aligned to `layout.align()`, disjoint from every other live block, and stay so for all of
/// `'a` (nobody else may reuse it before `'a` ends).
pub(crate) unsafe trait BlockSource<'a>: Copy {
    /// A block for `layout`, or `Err` if it was refused.
    fn block(&self, layout: Layout) -> Result<NonNull<u8>, AllocError>;

    /// Panics with a message saying what was asked and why it was refused.
    fn refused(&self, layout: Layout) -> !;
}

/// Unwraps a helper's result, panicking with the source's own message when it was refused.
#[inline]
pub(crate) fn or_refused<'a, S: BlockSource<'a>, T>(
    src: S,
    layout: Layout,
    r: Result<T, AllocError>,
) -> T {
    match r {
        Ok(v) => v,
        Err(AllocError) => src.refused(layout),
    }
}

/// The layout of `[T; len]`, or an error that names the overflow instead of wrapping.
#[inline]
pub(crate) fn array_layout<T>(len: usize) -> Layout {
    match Layout::array::<T>(len) {
        Ok(l) => l,
        Err(_) => panic!(
            "capacity overflow: {len} elements of {} bytes exceed isize::MAX",
            size_of::<T>()
        ),
    }
}

#[inline]
pub(crate) fn try_alloc_uninit_slice<'a, T, S: BlockSource<'a>>(
    src: S,
    len: usize,
) -> Result<&'a mut [MaybeUninit<T>], AllocError> {
    let layout = Layout::array::<T>(len).map_err(|_| AllocError)?;
    let p = src.block(layout)?;
    // SAFETY: the block is valid, aligned and exclusive for `len` `T`s for `'a` (the
    // `BlockSource` contract), and `MaybeUninit` needs no initialisation.
    Ok(unsafe { core::slice::from_raw_parts_mut(p.as_ptr().cast::<MaybeUninit<T>>(), len) })
}

#[inline]
pub(crate) fn try_alloc_slice_fill_with<'a, T, S: BlockSource<'a>>(
    src: S,
    len: usize,
    mut f: impl FnMut(usize) -> T,
) -> Result<&'a mut [T], AllocError> {
    let slots = try_alloc_uninit_slice::<T, S>(src, len)?;
    for (i, slot) in slots.iter_mut().enumerate() {
        slot.write(f(i));
    }
    // SAFETY: every element was written above. If `f` panicked we never get here, and the
    // written prefix is merely leaked, which arenas do with every value anyway.
    Ok(unsafe { &mut *(slots as *mut [MaybeUninit<T>] as *mut [T]) })
}

#[inline]
pub(crate) fn try_alloc_slice_copy<'a, T: Copy, S: BlockSource<'a>>(
    src: S,
    items: &[T],
) -> Result<&'a mut [T], AllocError> {
    let slots = try_alloc_uninit_slice::<T, S>(src, items.len())?;
    // SAFETY: `MaybeUninit<T>` has the layout of `T`, the lengths match, and the fresh block
    // cannot overlap `items`.
    unsafe {
        core::ptr::copy_nonoverlapping(items.as_ptr(), slots.as_mut_ptr().cast::<T>(), items.len());
        Ok(&mut *(slots as *mut [MaybeUninit<T>] as *mut [T]))
    }
}

#[inline]
pub(crate) fn try_alloc<'a, T, S: BlockSource<'a>>(
    src: S,
    value: T,
) -> Result<&'a mut T, AllocError> {
    let p = src.block(Layout::new::<T>())?.cast::<T>();
    // SAFETY: the block is valid, aligned and exclusive for one `T` for `'a`.
    unsafe {
        p.as_ptr().write(value);
        Ok(&mut *p.as_ptr())
    }
}

/// Stamps the typed helpers onto a handle type whose `source()` method returns a
/// [`BlockSource`] for the blocks' lifetime.
///
/// `$lt` is the lifetime of the blocks (`'_` ties them to `&self`); `$setup` and `$teardown`
/// wrap each doc example so that a handle named `a` is in scope.
macro_rules! typed_helpers {
    ($lt:lifetime, $setup:literal, $teardown:literal) => {
        /// Moves `value` into the arena and returns a mutable reference to it. Its destructor
        /// never runs.
        ///
        /// Cost: one bump and one write. Panics if the arena refuses the block.
        ///
        /// # Example
        #[doc = concat!("```\n", $setup, "\nlet x = a.alloc(42u64);\n*x += 1;\nassert_eq!(*x, 43);\n", $teardown, "\n```")]
        #[inline]
        pub fn alloc<T>(&self, value: T) -> &$lt mut T {
            let r = $crate::arena::typed::try_alloc(self.source(), value);
            $crate::arena::typed::or_refused(self.source(), allocator_api2::alloc::Layout::new::<T>(), r)
        }

        /// Like [`alloc`](Self::alloc), but returns `Err(AllocError)` instead of panicking.
        ///
        /// # Example
        #[doc = concat!("```\n", $setup, "\nassert_eq!(*a.try_alloc(7u8).unwrap(), 7);\n", $teardown, "\n```")]
        #[inline]
        pub fn try_alloc<T>(&self, value: T) -> Result<&$lt mut T, $crate::AllocError> {
            $crate::arena::typed::try_alloc(self.source(), value)
        }

        /// Copies `items` into the arena.
        ///
        /// Cost: one bump and a `memcpy`. Panics if the arena refuses the block.
        ///
        /// # Example
        #[doc = concat!("```\n", $setup, "\nlet s = a.alloc_slice_copy(&[1, 2, 3]);\ns[0] = 9;\nassert_eq!(s, &[9, 2, 3]);\n", $teardown, "\n```")]
        #[inline]
        pub fn alloc_slice_copy<T: Copy>(&self, items: &[T]) -> &$lt mut [T] {
            let r = $crate::arena::typed::try_alloc_slice_copy(self.source(), items);
            $crate::arena::typed::or_refused(self.source(), $crate::arena::typed::array_layout::<T>(items.len()), r)
        }

        /// Like [`alloc_slice_copy`](Self::alloc_slice_copy), but returns `Err(AllocError)`
        /// instead of panicking.
        ///
        /// # Example
        #[doc = concat!("```\n", $setup, "\nassert_eq!(a.try_alloc_slice_copy(b\"hi\").unwrap(), b\"hi\");\n", $teardown, "\n```")]
        #[inline]
        pub fn try_alloc_slice_copy<T: Copy>(&self, items: &[T]) -> Result<&$lt mut [T], $crate::AllocError> {
            $crate::arena::typed::try_alloc_slice_copy(self.source(), items)
        }

        /// Allocates `len` elements, element `i` initialised to `f(i)`.
        ///
        /// Cost: one bump and `len` calls of `f`. Panics if the arena refuses the block.
        ///
        /// # Example
        #[doc = concat!("```\n", $setup, "\nlet squares = a.alloc_slice_fill_with(4, |i| i * i);\nassert_eq!(squares, &[0, 1, 4, 9]);\n", $teardown, "\n```")]
        #[inline]
        pub fn alloc_slice_fill_with<T>(&self, len: usize, f: impl FnMut(usize) -> T) -> &$lt mut [T] {
            let r = $crate::arena::typed::try_alloc_slice_fill_with(self.source(), len, f);
            $crate::arena::typed::or_refused(self.source(), $crate::arena::typed::array_layout::<T>(len), r)
        }

        /// Like [`alloc_slice_fill_with`](Self::alloc_slice_fill_with), but returns
        /// `Err(AllocError)` instead of panicking.
        ///
        /// # Example
        #[doc = concat!("```\n", $setup, "\nassert_eq!(a.try_alloc_slice_fill_with(2, |i| i as u8).unwrap(), &[0, 1]);\n", $teardown, "\n```")]
        #[inline]
        pub fn try_alloc_slice_fill_with<T>(&self, len: usize, f: impl FnMut(usize) -> T) -> Result<&$lt mut [T], $crate::AllocError> {
            $crate::arena::typed::try_alloc_slice_fill_with(self.source(), len, f)
        }

        /// Allocates `len` copies of `value`.
        ///
        /// Cost: one bump and `len` writes. Panics if the arena refuses the block.
        ///
        /// # Example
        #[doc = concat!("```\n", $setup, "\nassert_eq!(a.alloc_slice_fill_copy(3, 0.5f32), &[0.5, 0.5, 0.5]);\n", $teardown, "\n```")]
        #[inline]
        pub fn alloc_slice_fill_copy<T: Copy>(&self, len: usize, value: T) -> &$lt mut [T] {
            self.alloc_slice_fill_with(len, |_| value)
        }

        /// Like [`alloc_slice_fill_copy`](Self::alloc_slice_fill_copy), but returns
        /// `Err(AllocError)` instead of panicking.
        ///
        /// # Example
        #[doc = concat!("```\n", $setup, "\nassert_eq!(a.try_alloc_slice_fill_copy(2, 'x').unwrap(), &['x', 'x']);\n", $teardown, "\n```")]
        #[inline]
        pub fn try_alloc_slice_fill_copy<T: Copy>(&self, len: usize, value: T) -> Result<&$lt mut [T], $crate::AllocError> {
            self.try_alloc_slice_fill_with(len, |_| value)
        }

        /// Allocates room for `len` elements without initialising them.
        ///
        /// Cost: one bump; nothing is written. Panics if the arena refuses the block.
        ///
        /// # Example
        #[doc = concat!("```\n", $setup, "\nlet buf = a.alloc_uninit_slice::<u32>(3);\nfor (i, x) in buf.iter_mut().enumerate() {\n    x.write(i as u32);\n}\n// SAFETY: every element was written.\nassert_eq!(unsafe { buf[2].assume_init() }, 2);\n", $teardown, "\n```")]
        #[inline]
        pub fn alloc_uninit_slice<T>(&self, len: usize) -> &$lt mut [::core::mem::MaybeUninit<T>] {
            let r = $crate::arena::typed::try_alloc_uninit_slice(self.source(), len);
            $crate::arena::typed::or_refused(self.source(), $crate::arena::typed::array_layout::<T>(len), r)
        }

        /// Like [`alloc_uninit_slice`](Self::alloc_uninit_slice), but returns `Err(AllocError)`
        /// instead of panicking.
        ///
        /// # Example
        #[doc = concat!("```\n", $setup, "\nassert_eq!(a.try_alloc_uninit_slice::<u64>(4).unwrap().len(), 4);\n", $teardown, "\n```")]
        #[inline]
        pub fn try_alloc_uninit_slice<T>(&self, len: usize) -> Result<&$lt mut [::core::mem::MaybeUninit<T>], $crate::AllocError> {
            $crate::arena::typed::try_alloc_uninit_slice(self.source(), len)
        }

        /// Copies `s` into the arena.
        ///
        /// Cost: one bump and a `memcpy`. Panics if the arena refuses the block.
        ///
        /// # Example
        #[doc = concat!("```\n", $setup, "\nassert_eq!(a.alloc_str(\"engram\"), \"engram\");\n", $teardown, "\n```")]
        #[inline]
        #[allow(clippy::mut_from_ref)] // each call hands out a fresh, disjoint block
        pub fn alloc_str(&self, s: &str) -> &$lt mut str {
            let bytes = self.alloc_slice_copy(s.as_bytes());
            // SAFETY: the bytes were copied from a `str`, so they are valid UTF-8.
            unsafe { ::core::str::from_utf8_unchecked_mut(bytes) }
        }
    };
}
pub(crate) use typed_helpers;
