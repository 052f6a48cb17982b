//! The aarch64 NEON PQ scan (compiled only on aarch64): four rows per `float32x4_t`.
//!
//! NEON has no gather, so each lane's table entry is a scalar load inserted into its lane; the
//! vector add then advances four rows' scores at once. Every lane adds its entries in order of
//! `j`, as `kernel::score_row` does, so the scores are the scalar reference's bit for bit.

use core::arch::aarch64::*;

use super::CENTROIDS;
use super::kernel::score_row;
use crate::kernels::dispatch::NeonToken;

/// Scores with NEON. Lengths as `scan_at` validated them.
pub(super) fn scan_neon(
    _: NeonToken,
    table: &[[f32; CENTROIDS]],
    codes: &[u8],
    scores: &mut [f32],
) {
    // SAFETY: the token proves NEON was detected at run time.
    unsafe { scan_neon_impl(table, codes, scores) }
}

#[target_feature(enable = "neon")]
fn scan_neon_impl(table: &[[f32; CENTROIDS]], codes: &[u8], scores: &mut [f32]) {
    let m = table.len();
    let full = scores.len() / 4 * 4;
    let (head, tail) = scores.split_at_mut(full);
    for (block, out) in codes.chunks_exact(4 * m).zip(head.chunks_exact_mut(4)) {
        let (r0, rest) = block.split_at(m);
        let (r1, rest) = rest.split_at(m);
        let (r2, r3) = rest.split_at(m);
        let mut acc = vdupq_n_f32(0.0);
        for (j, t) in table.iter().enumerate() {
            // `u8` indices into 256-entry arrays: no bounds checks on `t`.
            let lanes = [
                t[usize::from(r0[j])],
                t[usize::from(r1[j])],
                t[usize::from(r2[j])],
                t[usize::from(r3[j])],
            ];
            // SAFETY: `lanes` holds four floats.
            acc = vaddq_f32(acc, unsafe { vld1q_f32(lanes.as_ptr()) });
        }
        // SAFETY: `out` holds four floats.
        unsafe { vst1q_f32(out.as_mut_ptr(), acc) };
    }
    for (row, s) in codes[full * m..].chunks_exact(m).zip(tail) {
        *s = score_row(table, row);
    }
}
