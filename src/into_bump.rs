//! [`IntoBumpSlice`] and [`IntoBumpStr`]: an arena vector or string turned into a plain slice or
//! `str` that lives as long as the arena's blocks, like bumpalo's `into_bump_slice` and
//! `into_bump_str`.
//!
//! Only for the crate's own handles (`&'a Arena`, `Scratch<'a>`): their blocks stay valid for
//! all of `'a` (the contract of `sealed::Handle`), and nothing can free them earlier, since a
//! reset needs `&mut Arena` and a scratch scope outlives its handles. A general allocator makes
//! no such promise, so the traits are not implemented for one.

use crate::arena_alloc::sealed;
use crate::collections::String;
use allocator_api2::vec::Vec;

/// Turns an arena `Vec` into a slice with the arena's lifetime: bumpalo's
/// `Vec::into_bump_slice` for `allocator_api2::vec::Vec<T, &'a Arena>` and
/// `Vec<T, Scratch<'a>>`.
///
/// The elements stay where they are (no copy); spare capacity is given back first where the
/// arena can take it (when the vector is its most recent block). The slice borrows the arena
/// (`&'a Arena`), so the borrow checker forbids a [`reset`](crate::Arena::reset) while it is
/// alive; from a scratch handle it cannot leave the scope.
///
/// Like every value in an arena, the elements are never dropped: a `Vec<String, _>` turned
/// into a slice leaks its strings' heap buffers. Drop them yourself (e.g. `slice.iter_mut()`
/// with `core::mem::take`) if that matters.
///
/// # Example
///
/// ```
/// use engram_kernels::allocator_api2::vec::Vec;
/// use engram_kernels::{Arena, ArenaAlloc, IntoBumpSlice};
///
/// let arena = Arena::new();
/// let mut v = Vec::new_in(&arena);
/// v.extend([3u32, 1, 2]);
/// let sorted: &mut [u32] = {
///     v.sort();
///     v.into_bump_slice_mut()
/// };
/// let more = arena.alloc_slice_fill_copy(100, 9u32); // the slice is not disturbed
/// assert_eq!(sorted, &[1, 2, 3]);
/// assert_eq!(more.len(), 100);
/// ```
///
/// The slice cannot outlive a reset:
///
/// ```compile_fail,E0502
/// use engram_kernels::allocator_api2::vec::Vec;
/// use engram_kernels::{Arena, IntoBumpSlice};
///
/// let mut arena = Arena::new();
/// let v: Vec<u8, _> = engram_kernels::vec![in &arena; 1, 2];
/// let slice = v.into_bump_slice();
/// arena.reset();
/// assert_eq!(slice, [1, 2]);
/// ```
pub trait IntoBumpSlice<'a, T> {
    /// The elements, as a shared slice in the arena.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{IntoBumpSlice, vec, with_arena};
    ///
    /// with_arena(|scratch| {
    ///     let words: &[&str] = vec![in scratch; "a", "b"].into_bump_slice();
    ///     assert_eq!(words, ["a", "b"]);
    /// });
    /// ```
    fn into_bump_slice(self) -> &'a [T];

    /// The elements, as a mutable slice in the arena.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{Arena, IntoBumpSlice, vec};
    ///
    /// let arena = Arena::new();
    /// let counts = vec![in &arena; 0u32; 3].into_bump_slice_mut();
    /// counts[2] += 1;
    /// assert_eq!(counts, &[0, 0, 1]);
    /// ```
    fn into_bump_slice_mut(self) -> &'a mut [T];
}

impl<'a, T, H: sealed::Handle<'a>> IntoBumpSlice<'a, T> for Vec<T, H> {
    #[inline]
    fn into_bump_slice(self) -> &'a [T] {
        self.into_bump_slice_mut()
    }

    #[inline]
    fn into_bump_slice_mut(mut self) -> &'a mut [T] {
        // In the chunk, a shrink is in place (and moves the cursor back for the newest block).
        self.shrink_to_fit();
        // `leak` never frees the block, and `H: 'a` with the `Handle` contract keeps it valid
        // for `'a`.
        self.leak()
    }
}

/// Turns an arena [`String`] into a `str` with the arena's lifetime: bumpalo's
/// `String::into_bump_str`, for `String<&'a Arena>` and `String<Scratch<'a>>`.
///
/// The text stays where it is (no copy); spare capacity is given back where the arena can take
/// it. As for [`IntoBumpSlice`], the `str` borrows the arena, so it cannot outlive a reset or
/// the scratch scope.
///
/// # Example
///
/// ```
/// use engram_kernels::{Arena, IntoBumpStr, format_in};
///
/// let arena = Arena::new();
/// let label: &str = format_in!(&arena, "node-{:03}", 7).into_bump_str();
/// let other: &str = format_in!(&arena, "node-{:03}", 8).into_bump_str();
/// assert_eq!((label, other), ("node-007", "node-008"));
/// ```
pub trait IntoBumpStr<'a> {
    /// The text, as a `str` in the arena.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::collections::String;
    /// use engram_kernels::{IntoBumpStr, with_arena};
    ///
    /// with_arena(|scratch| {
    ///     let mut s = String::new_in(scratch);
    ///     s.push_str("scratch");
    ///     let s: &str = s.into_bump_str();
    ///     assert_eq!(s, "scratch");
    /// });
    /// ```
    fn into_bump_str(self) -> &'a str;

    /// The text, as a mutable `str` in the arena.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::collections::String;
    /// use engram_kernels::{Arena, IntoBumpStr};
    ///
    /// let arena = Arena::new();
    /// let s = String::from_str_in("loud", &arena).into_bump_str_mut();
    /// s.make_ascii_uppercase();
    /// assert_eq!(s, "LOUD");
    /// ```
    fn into_bump_str_mut(self) -> &'a mut str;
}

impl<'a, H: sealed::Handle<'a>> IntoBumpStr<'a> for String<H> {
    #[inline]
    fn into_bump_str(self) -> &'a str {
        self.into_bump_str_mut()
    }

    #[inline]
    fn into_bump_str_mut(mut self) -> &'a mut str {
        self.shrink_to_fit();
        // As for the slice: never freed, and valid for `'a` by the `Handle` contract.
        self.leak()
    }
}
