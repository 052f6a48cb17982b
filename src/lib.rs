//! # engram-kernels
//!
//! Bump arenas for Rust, and the Engram graph-memory kernels built on them.
//!
//! * [`Arena`]: a bump arena you own. `&Arena` is an
//!   [`Allocator`](allocator_api2::alloc::Allocator), so `allocator_api2` vectors, `hashbrown`
//!   maps and this crate's [`collections::String`] live in it.
//! * [`with_arena`]: a scratch scope on the calling thread's own arena; nothing to create or
//!   pass around, and everything is released when the closure returns. [`with_arena_sized`]
//!   does the same on a larger arena from a shared pool.
//! * [`GlobalArena`]: a `#[global_allocator]` that puts every allocation made inside
//!   [`with_global_arena`] (std `Vec`, `String`, `format!`, other crates) into the thread's arena.
//! * [`metrics`] and [`config`]: process-wide counters, and the pool size and overflow policy
//!   (also from `ENGRAM_ARENA_*` environment variables).
//! * [`prelude`]: the usual names in one `use engram_kernels::prelude::*;`, with bumpalo's
//!   vocabulary: [`vec!`](crate::vec), `collect_in` ([`collections::CollectIn`]),
//!   `into_bump_slice` ([`IntoBumpSlice`]) and `into_bump_str` ([`IntoBumpStr`]).
#![cfg_attr(
    feature = "kernels",
    doc = "* [`kernels`]: SIMD batch cosine similarity and top-k, spreading activation and decay, \
           with their scratch in [`with_arena`] (feature `kernels`)."
)]
//!
//! # Features
//!
//! | Feature | Default | Gives |
//! |---|---|---|
//! | `kernels` | no | `engram_kernels::kernels` (most of the crate's compile time) |
//! | `hashbrown` | no | the `engram_kernels::hashbrown` re-export |
//!
//! Without features the crate is the allocator: arenas, scratch scopes, the global allocator,
//! metrics, configuration and collections.
//!
//! The crate re-exports [`allocator_api2`] (0.2) and, with the `hashbrown` feature, `hashbrown`
//! (0.17), so that the `Allocator` trait you name is the one the arenas implement. If you
//! depend on them directly, use `allocator-api2 = "0.2"` and
//! `hashbrown = { version = "0.17", features = ["allocator-api2"] }`: other major versions have
//! a different `Allocator` trait and the compiler reports "multiple different versions".
//!
//! # The typed helpers and what "full" means
//!
//! `&Arena` and the scratch handle have the same helpers, the methods of the [`ArenaAlloc`]
//! trait (bring it into scope: `use engram_kernels::ArenaAlloc;`); each has a `try_` form that
//! returns `Err(AllocError)` where the plain form panics (with what was asked and what was
//! left).
//!
//! | Put in the arena | Panicking | Fallible |
//! |---|---|---|
//! | a value | `alloc(v)` | `try_alloc(v)` |
//! | a value built in place | `alloc_with(f)` | `try_alloc_with(f)` |
//! | a copy of a slice (`T: Copy`) | `alloc_slice_copy(&[T])` | `try_alloc_slice_copy` |
//! | a clone of a slice (`T: Clone`) | `alloc_slice_clone(&[T])` | `try_alloc_slice_clone` |
//! | `n` copies of a value | `alloc_slice_fill_copy(n, v)` | `try_alloc_slice_fill_copy` |
//! | `n` clones of a value | `alloc_slice_fill_clone(n, &v)` | `try_alloc_slice_fill_clone` |
//! | `n` values from a function of the index | `alloc_slice_fill_with(n, f)` | `try_alloc_slice_fill_with` |
//! | `n` default values | `alloc_slice_fill_default(n)` | `try_alloc_slice_fill_default` |
//! | the items of an exact-size iterator | `alloc_slice_fill_iter(iter)` | `try_alloc_slice_fill_iter` |
//! | `n` uninitialised slots | `alloc_uninit_slice(n)` | `try_alloc_uninit_slice` |
//! | a copy of a `&str` | `alloc_str(s)` | `try_alloc_str` |
//! | formatted text | `alloc_fmt(format_args!(..))` | `try_alloc_fmt` |
//! | a growable string | [`collections::String::new_in`], [`format_in!`] | `try_push_str`, [`try_format_in!`] |
//!
//! What a request that does not fit does depends on the handle:
//!
//! | Handle | When the memory is used up |
//! |---|---|
//! | a growable `Arena` (`Arena::new`, `Arena::default`) | takes a new chunk; refuses only past its allocation limit |
//! | a fixed `Arena` (`Arena::with_capacity`) | refuses: `AllocError`, or a panic from a plain helper |
//! | a [`with_arena`] / [`with_arena_sized`] handle | follows the [`OverflowPolicy`]: served from further chunks of the shared pool (or the heap, for a request larger than any chunk) and counted (`Fallback`, the default), refused (`Error`), or a panic (`Panic`) |
//! | inside [`with_global_arena`] | served by the inner allocator and counted |
//!
//! `allocator_api2::vec::Vec` and `hashbrown` maps call `handle_alloc_error` when their
//! allocator refuses, which aborts the process: in a fixed arena, size it for them or use their
//! `try_reserve`.
//!
//! # Example
//!
//! ```
//! use engram_kernels::allocator_api2::vec::Vec;
//! use engram_kernels::{format_in, with_arena};
//!
//! let report = with_arena(|scratch| {
//!     let mut lengths = Vec::new_in(scratch);
//!     for word in "scratch memory is free to take".split(' ') {
//!         lengths.push(word.len());
//!     }
//!     let longest = lengths.iter().max().unwrap();
//!     let line = format_in!(scratch, "{} words, longest {longest}", lengths.len());
//!     line.to_string() // copy out what must outlive the scope
//! }); // everything allocated in the scope is released here, in O(1)
//! assert_eq!(report, "6 words, longest 7");
//! ```
//!
//! Layers, bottom to top (a lower layer never refers to a higher one; `tests/layers.rs` checks
//! it): the shared leaves ([`config`], [`diag`], [`metrics`], [`collections`]), the raw core
//! (`bump`, `raw`: the raw arena, its chunks and their pool), [`arena`] (the [`Arena`] handle) and
//! [`scratch`] side by side with the typed helpers they share ([`ArenaAlloc`]), [`global`], the
//! kernels. The C library is the workspace's `engram-kernels-c` crate, on top of the kernels.
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub(crate) mod bump;
pub(crate) mod raw;

