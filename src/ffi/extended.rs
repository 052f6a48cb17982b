//! The exports beyond the seed's eight: they return a status (`ENGRAM_OK` or `ENGRAM_ERR_*`).
//! Besides the errors each one lists, every one returns `ENGRAM_ERR_INVALID` for a length whose
//! byte size overflows and for an output that overlaps another argument (see [`super`]).

use super::{Args, ENGRAM_ERR_INVALID, ENGRAM_OK, guard_status, status};
use crate::arena::helpers::ArenaAlloc;
use crate::kernels::KernelError;
use crate::kernels::decay::Decay;
use crate::kernels::similarity::{self, Match};
use crate::kernels::spread::{self, CsrGraph, FrontierParams};

/// `(offsets, targets, weights)` of a CSR graph, not yet validated.
type CsrArrays<'a> = (&'a [usize], &'a [u32], &'a [f32]);

/// Takes the CSR arrays behind the pointers from `args`; `Err` is a status. Validate them with
/// [`graph`] once every argument is taken, so a refused call has read nothing.
fn csr<'a>(
    args: &mut Args<'a>,
    offsets: *const usize,
    targets: *const u32,
    weights: *const f32,
    num_nodes: usize,
    num_edges: usize,
) -> Result<CsrArrays<'a>, i32> {
    let offsets_len = num_nodes.checked_add(1).ok_or(ENGRAM_ERR_INVALID)?;
    Ok((
        args.input(offsets, offsets_len)?,
        args.input(targets, num_edges)?,
        args.input(weights, num_edges)?,
    ))
}

