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
//!   length makes the call do nothing ([`ENGRAM_ERR_NULL`] where there is a status); so does a
//!   length whose byte size overflows, or an output that overlaps another argument
//!   ([`ENGRAM_ERR_INVALID`]). One helper makes these checks for every export.
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

/// [`guard`] for a body whose checks return `Err(status)`; either way the status comes back (the
/// void exports drop it).
fn guard_status(body: impl FnOnce() -> Result<i32, i32>) -> i32 {
    guard(|| body().unwrap_or_else(|code| code))
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

/// Whether two byte ranges `(address, length)` share a byte. Empty ranges overlap nothing; never
/// wraps.
fn overlaps((a, n): (usize, usize), (b, m): (usize, usize)) -> bool {
    n != 0 && m != 0 && a < b.saturating_add(m) && b < a.saturating_add(n)
}

/// The most pointer arguments one export takes.
const MAX_ARGS: usize = 8;

/// The pointer arguments of one export call, turned into slices one `(pointer, length)` pair at a
/// time. Each pair is checked before its slice exists: a null or misaligned pointer with a
/// non-zero length is [`ENGRAM_ERR_NULL`]; a byte size past `isize::MAX` or past the end of the
/// address space is [`ENGRAM_ERR_INVALID`]; so is an output that overlaps any other argument, or
/// an input that overlaps an output (checked in whichever order they are taken, so an aliased
/// `&mut` slice never exists). A zero length gives an empty slice whatever the pointer.
///
/// All of an export's checks are made before its kernel runs, so a refused call reads and writes
/// nothing.
struct Args<'a> {
    /// `(address, bytes, is_output)` of each slice handed out so far.
    taken: [(usize, usize, bool); MAX_ARGS],
    count: usize,
    _slices: core::marker::PhantomData<&'a mut [u8]>,
}

impl<'a> Args<'a> {
    /// # Safety
    ///
    /// The export's contract (the header's): every pair later passed to [`input`](Self::input)
    /// or [`output`](Self::output) whose pointer is non-null and aligned points at `length`
    /// initialised elements that stay valid for `'a`, and nothing outside this call accesses the
    /// memory of an output, or writes the memory of an input, during `'a`.
    unsafe fn new() -> Self {
        Args {
            taken: [(0, 0, false); MAX_ARGS],
            count: 0,
            _slices: core::marker::PhantomData,
        }
    }

    /// Checks the pair and records its byte range; `Err` is a status.
    fn take<T>(&mut self, addr: usize, aligned: bool, len: usize, output: bool) -> Result<(), i32> {
        if len == 0 {
            return Ok(());
        }
        if addr == 0 || !aligned {
            return Err(ENGRAM_ERR_NULL);
        }
        let bytes = len
            .checked_mul(size_of::<T>())
            .filter(|&b| b <= isize::MAX as usize && addr.checked_add(b).is_some())
            .ok_or(ENGRAM_ERR_INVALID)?;
        let span = (addr, bytes);
        let taken = &self.taken[..self.count];
        if taken
            .iter()
            .any(|&(a, n, out)| (out || output) && overlaps(span, (a, n)))
        {
            return Err(ENGRAM_ERR_INVALID);
        }
        assert!(
            self.count < MAX_ARGS,
            "an export takes at most {MAX_ARGS} pointers"
        );
        self.taken[self.count] = (addr, bytes, output);
        self.count += 1;
        Ok(())
    }

