//! [`FromIteratorIn`] and [`CollectIn`]: `collect()` into a collection that lives in an allocator.
//!
//! `Iterator::collect` cannot take an allocator, so the collection names its allocator type
//! ([`FromIteratorIn::Alloc`]) and `collect_in` takes the value. The implementations are for
//! the collections that take any [`Allocator`]: `allocator_api2`'s `Vec`, this crate's
//! [`String`], and (feature `hashbrown`) hashbrown's `HashMap` and `HashSet`; plus `Option` and
//! `Result` of any of them, which stop at the first `None` or `Err` as `collect` does.

use super::String;
use allocator_api2::alloc::Allocator;
use allocator_api2::vec::Vec;

/// A collection that can be built from an iterator in a given allocator: `FromIterator` with an
/// allocator. Call it through [`CollectIn::collect_in`].
///
/// # Example
///
/// ```
/// use engram_kernels::Arena;
/// use engram_kernels::allocator_api2::vec::Vec;
/// use engram_kernels::collections::FromIteratorIn;
///
/// let arena = Arena::new();
/// let squares = Vec::from_iter_in((1..=4u32).map(|i| i * i), &arena);
/// assert_eq!(squares, [1, 4, 9, 16]);
/// ```
pub trait FromIteratorIn<T>: Sized {
    /// The allocator the collection lives in (`&Arena`, a scratch handle, `Global`, ...).
    type Alloc;

    /// The collection of `iter`'s items, in `alloc`.
    ///
    /// # Panics
    ///
    /// When the allocator refuses, as the collection's own growth does (`Vec` and hashbrown's
    /// maps abort through `handle_alloc_error`; [`String`] panics with the size asked for).
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::collections::{FromIteratorIn, String};
    ///
    /// engram_kernels::with_arena(|scratch| {
    ///     let s = String::from_iter_in(['a', 'b', 'c'], scratch);
    ///     assert_eq!(s, "abc");
    /// });
    /// ```
    fn from_iter_in<I: IntoIterator<Item = T>>(iter: I, alloc: Self::Alloc) -> Self;
}

/// `collect_in(alloc)`: [`Iterator::collect`] into a collection in an allocator.
///
/// Implemented for every iterator; the target is any [`FromIteratorIn`] collection. Name it
/// with a turbofish (`collect_in::<Vec<_, _>>(&arena)`) or a type on the binding. Iterators
/// without a useful size hint are fine: the collection grows as it goes (in an arena, growing
/// the most recent block happens in place).
///
/// # Example
///
/// ```
/// use engram_kernels::Arena;
/// use engram_kernels::allocator_api2::vec::Vec;
/// use engram_kernels::collections::{CollectIn, String};
///
/// let arena = Arena::new();
/// let words = "to be or not".split(' ').collect_in::<Vec<_, _>>(&arena);
/// assert_eq!(words.len(), 4);
/// let initials: String<_> = words.iter().flat_map(|w| w.chars().take(1)).collect_in(&arena);
/// assert_eq!(initials, "tbon");
/// let parsed: Result<Vec<u8, _>, _> = ["1", "x"].iter().map(|s| s.parse::<u8>()).collect_in(&arena);
/// assert!(parsed.is_err());
/// ```
pub trait CollectIn: Iterator + Sized {
    /// Collects the items into `C`, in `alloc`.
    ///
    /// # Panics
    ///
    /// When the allocator refuses; see [`FromIteratorIn::from_iter_in`].
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::allocator_api2::vec::Vec;
    /// use engram_kernels::collections::CollectIn;
    ///
    /// engram_kernels::with_arena(|scratch| {
    ///     let evens: Vec<u32, _> = (0..10).filter(|i| i % 2 == 0).collect_in(scratch);
    ///     assert_eq!(evens, [0, 2, 4, 6, 8]);
    /// });
    /// ```
    #[inline]
    fn collect_in<C: FromIteratorIn<Self::Item>>(self, alloc: C::Alloc) -> C {
        C::from_iter_in(self, alloc)
    }
}

