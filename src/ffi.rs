//! The C ABI of `libengram_kernels.a`: a thin layer over the Rust API, declared in
//! `include/engram_kernels.h`.
//!
//! * The first eight exports keep the seed's names and signatures exactly; they return nothing,
//!   so bad input makes them do nothing.
//! * The new exports (CSR and frontier spreading, decay with an explicit τ, top-k similarity)
//!   return a status: [`ENGRAM_OK`] or a negative `ENGRAM_ERR_*` code.
//!
//! Rules shared by every export:
//!
//! * A null pointer with a zero length is fine. A null (or misaligned) pointer with a non-zero
//!   length makes the call do nothing ([`ENGRAM_ERR_NULL`] where there is a status).
//! * Under the `error_return` overflow policy (see [`engram_configure_arena`]) a kernel whose
//!   scratch does not fit leaves its outputs untouched and the overflow is counted; under `panic`
//!   it prints the reason on stderr and aborts the process.
//! * A Rust panic never unwinds into C: every body runs under
//!   [`std::panic::catch_unwind`], and a caught panic aborts the process.
//! * Every export may be called from any number of threads at once; scratch is per thread.

use crate::config::{self, OverflowPolicy};
use crate::kernels::KernelError;
use crate::kernels::decay::Decay;
use crate::kernels::similarity;
use crate::kernels::spread;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

/// Success.
///
/// ```
/// assert_eq!(engram_kernels::ffi::ENGRAM_OK, 0);
/// ```
pub const ENGRAM_OK: i32 = 0;
/// A pointer was null (or misaligned) while its length was not zero; nothing was done.
///
/// ```
/// assert_eq!(engram_kernels::ffi::ENGRAM_ERR_NULL, -1);
/// ```
pub const ENGRAM_ERR_NULL: i32 = -1;
/// An argument was invalid (a graph that fails validation, a seed out of range, a parameter out of
/// range, a size that overflows); nothing was done.
///
/// ```
/// assert_eq!(engram_kernels::ffi::ENGRAM_ERR_INVALID, -2);
/// ```
pub const ENGRAM_ERR_INVALID: i32 = -2;
/// Scratch did not fit under the `error_return` overflow policy; the outputs are untouched.
///
/// ```
/// assert_eq!(engram_kernels::ffi::ENGRAM_ERR_SCRATCH, -3);
/// ```
pub const ENGRAM_ERR_SCRATCH: i32 = -3;

/// Runs an export's body; a panic aborts instead of unwinding into C (the panic hook has already
/// printed its message).
fn guard<R>(body: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(r) => r,
        Err(_) => std::process::abort(),
    }
}

/// Maps a kernel result to a status, aborting on exhausted scratch under the `panic` policy.
fn status(result: Result<(), KernelError>) -> i32 {
    match result {
        Ok(()) => ENGRAM_OK,
        Err(e @ KernelError::ScratchExhausted { .. }) => {
            if config::current().overflow == OverflowPolicy::Panic {
                eprintln!("engram_kernels: {e} (overflow policy: panic); aborting");
                std::process::abort();
            }
            ENGRAM_ERR_SCRATCH
        }
        Err(_) => ENGRAM_ERR_INVALID,
    }
}

/// The bytes `len` `T`s at `ptr` would cover, as `(address, length)`; for overlap checks made
/// before any slice exists (an output slice aliasing an input slice would itself be UB).
fn span<T>(ptr: *const T, len: usize) -> (usize, usize) {
    (ptr.addr(), len.saturating_mul(size_of::<T>()))
}

/// Whether two byte ranges share a byte. Empty ranges overlap nothing; never wraps.
fn overlaps((a, n): (usize, usize), (b, m): (usize, usize)) -> bool {
    n != 0 && m != 0 && a < b.saturating_add(m) && b < a.saturating_add(n)
}

/// Whether any output range overlaps an input range or another output range. A caller that
/// passes such pointers breaks the header's contract; the exports refuse instead of
/// creating aliased slices.
fn aliased(outputs: &[(usize, usize)], inputs: &[(usize, usize)]) -> bool {
    outputs.iter().enumerate().any(|(i, &o)| {
        inputs.iter().any(|&x| overlaps(o, x)) || outputs[i + 1..].iter().any(|&p| overlaps(o, p))
    })
}

