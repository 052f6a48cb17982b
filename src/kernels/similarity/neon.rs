//! aarch64 NEON path of the cosine kernel (compiled and type-checked only on aarch64).

use core::arch::aarch64::*;

use super::batch_with;

#[target_feature(enable = "neon")]
pub(super) fn batch_neon(query: &[f32], candidates: &[f32], scores: &mut [f32]) {
    batch_with(query, candidates, scores, |q, c| pair_neon(q, c));
}

/// `(dot(q, c), dot(c, c))` over `min(q.len(), c.len())` elements.
#[inline]
#[target_feature(enable = "neon")]
fn pair_neon(q: &[f32], c: &[f32]) -> (f32, f32) {
    let n = q.len().min(c.len());
    let (qp, cp) = (q.as_ptr(), c.as_ptr());
    let (mut d0, mut d1, mut d2, mut d3) = (
        vdupq_n_f32(0.0),
        vdupq_n_f32(0.0),
        vdupq_n_f32(0.0),
        vdupq_n_f32(0.0),
    );
    let (mut n0, mut n1, mut n2, mut n3) = (
        vdupq_n_f32(0.0),
        vdupq_n_f32(0.0),
        vdupq_n_f32(0.0),
        vdupq_n_f32(0.0),
    );
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: i + 16 <= n <= both lengths, so the four 4-lane loads stay inside both slices.
        let (c0, c1, c2, c3, q0, q1, q2, q3) = unsafe {
            (
                vld1q_f32(cp.add(i)),
                vld1q_f32(cp.add(i + 4)),
                vld1q_f32(cp.add(i + 8)),
                vld1q_f32(cp.add(i + 12)),
                vld1q_f32(qp.add(i)),
                vld1q_f32(qp.add(i + 4)),
                vld1q_f32(qp.add(i + 8)),
                vld1q_f32(qp.add(i + 12)),
            )
        };
        d0 = vfmaq_f32(d0, q0, c0);
        d1 = vfmaq_f32(d1, q1, c1);
        d2 = vfmaq_f32(d2, q2, c2);
        d3 = vfmaq_f32(d3, q3, c3);
        n0 = vfmaq_f32(n0, c0, c0);
        n1 = vfmaq_f32(n1, c1, c1);
        n2 = vfmaq_f32(n2, c2, c2);
        n3 = vfmaq_f32(n3, c3, c3);
        i += 16;
    }
    while i + 4 <= n {
        // SAFETY: i + 4 <= n, so both 4-lane loads are in bounds.
        let (cv, qv) = unsafe { (vld1q_f32(cp.add(i)), vld1q_f32(qp.add(i))) };
        d0 = vfmaq_f32(d0, qv, cv);
        n0 = vfmaq_f32(n0, cv, cv);
        i += 4;
    }
    let mut dot = vaddvq_f32(vaddq_f32(vaddq_f32(d0, d1), vaddq_f32(d2, d3)));
    let mut cc = vaddvq_f32(vaddq_f32(vaddq_f32(n0, n1), vaddq_f32(n2, n3)));
    for (&a, &b) in q[i..n].iter().zip(&c[i..n]) {
        dot += a * b;
        cc += b * b;
    }
    (dot, cc)
}