    /// The input slice behind `(ptr, len)`.
    fn input<T>(&mut self, ptr: *const T, len: usize) -> Result<&'a [T], i32> {
        self.take::<T>(ptr.addr(), ptr.is_aligned(), len, false)?;
        if len == 0 {
            return Ok(&[]);
        }
        // SAFETY: `take` checked that `ptr` is non-null and aligned, that the size fits isize and
        // the address space, and that no output handed out overlaps it; validity for `'a` and the
        // absence of outside writers are `new`'s contract.
        Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
    }

    /// The output slice behind `(ptr, len)`, overlapping nothing else taken.
    fn output<T>(&mut self, ptr: *mut T, len: usize) -> Result<&'a mut [T], i32> {
        self.take::<T>(ptr.addr(), ptr.is_aligned(), len, true)?;
        if len == 0 {
            return Ok(&mut []);
        }
        // SAFETY: as in `input`; the range overlaps no other argument taken (checked by `take`,
        // and every later one is checked against it), so this `&mut` is unique for `'a`.
        Ok(unsafe { core::slice::from_raw_parts_mut(ptr, len) })
    }
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
    guard_status(|| {
        let total = query_len
            .checked_mul(num_candidates)
            .ok_or(ENGRAM_ERR_INVALID)?;
        // SAFETY: the pointers are valid for these lengths: this function's contract.
        let mut args = unsafe { Args::new() };
        let q = args.input(query, query_len)?;
        let c = args.input(candidates, total)?;
        let s = args.output(scores, num_candidates)?;
        Ok(status(similarity::cosine_similarity_batch(q, c, s)))
    });
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
    guard_status(|| {
        // SAFETY: the pointers are valid for these lengths: this function's contract.
        let mut args = unsafe { Args::new() };
        let adj = args.input(adjacency, num_edges)?;
        let w = args.input(weights, num_edges)?;
        let act = args.output(activations, num_nodes)?;
        Ok(status(spread::spread_legacy(adj, w, act, iterations)))
    });
}

/// Decay with the engine's τ = 86,400 s: `s ← s · exp(−age/τ)` for `num_memories` strengths in
/// place, rounded as the engine's reference does (the factor in f64, rounded once to f32, then
/// one f32 multiply), bit for bit. See
/// [`Decay::apply_rounded_factor`](crate::kernels::decay::Decay::apply_rounded_factor).
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
    guard_status(|| {
        // SAFETY: the pointers are valid for these lengths: this function's contract.
        let mut args = unsafe { Args::new() };
        let a = args.input(ages_seconds, num_memories)?;
        let s = args.output(strengths, num_memories)?;
        Ok(status(Decay::ENGRAM_DEFAULT.apply_rounded_factor(s, a)))
    });
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
            // SAFETY: a non-null pointer is valid for one write: this function's contract. Each
            // pointer is taken on its own, so two that are equal are both written.
            if let Ok([slot]) = unsafe { Args::new() }.output(ptr, 1) {
                *slot = value;
            }
        }
    })
}

