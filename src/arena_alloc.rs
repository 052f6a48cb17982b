//! [`ArenaAlloc`]: the typed allocation helpers, written once for every arena handle.
//!
//! The table of the family and what "refused" means per handle are in the trait's docs.

use allocator_api2::alloc::{AllocError, Allocator, Layout};
use allocator_api2::vec::Vec;
use core::fmt;
use core::mem::MaybeUninit;

pub(crate) mod sealed {
    use allocator_api2::alloc::{Allocator, Layout};

    /// The handles the helpers are implemented for.
    ///
    /// # Safety
    /// A block from `allocate` must stay valid, and never be handed out again, for all of `'a`.
    pub unsafe trait Handle<'a>: Allocator + Copy + 'a {
        /// Panics with the handle's own message for a refused `layout`.
        fn refused(self, layout: Layout) -> !;
    }
}

/// The layout of `[T; len]`, or the panic that names the overflow instead of wrapping.
fn array_layout<T>(len: usize) -> Layout {
    match Layout::array::<T>(len) {
        Ok(l) => l,
        Err(_) => panic!(
            "capacity overflow: {len} elements of {} bytes exceed isize::MAX",
            size_of::<T>()
        ),
    }
}

/// A block for `layout`, or the handle's refusal panic.
fn or_refused<'a, H: sealed::Handle<'a>, T>(h: H, layout: Layout, r: Result<T, AllocError>) -> T {
    match r {
        Ok(v) => v,
        Err(AllocError) => h.refused(layout),
    }
}

