//! x86_64 AVX2+FMA and AVX-512F paths of the decay kernel: the f64 lanes of each (`__m256d`,
//! `__m512d`) for the pipelines in `lanes.rs`, and the loops that widen strengths to f64, narrow
//! the results back to f32 and keep the strengths of age 0, for [`Decay::apply`] and (the
//! `rounded_*` functions) for [`Decay::apply_rounded_factor`].

use core::arch::x86_64::*;

use super::lanes::{Lanes, decay, exp_bracket};
use super::{Decay, EXP_C, EXP_C11, decay_one, fix_factors};
use crate::kernels::dispatch::{Avx2Token, Avx512DqToken};

/// Bits of `2⁵²`; OR-ing a 32-bit integer into its low mantissa gives the f64 `2⁵² + lo`.
const TWO_52_BITS: i64 = 0x4330_0000_0000_0000;
/// Bits of `2⁸⁴`; OR-ing `hi` into its low mantissa gives `2⁸⁴ + hi · 2³²`.
const TWO_84_BITS: i64 = 0x4530_0000_0000_0000;
/// `2⁸⁴ + 2⁵²`: subtracting it from `(2⁸⁴ + hi·2³²)` and adding `(2⁵² + lo)` yields
/// `hi·2³² + lo` with a single rounding (the final addition).
const TWO_84_PLUS_52: f64 = 19_342_813_118_337_666_422_669_312.0;
/// The biased-exponent offset, pre-shifted into the exponent field.
const BIAS_BITS: i64 = 1023 << 52;

/// How far ahead of the block in use the decay loops ask for strengths and ages, in elements:
/// 1 KiB of strengths and 2 KiB of ages. With the hardware prefetcher alone, the exactly rounded
/// export at 10M strengths took 1.35 ns per strength, about its time in cache (0.62 ns) plus its
/// memory floor (0.78 ns): the arithmetic and the reads took turns. Prefetching 128, 256, 384,
/// 512, 1024 and 2048 elements ahead gave 0.93, 0.83-0.90, 0.91-0.96, 0.94-1.01, 0.88 and
/// 1.00 ns (`scripts/bench-vs-zig.sh ZIG_DIR decay`, AVX-512).
const AHEAD: usize = 256;

/// Prefetches the strengths and ages of the `STEP` elements `AHEAD` past `i`: the line of
/// strengths and the line or two of ages that a loop step of `STEP` (8 or 16) elements reads.
#[inline(always)]
fn prefetch_ahead<const STEP: usize>(sp: *const f32, ap: *const u64, i: usize) {
    let at = i + AHEAD;
    // SAFETY: a prefetch never faults, whatever the address, and `wrapping_add` keeps the
    // address computation itself defined past the slices' ends. (The minimum supported Rust,
    // 1.89, still declares `_mm_prefetch` unsafe; newer ones do not, hence the allow.)
    #[allow(unused_unsafe)]
    unsafe {
        _mm_prefetch::<_MM_HINT_T0>(sp.wrapping_add(at).cast());
        _mm_prefetch::<_MM_HINT_T0>(ap.wrapping_add(at).cast());
        if STEP == 16 {
            _mm_prefetch::<_MM_HINT_T0>(ap.wrapping_add(at + 8).cast());
        }
    }
}

/// Needs AVX-512DQ as well as F, for the u64 → f64 conversion (`vcvtuqq2pd`): every AVX-512 CPU
/// but the Xeon Phi has it, and it saves a fifth of the work.
pub(super) fn apply_avx512(
    _: Avx512DqToken,
    strengths: &mut [f32],
    ages: &[u64],
    neg_inv_tau: f64,
) {
    // SAFETY: the token proves AVX-512F and AVX-512DQ were detected at run time.
    unsafe { apply_avx512_impl(strengths, ages, neg_inv_tau) }
}

