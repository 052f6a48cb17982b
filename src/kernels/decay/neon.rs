//! aarch64 NEON path of the decay kernel (compiled and type-checked only on aarch64): the f64x2
//! lanes for the pipelines in `lanes.rs`, and the loops that widen strengths to f64, narrow the
//! results back to f32 and keep the strengths of age 0, for [`Decay::apply`] and (the `rounded_*`
//! functions) for [`Decay::apply_rounded_factor`].

use core::arch::aarch64::*;

use super::lanes::{Lanes, decay, exp_bracket};
use super::{Decay, decay_one, fix_factors, rounded_one};
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

pub(super) fn rounded_neon(_: NeonToken, strengths: &mut [f32], ages: &[u64], decay: &Decay) {
    // SAFETY: the token proves NEON was detected at run time.
    unsafe { rounded_neon_impl(strengths, ages, decay) }
}

#[target_feature(enable = "neon")]
fn rounded_neon_impl(strengths: &mut [f32], ages: &[u64], decay: &Decay) {
    let mut s_blocks = strengths.chunks_exact_mut(4);
    let mut a_blocks = ages.chunks_exact(4);
    for (s, a) in (&mut s_blocks).zip(&mut a_blocks) {
        // chunks_exact: every chunk has 4 elements.
        rounded_block_neon(s.try_into().unwrap(), a.try_into().unwrap(), decay);
    }
    // At most 3 left: one by one, as the scalar path does them.
    for (s, &age) in s_blocks
        .into_remainder()
        .iter_mut()
        .zip(a_blocks.remainder())
    {
        *s = rounded_one(*s, age, decay);
    }
}

/// 4 strengths of [`Decay::apply_rounded_factor`]: the factors' f64 brackets in two vectors of 2,
/// narrowed to f32 and compared; the rare unsure lanes from `exp`.
#[inline]
#[target_feature(enable = "neon")]
fn rounded_block_neon(strengths: &mut [f32; 4], ages: &[u64; 4], decay: &Decay) {
    let nit = decay.neg_inv_tau;
    // SAFETY: the arrays hold 4 f32 and 4 u64: every load is in bounds.
    let (s, a0, a1) = unsafe {
        (
            vld1q_f32(strengths.as_ptr()),
            vld1q_u64(ages.as_ptr()),
            vld1q_u64(ages.as_ptr().add(2)),
        )
    };
    // SAFETY: this function's target feature is the lanes' instruction set.
    let ((l0, h0), (l1, h1)) =
        unsafe { (exp_bracket::<Neon>(a0, nit), exp_bracket::<Neon>(a1, nit)) };
    let lo = vcvt_high_f32_f64(vcvt_f32_f64(l0.0), l1.0);
    let hi = vcvt_high_f32_f64(vcvt_f32_f64(h0.0), h1.0);
    let same = vceqq_f32(lo, hi);
    let f = if vminvq_u32(same) == u32::MAX {
        lo
    } else {
        let (mut f, mut eq) = ([0f32; 4], [0u32; 4]);
        // SAFETY: `f` and `eq` hold 4 lanes each.
        unsafe {
            (
                vst1q_f32(f.as_mut_ptr(), lo),
                vst1q_u32(eq.as_mut_ptr(), same),
            )
        };
        let unsure = (0..4).filter(|&i| eq[i] == 0).fold(0, |m, i| m | 1 << i);
        fix_factors(&mut f, unsure, ages, decay);
        // SAFETY: as above.
        unsafe { vld1q_f32(f.as_ptr()) }
    };
    // Age 0 keeps the original bits, and so does ±∞.
    let age0 = vcombine_u32(vmovn_u64(vceqzq_u64(a0)), vmovn_u64(vceqzq_u64(a1)));
    let inf = vceqq_f32(vabsq_f32(s), vdupq_n_f32(f32::INFINITY));
    let r = vbslq_f32(vorrq_u32(age0, inf), s, vmulq_f32(s, f));
    // SAFETY: `strengths` holds 4 f32.
    unsafe { vst1q_f32(strengths.as_mut_ptr(), r) };
}