/// The slice behind `(ptr, len)`: empty for `len == 0` whatever `ptr` is, `None` for a null or
/// misaligned `ptr` or a byte size past `isize::MAX`.
///
/// # Safety
///
/// When `ptr` is non-null and aligned, it must point at `len` initialised `T` that stay valid and
/// unaliased by writers for `'a`.
unsafe fn input<'a, T>(ptr: *const T, len: usize) -> Option<&'a [T]> {
    if len == 0 {
        return Some(&[]);
    }
    if ptr.is_null() || !ptr.is_aligned() || len.checked_mul(size_of::<T>())? > isize::MAX as usize
    {
        return None;
    }
    // SAFETY: non-null, aligned, size within isize::MAX (checked above); validity and lifetime
    // are the caller's contract.
    Some(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// The mutable slice behind `(ptr, len)`, with the rules of [`input`].
///
/// # Safety
///
/// As for [`input`], and nothing else may access the memory during `'a`.
unsafe fn output<'a, T>(ptr: *mut T, len: usize) -> Option<&'a mut [T]> {
    if len == 0 {
        return Some(&mut []);
    }
    if ptr.is_null() || !ptr.is_aligned() || len.checked_mul(size_of::<T>())? > isize::MAX as usize
    {
        return None;
    }
    // SAFETY: non-null, aligned, size within isize::MAX (checked above); validity, exclusivity
    // and lifetime are the caller's contract.
    Some(unsafe { core::slice::from_raw_parts_mut(ptr, len) })
}

/// Batch cosine similarity of `query` (`query_len` floats) against `num_candidates` row-major
/// candidates, into `scores` (`num_candidates` floats). See
/// [`cosine_similarity_batch`](crate::kernels::similarity::cosine_similarity_batch).
///
/// # Safety
///
/// Each non-null pointer must be valid for its length (`query_len`, `query_len *
/// num_candidates`, `num_candidates`), and `scores` must not overlap the inputs.
///
/// # Example
///
/// ```
/// use engram_kernels::ffi::engram_vector_similarity;
/// let (q, c, mut s) = ([1.0f32, 2.0, 3.0], [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], [0.0f32; 2]);
/// // SAFETY: every pointer is valid for the length passed with it.
/// unsafe { engram_vector_similarity(q.as_ptr(), c.as_ptr(), s.as_mut_ptr(), 3, 2) };
/// assert_eq!(s[0], 1.0);
/// assert!((s[1] - 0.974631786).abs() < 1e-6);
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_vector_similarity(
    query: *const f32,
    candidates: *const f32,
    scores: *mut f32,
    query_len: usize,
    num_candidates: usize,
) {
    guard(|| {
        let Some(total) = query_len.checked_mul(num_candidates) else {
            return;
        };
        let outs = [span(scores, num_candidates)];
        if aliased(&outs, &[span(query, query_len), span(candidates, total)]) {
            return;
        }
        // SAFETY: the pointers are valid for these lengths by this function's contract, and the
        // output overlaps no input (checked above).
        let slices = unsafe {
            (
                input(query, query_len),
                input(candidates, total),
                output(scores, num_candidates),
            )
        };
        if let (Some(q), Some(c), Some(s)) = slices {
            let _ = status(similarity::cosine_similarity_batch(q, c, s));
        }
    })
}

/// Legacy spreading activation on the seed's edge list: `num_edges` targets in `adjacency` and
/// weights in `weights`, `num_nodes` activations updated in place, edge `e` belonging to node
/// `e / ceil(E/N)`. See [`spread_legacy`](crate::kernels::spread::spread_legacy).
///
/// # Safety
///
/// Each non-null pointer must be valid for its length, and `activations` must not overlap the
/// inputs.
///
/// # Example
///
/// ```
/// use engram_kernels::ffi::engram_spread_activation;
/// let (adj, w, mut act) = ([1u32, 2], [0.5f32, 0.3], [1.0f32, 0.0, 0.0]);
/// // SAFETY: every pointer is valid for the length passed with it.
/// unsafe { engram_spread_activation(adj.as_ptr(), w.as_ptr(), act.as_mut_ptr(), 3, 2, 5) };
/// assert_eq!(act, [0.4, 1.0, 0.6]);
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_spread_activation(
    adjacency: *const u32,
    weights: *const f32,
    activations: *mut f32,
    num_nodes: usize,
    num_edges: usize,
    iterations: u32,
) {
    guard(|| {
        let outs = [span(activations, num_nodes)];
        if aliased(
            &outs,
            &[span(adjacency, num_edges), span(weights, num_edges)],
        ) {
            return;
        }
        // SAFETY: the pointers are valid for these lengths by this function's contract, and the
        // output overlaps no input (checked above).
        let slices = unsafe {
            (
                input(adjacency, num_edges),
                input(weights, num_edges),
                output(activations, num_nodes),
            )
        };
        if let (Some(adj), Some(w), Some(act)) = slices {
            let _ = status(spread::spread_legacy(adj, w, act, iterations));
        }
    })
}

/// Decay with the engine's τ = 86,400 s: `s ← s · exp(−age/τ)` for `num_memories` strengths in
/// place. See [`Decay::apply`](crate::kernels::decay::Decay::apply).
///
/// # Safety
///
/// Each non-null pointer must be valid for `num_memories` elements, without overlap.
///
/// # Example
///
/// ```
/// use engram_kernels::ffi::engram_apply_decay;
/// let (mut s, ages) = ([1.0f32, 1.0], [0u64, 86_400]);
/// // SAFETY: every pointer is valid for the length passed with it.
/// unsafe { engram_apply_decay(s.as_mut_ptr(), ages.as_ptr(), 2) };
/// assert_eq!(s[0], 1.0);
/// assert!((s[1] - 0.36787945).abs() < 1e-7);
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_apply_decay(
    strengths: *mut f32,
    ages_seconds: *const u64,
    num_memories: usize,
) {
    guard(|| {
        if aliased(
            &[span(strengths, num_memories)],
            &[span(ages_seconds, num_memories)],
        ) {
            return;
        }
        // SAFETY: the pointers are valid for these lengths by this function's contract, and the
        // output overlaps no input (checked above).
        let slices = unsafe {
            (
                output(strengths, num_memories),
                input(ages_seconds, num_memories),
            )
        };
        if let (Some(s), Some(a)) = slices {
            let _ = status(Decay::ENGRAM_DEFAULT.apply(s, a));
        }
    })
}

/// Sets the pool size of arenas created from now on (`pool_size_mb` MiB, 1 to 1024; 0 or more
/// is ignored and reported once on stderr) and the overflow policy the exports honour: 0 panic,
/// 1 error_return, 2 fallback, anything else error_return.
///
/// # Safety
///
/// None beyond the C ABI; it is `unsafe` only for symmetry with the other exports.
///
/// # Example
///
/// ```
/// use engram_kernels::{OverflowPolicy, config, ffi::engram_configure_arena};
/// // SAFETY: this export takes no pointers.
/// unsafe { engram_configure_arena(2, 2) };
/// assert_eq!(config::current().overflow, OverflowPolicy::Fallback);
/// assert_eq!(config::current().pool_size, 2 << 20);
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_configure_arena(pool_size_mb: u32, overflow_strategy: u8) {
    guard(|| {
        let overflow = match overflow_strategy {
            0 => OverflowPolicy::Panic,
            2 => OverflowPolicy::Fallback,
            _ => OverflowPolicy::Error,
        };
        let valid_size = (1..=1024).contains(&pool_size_mb);
        let configured = valid_size
            && config::configure(config::ArenaConfig {
                pool_size: (pool_size_mb as usize) << 20,
                overflow,
                ..config::current()
            })
            .is_ok();
        if !configured {
            config::set_overflow_policy(overflow);
            static REPORTED: Once = Once::new();
            REPORTED.call_once(|| {
                eprintln!(
                    "engram_kernels: engram_configure_arena: pool size {pool_size_mb} MiB is \
                     outside 1..=1024; keeping {} bytes",
                    config::current().pool_size
                );
            });
        }
    })
}

/// Reads the process-wide arena metrics; each null pointer is skipped.
///
/// # Safety
///
/// Each non-null pointer must be valid for one aligned `size_t` write.
///
/// # Example
///
/// ```
/// use engram_kernels::ffi::engram_arena_stats;
/// let mut resets = usize::MAX;
/// // SAFETY: each pointer is null or valid for one write.
/// unsafe { engram_arena_stats(&mut resets, std::ptr::null_mut(), std::ptr::null_mut()) };
/// assert_ne!(resets, usize::MAX);
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_arena_stats(
    total_resets: *mut usize,
    total_overflows: *mut usize,
    max_high_water_mark: *mut usize,
) {
    guard(|| {
        let m = crate::metrics::snapshot();
        for (ptr, value) in [
            (total_resets, m.total_resets),
            (total_overflows, m.total_overflows),
            (max_high_water_mark, m.max_high_water_mark),
        ] {
            // SAFETY: a non-null, aligned pointer is valid for one write by this function's
            // contract; `output` returns `None` for null or misaligned ones.
            if let Some([slot]) = unsafe { output(ptr, 1) } {
                *slot = value;
            }
        }
    })
}

/// Resets the calling thread's arena; a no-op if it has none.
///
/// # Safety
///
/// None beyond the C ABI.
///
/// # Example
///
/// ```
/// // SAFETY: this export takes no pointers.
/// unsafe { engram_kernels::ffi::engram_reset_arenas() };
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_reset_arenas() {
    guard(|| {
        crate::scratch::reset_thread_arena();
    })
}

/// Zeroes the process-wide arena metrics.
///
/// # Safety
///
/// None beyond the C ABI.
///
/// # Example
///
/// ```
/// use engram_kernels::ffi::{engram_arena_stats, engram_reset_arena_metrics};
/// // SAFETY: this export takes no pointers.
/// unsafe { engram_reset_arena_metrics() };
/// let mut overflows = 1;
/// // SAFETY: each pointer is null or valid for one write.
/// unsafe { engram_arena_stats(std::ptr::null_mut(), &mut overflows, std::ptr::null_mut()) };
/// assert_eq!(overflows, 0);
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_reset_arena_metrics() {
    guard(crate::metrics::reset)
}

/// Frees the calling thread's arena; idempotent; the next kernel call re-creates it.
///
/// # Safety
///
/// None beyond the C ABI.
///
/// # Example
///
/// ```
/// use engram_kernels::ffi::engram_deinit_thread_arena;
/// // SAFETY: this export takes no pointers.
/// unsafe { engram_deinit_thread_arena(); engram_deinit_thread_arena() };
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_deinit_thread_arena() {
    guard(|| {
        crate::scratch::release_thread_arena();
    })
}

mod many;
pub use many::{engram_cosine_similarity_many, engram_top_k_similarity_many};
mod extended;
pub use extended::{
    engram_apply_decay_tau, engram_spread_activation_csr, engram_spread_frontier,
    engram_top_k_similarity,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_arithmetic() {
        assert!(overlaps((100, 10), (109, 1)));
        assert!(!overlaps((100, 10), (110, 5)));
        assert!(!overlaps((110, 5), (100, 10)));
        assert!(
            !overlaps((100, 0), (100, 10)),
            "empty ranges overlap nothing"
        );
        assert!(
            overlaps((usize::MAX - 4, 10), (usize::MAX - 1, 1)),
            "saturates, never wraps"
        );
        assert!(!overlaps((0, usize::MAX), (usize::MAX, 0)));
    }

    #[test]
    fn aliased_checks_outputs_against_inputs_and_each_other() {
        let (a, b, c) = ((0, 8), (8, 8), (4, 8));
        assert!(!aliased(&[a], &[b]));
        assert!(aliased(&[a], &[c]));
        assert!(aliased(&[a, c], &[]));
        assert!(!aliased(&[a, b], &[(100, 4)]));
        let x = [1.0f32; 4];
        assert_eq!(span(x.as_ptr(), 4).1, 16);
        assert_eq!(span(x.as_ptr(), usize::MAX).1, usize::MAX);
    }
}