#[target_feature(enable = "avx512f,avx512dq")]
fn apply_avx512_impl(strengths: &mut [f32], ages: &[u64], neg_inv_tau: f64) {
    let n = strengths.len().min(ages.len());
    let (sp, ap) = (strengths.as_mut_ptr(), ages.as_ptr());
    let mut i = 0;
    while i + 16 <= n {
        prefetch_ahead::<16>(sp, ap, i);
        // SAFETY: i + 16 <= n: 16 f32 strengths and 16 u64 ages from i are in bounds.
        let (s, a0, a1) = unsafe {
            (
                _mm512_loadu_ps(sp.add(i)),
                _mm512_loadu_si512(ap.add(i).cast()),
                _mm512_loadu_si512(ap.add(i + 8).cast()),
            )
        };
        let lo = _mm512_castps512_ps256(s);
        let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1));
        let r0 = _mm512_cvtpd_ps(lanes_avx512(_mm512_cvtps_pd(lo), a0, neg_inv_tau));
        let r1 = _mm512_cvtpd_ps(lanes_avx512(_mm512_cvtps_pd(hi), a1, neg_inv_tau));
        let r = _mm512_castpd_ps(_mm512_insertf64x4(
            _mm512_castpd256_pd512(_mm256_castps_pd(r0)),
            _mm256_castps_pd(r1),
            1,
        ));
        // Age 0 keeps the original bits, even of a signalling NaN that f64 would quiet.
        let zero = _mm512_setzero_si512();
        let keep = u16::from(_mm512_cmpeq_epu64_mask(a0, zero))
            | (u16::from(_mm512_cmpeq_epu64_mask(a1, zero)) << 8);
        let r = _mm512_mask_blend_ps(keep, r, s);
        // SAFETY: same 16 in-bounds strengths as loaded above.
        unsafe { _mm512_storeu_ps(sp.add(i), r) };
        i += 16;
    }
    for (s, &age) in strengths[i..n].iter_mut().zip(&ages[i..n]) {
        *s = decay_one(*s, age, neg_inv_tau);
    }
}

#[derive(Clone, Copy)]
struct Avx512(__m512d);

// SAFETY (every method): register-only arithmetic; the trait's contract is that the CPU runs
// AVX-512F and AVX-512DQ (the entry point's token proves it).
impl Lanes for Avx512 {
    type Ages = __m512i;

    #[inline(always)]
    unsafe fn splat(v: f64) -> Self {
        // SAFETY: register-only AVX-512F/DQ arithmetic; the trait's contract is that the CPU has it.
        Avx512(unsafe { _mm512_set1_pd(v) })
    }

    #[inline(always)]
    unsafe fn ages(a: __m512i) -> Self {
        // vcvtuqq2pd (AVX-512DQ) rounds to nearest, like `as f64`.
        // SAFETY: register-only AVX-512F/DQ arithmetic; the trait's contract is that the CPU has it.
        Avx512(unsafe { _mm512_cvtepu64_pd(a) })
    }

    #[inline(always)]
    unsafe fn sub(a: Self, b: Self) -> Self {
        // SAFETY: register-only AVX-512F/DQ arithmetic; the trait's contract is that the CPU has it.
        Avx512(unsafe { _mm512_sub_pd(a.0, b.0) })
    }

    #[inline(always)]
    unsafe fn mul(a: Self, b: Self) -> Self {
        // SAFETY: register-only AVX-512F/DQ arithmetic; the trait's contract is that the CPU has it.
        Avx512(unsafe { _mm512_mul_pd(a.0, b.0) })
    }

    #[inline(always)]
    unsafe fn max(a: Self, b: Self) -> Self {
        // SAFETY: register-only AVX-512F/DQ arithmetic; the trait's contract is that the CPU has it.
        Avx512(unsafe { _mm512_max_pd(a.0, b.0) })
    }

    #[inline(always)]
    unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self {
        // SAFETY: register-only AVX-512F/DQ arithmetic; the trait's contract is that the CPU has it.
        Avx512(unsafe { _mm512_fmadd_pd(a.0, b.0, c.0) })
    }

    // Horner (the default `poly`): with 8 lanes the loop is throughput-bound, and Horner needs
    // the fewest operations. The same holds for the exactly rounded path's degree-11 polynomial.

    #[inline(always)]
    unsafe fn poly11(r: Self) -> Self {
        // SAFETY: register-only AVX-512F/DQ arithmetic; the trait's contract is that the CPU has it.
        unsafe {
            let mut p = Self::splat(EXP_C11[11]);
            for &c in EXP_C11[..11].iter().rev() {
                p = Self::mul_add(p, r, Self::splat(c));
            }
            p
        }
    }

    #[inline(always)]
    unsafe fn scale(v: Self, k: Self, _: Self) -> Self {
        // scalef multiplies by 2^k with a single rounding, subnormal results included.
        // SAFETY: register-only AVX-512F/DQ arithmetic; the trait's contract is that the CPU has it.
        Avx512(unsafe { _mm512_scalef_pd(v.0, k.0) })
    }
}

