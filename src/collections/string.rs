//! [`String`]: a UTF-8 string whose bytes live in an [`Allocator`].
//!
//! It is a thin wrapper over `allocator_api2::vec::Vec<u8, A>` that keeps one invariant: the
//! bytes are always valid UTF-8. Every way in appends a `&str` or a `char`, and every way of
//! shortening cuts at a char boundary, so reading the bytes back as `str` needs no check; that
//! read is the only unsafe code here.
//!
//! Unlike `allocator_api2`'s `Vec`, whose growth aborts the process when the allocator refuses,
//! the growing methods here panic with a message that says how much was asked for (a panic can
//! be caught, and a full fixed `Arena` is an ordinary event), and each has a `try_` form that
//! returns the error instead. `fmt::Write` reports a refusal as `fmt::Error`.

use allocator_api2::alloc::Allocator;
use allocator_api2::collections::{TryReserveError, TryReserveErrorKind};
use allocator_api2::vec::Vec;
use core::borrow::{Borrow, BorrowMut};
use core::fmt;
use core::hash::{Hash, Hasher};
use core::ops::{Deref, DerefMut};

/// A growable UTF-8 string in an allocator, like `std::string::String` but with an `A`.
///
/// Create it with [`new_in`](Self::new_in), [`with_capacity_in`](Self::with_capacity_in),
/// [`from_str_in`](Self::from_str_in) or the [`format_in!`](crate::format_in) macro. It derefs to
/// `str`, so every `str` method works on it, and it compares equal to `str`, `&str`,
/// `std::string::String` and to `String`s in other allocators with the same text.
///
/// Where the memory comes from decides what a refusal means: a fixed
/// [`Arena`](crate::Arena) refuses when full; a scratch handle follows the
/// [overflow policy](crate::OverflowPolicy) (by default it spills to the heap and counts it);
/// `Global` only fails when the system is out of memory.
///
/// # Example
///
/// ```
/// use engram_kernels::Arena;
/// use engram_kernels::collections::String;
/// use std::fmt::Write;
///
/// let arena = Arena::with_capacity(4096);
/// let mut s = String::with_capacity_in(32, &arena);
/// s.push_str("hello");
/// s.push(',');
/// write!(s, " {}", "arena").unwrap();
/// assert_eq!(s, "hello, arena");
/// assert!(s.starts_with("hello")); // a str method, through Deref
/// assert_eq!(s.capacity(), 32);
/// ```
pub struct String<A: Allocator> {
    // Invariant: always valid UTF-8.
    vec: Vec<u8, A>,
}

impl<A: Allocator> String<A> {
    /// An empty string that allocates nothing until text is added.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::collections::String;
    /// use engram_kernels::allocator_api2::alloc::Global;
    ///
    /// let s = String::new_in(Global);
    /// assert!(s.is_empty());
    /// assert_eq!(s.capacity(), 0);
    /// ```
    #[inline]
    pub fn new_in(alloc: A) -> Self {
        Self {
            vec: Vec::new_in(alloc),
        }
    }

    /// An empty string with room for at least `capacity` bytes.
    ///
    /// # Panics
    ///
    /// If the allocator refuses `capacity` bytes, or `capacity` exceeds `isize::MAX`. Use
    /// [`new_in`](Self::new_in) and [`try_reserve`](Self::try_reserve) to get an error instead.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::Arena;
    /// use engram_kernels::collections::String;
    ///
    /// let arena = Arena::with_capacity(1024);
    /// let s = String::with_capacity_in(100, &arena);
    /// assert!(s.capacity() >= 100);
    /// assert!(arena.used() >= 100);
    /// ```
    #[track_caller]
    pub fn with_capacity_in(capacity: usize, alloc: A) -> Self {
        let mut s = Self::new_in(alloc);
        s.reserve_exact(capacity);
        s
    }

    /// A copy of `text` in the allocator.
    ///
    /// # Panics
    ///
    /// If the allocator refuses `text.len()` bytes.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::collections::String;
    ///
    /// engram_kernels::with_arena(|scratch| {
    ///     let s = String::from_str_in("memory", scratch);
    ///     assert_eq!(s, "memory");
    /// });
    /// ```
    #[track_caller]
    pub fn from_str_in(text: &str, alloc: A) -> Self {
        let mut s = Self::new_in(alloc);
        s.reserve_exact(text.len());
        s.push_str(text);
        s
    }

