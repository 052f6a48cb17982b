//! # engram-kernels
//!
//! Per-thread bump arenas for kernel scratch space, an arena-backed global allocator, and the
//! Engram graph-memory kernels (batch cosine similarity, spreading activation, decay) with the
//! C ABI of `libengram_kernels.a`.
//!
//! Layers, bottom to top (a lower layer never imports a higher one):
//!
//! * [`bump`]: pure, safe bump arithmetic on addresses.
//! * [`Arena`]: a fixed-capacity bump arena that implements
//!   [`allocator_api2::alloc::Allocator`].
//! * [`scratch`]: one lazily created arena per thread, used through [`with_arena`] scopes.
//! * [`global`]: a `#[global_allocator]` that routes std allocations into per-thread arenas
//!   inside [`with_global_arena`] scopes.
//! * [`kernels`]: SIMD kernels that take their scratch from [`with_arena`].
//! * [`ffi`]: the C ABI, a thin layer over the Rust API.
//!
//! # Example
//!
//! ```
//! use engram_kernels::with_arena;
//! use hashbrown::HashMap;
//!
//! let total = with_arena(|scratch| {
//!     let mut counts = HashMap::new_in(scratch);
//!     for word in "a b a c b a".split(' ') {
//!         *counts.entry(word).or_insert(0u32) += 1;
//!     }
//!     counts["a"]
//! }); // everything allocated in the scope is released here, in O(1)
//! assert_eq!(total, 3);
//! ```
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod bump;

mod arena;
pub mod config;
pub mod metrics;
pub mod scratch;
mod sync;

pub mod global;

pub mod collections;

#[cfg(feature = "kernels")]
pub mod kernels;

#[cfg(feature = "ffi")]
pub mod ffi;

/// The `allocator_api2` crate (0.2), whose `Allocator` trait every handle here implements.
/// Name it through this path to be sure of the matching version.
pub use allocator_api2;
/// The `hashbrown` crate (0.17, with its `allocator-api2` support), for maps and sets in an
/// arena (`HashMap::new_in(&arena)`). Behind the default `hashbrown` feature.
#[cfg(feature = "hashbrown")]
pub use hashbrown;

pub use allocator_api2::alloc::AllocError;
pub use arena::{Arena, ArenaScope, ArenaStats};
pub use config::{ArenaConfig, ConfigError, OverflowPolicy};
pub use global::{GlobalArena, GlobalStats, with_global_arena};
pub use scratch::{Scratch, thread_arena_stats, with_arena, with_arena_sized};

/// The README's examples, compiled and run as doc tests (they use the default features).
#[cfg(all(doctest, feature = "kernels", feature = "hashbrown"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