/// A graph that fails validation is [`ENGRAM_ERR_INVALID`].
fn graph((offsets, targets, weights): CsrArrays<'_>) -> Result<CsrGraph<'_>, i32> {
    CsrGraph::new(offsets, targets, weights).map_err(|_| ENGRAM_ERR_INVALID)
}

/// Iterated spreading activation on a CSR graph: `offsets` has `num_nodes + 1` entries, `targets`
/// and `weights` have `num_edges`, `activations` has `num_nodes` and is updated in place. See
/// [`spread`](crate::kernels::spread::spread).
///
/// Returns `ENGRAM_OK`; `ENGRAM_ERR_NULL` for a null pointer with a non-zero length (an empty
/// graph, `num_nodes == num_edges == 0`, needs no pointers); `ENGRAM_ERR_INVALID` for a graph that
/// fails validation (offsets not starting at 0, decreasing, or not ending at `num_edges`; a target
/// `>= num_nodes`); `ENGRAM_ERR_SCRATCH` under `error_return` when the 4·N-byte snapshot does not
/// fit. On any error `activations` is untouched.
///
/// # Safety
///
/// Each non-null pointer must be valid for its length, and `activations` must not overlap the
/// inputs.
///
/// # Example
///
/// ```
/// use engram_kernels::ffi::{ENGRAM_OK, engram_spread_activation_csr};
/// let (off, t, w, mut act) = ([0usize, 2, 2, 2], [1u32, 2], [0.5f32, 0.3], [1.0f32, 0.0, 0.0]);
/// // SAFETY: every pointer is valid for the length passed with it.
/// let rc = unsafe {
///     engram_spread_activation_csr(off.as_ptr(), t.as_ptr(), w.as_ptr(), act.as_mut_ptr(), 3, 2, 1)
/// };
/// assert_eq!((rc, act), (ENGRAM_OK, [1.0, 0.5, 0.3]));
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_spread_activation_csr(
    offsets: *const usize,
    targets: *const u32,
    weights: *const f32,
    activations: *mut f32,
    num_nodes: usize,
    num_edges: usize,
    iterations: u32,
) -> i32 {
    guard_status(|| {
        if num_nodes == 0 && num_edges == 0 {
            return Ok(ENGRAM_OK);
        }
        // SAFETY: the pointers are valid for these lengths: this function's contract.
        let mut args = unsafe { Args::new() };
        let arrays = csr(&mut args, offsets, targets, weights, num_nodes, num_edges)?;
        let act = args.output(activations, num_nodes)?;
        Ok(status(spread::spread(&graph(arrays)?, act, iterations)))
    })
}

/// Sparse frontier spreading from `num_seeds` seeds (`seed_nodes[i]` receives
/// `seed_activations[i]`), hop by hop on a CSR graph (laid out as for
/// [`engram_spread_activation_csr`]), into `activations` (`num_nodes`, updated in place). Each
/// hop, every frontier node whose activation (read when the hop starts) is `>= threshold` sends
/// `(a * hop_decay) * w` along each out-edge; newly reached targets form the next frontier; each
/// node spreads at most once; at most `max_hops` hops. See
/// [`spread_frontier`](crate::kernels::spread::spread_frontier) for the exact rules.
///
/// Returns `ENGRAM_OK`; `ENGRAM_ERR_NULL` for a null pointer with a non-zero length;
/// `ENGRAM_ERR_INVALID` for an invalid graph, a seed node `>= num_nodes`, a non-finite seed
/// activation, `hop_decay` outside (0, 1] or `threshold` negative or not finite;
/// `ENGRAM_ERR_SCRATCH` under `error_return` when the bitset or queues do not fit. On any error
/// `activations` is left as it was.
///
/// # Safety
///
/// Each non-null pointer must be valid for its length, and `activations` must not overlap the
/// inputs.
///
/// # Example
///
/// ```
/// use engram_kernels::ffi::{ENGRAM_OK, engram_spread_frontier};
/// // 0 → 1 → 2 → 3, every weight 1
/// let (off, t, w) = ([0usize, 1, 2, 3, 3], [1u32, 2, 3], [1.0f32; 3]);
/// let mut act = [0.0f32; 4];
/// // SAFETY: every pointer is valid for the length passed with it.
/// let rc = unsafe {
///     engram_spread_frontier(off.as_ptr(), t.as_ptr(), w.as_ptr(), 4, 3,
///                            [0u32].as_ptr(), [1.0f32].as_ptr(), 1, 0.5, 0.2, 10, act.as_mut_ptr())
/// };
/// assert_eq!((rc, act), (ENGRAM_OK, [1.0, 0.5, 0.25, 0.125]));
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_spread_frontier(
    offsets: *const usize,
    targets: *const u32,
    weights: *const f32,
    num_nodes: usize,
    num_edges: usize,
    seed_nodes: *const u32,
    seed_activations: *const f32,
    num_seeds: usize,
    hop_decay: f32,
    threshold: f32,
    max_hops: u32,
    activations: *mut f32,
) -> i32 {
    guard_status(|| {
        let params =
            FrontierParams::new(hop_decay, threshold, max_hops).map_err(|_| ENGRAM_ERR_INVALID)?;
        // As in `engram_spread_activation_csr`: an empty graph with nothing to seed is a no-op,
        // whatever the (unused) pointers are.
        if num_nodes == 0 && num_edges == 0 && num_seeds == 0 {
            return Ok(ENGRAM_OK);
        }
        // SAFETY: the pointers are valid for these lengths: this function's contract.
        let mut args = unsafe { Args::new() };
        let arrays = csr(&mut args, offsets, targets, weights, num_nodes, num_edges)?;
        let nodes = args.input(seed_nodes, num_seeds)?;
        let amounts = args.input(seed_activations, num_seeds)?;
        let act = args.output(activations, num_nodes)?;
        let graph = graph(arrays)?;
        Ok(status(crate::scratch::with_arena(|scratch| {
            let seeds = scratch
                .try_alloc_slice_fill_with(num_seeds, |i| (nodes[i], amounts[i]))
                .map_err(|_| KernelError::ScratchExhausted {
                    requested: num_seeds * size_of::<(u32, f32)>(),
                })?;
            spread::spread_frontier(&graph, seeds, &params, act).map(|_| ())
        })))
    })
}

/// Decay with an explicit e-folding time constant `tau_seconds`: `s ← s · exp(−age/τ)` for
/// `num_memories` strengths in place, rounded like [`engram_apply_decay`](super::engram_apply_decay)
/// (the factor rounded once to f32, then one f32 multiply). See
/// [`Decay::from_time_constant`](crate::kernels::decay::Decay::from_time_constant) and
/// [`Decay::apply_rounded_factor`](crate::kernels::decay::Decay::apply_rounded_factor).
///
/// Returns `ENGRAM_OK`; `ENGRAM_ERR_NULL` for a null pointer with a non-zero length;
/// `ENGRAM_ERR_INVALID` when τ is rejected (not finite or not positive). On any error the
/// strengths are untouched.
///
/// # Safety
///
/// Each non-null pointer must be valid for `num_memories` elements, without overlap.
///
/// # Example
///
/// ```
/// use engram_kernels::ffi::{ENGRAM_ERR_INVALID, ENGRAM_OK, engram_apply_decay_tau};
/// let (mut s, ages) = ([1.0f32], [3600u64]);
/// // SAFETY: every pointer is valid for the length passed with it.
/// assert_eq!(unsafe { engram_apply_decay_tau(s.as_mut_ptr(), ages.as_ptr(), 1, 3600.0) }, ENGRAM_OK);
/// assert!((s[0] - 0.36787945).abs() < 1e-7);
/// // SAFETY: every pointer is valid for the length passed with it.
/// assert_eq!(unsafe { engram_apply_decay_tau(s.as_mut_ptr(), ages.as_ptr(), 1, -1.0) },
///            ENGRAM_ERR_INVALID);
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_apply_decay_tau(
    strengths: *mut f32,
    ages_seconds: *const u64,
    num_memories: usize,
    tau_seconds: f64,
) -> i32 {
    guard_status(|| {
        let decay = Decay::from_time_constant(tau_seconds).map_err(|_| ENGRAM_ERR_INVALID)?;
        // SAFETY: the pointers are valid for these lengths: this function's contract.
        let mut args = unsafe { Args::new() };
        let a = args.input(ages_seconds, num_memories)?;
        let s = args.output(strengths, num_memories)?;
        Ok(status(decay.apply_rounded_factor(s, a)))
    })
}

/// The `k` best cosine matches of `query` (`query_len` floats) among `num_candidates` row-major
/// candidates: writes `min(k, num_candidates)` candidate indices to `out_indices` and their scores
/// to `out_scores`, best first, and that count to `*out_count`. See
/// [`top_k_into`](crate::kernels::similarity::top_k_into) for scoring and ties.
///
/// Returns `ENGRAM_OK`; `ENGRAM_ERR_NULL` for a null pointer with a non-zero length (`out_count`
/// must never be null); `ENGRAM_ERR_INVALID` when `query_len * num_candidates` overflows or
/// `query_len == 0` with candidates; `ENGRAM_ERR_SCRATCH` under `error_return` when its k-entry heap does
/// not fit. On any error the outputs are untouched.
///
/// # Safety
///
/// Each non-null pointer must be valid for its length (`query_len`, `query_len *
/// num_candidates`, `k`, `k`, 1), and the outputs must not overlap anything else.
///
/// # Example
///
/// ```
/// use engram_kernels::ffi::{ENGRAM_OK, engram_top_k_similarity};
/// let q = [1.0f32, 0.0];
/// let c = [0.0f32, 1.0, 1.0, 0.0, 1.0, 1.0]; // orthogonal, identical, 45 degrees
/// let (mut idx, mut sc, mut n) = ([0usize; 2], [0.0f32; 2], 0usize);
/// // SAFETY: every pointer is valid for the length passed with it.
/// let rc = unsafe {
///     engram_top_k_similarity(q.as_ptr(), c.as_ptr(), 2, 3, 2, idx.as_mut_ptr(),
///                             sc.as_mut_ptr(), &mut n)
/// };
/// assert_eq!((rc, n, idx), (ENGRAM_OK, 2, [1, 2]));
/// assert_eq!(sc[0], 1.0);
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_top_k_similarity(
    query: *const f32,
    candidates: *const f32,
    query_len: usize,
    num_candidates: usize,
    k: usize,
    out_indices: *mut usize,
    out_scores: *mut f32,
    out_count: *mut usize,
) -> i32 {
    guard_status(|| {
        // A zero-length query cannot rank candidates: refuse it rather than report no match.
        if query_len == 0 && num_candidates > 0 {
            return Err(ENGRAM_ERR_INVALID);
        }
        let total = query_len
            .checked_mul(num_candidates)
            .ok_or(ENGRAM_ERR_INVALID)?;
        // SAFETY: the pointers are valid for these lengths: this function's contract.
        let mut args = unsafe { Args::new() };
        let q = args.input(query, query_len)?;
        let c = args.input(candidates, total)?;
        let indices = args.output(out_indices, k)?;
        let scores = args.output(out_scores, k)?;
        let [count] = args.output(out_count, 1)? else {
            unreachable!("a slice of length 1")
        };
        let want = k.min(num_candidates);
        Ok(status(crate::scratch::with_arena(|scratch| {
            let best = scratch
                .try_alloc_slice_fill_with(want, |_| Match {
                    index: 0,
                    score: 0.0,
                })
                .map_err(|_| KernelError::ScratchExhausted {
                    requested: want * size_of::<Match>(),
                })?;
            let found = similarity::top_k_into(q, c, best)?;
            for ((m, i), s) in best[..found]
                .iter()
                .zip(indices.iter_mut())
                .zip(scores.iter_mut())
            {
                (*i, *s) = (m.index, m.score);
            }
            *count = found;
            Ok(())
        })))
    })
}