/// `s · exp(−age/τ)` for 8 lanes, in f64.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn lanes_avx512(s: __m512d, ages: __m512i, neg_inv_tau: f64) -> __m512d {
    // SAFETY: this function's target features are the lanes' instruction set.
    unsafe { decay(Avx512(s), ages, neg_inv_tau).0 }
}

pub(super) fn apply_avx2(_: Avx2Token, strengths: &mut [f32], ages: &[u64], neg_inv_tau: f64) {
    // SAFETY: the token proves AVX2 and FMA were detected at run time.
    unsafe { apply_avx2_impl(strengths, ages, neg_inv_tau) }
}

#[target_feature(enable = "avx2,fma")]
fn apply_avx2_impl(strengths: &mut [f32], ages: &[u64], neg_inv_tau: f64) {
    let n = strengths.len().min(ages.len());
    let (sp, ap) = (strengths.as_mut_ptr(), ages.as_ptr());
    let mut i = 0;
    while i + 8 <= n {
        prefetch_ahead::<8>(sp, ap, i);
        // SAFETY: i + 8 <= n: 8 f32 strengths and 8 u64 ages from i are in bounds.
        let (s, a0, a1) = unsafe {
            (
                _mm256_loadu_ps(sp.add(i)),
                _mm256_loadu_si256(ap.add(i).cast()),
                _mm256_loadu_si256(ap.add(i + 4).cast()),
            )
        };
        let lo = _mm256_castps256_ps128(s);
        let hi = _mm256_extractf128_ps(s, 1);
        let r0 = _mm256_cvtpd_ps(lanes_avx2(_mm256_cvtps_pd(lo), a0, neg_inv_tau));
        let r1 = _mm256_cvtpd_ps(lanes_avx2(_mm256_cvtps_pd(hi), a1, neg_inv_tau));
        let r = _mm256_set_m128(r1, r0);
        // Age 0 keeps the original bits. Narrow the two 4 x 64-bit masks to one 8 x 32-bit mask:
        // the shuffle takes the low half of each 64-bit mask per 128-bit lane, the permute puts
        // the lanes back in element order.
        let zero = _mm256_setzero_si256();
        let m0 = _mm256_castsi256_ps(_mm256_cmpeq_epi64(a0, zero));
        let m1 = _mm256_castsi256_ps(_mm256_cmpeq_epi64(a1, zero));
        let keep = _mm256_castpd_ps(_mm256_permute4x64_pd(
            _mm256_castps_pd(_mm256_shuffle_ps(m0, m1, 0b10_00_10_00)),
            0b11_01_10_00,
        ));
        // black_box: otherwise LLVM turns "store a blend with the loaded value" into a masked
        // store (vmaskmovps), which is microcoded and several times slower on AMD cores.
        let r = _mm256_blendv_ps(r, core::hint::black_box(s), keep);
        // SAFETY: same 8 in-bounds strengths as loaded above.
        unsafe { _mm256_storeu_ps(sp.add(i), r) };
        i += 8;
    }
    for (s, &age) in strengths[i..n].iter_mut().zip(&ages[i..n]) {
        *s = decay_one(*s, age, neg_inv_tau);
    }
}

#[derive(Clone, Copy)]
struct Avx2(__m256d);

// SAFETY (every method): register-only arithmetic; the trait's contract is that the CPU runs
// AVX2 and FMA (the entry point's token proves it).
impl Lanes for Avx2 {
    type Ages = __m256i;

    #[inline(always)]
    unsafe fn splat(v: f64) -> Self {
        // SAFETY: register-only AVX2/FMA arithmetic; the trait's contract is that the CPU has it.
        Avx2(unsafe { _mm256_set1_pd(v) })
    }

    #[inline(always)]
    unsafe fn ages(ages: __m256i) -> Self {
        // AVX2 has no u64 → f64 conversion. The low 32 bits of each age go under the exponent of
        // 2^52 (blend takes odd 32-bit elements, the high halves, from the constant), the high
        // 32 under that of 2^84; subtracting the two offsets and adding rounds once, to nearest.
        // SAFETY: register-only AVX2/FMA arithmetic; the trait's contract is that the CPU has it.
        unsafe {
            let lo = _mm256_blend_epi32(ages, _mm256_set1_epi64x(TWO_52_BITS), 0b1010_1010);
            let hi = _mm256_or_si256(_mm256_srli_epi64(ages, 32), _mm256_set1_epi64x(TWO_84_BITS));
            Avx2(_mm256_add_pd(
                _mm256_sub_pd(_mm256_castsi256_pd(hi), _mm256_set1_pd(TWO_84_PLUS_52)),
                _mm256_castsi256_pd(lo),
            ))
        }
    }