    /// Formats `args` into a new string; what [`format_in!`](crate::format_in) calls.
    ///
    /// # Panics
    ///
    /// If the allocator refuses, or a `Display` implementation returns an error on its own.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::collections::String;
    /// use engram_kernels::allocator_api2::alloc::Global;
    ///
    /// let s = String::from_fmt_in(format_args!("{}+{}", 1, 2), Global);
    /// assert_eq!(s, "1+2");
    /// ```
    #[track_caller]
    pub fn from_fmt_in(args: fmt::Arguments<'_>, alloc: A) -> Self {
        match Self::try_from_fmt_in(args, alloc) {
            Ok(s) => s,
            Err(e) => refused(&e),
        }
    }

    /// Formats `args` into a new string, or returns the allocator's refusal; what
    /// [`try_format_in!`](crate::try_format_in) calls.
    ///
    /// # Errors
    ///
    /// A [`TryReserveError`] when the allocator refuses the memory.
    ///
    /// # Panics
    ///
    /// If a `Display` implementation returns an error on its own (as `format!` does).
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::Arena;
    /// use engram_kernels::collections::String;
    ///
    /// let arena = Arena::with_capacity(8);
    /// assert!(String::try_from_fmt_in(format_args!("{}", "0123456789"), &arena).is_err());
    /// ```
    pub fn try_from_fmt_in(args: fmt::Arguments<'_>, alloc: A) -> Result<Self, TryReserveError> {
        let mut s = Self::new_in(alloc);
        if let Some(literal) = args.as_str() {
            s.vec.try_reserve_exact(literal.len())?;
            s.try_push_str(literal)?;
            return Ok(s);
        }
        let mut sink = Sink {
            s: &mut s,
            refused: None,
        };
        match fmt::write(&mut sink, args) {
            Ok(()) => Ok(s),
            Err(fmt::Error) => match sink.refused {
                Some(e) => Err(e),
                None => panic!(
                    "a formatting trait implementation returned an error when the underlying \
                     stream did not"
                ),
            },
        }
    }

    /// Appends `text`.
    ///
    /// # Panics
    ///
    /// If the string has to grow and the allocator refuses; see
    /// [`try_push_str`](Self::try_push_str).
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::Arena;
    /// use engram_kernels::collections::String;
    ///
    /// let arena = Arena::with_capacity(256);
    /// let mut s = String::new_in(&arena);
    /// s.push_str("graph");
    /// s.push_str(" memory");
    /// assert_eq!(s.as_str(), "graph memory");
    /// ```
    #[inline]
    #[track_caller]
    pub fn push_str(&mut self, text: &str) {
        if let Err(e) = self.try_push_str(text) {
            refused(&e)
        }
    }

    /// Appends `text`, or returns the allocator's refusal and leaves the string as it was.
    ///
    /// # Errors
    ///
    /// A [`TryReserveError`] if the string has to grow and the allocator refuses.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::Arena;
    /// use engram_kernels::collections::String;
    ///
    /// let arena = Arena::with_capacity(8);
    /// let mut s = String::new_in(&arena);
    /// assert!(s.try_push_str("1234").is_ok());
    /// assert!(s.try_push_str("this does not fit in eight bytes").is_err());
    /// assert_eq!(s, "1234");
    /// ```
    #[inline]
    pub fn try_push_str(&mut self, text: &str) -> Result<(), TryReserveError> {
        self.vec.try_reserve(text.len())?;
        // Cannot reallocate: the room was reserved above.
        self.vec.extend_from_slice(text.as_bytes());
        Ok(())
    }

    /// Appends one character.
    ///
    /// # Panics
    ///
    /// If the string has to grow and the allocator refuses; see [`try_push`](Self::try_push).
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::Arena;
    /// use engram_kernels::collections::String;
    ///
    /// let arena = Arena::with_capacity(256);
    /// let mut s = String::new_in(&arena);
    /// s.push('é');
    /// s.push('!');
    /// assert_eq!(s, "é!");
    /// assert_eq!(s.len(), 3); // bytes, as for str
    /// ```
    #[inline]
    #[track_caller]
    pub fn push(&mut self, ch: char) {
        self.push_str(ch.encode_utf8(&mut [0; 4]));
    }

    /// Appends one character, or returns the allocator's refusal.
    ///
    /// # Errors
    ///
    /// A [`TryReserveError`] if the string has to grow and the allocator refuses.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::Arena;
    /// use engram_kernels::collections::String;
    ///
    /// let arena = Arena::with_capacity(0);
    /// let mut s = String::new_in(&arena);
    /// assert!(s.try_push('x').is_err());
    /// ```
    #[inline]
    pub fn try_push(&mut self, ch: char) -> Result<(), TryReserveError> {
        self.try_push_str(ch.encode_utf8(&mut [0; 4]))
    }