/// Resets the calling thread's arena (a no-op if it has none) and, like the Zig implementation,
/// counts one reset in the `total_resets` metric on every call.
///
/// # Safety
///
/// None beyond the C ABI.
///
/// # Example
///
/// ```
/// use engram_kernels::ffi::{engram_arena_stats, engram_reset_arenas};
/// let resets = || {
///     let mut n = 0;
///     // SAFETY: each pointer is null or valid for one write.
///     unsafe { engram_arena_stats(&mut n, std::ptr::null_mut(), std::ptr::null_mut()) };
///     n
/// };
/// let before = resets();
/// // SAFETY: this export takes no pointers.
/// unsafe { engram_reset_arenas() };
/// assert!(resets() > before); // other threads (tests) may count resets too
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_reset_arenas() {
    guard(|| {
        crate::scratch::reset_thread_arena();
        crate::metrics::record_detached(0, 0);
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
    fn args_check_each_pair_before_its_slice_exists() {
        let (mut x, y) = ([1.0f32; 4], [2.0f32; 4]);
        let (px, py) = (x.as_mut_ptr(), y.as_ptr());
        // SAFETY: every non-null pointer below is valid for the length passed with it.
        let mut args = unsafe { Args::new() };
        assert_eq!(args.input(py, 4).map(|s| s.len()), Ok(4));
        assert_eq!(
            args.input(py, 2).map(|s| s[1]),
            Ok(2.0),
            "inputs may share memory"
        );
        assert_eq!(
            args.output(py.cast_mut(), 1).err(),
            Some(ENGRAM_ERR_INVALID),
            "an output may not overlap an input"
        );
        assert_eq!(args.output(px, 4).map(|s| s.len()), Ok(4));
        assert_eq!(
            args.input(px.cast_const(), 1).err(),
            Some(ENGRAM_ERR_INVALID)
        );
        assert_eq!(
            args.output(px.wrapping_add(3), 1).err(),
            Some(ENGRAM_ERR_INVALID)
        );
        assert_eq!(args.output(px.wrapping_add(4), 0).map(|s| s.len()), Ok(0));
        assert_eq!(
            args.input::<f32>(std::ptr::null(), 0).map(|s| s.len()),
            Ok(0)
        );
        assert_eq!(
            args.input::<f32>(std::ptr::null(), 1).err(),
            Some(ENGRAM_ERR_NULL)
        );
        let misaligned = py.cast::<u8>().wrapping_add(1).cast::<f32>();
        assert_eq!(args.input(misaligned, 1).err(), Some(ENGRAM_ERR_NULL));
        for huge in [usize::MAX, usize::MAX / 4, isize::MAX as usize / 4 + 1] {
            assert_eq!(
                args.input(py, huge).err(),
                Some(ENGRAM_ERR_INVALID),
                "{huge}"
            );
        }
    }

    #[test]
    fn args_refuse_a_range_that_wraps_the_address_space() {
        // SAFETY: no slice is created: every call below is refused before that.
        let mut args = unsafe { Args::new() };
        let end = std::ptr::without_provenance::<u64>(usize::MAX - 7);
        assert_eq!(args.input(end, 2).err(), Some(ENGRAM_ERR_INVALID));
    }

    /// The C decay exports, `Decay::apply_rounded_factor` and the engine's reference
    /// (`(float)exp(-(double)age / tau)`, then one f32 multiply) agree bit for bit.
    #[test]
    #[cfg_attr(
        miri,
        ignore = "Miri perturbs exp(); bit-for-bit comparisons are for native runs"
    )]
    fn c_decay_exports_round_like_the_engine() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (n, tau) = (4096, 3600.0);
        let mut s: Vec<f32> = (0..n)
            .map(|i| match i % 4 {
                0 => f32::from_bits(next() as u32 & 0x7f7f_ffff), // any finite positive
                1 => [f32::MAX, 1e10, f32::MIN_POSITIVE, -1.0][i / 4 % 4],
                _ => (next() % 2000) as f32 / 1000.0 - 1.0,
            })
            .collect();
        let ages: Vec<u64> = (0..n as u64)
            .map(|i| match i % 3 {
                0 => 1000 + next() % 999_001,
                1 => next() % 10_000_000,
                _ => next() >> (next() % 64),
            })
            .collect();
        let engine = |s: &[f32], tau: f64| -> Vec<u32> {
            s.iter()
                .zip(&ages)
                .map(|(&s, &a)| {
                    let f = (-(a as f64) / tau).exp() as f32;
                    (if a == 0 { s } else { s * f }).to_bits()
                })
                .collect()
        };
        let (want_day, want_tau) = (engine(&s, 86_400.0), engine(&s, tau));

        let mut c_day = s.clone();
        // SAFETY: both pointers are valid for n elements and do not overlap.
        unsafe { engram_apply_decay(c_day.as_mut_ptr(), ages.as_ptr(), n) };
        let mut c_tau = s.clone();
        // SAFETY: as above.
        let rc =
            unsafe { extended::engram_apply_decay_tau(c_tau.as_mut_ptr(), ages.as_ptr(), n, tau) };
        assert_eq!(rc, ENGRAM_OK);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&c_day), want_day);
        assert_eq!(bits(&c_tau), want_tau);

        Decay::ENGRAM_DEFAULT
            .apply_rounded_factor(&mut s, &ages)
            .unwrap();
        assert_eq!(bits(&s), want_day, "the Rust API and the C export agree");

        let mut big = [f32::MAX];
        // SAFETY: both pointers are valid for one element.
        unsafe { engram_apply_decay(big.as_mut_ptr(), [100_000u64].as_ptr(), 1) };
        assert_eq!(big[0], 1.069_507_3e38, "the engine's FLT_MAX at 100,000 s");
    }

    #[test]
    fn c_decay_keeps_infinities_nans_and_age_zero() {
        let snan = f32::from_bits(0x7f80_0001);
        let mut s = [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, snan, -0.0];
        let ages = [u64::MAX, 50 * 86_400 * 1000, 10, 0, 0];
        // SAFETY: both pointers are valid for five elements.
        unsafe { engram_apply_decay(s.as_mut_ptr(), ages.as_ptr(), 5) };
        assert_eq!(s[..2], [f32::INFINITY, f32::NEG_INFINITY]);
        assert!(s[2].is_nan());
        assert_eq!(s[3].to_bits(), snan.to_bits(), "age 0 is bit-for-bit");
        assert_eq!(s[4].to_bits(), (-0.0f32).to_bits());
    }
}