    #[inline(always)]
    unsafe fn sub(a: Self, b: Self) -> Self {
        // SAFETY: register-only AVX2/FMA arithmetic; the trait's contract is that the CPU has it.
        Avx2(unsafe { _mm256_sub_pd(a.0, b.0) })
    }

    #[inline(always)]
    unsafe fn mul(a: Self, b: Self) -> Self {
        // SAFETY: register-only AVX2/FMA arithmetic; the trait's contract is that the CPU has it.
        Avx2(unsafe { _mm256_mul_pd(a.0, b.0) })
    }

    #[inline(always)]
    unsafe fn max(a: Self, b: Self) -> Self {
        // SAFETY: register-only AVX2/FMA arithmetic; the trait's contract is that the CPU has it.
        Avx2(unsafe { _mm256_max_pd(a.0, b.0) })
    }

    #[inline(always)]
    unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self {
        // SAFETY: register-only AVX2/FMA arithmetic; the trait's contract is that the CPU has it.
        Avx2(unsafe { _mm256_fmadd_pd(a.0, b.0, c.0) })
    }

    #[inline(always)]
    unsafe fn poly(r: Self) -> Self {
        // Estrin's scheme: with 4 lanes the loop is latency-bound, and Estrin's depth is 3, not 7.
        // SAFETY: register-only AVX2/FMA arithmetic; the trait's contract is that the CPU has it.
        unsafe {
            let (r, c) = (r.0, |i: usize| _mm256_set1_pd(EXP_C[i]));
            let r2 = _mm256_mul_pd(r, r);
            let r4 = _mm256_mul_pd(r2, r2);
            let p01 = _mm256_fmadd_pd(c(1), r, c(0));
            let p23 = _mm256_fmadd_pd(c(3), r, c(2));
            let p45 = _mm256_fmadd_pd(c(5), r, c(4));
            let p67 = _mm256_fmadd_pd(c(7), r, c(6));
            let p03 = _mm256_fmadd_pd(p23, r2, p01);
            let p47 = _mm256_fmadd_pd(p67, r2, p45);
            Avx2(_mm256_fmadd_pd(p47, r4, p03))
        }
    }

    #[inline(always)]
    unsafe fn scale(v: Self, _: Self, t: Self) -> Self {
        // The low mantissa bits of t hold k (two's complement); shifted into the exponent field
        // and biased, they form 2^k. k is in [-1010, 0], so 2^k is a normal f64.
        // SAFETY: register-only AVX2/FMA arithmetic; the trait's contract is that the CPU has it.
        unsafe {
            let two_k = _mm256_add_epi64(
                _mm256_slli_epi64(_mm256_castpd_si256(t.0), 52),
                _mm256_set1_epi64x(BIAS_BITS),
            );
            Avx2(_mm256_mul_pd(v.0, _mm256_castsi256_pd(two_k)))
        }
    }
}

/// `s · exp(−age/τ)` for 4 lanes, in f64.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn lanes_avx2(s: __m256d, ages: __m256i, neg_inv_tau: f64) -> __m256d {
    // SAFETY: this function's target features are the lanes' instruction set.
    unsafe { decay(Avx2(s), ages, neg_inv_tau).0 }
}

pub(super) fn rounded_avx512(_: Avx512DqToken, strengths: &mut [f32], ages: &[u64], decay: &Decay) {
    // SAFETY: the token proves AVX-512F and AVX-512DQ were detected at run time.
    unsafe { rounded_avx512_impl(strengths, ages, decay) }
}