    /// Removes and returns the last character, if any.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::collections::String;
    /// use engram_kernels::allocator_api2::alloc::Global;
    ///
    /// let mut s = String::from_str_in("ok✓", Global);
    /// assert_eq!(s.pop(), Some('✓'));
    /// assert_eq!(s, "ok");
    /// ```
    pub fn pop(&mut self) -> Option<char> {
        let ch = self.as_str().chars().next_back()?;
        self.vec.truncate(self.vec.len() - ch.len_utf8());
        Some(ch)
    }

    /// Shortens the string to `new_len` bytes; does nothing if it is not longer than that.
    /// The capacity is kept.
    ///
    /// # Panics
    ///
    /// If `new_len` is not on a char boundary.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::collections::String;
    /// use engram_kernels::allocator_api2::alloc::Global;
    ///
    /// let mut s = String::from_str_in("spreading", Global);
    /// s.truncate(6);
    /// assert_eq!(s, "spread");
    /// ```
    #[track_caller]
    pub fn truncate(&mut self, new_len: usize) {
        if new_len < self.len() {
            assert!(
                self.is_char_boundary(new_len),
                "String::truncate: byte {new_len} is not on a char boundary"
            );
            self.vec.truncate(new_len);
        }
    }

    /// Empties the string, keeping its capacity.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::collections::String;
    /// use engram_kernels::allocator_api2::alloc::Global;
    ///
    /// let mut s = String::from_str_in("abc", Global);
    /// let cap = s.capacity();
    /// s.clear();
    /// assert!(s.is_empty());
    /// assert_eq!(s.capacity(), cap);
    /// ```
    #[inline]
    pub fn clear(&mut self) {
        self.vec.clear();
    }

    /// The text.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::collections::String;
    /// use engram_kernels::allocator_api2::alloc::Global;
    ///
    /// let s = String::from_str_in("abc", Global);
    /// let t: &str = s.as_str();
    /// assert_eq!(t, "abc");
    /// ```
    #[inline]
    pub fn as_str(&self) -> &str {
        // SAFETY: the bytes are valid UTF-8: only `str`s and encoded `char`s are ever appended,
        // and the string is only ever shortened at a char boundary (`pop`, `truncate`, `clear`).
        unsafe { core::str::from_utf8_unchecked(&self.vec) }
    }

    /// The text, mutably (for in-place `str` operations such as `make_ascii_uppercase`).
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::collections::String;
    /// use engram_kernels::allocator_api2::alloc::Global;
    ///
    /// let mut s = String::from_str_in("abc", Global);
    /// s.as_mut_str().make_ascii_uppercase();
    /// assert_eq!(s, "ABC");
    /// ```
    #[inline]
    pub fn as_mut_str(&mut self) -> &mut str {
        // SAFETY: as in `as_str`; safe code cannot break UTF-8 through a `&mut str`.
        unsafe { core::str::from_utf8_unchecked_mut(&mut self.vec) }
    }

