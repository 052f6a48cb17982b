//! Collections that live in any [`Allocator`](allocator_api2::alloc::Allocator): an arena
//! [`String`] and the [`format_in!`](crate::format_in) macro that builds one, the
//! [`vec!`](crate::vec) macro for `allocator_api2` vectors, and `collect` into an allocator
//! ([`CollectIn`], [`FromIteratorIn`]).
//!
//! `allocator_api2::vec::Vec` and `hashbrown::HashMap` already take an allocator
//! (`Vec::new_in(&arena)`, `HashMap::new_in(scratch)`); what `allocator_api2` lacks is a string,
//! so the crate has one. It works with every handle the crate hands out (`&Arena`, a
//! [`with_arena`](crate::with_arena) scratch handle, a [`with_arena_sized`](crate::with_arena_sized)
//! batch handle) and with `allocator_api2::alloc::Global`.
//!
//! # Example
//!
//! ```
//! use engram_kernels::collections::String;
//! use engram_kernels::{format_in, with_arena};
//!
//! let total = with_arena(|scratch| {
//!     let mut line = String::new_in(scratch);
//!     line.push_str("id=");
//!     line.push('7');
//!     let label = format_in!(scratch, "{line} score={:.2}", 0.5);
//!     assert_eq!(label, "id=7 score=0.50");
//!     label.len()
//! }); // both strings are released with the scope
//! assert_eq!(total, 15);
//! ```

mod collect;
mod string;

pub use collect::{CollectIn, FromIteratorIn};
pub use string::String;

/// An `allocator_api2` vector in an allocator, like bumpalo's `vec![in &bump; ...]`.
///
/// * `vec![in alloc; a, b, c]`: the listed elements (one block of exactly their number);
/// * `vec![in alloc; elem; n]`: `n` clones of `elem` (the last one is `elem` itself; with `n`
///   zero, `elem` is dropped);
/// * `vec![in alloc]`: an empty vector, no memory yet.
///
/// `alloc` is any `allocator_api2::alloc::Allocator`: `&Arena`, a scratch handle, `Global`...
/// The result is `allocator_api2::vec::Vec<T, A>`. (`allocator_api2`'s own `vec!` does not
/// accept an arena handle.) Any other input is passed to the standard `vec!`, so that a module
/// that imports this one (`use engram_kernels::vec;`) can still write `vec![1, 2]` for a heap
/// `Vec`.
///
/// The prelude does not bring it in: a glob import of a macro named `vec` would make every
/// `vec!` in the module ambiguous with the standard one (error E0659). Write
/// `engram_kernels::vec![in ..]`, or import it by name.
///
/// # Panics
///
/// Like any `allocator_api2` vector, it aborts the process (through `handle_alloc_error`) when
/// the allocator refuses, e.g. a full fixed arena; build it with `Vec::new_in` and
/// `try_reserve` to get an error instead.
///
/// # Example
///
/// ```
/// use engram_kernels::{Arena, vec, with_arena};
///
/// let arena = Arena::new();
/// let primes = vec![in &arena; 2u32, 3, 5, 7];
/// assert_eq!(primes, [2, 3, 5, 7]);
/// let grid = vec![in &arena; vec![in &arena; 0u8; 3]; 2];
/// assert_eq!(grid[1], [0, 0, 0]);
/// let heap = vec![1, 2]; // the standard macro, a std Vec
/// assert_eq!(heap.len(), 2);
///
/// with_arena(|scratch| {
///     let mut names = vec![in scratch];
///     names.push("ada");
///     assert_eq!(names, ["ada"]);
/// });
/// ```
#[macro_export]
macro_rules! vec {
    (in $alloc:expr $(;)?) => {
        $crate::allocator_api2::vec::Vec::new_in($alloc)
    };
    (in $alloc:expr; $elem:expr; $n:expr) => {{
        // Element first, then count, as the standard `vec![elem; n]` evaluates them.
        let elem = $elem;
        let n: usize = $n;
        let mut v = $crate::allocator_api2::vec::Vec::with_capacity_in(n, $alloc);
        ::core::iter::Extend::extend(&mut v, ::core::iter::repeat_n(elem, n));
        v
    }};
    (in $alloc:expr; $($x:expr),+ $(,)?) => {{
        let mut v = $crate::allocator_api2::vec::Vec::new_in($alloc);
        // An array is an exact-size iterator: one reservation of exactly its length.
        ::core::iter::Extend::extend(&mut v, [$($x),+]);
        v
    }};
    ($($std:tt)*) => {
        ::std::vec![$($std)*]
    };
}

/// Builds a [`String`](crate::collections::String) in an allocator, like `format!`.
///
/// `format_in!(alloc, "fmt", args..)` takes the allocator first (anything that implements
/// `allocator_api2::alloc::Allocator`: `&Arena`, a scratch handle, `Global`, ...), then the
/// usual `format!` arguments.
///
/// # Panics
///
/// If the allocator refuses the memory (a full fixed `Arena`, or a scratch handle under the
/// `Error` overflow policy), with a message that says how many bytes were asked for; use
/// [`try_format_in!`](crate::try_format_in) to get an error instead. Like `format!`, it also
/// panics if a `Display` implementation returns an error on its own.
///
/// # Example
///
/// ```
/// use engram_kernels::{Arena, format_in};
///
/// let arena = Arena::with_capacity(1024);
/// let s = format_in!(&arena, "{}-{:03}", "node", 7);
/// assert_eq!(s, "node-007");
/// assert!(arena.used() >= s.len());
/// ```
#[macro_export]
macro_rules! format_in {
    ($alloc:expr, $($arg:tt)+) => {
        $crate::collections::String::from_fmt_in(::core::format_args!($($arg)+), $alloc)
    };
}

/// Like [`format_in!`](crate::format_in), but returns `Err` when the allocator refuses.
///
/// The result is `Result<String<A>, allocator_api2::collections::TryReserveError>`.
///
/// # Panics
///
/// Only if a `Display` implementation returns an error on its own (as `format!` does).
///
/// # Example
///
/// ```
/// use engram_kernels::{Arena, try_format_in};
///
/// let arena = Arena::with_capacity(16);
/// assert_eq!(try_format_in!(&arena, "{}", 42).unwrap(), "42");
/// assert!(try_format_in!(&arena, "{:>100}", "too wide for 16 bytes").is_err());
/// ```
#[macro_export]
macro_rules! try_format_in {
    ($alloc:expr, $($arg:tt)+) => {
        $crate::collections::String::try_from_fmt_in(::core::format_args!($($arg)+), $alloc)
    };
}
