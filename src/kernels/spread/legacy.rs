//! The Zig implementation's edge-list form, kept for the `engram_spread_activation` C export.

use super::iterate::with_snapshot;
use crate::kernels::KernelError;
use crate::kernels::error::expect_len;

/// Runs `iterations` rounds of spreading activation on the Zig implementation's edge-list
/// layout, in place.
///
/// `N = activations.len()` and `E = adjacency.len()`. No sources are given: edge `e` belongs to
/// node `e / ceil(E/N)`, that is, edges are listed in node order in equal runs. Edge `e` goes to
/// `adjacency[e]` with weight `weights[e]`; targets `>= N` are skipped. The iteration is that of
/// [`spread`](super::spread). `N == 0`, `E == 0` or `iterations == 0` returns at once.
///
/// # Errors
///
/// * [`KernelError::LengthMismatch`] when `weights.len() != adjacency.len()`;
/// * [`KernelError::ScratchExhausted`] when the 4·N-byte snapshot is refused under the
///   [`Error`](crate::OverflowPolicy::Error) overflow policy; `activations` is then untouched.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::spread::spread_legacy;
///
/// // E = 2, N = 3: ceil(2/3) = 1, so edge 0 belongs to node 0 and edge 1 to node 1.
/// let mut act = [1.0, 0.0, 0.0];
/// spread_legacy(&[1, 2], &[0.5, 0.3], &mut act, 1)?;
/// assert_eq!(act, [1.0, 0.5, 0.0]);
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn spread_legacy(
    adjacency: &[u32],
    weights: &[f32],
    activations: &mut [f32],
    iterations: u32,
) -> Result<(), KernelError> {
    expect_len("weights", adjacency.len(), weights.len())?;
    let n = activations.len();
    if n == 0 || adjacency.is_empty() || iterations == 0 {
        return Ok(());
    }
    let run = adjacency.len().div_ceil(n);
    // One vectorised pass decides whether any target needs skipping; the common all-in-range
    // case then runs the same tight loop as the CSR form.
    let in_range = (adjacency.iter().fold(0u32, |m, &t| m.max(t)) as usize) < n;
    with_snapshot(activations, iterations, |cur, act| {
        // Node `src` owns edges `src*run .. (src+1)*run`; there are at most N such runs because
        // run >= E/N, so every owner has a snapshot entry.
        let runs = adjacency.chunks(run).zip(weights.chunks(run));
        for ((targets, ws), &a) in runs.zip(cur) {
            if in_range {
                for (&t, &w) in targets.iter().zip(ws) {
                    act[t as usize] += a * w;
                }
            } else {
                for (&t, &w) in targets.iter().zip(ws) {
                    if let Some(slot) = act.get_mut(t as usize) {
                        *slot += a * w;
                    }
                }
            }
        }
    })
}