    /// The text's bytes.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::collections::String;
    /// use engram_kernels::allocator_api2::alloc::Global;
    ///
    /// assert_eq!(String::from_str_in("hi", Global).as_bytes(), b"hi");
    /// ```
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.vec
    }

    /// The underlying byte vector, in the same allocator.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::collections::String;
    /// use engram_kernels::allocator_api2::alloc::Global;
    ///
    /// let bytes = String::from_str_in("hi", Global).into_bytes();
    /// assert_eq!(&bytes[..], b"hi");
    /// ```
    #[inline]
    pub fn into_bytes(self) -> Vec<u8, A> {
        self.vec
    }

    /// Turns the string into a `&mut str` that lives as long as the allocator handle allows,
    /// without freeing it (like `std::string::String::leak`). With `&'a Arena` that is `'a`,
    /// and the bytes are reclaimed by the arena's next reset; in a scratch scope, at the end of
    /// the scope; with `Global`, never.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::{Arena, format_in};
    ///
    /// let arena = Arena::with_capacity(1024);
    /// let names: Vec<&str> = (0..3).map(|i| &*format_in!(&arena, "n{i}").leak()).collect();
    /// assert_eq!(names, ["n0", "n1", "n2"]);
    /// ```
    pub fn leak<'a>(self) -> &'a mut str
    where
        A: 'a,
    {
        let bytes = self.vec.leak();
        // SAFETY: the bytes are valid UTF-8 (the type's invariant, see `as_str`).
        unsafe { core::str::from_utf8_unchecked_mut(bytes) }
    }

    /// Length in bytes.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::collections::String;
    /// use engram_kernels::allocator_api2::alloc::Global;
    ///
    /// assert_eq!(String::from_str_in("naïve", Global).len(), 6);
    /// ```
    #[inline]
    pub fn len(&self) -> usize {
        self.vec.len()
    }

    /// Whether the string has no text.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::collections::String;
    /// use engram_kernels::allocator_api2::alloc::Global;
    ///
    /// assert!(String::new_in(Global).is_empty());
    /// ```
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.vec.is_empty()
    }

    /// Bytes the string can hold without asking its allocator for more.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::collections::String;
    /// use engram_kernels::allocator_api2::alloc::Global;
    ///
    /// assert!(String::with_capacity_in(10, Global).capacity() >= 10);
    /// ```
    #[inline]
    pub fn capacity(&self) -> usize {
        self.vec.capacity()
    }

    /// Makes room for at least `additional` more bytes (possibly more, to amortise growth).
    ///
    /// # Panics
    ///
    /// If the allocator refuses or the new capacity exceeds `isize::MAX`; see
    /// [`try_reserve`](Self::try_reserve).
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::collections::String;
    /// use engram_kernels::allocator_api2::alloc::Global;
    ///
    /// let mut s = String::new_in(Global);
    /// s.reserve(64);
    /// assert!(s.capacity() >= 64);
    /// ```
    #[track_caller]
    pub fn reserve(&mut self, additional: usize) {
        if let Err(e) = self.vec.try_reserve(additional) {
            refused(&e)
        }
    }

    /// Makes room for exactly `additional` more bytes, no more (what an arena user usually
    /// wants: an arena does not get over-allocated space back until its reset).
    ///
    /// # Panics
    ///
    /// If the allocator refuses or the new capacity exceeds `isize::MAX`.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::Arena;
    /// use engram_kernels::collections::String;
    ///
    /// let arena = Arena::with_capacity(1024);
    /// let mut s = String::new_in(&arena);
    /// s.reserve_exact(10);
    /// assert_eq!(s.capacity(), 10);
    /// ```
    #[track_caller]
    pub fn reserve_exact(&mut self, additional: usize) {
        if let Err(e) = self.vec.try_reserve_exact(additional) {
            refused(&e)
        }
    }

    /// Like [`reserve`](Self::reserve), but returns the refusal instead of panicking; the
    /// string is unchanged on error.
    ///
    /// # Errors
    ///
    /// A [`TryReserveError`] if the new capacity exceeds `isize::MAX` or the allocator refuses.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::Arena;
    /// use engram_kernels::collections::String;
    ///
    /// let arena = Arena::with_capacity(64);
    /// let mut s = String::new_in(&arena);
    /// assert!(s.try_reserve(32).is_ok());
    /// assert!(s.try_reserve(1 << 20).is_err());
    /// assert!(s.try_reserve(usize::MAX).is_err());
    /// ```
    pub fn try_reserve(&mut self, additional: usize) -> Result<(), TryReserveError> {
        self.vec.try_reserve(additional)
    }

    /// Gives back unused capacity where the allocator can (an arena can when the string is its
    /// most recent block).
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::collections::String;
    /// use engram_kernels::allocator_api2::alloc::Global;
    ///
    /// let mut s = String::with_capacity_in(100, Global);
    /// s.push_str("short");
    /// s.shrink_to_fit();
    /// assert_eq!(s.capacity(), 5);
    /// ```
    pub fn shrink_to_fit(&mut self) {
        self.vec.shrink_to_fit();
    }

    /// The allocator the string lives in.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::Arena;
    /// use engram_kernels::collections::String;
    ///
    /// let arena = Arena::with_capacity(64);
    /// let s = String::new_in(&arena);
    /// assert!(std::ptr::eq(*s.allocator(), &arena));
    /// ```
    #[inline]
    pub fn allocator(&self) -> &A {
        self.vec.allocator()
    }
}

/// Panics with what the allocator refused; kept out of line so the callers stay small.
#[cold]
#[inline(never)]
#[track_caller]
fn refused(e: &TryReserveError) -> ! {
    match e.kind() {
        TryReserveErrorKind::AllocError { layout, .. } => panic!(
            "engram_kernels::collections::String: the allocator refused {} bytes (a full fixed \
             Arena, or a scratch arena under the Error overflow policy); the try_ methods and \
             try_format_in! return this as an error instead",
            layout.size()
        ),
        TryReserveErrorKind::CapacityOverflow => {
            panic!("engram_kernels::collections::String: capacity overflow")
        }
    }
}

