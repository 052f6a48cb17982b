//! aarch64 NEON path of the decay kernel (compiled and type-checked only on aarch64): the f64x2
//! lanes for the pipeline in `lanes.rs`, and the loop that widens strengths to f64, narrows the
//! results back to f32 and keeps the strengths of age 0.

use core::arch::aarch64::*;

use super::decay_one;
use super::lanes::{Lanes, decay};
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

#[derive(Clone, Copy)]
struct Neon(float64x2_t);

// SAFETY (every method): register-only arithmetic; the trait's contract is that the CPU runs NEON
// (the entry point's token proves it).
impl Lanes for Neon {
    type Ages = uint64x2_t;

    #[inline(always)]
    unsafe fn splat(v: f64) -> Self {
        // SAFETY: register-only NEON arithmetic; the trait's contract is that the CPU has it.
        Neon(unsafe { vdupq_n_f64(v) })
    }

    #[inline(always)]
    unsafe fn ages(a: uint64x2_t) -> Self {
        // UCVTF rounds to nearest, like `as f64`.
        // SAFETY: register-only NEON arithmetic; the trait's contract is that the CPU has it.
        Neon(unsafe { vcvtq_f64_u64(a) })
    }

    #[inline(always)]
    unsafe fn sub(a: Self, b: Self) -> Self {
        // SAFETY: register-only NEON arithmetic; the trait's contract is that the CPU has it.
        Neon(unsafe { vsubq_f64(a.0, b.0) })
    }

    #[inline(always)]
    unsafe fn mul(a: Self, b: Self) -> Self {
        // SAFETY: register-only NEON arithmetic; the trait's contract is that the CPU has it.
        Neon(unsafe { vmulq_f64(a.0, b.0) })
    }

    #[inline(always)]
    unsafe fn max(a: Self, b: Self) -> Self {
        // SAFETY: register-only NEON arithmetic; the trait's contract is that the CPU has it.
        Neon(unsafe { vmaxq_f64(a.0, b.0) })
    }

    #[inline(always)]
    unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self {
        // vfmaq_f64(c, a, b) = c + a * b, fused.
        // SAFETY: register-only NEON arithmetic; the trait's contract is that the CPU has it.
        Neon(unsafe { vfmaq_f64(c.0, a.0, b.0) })
    }

    #[inline(always)]
    unsafe fn scale(v: Self, k: Self, _: Self) -> Self {
        // k is an integer in [-1010, 0]; (k + 1023) << 52 are the bits of 2^k.
        // SAFETY: register-only NEON arithmetic; the trait's contract is that the CPU has it.
        unsafe {
            let two_k = vreinterpretq_f64_s64(vshlq_n_s64::<52>(vaddq_s64(
                vcvtq_s64_f64(k.0),
                vdupq_n_s64(1023),
            )));
            Neon(vmulq_f64(v.0, two_k))
        }
    }
}

/// `s · exp(−age/τ)` for 2 lanes, in f64.
#[inline]
#[target_feature(enable = "neon")]
fn lanes_neon(s: float64x2_t, ages: uint64x2_t, neg_inv_tau: f64) -> float64x2_t {
    // SAFETY: this function's target feature is the lanes' instruction set.
    unsafe { decay(Neon(s), ages, neg_inv_tau).0 }
}
