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

/// One packed block's 64 integer sums with NEON: for each sub-space, 16 codes at a time look up
/// the sub-space's 256 `u8` entries as four 64-byte tables. `vqtbl4q_u8` gives 0 for an index of
/// 64 or more, so looking up `c`, `c − 64`, `c − 128` and `c − 192` (wrapping) in the four quarters
/// and OR-ing the results picks the one entry. The bytes widen into `u16` accumulators: integer
/// adds, so the sums equal the scalar kernel's. `block` holds `64 × q.len()` codes and
/// `q.len() <= 257` (checked by the caller), so no sum exceeds 65535.
pub(super) fn scan_block_neon(
    _: NeonToken,
    q: &[[u8; CENTROIDS]],
    block: &[u8],
    out: &mut [u16; 64],
) {
    // SAFETY: the token proves NEON was detected at run time.
    unsafe { scan_block_neon_impl(q, block, out) }
}

#[target_feature(enable = "neon")]
fn scan_block_neon_impl(q: &[[u8; CENTROIDS]], block: &[u8], out: &mut [u16; 64]) {
    let mut acc = [vdupq_n_u16(0); 8];
    let step = vdupq_n_u8(64);
    for (t, codes) in q.iter().zip(block.chunks_exact(64)) {
        // SAFETY: `t` holds 256 bytes: four loads of 64.
        let quarters = unsafe {
            let p = t.as_ptr();
            [
                vld1q_u8_x4(p),
                vld1q_u8_x4(p.add(64)),
                vld1q_u8_x4(p.add(128)),
                vld1q_u8_x4(p.add(192)),
            ]
        };
        for (i, acc) in acc.chunks_exact_mut(2).enumerate() {
            // SAFETY: `codes` holds 64 bytes, `i < 4`.
            let mut c = unsafe { vld1q_u8(codes.as_ptr().add(16 * i)) };
            let mut v = vdupq_n_u8(0);
            for quarter in quarters {
                v = vorrq_u8(v, vqtbl4q_u8(quarter, c));
                c = vsubq_u8(c, step);
            }
            acc[0] = vaddw_u8(acc[0], vget_low_u8(v));
            acc[1] = vaddw_high_u8(acc[1], v);
        }
    }
    for (i, acc) in acc.iter().enumerate() {
        // SAFETY: `out` holds 64 u16; lanes `8i .. 8i + 8` with `i < 8`.
        unsafe { vst1q_u16(out.as_mut_ptr().add(8 * i), *acc) };
    }
}
