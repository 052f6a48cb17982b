//! Collections that live in any [`Allocator`](allocator_api2::alloc::Allocator): today, an
//! arena [`String`] and the [`format_in!`](crate::format_in) macro that builds one.
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

mod string;

pub use string::String;

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
