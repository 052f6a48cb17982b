//! aarch64 NEON path of the decay kernel (compiled and type-checked only on aarch64): the steps
//! of `decay_one` in f64x2 lanes, with one rounding to f32 at the end.

use core::arch::aarch64::*;

use super::{EXP_C, ROUND_MAGIC, X_MIN, decay_one};
use crate::kernels::dispatch::NeonToken;

pub(super) fn apply_neon(_: NeonToken, strengths: &mut [f32], ages: &[u64], neg_inv_tau: f64) {
    // SAFETY: the token proves NEON was detected at run time.
    unsafe { apply_neon_impl(strengths, ages, neg_inv_tau) }
}

#[target_feature(enable = "neon")]
fn apply_neon_impl(strengths: &mut [f32], ages: &[u64], neg_inv_tau: f64) {
    let n = strengths.len().min(ages.len());
    let (sp, ap) = (strengths.as_mut_ptr(), ages.as_ptr());
    let mut i = 0;
    while i + 4 <= n {
        // SAFETY: i + 4 <= n: 4 f32 strengths and 4 u64 ages from i are in bounds.
        let (s, a0, a1) = unsafe {
            (
                vld1q_f32(sp.add(i)),
                vld1q_u64(ap.add(i)),
                vld1q_u64(ap.add(i + 2)),
            )
        };
        let r0 = vcvt_f32_f64(lanes_neon(vcvt_f64_f32(vget_low_f32(s)), a0, neg_inv_tau));
        let r = vcvt_high_f32_f64(r0, lanes_neon(vcvt_high_f64_f32(s), a1, neg_inv_tau));
        // Age 0 keeps the original bits, even of a signalling NaN that f64 would quiet.
        let keep = vcombine_u32(vmovn_u64(vceqzq_u64(a0)), vmovn_u64(vceqzq_u64(a1)));
        let r = vbslq_f32(keep, s, r);
        // SAFETY: same 4 in-bounds strengths as loaded above.
        unsafe { vst1q_f32(sp.add(i), r) };
        i += 4;
    }
    for (s, &age) in strengths[i..n].iter_mut().zip(&ages[i..n]) {
        *s = decay_one(*s, age, neg_inv_tau);
    }
}

/// `s · exp(−age/τ)` for 2 lanes, in f64.
#[inline]
#[target_feature(enable = "neon")]
fn lanes_neon(s: float64x2_t, ages: uint64x2_t, neg_inv_tau: f64) -> float64x2_t {
    // UCVTF rounds to nearest, like `as f64`.
    let age = vcvtq_f64_u64(ages);
    let x = vmaxq_f64(vmulq_f64(age, vdupq_n_f64(neg_inv_tau)), vdupq_n_f64(X_MIN));
    let t = vfmaq_f64(
        vdupq_n_f64(ROUND_MAGIC),
        x,
        vdupq_n_f64(core::f64::consts::LOG2_E),
    );
    let k = vsubq_f64(t, vdupq_n_f64(ROUND_MAGIC));
    // The fused product k * LN2 is exact: one step suffices (error below 3e-14 for |k| <= 1010).
    let r = vfmsq_f64(x, k, vdupq_n_f64(core::f64::consts::LN_2));
    let mut p = vdupq_n_f64(EXP_C[7]);
    for &c in EXP_C[..7].iter().rev() {
        // vfmaq_f64(a, b, c) = a + b * c
        p = vfmaq_f64(vdupq_n_f64(c), p, r);
    }
    // k is an integer in [-1010, 0]; (k + 1023) << 52 are the bits of 2^k.
    let two_k = vreinterpretq_f64_s64(vshlq_n_s64::<52>(vaddq_s64(
        vcvtq_s64_f64(k),
        vdupq_n_s64(1023),
    )));
    vmulq_f64(vmulq_f64(s, p), two_k)
}