#[target_feature(enable = "avx512f,avx512dq")]
fn rounded_avx512_impl(strengths: &mut [f32], ages: &[u64], decay: &Decay) {
    let n = strengths.len().min(ages.len());
    let (sp, ap) = (strengths.as_mut_ptr(), ages.as_ptr());
    let mut i = 0;
    while i + 16 <= n {
        prefetch_ahead::<16>(sp, ap, i);
        // SAFETY: i + 16 <= n: 16 f32 strengths and 16 u64 ages from i are in bounds.
        unsafe {
            let s = _mm512_loadu_ps(sp.add(i));
            let a0 = _mm512_loadu_si512(ap.add(i).cast());
            let a1 = _mm512_loadu_si512(ap.add(i + 8).cast());
            _mm512_storeu_ps(sp.add(i), rounded_block_avx512(s, a0, a1, decay));
        }
        i += 16;
    }
    if i < n {
        // The tail, and a short call's only block, is masked: no scalar tail.
        let m = (1u16 << (n - i)) - 1;
        // SAFETY: mask bit j is set only for i + j < n, so every lane loaded or stored is in
        // bounds; masked-off lanes are neither read (no fault either) nor written.
        unsafe {
            let s = _mm512_maskz_loadu_ps(m, sp.add(i));
            let a0 = _mm512_maskz_loadu_epi64(m as u8, ap.add(i).cast());
            let a1 = _mm512_maskz_loadu_epi64((m >> 8) as u8, ap.add(i + 8).cast());
            _mm512_mask_storeu_ps(sp.add(i), m, rounded_block_avx512(s, a0, a1, decay));
        }
    }
}

/// 16 strengths of [`Decay::apply_rounded_factor`]: the factors' f64 brackets in two vectors of 8,
/// narrowed to f32 and compared; the rare unsure lanes from `exp`. Lanes of age 0 (the masked-off
/// ones among them) keep their strength.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn rounded_block_avx512(s: __m512, a0: __m512i, a1: __m512i, decay: &Decay) -> __m512 {
    let nit = decay.neg_inv_tau;
    // SAFETY: this function's target features are the lanes' instruction set.
    let ((l0, h0), (l1, h1)) = unsafe {
        (
            exp_bracket::<Avx512>(a0, nit),
            exp_bracket::<Avx512>(a1, nit),
        )
    };
    let join = |x: Avx512, y: Avx512| {
        _mm512_castpd_ps(_mm512_insertf64x4(
            _mm512_castpd256_pd512(_mm256_castps_pd(_mm512_cvtpd_ps(x.0))),
            _mm256_castps_pd(_mm512_cvtpd_ps(y.0)),
            1,
        ))
    };
    let (lo, hi) = (join(l0, l1), join(h0, h1));
    let unsure = _mm512_cmp_ps_mask::<_CMP_NEQ_UQ>(lo, hi);
    let f = if unsure == 0 {
        lo
    } else {
        let (mut f, mut a) = ([0f32; 16], [0u64; 16]);
        // SAFETY: `f` holds 16 f32, `a` 16 u64.
        unsafe {
            _mm512_storeu_ps(f.as_mut_ptr(), lo);
            _mm512_storeu_si512(a.as_mut_ptr().cast(), a0);
            _mm512_storeu_si512(a.as_mut_ptr().add(8).cast(), a1);
        }
        fix_factors(&mut f, u32::from(unsure), &a, decay);
        // SAFETY: as above.
        unsafe { _mm512_loadu_ps(f.as_ptr()) }
    };
    // Age 0 keeps the original bits (even of a signalling NaN), and so does ±∞ (class bits 3, 4).
    let zero = _mm512_setzero_si512();
    let keep = u16::from(_mm512_cmpeq_epu64_mask(a0, zero))
        | (u16::from(_mm512_cmpeq_epu64_mask(a1, zero)) << 8)
        | _mm512_fpclass_ps_mask::<0x18>(s);
    _mm512_mask_blend_ps(keep, _mm512_mul_ps(s, f), s)
}

pub(super) fn rounded_avx2(_: Avx2Token, strengths: &mut [f32], ages: &[u64], decay: &Decay) {
    // SAFETY: the token proves AVX2 and FMA were detected at run time.
    unsafe { rounded_avx2_impl(strengths, ages, decay) }
}