pub mod arena;
mod arena_alloc;
pub mod config;
pub mod diag;
mod into_bump;
pub mod metrics;
pub mod scratch;
mod sync;

pub mod global;

pub mod collections;

#[cfg(feature = "kernels")]
pub mod kernels;

/// The `allocator_api2` crate (0.2), whose `Allocator` trait every handle here implements.
/// Name it through this path to be sure of the matching version.
pub use allocator_api2;
/// The `hashbrown` crate (0.17, with its `allocator-api2` support), for maps and sets in an
/// arena (`HashMap::new_in(&arena)`). Behind the default `hashbrown` feature.
#[cfg(feature = "hashbrown")]
pub use hashbrown;

pub use allocator_api2::alloc::AllocError;
pub use arena::{Arena, ArenaScope, ArenaStats};
pub use arena_alloc::ArenaAlloc;
pub use config::{ArenaConfig, ConfigError, OverflowPolicy};
pub use global::{GlobalArena, GlobalStats, with_global_arena};
pub use into_bump::{IntoBumpSlice, IntoBumpStr};
pub use scratch::{Scratch, thread_arena_stats, with_arena, with_arena_sized};

/// The usual names in one `use engram_kernels::prelude::*;`: the arena, its helpers, scratch
/// scopes, `collect_in` and the `into_bump_*` conversions.
///
/// Two names are left out on purpose, because a glob import would shadow or clash with the
/// standard ones: the arena vector type (add `use engram_kernels::allocator_api2::vec::Vec;`,
/// the line a bumpalo program has for `bumpalo::collections::Vec`), and the
/// [`vec!`](crate::vec) macro (a glob-imported `vec` makes every `vec!` ambiguous, E0659: write
/// `engram_kernels::vec![in ..]` or `use engram_kernels::vec;`).
///
/// # Example
///
/// ```
/// use engram_kernels::allocator_api2::vec::Vec;
/// use engram_kernels::prelude::*;
///
/// let arena = Arena::new();
/// let id = arena.alloc(7u32);
/// let evens: Vec<u32, _> = (0..10).filter(|n| n % 2 == 0).collect_in(&arena);
/// let evens: &[u32] = evens.into_bump_slice();
/// let name: &str = format_in!(&arena, "run-{id}").into_bump_str();
/// assert_eq!((evens.len(), name), (5, "run-7"));
/// let heap = vec![1, 2, 3]; // still the standard macro
/// assert_eq!(heap.len(), 3);
/// ```
pub mod prelude {
    pub use crate::arena::{Arena, ArenaScope};
    pub use crate::arena_alloc::ArenaAlloc;
    pub use crate::collections::{CollectIn, FromIteratorIn};
    pub use crate::into_bump::{IntoBumpSlice, IntoBumpStr};
    pub use crate::scratch::{Scratch, with_arena, with_arena_sized};
    pub use crate::{format_in, try_format_in};
    pub use allocator_api2::alloc::{AllocError, Allocator};
}

/// The README's examples, compiled and run as doc tests (they use the default features).
#[cfg(all(doctest, feature = "kernels", feature = "hashbrown"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
