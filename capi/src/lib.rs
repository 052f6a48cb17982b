//! The C library of `engram-kernels`: `libengram_kernels.a` and `libengram_kernels.so`, declared in
//! `include/engram_kernels.h` and built by `scripts/dist.sh`. A thin layer over the Rust API,
//! one module per subject: [`similarity`], [`spread`], [`decay`], [`pq`] (product-quantization
//! scans) and [`arena`] (configuration and metrics of the per-thread scratch arenas).
//!
//! * The first eight exports keep the Zig implementation's names and signatures exactly; they
//!   return nothing, so bad input makes them do nothing.
//! * The newer exports (CSR and frontier spreading, decay with an explicit τ, top-k and
//!   many-query similarity, PQ scans) return a status: [`ENGRAM_OK`] or a negative
//!   `ENGRAM_ERR_*` code.
//!
//! Rules shared by every export:
//!
//! * A null pointer with a zero length is fine. A null (or misaligned) pointer with a non-zero
//!   length makes the call do nothing ([`ENGRAM_ERR_NULL`] where there is a status); so does a
//!   length whose byte size overflows, or an output that overlaps another argument
//!   ([`ENGRAM_ERR_INVALID`]). One helper makes these checks for every export.
//! * Under the `error_return` overflow policy (see [`arena::engram_configure_arena`]) a kernel
//!   whose scratch does not fit leaves its outputs untouched and the overflow is counted; under
//!   `panic` it prints the reason on stderr and aborts the process.
//! * A Rust panic never unwinds into C: every body runs under
//!   [`std::panic::catch_unwind`], and a caught panic aborts the process.
//! * Every export may be called from any number of threads at once; scratch is per thread.
//!
//! Rust programs use `engram-kernels` itself; this crate is for building the C library (its
//! rlib serves its own tests).
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod args;

pub mod arena;
pub mod decay;
pub mod pq;
pub mod similarity;
pub mod spread;

/// Success.
///
/// # Example
///
/// ```
/// assert_eq!(engram_kernels_c::ENGRAM_OK, 0);
/// ```
pub const ENGRAM_OK: i32 = 0;
/// A pointer was null (or misaligned) while its length was not zero; nothing was done.
///
/// # Example
///
/// ```
/// assert_eq!(engram_kernels_c::ENGRAM_ERR_NULL, -1);
/// ```
pub const ENGRAM_ERR_NULL: i32 = -1;
/// An argument was invalid (a graph that fails validation, a seed out of range, a parameter out of
/// range, a size that overflows); nothing was done.
///
/// # Example
///
/// ```
/// assert_eq!(engram_kernels_c::ENGRAM_ERR_INVALID, -2);
/// ```
pub const ENGRAM_ERR_INVALID: i32 = -2;
/// Scratch did not fit under the `error_return` overflow policy; the outputs are untouched.
///
/// # Example
///
/// ```
/// assert_eq!(engram_kernels_c::ENGRAM_ERR_SCRATCH, -3);
/// ```
pub const ENGRAM_ERR_SCRATCH: i32 = -3;