/// `fmt::Write` into a string, remembering an allocation refusal so that it can be told apart
/// from a `Display` implementation's own error.
struct Sink<'a, A: Allocator> {
    s: &'a mut String<A>,
    refused: Option<TryReserveError>,
}

impl<A: Allocator> fmt::Write for Sink<'_, A> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.s.try_push_str(text).map_err(|e| {
            self.refused = Some(e);
            fmt::Error
        })
    }
}

/// Appends formatted text; an allocation refusal is reported as `fmt::Error` and leaves the
/// text written so far.
impl<A: Allocator> fmt::Write for String<A> {
    #[inline]
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.try_push_str(text).map_err(|_| fmt::Error)
    }

    #[inline]
    fn write_char(&mut self, ch: char) -> fmt::Result {
        self.try_push(ch).map_err(|_| fmt::Error)
    }
}

impl<A: Allocator> Deref for String<A> {
    type Target = str;

    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl<A: Allocator> DerefMut for String<A> {
    #[inline]
    fn deref_mut(&mut self) -> &mut str {
        self.as_mut_str()
    }
}

impl<A: Allocator> AsRef<str> for String<A> {
    #[inline]
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl<A: Allocator> AsRef<[u8]> for String<A> {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl<A: Allocator> AsMut<str> for String<A> {
    #[inline]
    fn as_mut(&mut self) -> &mut str {
        self.as_mut_str()
    }
}

/// Lets a map keyed by `String<A>` be looked up with a `&str` (`Hash` and `Eq` agree with
/// `str`'s).
impl<A: Allocator> Borrow<str> for String<A> {
    #[inline]
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl<A: Allocator> BorrowMut<str> for String<A> {
    #[inline]
    fn borrow_mut(&mut self) -> &mut str {
        self.as_mut_str()
    }
}

impl<A: Allocator> fmt::Display for String<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl<A: Allocator> fmt::Debug for String<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Copies the text into a new block of a clone of the allocator.
impl<A: Allocator + Clone> Clone for String<A> {
    fn clone(&self) -> Self {
        Self {
            vec: self.vec.clone(),
        }
    }
}

impl<A: Allocator + Default> Default for String<A> {
    fn default() -> Self {
        Self::new_in(A::default())
    }
}

impl<A: Allocator> Hash for String<A> {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl<A: Allocator, B: Allocator> PartialEq<String<B>> for String<A> {
    #[inline]
    fn eq(&self, other: &String<B>) -> bool {
        self.as_str() == other.as_str()
    }
}

impl<A: Allocator> Eq for String<A> {}

impl<A: Allocator, B: Allocator> PartialOrd<String<B>> for String<A> {
    #[inline]
    fn partial_cmp(&self, other: &String<B>) -> Option<core::cmp::Ordering> {
        self.as_str().partial_cmp(other.as_str())
    }
}

impl<A: Allocator> Ord for String<A> {
    #[inline]
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

/// Equality with the other string types, in both directions.
macro_rules! eq_with {
    ($($other:ty),*) => {$(
        impl<A: Allocator> PartialEq<$other> for String<A> {
            #[inline]
            fn eq(&self, other: &$other) -> bool {
                self.as_str() == &other[..]
            }
        }

        impl<A: Allocator> PartialEq<String<A>> for $other {
            #[inline]
            fn eq(&self, other: &String<A>) -> bool {
                &self[..] == other.as_str()
            }
        }
    )*};
}

eq_with!(str, &str, std::string::String);

impl<A: Allocator> Extend<char> for String<A> {
    fn extend<I: IntoIterator<Item = char>>(&mut self, iter: I) {
        let iter = iter.into_iter();
        self.reserve(iter.size_hint().0);
        iter.for_each(|ch| self.push(ch));
    }
}

impl<'c, A: Allocator> Extend<&'c char> for String<A> {
    fn extend<I: IntoIterator<Item = &'c char>>(&mut self, iter: I) {
        self.extend(iter.into_iter().copied());
    }
}

impl<'s, A: Allocator> Extend<&'s str> for String<A> {
    fn extend<I: IntoIterator<Item = &'s str>>(&mut self, iter: I) {
        iter.into_iter().for_each(|s| self.push_str(s));
    }
}
