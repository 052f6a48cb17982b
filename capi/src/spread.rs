//! C exports of spreading activation: the Zig implementation's edge-list form, iterated CSR, and
//! the sparse frontier from seeds.

use crate::args::{Args, guard_status, status};
use crate::{ENGRAM_ERR_INVALID, ENGRAM_OK};
use engram_kernels::kernels::spread::{self, CsrGraph, FrontierParams};
use engram_kernels::kernels::staging::stage;
use engram_kernels::scratch::with_arena;

/// Legacy spreading activation on the Zig implementation's edge list: `num_edges` targets in
/// `adjacency` and weights in `weights`, `num_nodes` activations updated in place, edge `e`
/// belonging to node `e / ceil(E/N)`. See
/// [`spread_legacy`](engram_kernels::kernels::spread::spread_legacy).
///
/// # Safety
///
/// Each non-null pointer must be valid for its length, and `activations` must not overlap the
/// inputs.
///
/// # Example
///
/// ```
/// use engram_kernels_c::spread::engram_spread_activation;
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
/// [`spread`](engram_kernels::kernels::spread::spread).
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
/// use engram_kernels_c::{ENGRAM_OK, spread::engram_spread_activation_csr};
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
/// [`spread_frontier`](engram_kernels::kernels::spread::spread_frontier) for the exact rules.
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
/// use engram_kernels_c::{ENGRAM_OK, spread::engram_spread_frontier};
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
        Ok(status(with_arena(|scratch| {
            let seeds = stage(scratch, num_seeds, |i| (nodes[i], amounts[i]))?;
            spread::spread_frontier(&graph, seeds, &params, act).map(|_| ())
        })))
    })
}