#[target_feature(enable = "avx2,fma")]
fn rounded_avx2_impl(strengths: &mut [f32], ages: &[u64], decay: &Decay) {
    let n = strengths.len().min(ages.len());
    let (sp, ap) = (strengths.as_mut_ptr(), ages.as_ptr());
    let mut i = 0;
    while i + 8 <= n {
        prefetch_ahead::<8>(sp, ap, i);
        // SAFETY: i + 8 <= n: 8 f32 strengths and 8 u64 ages from i are in bounds.
        unsafe {
            let s = _mm256_loadu_ps(sp.add(i));
            let a0 = _mm256_loadu_si256(ap.add(i).cast());
            let a1 = _mm256_loadu_si256(ap.add(i + 4).cast());
            _mm256_storeu_ps(sp.add(i), rounded_block_avx2(s, a0, a1, decay));
        }
        i += 8;
    }
    if i < n {
        // The tail, and a short call's only block: masked loads (lanes past the end read as 0,
        // without faulting) and a store through a buffer (AVX2's masked store, vmaskmovps, is
        // microcoded and slow on AMD cores).
        let left = n - i;
        let lane = _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0);
        let m32 = _mm256_cmpgt_epi32(_mm256_set1_epi32(left as i32), lane);
        let m64 = |from: i64| {
            _mm256_cmpgt_epi64(
                _mm256_set1_epi64x(left as i64),
                _mm256_add_epi64(_mm256_set_epi64x(3, 2, 1, 0), _mm256_set1_epi64x(from)),
            )
        };
        let mut out = [0f32; 8];
        // SAFETY: lane j is loaded only if j < left, that is i + j < n: in bounds; `out` holds 8.
        unsafe {
            let s = _mm256_maskload_ps(sp.add(i), m32);
            let a0 = _mm256_maskload_epi64(ap.add(i).cast(), m64(0));
            let a1 = _mm256_maskload_epi64(ap.add(i).cast::<i64>().add(4), m64(4));
            _mm256_storeu_ps(out.as_mut_ptr(), rounded_block_avx2(s, a0, a1, decay));
        }
        strengths[i..n].copy_from_slice(&out[..left]);
    }
}

/// 8 strengths of [`Decay::apply_rounded_factor`], as [`rounded_block_avx512`] does 16.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn rounded_block_avx2(s: __m256, a0: __m256i, a1: __m256i, decay: &Decay) -> __m256 {
    let nit = decay.neg_inv_tau;
    // SAFETY: this function's target features are the lanes' instruction set.
    let ((l0, h0), (l1, h1)) =
        unsafe { (exp_bracket::<Avx2>(a0, nit), exp_bracket::<Avx2>(a1, nit)) };
    let lo = _mm256_set_m128(_mm256_cvtpd_ps(l1.0), _mm256_cvtpd_ps(l0.0));
    let hi = _mm256_set_m128(_mm256_cvtpd_ps(h1.0), _mm256_cvtpd_ps(h0.0));
    let unsure = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_NEQ_UQ>(lo, hi));
    let f = if unsure == 0 {
        lo
    } else {
        let (mut f, mut a) = ([0f32; 8], [0u64; 8]);
        // SAFETY: `f` holds 8 f32, `a` 8 u64.
        unsafe {
            _mm256_storeu_ps(f.as_mut_ptr(), lo);
            _mm256_storeu_si256(a.as_mut_ptr().cast(), a0);
            _mm256_storeu_si256(a.as_mut_ptr().add(4).cast(), a1);
        }
        fix_factors(&mut f, unsure as u32, &a, decay);
        // SAFETY: as above.
        unsafe { _mm256_loadu_ps(f.as_ptr()) }
    };
    // Age 0 keeps the original bits, and so does ±∞. The two 4 x 64-bit age masks narrow to one
    // 8 x 32-bit mask as in `apply_avx2_impl`.
    let zero = _mm256_setzero_si256();
    let m0 = _mm256_castsi256_ps(_mm256_cmpeq_epi64(a0, zero));
    let m1 = _mm256_castsi256_ps(_mm256_cmpeq_epi64(a1, zero));
    let age0 = _mm256_castpd_ps(_mm256_permute4x64_pd(
        _mm256_castps_pd(_mm256_shuffle_ps(m0, m1, 0b10_00_10_00)),
        0b11_01_10_00,
    ));
    let abs = _mm256_and_ps(s, _mm256_castsi256_ps(_mm256_set1_epi32(i32::MAX)));
    let inf = _mm256_cmp_ps::<_CMP_EQ_OQ>(abs, _mm256_set1_ps(f32::INFINITY));
    // black_box: see `apply_avx2_impl` (no masked store).
    _mm256_blendv_ps(
        _mm256_mul_ps(s, f),
        core::hint::black_box(s),
        _mm256_or_ps(age0, inf),
    )
}