impl<I: Iterator> CollectIn for I {}

impl<T, A: Allocator> FromIteratorIn<T> for Vec<T, A> {
    type Alloc = A;

    #[inline]
    fn from_iter_in<I: IntoIterator<Item = T>>(iter: I, alloc: A) -> Self {
        let mut v = Vec::new_in(alloc);
        // `extend` reserves the size hint's lower bound on the first push, then doubles.
        v.extend(iter);
        v
    }
}

impl<A: Allocator> FromIteratorIn<char> for String<A> {
    type Alloc = A;

    fn from_iter_in<I: IntoIterator<Item = char>>(iter: I, alloc: A) -> Self {
        let mut s = String::new_in(alloc);
        s.extend(iter);
        s
    }
}

impl<'c, A: Allocator> FromIteratorIn<&'c char> for String<A> {
    type Alloc = A;

    fn from_iter_in<I: IntoIterator<Item = &'c char>>(iter: I, alloc: A) -> Self {
        let mut s = String::new_in(alloc);
        s.extend(iter);
        s
    }
}

impl<'s, A: Allocator> FromIteratorIn<&'s str> for String<A> {
    type Alloc = A;

    fn from_iter_in<I: IntoIterator<Item = &'s str>>(iter: I, alloc: A) -> Self {
        let mut s = String::new_in(alloc);
        s.extend(iter);
        s
    }
}

/// `None` at the first `None` (the items before it are dropped with the partial collection).
impl<T, C: FromIteratorIn<T>> FromIteratorIn<Option<T>> for Option<C> {
    type Alloc = C::Alloc;

    fn from_iter_in<I: IntoIterator<Item = Option<T>>>(iter: I, alloc: C::Alloc) -> Self {
        let collected: Result<C, ()> = iter.into_iter().map(|x| x.ok_or(())).collect_in(alloc);
        collected.ok()
    }
}

/// The first `Err`, or the collection of every `Ok`; iteration stops at the first `Err`.
impl<T, E, C: FromIteratorIn<T>> FromIteratorIn<Result<T, E>> for Result<C, E> {
    type Alloc = C::Alloc;

    fn from_iter_in<I: IntoIterator<Item = Result<T, E>>>(iter: I, alloc: C::Alloc) -> Self {
        let mut iter = iter.into_iter();
        let mut error = None;
        // Feeds the `Ok`s to the inner collection and ends the stream at the first `Err`.
        let oks = core::iter::from_fn(|| match iter.next()? {
            Ok(x) => Some(x),
            Err(e) => {
                error = Some(e);
                None
            }
        });
        let collection = C::from_iter_in(oks, alloc);
        match error {
            Some(e) => Err(e),
            None => Ok(collection),
        }
    }
}

#[cfg(feature = "hashbrown")]
mod hash {
    use super::FromIteratorIn;
    use allocator_api2::alloc::Allocator;
    use core::hash::{BuildHasher, Hash};
    use hashbrown::{HashMap, HashSet};

    /// Later values replace earlier ones under an equal key, as `collect` into a map does.
    impl<K, V, S, A> FromIteratorIn<(K, V)> for HashMap<K, V, S, A>
    where
        K: Eq + Hash,
        S: BuildHasher + Default,
        A: Allocator,
    {
        type Alloc = A;

        fn from_iter_in<I: IntoIterator<Item = (K, V)>>(iter: I, alloc: A) -> Self {
            let mut map = HashMap::with_hasher_in(S::default(), alloc);
            map.extend(iter);
            map
        }
    }

    impl<T, S, A> FromIteratorIn<T> for HashSet<T, S, A>
    where
        T: Eq + Hash,
        S: BuildHasher + Default,
        A: Allocator,
    {
        type Alloc = A;

        fn from_iter_in<I: IntoIterator<Item = T>>(iter: I, alloc: A) -> Self {
            let mut set = HashSet::with_hasher_in(S::default(), alloc);
            set.extend(iter);
            set
        }
    }
}