/// Typed allocation on an arena handle: `&Arena` and [`Scratch`](crate::scratch::Scratch).
///
/// Import it (`use engram_kernels::ArenaAlloc;`) to call the helpers. Every helper returns a
/// reference that lives as long as the handle's blocks: until the arena is reset or dropped
/// (`&'a Arena`), or until the scope ends (`Scratch<'s>`).
///
/// | what you have              | panics when refused          | returns `Err(AllocError)`        |
/// |----------------------------|------------------------------|----------------------------------|
/// | a value                    | [`alloc`]                    | [`try_alloc`]                    |
/// | a closure that builds one  | [`alloc_with`]               | [`try_alloc_with`]               |
/// | a slice of `Copy` items    | [`alloc_slice_copy`]         | [`try_alloc_slice_copy`]         |
/// | a slice of `Clone` items   | [`alloc_slice_clone`]        | [`try_alloc_slice_clone`]        |
/// | one `Copy` value, n times  | [`alloc_slice_fill_copy`]    | [`try_alloc_slice_fill_copy`]    |
/// | one `Clone` value, n times | [`alloc_slice_fill_clone`]   | [`try_alloc_slice_fill_clone`]   |
/// | a closure of the index     | [`alloc_slice_fill_with`]    | [`try_alloc_slice_fill_with`]    |
/// | `T::default()`, n times    | [`alloc_slice_fill_default`] | [`try_alloc_slice_fill_default`] |
/// | an exact-size iterator     | [`alloc_slice_fill_iter`]    | [`try_alloc_slice_fill_iter`]    |
/// | nothing yet (uninit slice) | [`alloc_uninit_slice`]       | [`try_alloc_uninit_slice`]       |
/// | a `&str`                   | [`alloc_str`]                | [`try_alloc_str`]                |
/// | `format_args!(..)`         | [`alloc_fmt`]                | [`try_alloc_fmt`]                |
///
/// What "refused" means depends on the handle: a fixed [`Arena`] refuses when it is full; a
/// growable one grows up to its allocation limit and refuses beyond it; a scratch handle
/// ([`Scratch`]) follows the [overflow policy](crate::config::OverflowPolicy): by default it
/// grows or spills to the heap and never refuses, under `Error` it refuses, and under `Panic` even
/// the `try_` forms panic. Values' destructors never run: memory is released in bulk.
///
/// [`alloc`]: Self::alloc
/// [`try_alloc`]: Self::try_alloc
/// [`alloc_with`]: Self::alloc_with
/// [`try_alloc_with`]: Self::try_alloc_with
/// [`alloc_slice_copy`]: Self::alloc_slice_copy
/// [`try_alloc_slice_copy`]: Self::try_alloc_slice_copy
/// [`alloc_slice_clone`]: Self::alloc_slice_clone
/// [`try_alloc_slice_clone`]: Self::try_alloc_slice_clone
/// [`alloc_slice_fill_copy`]: Self::alloc_slice_fill_copy
/// [`try_alloc_slice_fill_copy`]: Self::try_alloc_slice_fill_copy
/// [`alloc_slice_fill_clone`]: Self::alloc_slice_fill_clone
/// [`try_alloc_slice_fill_clone`]: Self::try_alloc_slice_fill_clone
/// [`alloc_slice_fill_with`]: Self::alloc_slice_fill_with
/// [`try_alloc_slice_fill_with`]: Self::try_alloc_slice_fill_with
/// [`alloc_slice_fill_default`]: Self::alloc_slice_fill_default
/// [`try_alloc_slice_fill_default`]: Self::try_alloc_slice_fill_default
/// [`alloc_slice_fill_iter`]: Self::alloc_slice_fill_iter
/// [`try_alloc_slice_fill_iter`]: Self::try_alloc_slice_fill_iter
/// [`alloc_uninit_slice`]: Self::alloc_uninit_slice
/// [`try_alloc_uninit_slice`]: Self::try_alloc_uninit_slice
/// [`alloc_str`]: Self::alloc_str
/// [`try_alloc_str`]: Self::try_alloc_str
/// [`alloc_fmt`]: Self::alloc_fmt
/// [`try_alloc_fmt`]: Self::try_alloc_fmt
/// [`Arena`]: crate::Arena
/// [`Scratch`]: crate::scratch::Scratch
///
/// # Example
///
/// ```
/// use engram_kernels::{Arena, ArenaAlloc, with_arena};
///
/// let arena = Arena::with_capacity(1024);
/// let n = arena.alloc(41u32);
/// *n += 1;
/// let name = arena.alloc_str("engram");
/// assert_eq!((*n, &*name), (42, "engram"));
///
/// with_arena(|s| {
///     let squares = s.alloc_slice_fill_with(4, |i| i * i);
///     assert_eq!(squares, &[0, 1, 4, 9]);
/// });
/// ```
pub trait ArenaAlloc<'a>: sealed::Handle<'a> {
    /// Moves `value` into the arena.
    ///
    /// # Panics
    /// If the handle refuses the block (see the [trait docs](ArenaAlloc)).
    ///
    /// # Example
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    /// let arena = Arena::with_capacity(64);
    /// let x = arena.alloc(42u64);
    /// *x += 1;
    /// assert_eq!(*x, 43);
    /// ```
    #[inline(always)]
    fn alloc<T>(self, value: T) -> &'a mut T {
        self.alloc_with(|| value)
    }

    /// Moves `value` into the arena; drops it and returns `Err` if the handle refuses the
    /// block.
    ///
    /// # Errors
    /// `AllocError` when the handle refuses the block.
    ///
    /// # Example
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    /// let arena = Arena::with_capacity(4);
    /// assert_eq!(*arena.try_alloc(7u8).unwrap(), 7);
    /// assert!(arena.try_alloc(0u64).is_err());
    /// ```
    #[inline(always)]
    fn try_alloc<T>(self, value: T) -> Result<&'a mut T, AllocError> {
        self.try_alloc_with(|| value)
    }

    /// Builds a value directly in the arena: the block is reserved first, then `f` runs and
    /// its result is written into it (in place, where the optimiser can).
    ///
    /// # Panics
    /// If the handle refuses the block; if `f` panics (the block is then merely unused).
    ///
    /// # Example
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    /// let arena = Arena::with_capacity(1 << 16);
    /// let table = arena.alloc_with(|| [7u16; 1000]);
    /// assert_eq!(table[999], 7);
    /// ```
    #[inline(always)]
    fn alloc_with<T>(self, f: impl FnOnce() -> T) -> &'a mut T {
        let layout = Layout::new::<T>();
        let r = self.try_alloc_with(f);
        or_refused(self, layout, r)
    }

    /// Like [`alloc_with`](Self::alloc_with), but returns `Err` (without calling `f`) if the
    /// handle refuses the block.
    ///
    /// # Errors
    /// `AllocError` when the handle refuses the block.
    ///
    /// # Example
    /// ```
    /// use engram_kernels::{ArenaAlloc, with_arena};
    /// with_arena(|s| {
    ///     let v = s.try_alloc_with(|| (1u8, 2u32)).unwrap();
    ///     assert_eq!(*v, (1, 2));
    /// });
    /// ```
    #[inline(always)]
    fn try_alloc_with<T>(self, f: impl FnOnce() -> T) -> Result<&'a mut T, AllocError> {
        let p = self.allocate(Layout::new::<T>())?.cast::<T>();
        // SAFETY: the block is valid, aligned and exclusive for one `T` for `'a` (the `Handle`
        // contract); it is initialised before the reference is made.
        unsafe {
            p.as_ptr().write(f());
            Ok(&mut *p.as_ptr())
        }
    }

    /// Copies a slice into the arena.
    ///
    /// # Panics
    /// If the handle refuses the block.
    ///
    /// # Example
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    /// let arena = Arena::with_capacity(64);
    /// let s = arena.alloc_slice_copy(&[1, 2, 3]);
    /// s[0] = 9;
    /// assert_eq!(s, &[9, 2, 3]);
    /// ```
    #[inline]
    fn alloc_slice_copy<T: Copy>(self, items: &[T]) -> &'a mut [T] {
        let r = self.try_alloc_slice_copy(items);
        or_refused(self, array_layout::<T>(items.len()), r)
    }

    /// Like [`alloc_slice_copy`](Self::alloc_slice_copy), but returns `Err` if refused.
    ///
    /// # Errors
    /// `AllocError` when the handle refuses the block.
    ///
    /// # Example
    /// ```
    /// use engram_kernels::{ArenaAlloc, with_arena};
    /// with_arena(|s| assert_eq!(s.try_alloc_slice_copy(b"hi").unwrap(), b"hi"));
    /// ```
    #[inline]
    fn try_alloc_slice_copy<T: Copy>(self, items: &[T]) -> Result<&'a mut [T], AllocError> {
        let slots = self.try_alloc_uninit_slice::<T>(items.len())?;
        // SAFETY: `MaybeUninit<T>` has the layout of `T`, the lengths match, and a fresh block
        // cannot overlap `items`. Every element is then initialised.
        unsafe {
            core::ptr::copy_nonoverlapping(
                items.as_ptr(),
                slots.as_mut_ptr().cast::<T>(),
                items.len(),
            );
            Ok(assume_init(slots))
        }
    }

    /// Clones every item of a slice into the arena.
    ///
    /// # Panics
    /// If the handle refuses the block, or if a `clone` panics (the clones made so far are then
    /// leaked, like every value in an arena).
    ///
    /// # Example
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    /// let arena = Arena::with_capacity(256);
    /// let names = arena.alloc_slice_clone(&[String::from("a"), String::from("b")]);
    /// assert_eq!(names[1], "b");
    /// ```
    #[inline]
    fn alloc_slice_clone<T: Clone>(self, items: &[T]) -> &'a mut [T] {
        let r = self.try_alloc_slice_clone(items);
        or_refused(self, array_layout::<T>(items.len()), r)
    }

    /// Like [`alloc_slice_clone`](Self::alloc_slice_clone), but returns `Err` if refused.
    ///
    /// # Errors
    /// `AllocError` when the handle refuses the block.
    ///
    /// # Panics
    /// If a `clone` panics.
    ///
    /// # Example
    /// ```
    /// use engram_kernels::{ArenaAlloc, with_arena};
    /// with_arena(|s| {
    ///     let v = s.try_alloc_slice_clone(&[vec![1u8], vec![2, 3]]).unwrap();
    ///     assert_eq!(v[1], [2, 3]);
    /// });
    /// ```
    #[inline]
    fn try_alloc_slice_clone<T: Clone>(self, items: &[T]) -> Result<&'a mut [T], AllocError> {
        self.try_alloc_slice_fill_with(items.len(), |i| items[i].clone())
    }

    /// A slice of `len` copies of `value`.
    ///
    /// # Panics
    /// If the handle refuses the block, or `len` elements exceed `isize::MAX` bytes.
    ///
    /// # Example
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    /// let arena = Arena::with_capacity(64);
    /// assert_eq!(arena.alloc_slice_fill_copy(3, 0.5f32), &[0.5, 0.5, 0.5]);
    /// ```
    #[inline]
    fn alloc_slice_fill_copy<T: Copy>(self, len: usize, value: T) -> &'a mut [T] {
        self.alloc_slice_fill_with(len, |_| value)
    }

    /// Like [`alloc_slice_fill_copy`](Self::alloc_slice_fill_copy), but returns `Err` if
    /// refused.
    ///
    /// # Errors
    /// `AllocError` when the handle refuses the block or the size overflows.
    ///
    /// # Example
    /// ```
    /// use engram_kernels::{ArenaAlloc, with_arena};
    /// with_arena(|s| assert_eq!(s.try_alloc_slice_fill_copy(2, 'x').unwrap(), &['x', 'x']));
    /// ```
    #[inline]
    fn try_alloc_slice_fill_copy<T: Copy>(
        self,
        len: usize,
        value: T,
    ) -> Result<&'a mut [T], AllocError> {
        self.try_alloc_slice_fill_with(len, |_| value)
    }

    /// A slice of `len` clones of `value`.
    ///
    /// # Panics
    /// If the handle refuses the block, `len` elements exceed `isize::MAX` bytes, or a `clone`
    /// panics.
    ///
    /// # Example
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    /// let arena = Arena::with_capacity(256);
    /// let rows = arena.alloc_slice_fill_clone(2, &vec![0u8; 3]);
    /// assert_eq!(rows, &[[0, 0, 0], [0, 0, 0]]);
    /// ```
    #[inline]
    fn alloc_slice_fill_clone<T: Clone>(self, len: usize, value: &T) -> &'a mut [T] {
        self.alloc_slice_fill_with(len, |_| value.clone())
    }

    /// Like [`alloc_slice_fill_clone`](Self::alloc_slice_fill_clone), but returns `Err` if
    /// refused.
    ///
    /// # Errors
    /// `AllocError` when the handle refuses the block or the size overflows.
    ///
    /// # Panics
    /// If a `clone` panics.
    ///
    /// # Example
    /// ```
    /// use engram_kernels::{ArenaAlloc, with_arena};
    /// with_arena(|s| {
    ///     let v = s.try_alloc_slice_fill_clone(2, &String::from("ab")).unwrap();
    ///     assert_eq!(v, ["ab", "ab"]);
    /// });
    /// ```
    #[inline]
    fn try_alloc_slice_fill_clone<T: Clone>(
        self,
        len: usize,
        value: &T,
    ) -> Result<&'a mut [T], AllocError> {
        self.try_alloc_slice_fill_with(len, |_| value.clone())
    }

    /// A slice of `len` elements, element `i` being `f(i)`.
    ///
    /// # Panics
    /// If the handle refuses the block, `len` elements exceed `isize::MAX` bytes, or `f` panics.
    ///
    /// # Example
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    /// let arena = Arena::with_capacity(64);
    /// assert_eq!(arena.alloc_slice_fill_with(4, |i| i * i), &[0, 1, 4, 9]);
    /// ```
    #[inline]
    fn alloc_slice_fill_with<T>(self, len: usize, f: impl FnMut(usize) -> T) -> &'a mut [T] {
        let layout = array_layout::<T>(len);
        let r = self.try_alloc_slice_fill_with(len, f);
        or_refused(self, layout, r)
    }

    /// Like [`alloc_slice_fill_with`](Self::alloc_slice_fill_with), but returns `Err` if
    /// refused.
    ///
    /// # Errors
    /// `AllocError` when the handle refuses the block or the size overflows.
    ///
    /// # Example
    /// ```
    /// use engram_kernels::{ArenaAlloc, with_arena};
    /// with_arena(|s| assert_eq!(s.try_alloc_slice_fill_with(2, |i| i as u8).unwrap(), &[0, 1]));
    /// ```
    #[inline]
    fn try_alloc_slice_fill_with<T>(
        self,
        len: usize,
        mut f: impl FnMut(usize) -> T,
    ) -> Result<&'a mut [T], AllocError> {
        let slots = self.try_alloc_uninit_slice::<T>(len)?;
        for (i, slot) in slots.iter_mut().enumerate() {
            slot.write(f(i));
        }
        // SAFETY: every element was written above (a panic in `f` never gets here).
        Ok(unsafe { assume_init(slots) })
    }

    /// A slice of `len` default values (`T::default()`, called once per element).
    ///
    /// # Panics
    /// If the handle refuses the block, `len` elements exceed `isize::MAX` bytes, or `default`
    /// panics.
    ///
    /// # Example
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    /// let arena = Arena::with_capacity(256);
    /// let counts = arena.alloc_slice_fill_default::<u32>(4);
    /// counts[1] += 1;
    /// assert_eq!(counts, &[0, 1, 0, 0]);
    /// ```
    #[inline]
    fn alloc_slice_fill_default<T: Default>(self, len: usize) -> &'a mut [T] {
        self.alloc_slice_fill_with(len, |_| T::default())
    }

    /// Like [`alloc_slice_fill_default`](Self::alloc_slice_fill_default), but returns `Err` if
    /// refused.
    ///
    /// # Errors
    /// `AllocError` when the handle refuses the block or the size overflows.
    ///
    /// # Panics
    /// If `default` panics.
    ///
    /// # Example
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    /// let arena = Arena::with_capacity(8);
    /// assert_eq!(arena.try_alloc_slice_fill_default::<String>(0).unwrap().len(), 0);
    /// assert_eq!(arena.try_alloc_slice_fill_default::<u16>(4).unwrap(), &[0; 4]);
    /// assert!(arena.try_alloc_slice_fill_default::<u64>(2).is_err());
    /// ```
    #[inline]
    fn try_alloc_slice_fill_default<T: Default>(
        self,
        len: usize,
    ) -> Result<&'a mut [T], AllocError> {
        self.try_alloc_slice_fill_with(len, |_| T::default())
    }

    /// A slice of the items of an iterator that knows its length.
    ///
    /// # Panics
    /// If the handle refuses the block, or the iterator yields fewer items than its `len()`
    /// promised (extra items are ignored).
    ///
    /// # Example
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    /// let arena = Arena::with_capacity(64);
    /// let evens = arena.alloc_slice_fill_iter((0..5u32).map(|i| 2 * i));
    /// assert_eq!(evens, &[0, 2, 4, 6, 8]);
    /// ```
    #[inline]
    fn alloc_slice_fill_iter<T, I>(self, iter: I) -> &'a mut [T]
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: ExactSizeIterator,
    {
        let iter = iter.into_iter();
        let layout = array_layout::<T>(iter.len());
        let r = self.try_alloc_slice_fill_iter(iter);
        or_refused(self, layout, r)
    }

    /// Like [`alloc_slice_fill_iter`](Self::alloc_slice_fill_iter), but returns `Err` if
    /// refused.
    ///
    /// # Errors
    /// `AllocError` when the handle refuses the block.
    ///
    /// # Panics
    /// If the iterator yields fewer items than its `len()` promised.
    ///
    /// # Example
    /// ```
    /// use engram_kernels::{ArenaAlloc, with_arena};
    /// with_arena(|s| {
    ///     let words = s.try_alloc_slice_fill_iter("a b c".split(' ').collect::<Vec<_>>()).unwrap();
    ///     assert_eq!(words.len(), 3);
    /// });
    /// ```
    #[inline]
    fn try_alloc_slice_fill_iter<T, I>(self, iter: I) -> Result<&'a mut [T], AllocError>
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: ExactSizeIterator,
    {
        let mut iter = iter.into_iter();
        let len = iter.len();
        self.try_alloc_slice_fill_with(len, |_| {
            iter.next()
                .expect("ExactSizeIterator yielded fewer items than its len()")
        })
    }

    /// An uninitialised slice of `len` elements, to fill in place.
    ///
    /// # Panics
    /// If the handle refuses the block, or `len` elements exceed `isize::MAX` bytes.
    ///
    /// # Example
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    /// let arena = Arena::with_capacity(64);
    /// let buf = arena.alloc_uninit_slice::<u32>(3);
    /// for (i, x) in buf.iter_mut().enumerate() {
    ///     x.write(i as u32);
    /// }
    /// // SAFETY: every element was written.
    /// assert_eq!(unsafe { buf[2].assume_init() }, 2);
    /// ```
    #[inline]
    fn alloc_uninit_slice<T>(self, len: usize) -> &'a mut [MaybeUninit<T>] {
        let layout = array_layout::<T>(len);
        let r = self.try_alloc_uninit_slice(len);
        or_refused(self, layout, r)
    }

    /// Like [`alloc_uninit_slice`](Self::alloc_uninit_slice), but returns `Err` if refused or
    /// if the size overflows.
    ///
    /// # Errors
    /// `AllocError` when the handle refuses the block or the size overflows.
    ///
    /// # Example
    /// ```
    /// use engram_kernels::{ArenaAlloc, with_arena};
    /// with_arena(|s| {
    ///     assert_eq!(s.try_alloc_uninit_slice::<u64>(4).unwrap().len(), 4);
    ///     assert!(s.try_alloc_uninit_slice::<u64>(usize::MAX / 4).is_err());
    /// });
    /// ```
    #[inline]
    fn try_alloc_uninit_slice<T>(self, len: usize) -> Result<&'a mut [MaybeUninit<T>], AllocError> {
        let layout = Layout::array::<T>(len).map_err(|_| AllocError)?;
        let p = self.allocate(layout)?.cast::<MaybeUninit<T>>();
        // SAFETY: the block is valid, aligned and exclusive for `len` `T`s for `'a` (the
        // `Handle` contract), and `MaybeUninit` needs no initialisation.
        Ok(unsafe { core::slice::from_raw_parts_mut(p.as_ptr(), len) })
    }

    /// Copies a string into the arena.
    ///
    /// # Panics
    /// If the handle refuses the block.
    ///
    /// # Example
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    /// let arena = Arena::with_capacity(64);
    /// let s = arena.alloc_str("engram");
    /// s.make_ascii_uppercase();
    /// assert_eq!(s, "ENGRAM");
    /// ```
    #[inline]
    fn alloc_str(self, s: &str) -> &'a mut str {
        let r = self.try_alloc_str(s);
        or_refused(self, array_layout::<u8>(s.len()), r)
    }

    /// Like [`alloc_str`](Self::alloc_str), but returns `Err` if refused.
    ///
    /// # Errors
    /// `AllocError` when the handle refuses the block.
    ///
    /// # Example
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    /// let arena = Arena::with_capacity(4);
    /// assert_eq!(arena.try_alloc_str("abc").unwrap(), "abc");
    /// assert!(arena.try_alloc_str("too long").is_err());
    /// ```
    #[inline]
    fn try_alloc_str(self, s: &str) -> Result<&'a mut str, AllocError> {
        let bytes = self.try_alloc_slice_copy(s.as_bytes())?;
        // SAFETY: the bytes were copied from a `str`.
        Ok(unsafe { core::str::from_utf8_unchecked_mut(bytes) })
    }

    /// Formats into the arena: `alloc_fmt(format_args!(..))` is `format!` without the heap.
    /// The text grows in place as it is written, so it costs one block.
    ///
    /// # Panics
    /// If the handle refuses the block, or a `Display` impl returns an error (as `format!`
    /// does).
    ///
    /// # Example
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    /// let arena = Arena::with_capacity(64);
    /// let s = arena.alloc_fmt(format_args!("{}-{:03}", "node", 7));
    /// assert_eq!(s, "node-007");
    /// ```
    #[inline]
    fn alloc_fmt(self, args: fmt::Arguments<'_>) -> &'a mut str {
        match format_into(self, args) {
            Ok(s) => s,
            Err(needed) => self.refused(array_layout::<u8>(needed)),
        }
    }

    /// Like [`alloc_fmt`](Self::alloc_fmt), but returns `Err` if refused.
    ///
    /// # Errors
    /// `AllocError` when the handle refuses the block.
    ///
    /// # Panics
    /// If a `Display` impl returns an error.
    ///
    /// # Example
    /// ```
    /// use engram_kernels::{Arena, ArenaAlloc};
    /// let arena = Arena::with_capacity(8);
    /// assert_eq!(arena.try_alloc_fmt(format_args!("{}", 12)).unwrap(), "12");
    /// assert!(arena.try_alloc_fmt(format_args!("{:>20}", 1)).is_err());
    /// ```
    #[inline]
    fn try_alloc_fmt(self, args: fmt::Arguments<'_>) -> Result<&'a mut str, AllocError> {
        format_into(self, args).map_err(|_| AllocError)
    }
}

impl<'a, H: sealed::Handle<'a>> ArenaAlloc<'a> for H {}

/// # Safety
/// Every element must be initialised.
unsafe fn assume_init<T>(slots: &mut [MaybeUninit<T>]) -> &mut [T] {
    // SAFETY: the caller's contract; `MaybeUninit<T>` has the layout of `T`.
    unsafe { &mut *(slots as *mut [MaybeUninit<T>] as *mut [T]) }
}

/// Formats into a byte vector in the arena; `Err(bytes needed)` if the arena refused it.
fn format_into<'a, H: sealed::Handle<'a>>(
    h: H,
    args: fmt::Arguments<'_>,
) -> Result<&'a mut str, usize> {
    struct Sink<A: Allocator> {
        buf: Vec<u8, A>,
        refused: Option<usize>,
    }
    impl<A: Allocator> fmt::Write for Sink<A> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            if self.buf.try_reserve(s.len()).is_err() {
                self.refused = Some(self.buf.len().saturating_add(s.len()));
                return Err(fmt::Error);
            }
            self.buf.extend_from_slice(s.as_bytes());
            Ok(())
        }
    }
    let mut sink = Sink {
        buf: Vec::new_in(h),
        refused: None,
    };
    if fmt::Write::write_fmt(&mut sink, args).is_err() {
        match sink.refused {
            Some(needed) => return Err(needed),
            None => panic!("a formatting trait implementation returned an error"),
        }
    }
    let bytes: &'a mut [u8] = sink.buf.leak();
    // SAFETY: only `str`s were appended.
    Ok(unsafe { core::str::from_utf8_unchecked_mut(bytes) })
}
