//! The iterated spread on a CSR graph, and the pieces the legacy form shares with it.

use super::CsrGraph;
use crate::kernels::KernelError;
use crate::kernels::error::expect_len;
use crate::kernels::staging::stage_copy;

/// Runs `iterations` rounds of spreading activation over `graph`, in place.
///
/// Each round snapshots `activations`, adds `cur[src] * w` to every edge's target in edge order,
/// then divides every node by the maximum activation `m` (starting from 0, ignoring NaN) when
/// `m > 1`. See the [module documentation](super) for the exact rules. `iterations == 0` or an
/// empty graph leaves `activations` unchanged.
///
/// Scratch: one snapshot of 4·N bytes from the thread's arena for the whole call.
///
/// # Errors
///
/// * [`KernelError::LengthMismatch`] when `activations.len() != graph.num_nodes()`;
/// * [`KernelError::ScratchExhausted`] when the snapshot does not fit the arena under the
///   [`Error`](crate::OverflowPolicy::Error) overflow policy; `activations` is then untouched.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::spread::{CsrGraph, spread};
///
/// // the chain 0 → 1 → 2 with weights .5
/// let g = CsrGraph::new(&[0, 1, 2, 2], &[1, 2], &[0.5, 0.5])?;
/// let mut act = [1.0, 0.0, 0.0];
/// spread(&g, &mut act, 2)?;
/// assert_eq!(act, [1.0, 1.0, 0.25]);
///
/// assert!(spread(&g, &mut [0.0; 2], 1).is_err());
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn spread(
    graph: &CsrGraph<'_>,
    activations: &mut [f32],
    iterations: u32,
) -> Result<(), KernelError> {
    let n = graph.num_nodes();
    expect_len("activations", n, activations.len())?;
    if iterations == 0 || n == 0 {
        return Ok(());
    }
    with_snapshot(activations, iterations, |cur, act| {
        for (src, &a) in cur.iter().enumerate() {
            let (targets, weights) = graph.edges(src);
            for (&t, &w) in targets.iter().zip(weights) {
                act[t as usize] += a * w;
            }
        }
    })
}

/// Runs `iterations` rounds of `snapshot → edges(cur, act) → normalise`, with the snapshot in one
/// scratch scope. `edges` must apply the per-edge operation `act[t] += cur[src] * w`.
pub(super) fn with_snapshot(
    activations: &mut [f32],
    iterations: u32,
    mut edges: impl FnMut(&[f32], &mut [f32]),
) -> Result<(), KernelError> {
    crate::scratch::with_arena(|scratch| {
        let cur = stage_copy(scratch, activations)?;
        for i in 0..iterations {
            if i > 0 {
                cur.copy_from_slice(activations);
            }
            edges(cur, activations);
            normalise(activations);
        }
        Ok(())
    })
}

/// Divides every value by the maximum `m` (starting from 0, NaN ignored) when `m > 1`.
#[inline]
pub(super) fn normalise(act: &mut [f32]) {
    // `>` skips NaN (every comparison with NaN is false) and keeps +0 as the floor. Eight
    // independent running maxima let the compiler use vector max instructions; the result is the
    // same value in any order, since only a strictly greater value replaces a maximum.
    let mut lanes = [0.0f32; 8];
    let chunks = act.chunks_exact(8);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (m, &v) in lanes.iter_mut().zip(chunk) {
            if v > *m {
                *m = v;
            }
        }
    }
    let m = lanes
        .iter()
        .chain(rest)
        .fold(0.0f32, |m, &v| if v > m { v } else { m });
    if m > 1.0 {
        for v in act.iter_mut() {
            *v /= m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn normalise_ignores_nan_and_keeps_small_maxima() {
        let mut a = [f32::NAN, 2.0, -4.0];
        normalise(&mut a);
        assert!(a[0].is_nan());
        assert_eq!(&a[1..], &[1.0, -2.0]);

        let mut b = [0.5, -3.0];
        normalise(&mut b);
        assert_eq!(b, [0.5, -3.0]);
    }

    #[test]
    fn normalise_by_infinity_zeroes_finite_values() {
        let mut a = [f32::INFINITY, 3.0];
        normalise(&mut a);
        assert!(a[0].is_nan());
        assert_eq!(a[1], 0.0);
    }
}
