//! The decay pipeline, written once over a small trait of f64 lanes ([`Lanes`]) and instantiated
//! per instruction set: `f64` here (the scalar path), `__m256d` and `__m512d` in `x86.rs`,
//! `float64x2_t` in `neon.rs`. The same shape as the cosine kernel's `Vector` (after memchr's
//! `vector.rs`).
//!
//! What differs between instruction sets is a primitive each implementation supplies, not the
//! pipeline: how a `u64` age becomes an f64 (AVX2 has no instruction for it), whether `a · b + c`
//! is fused (it is wherever the set has FMA; the scalar path rounds twice and so uses a
//! two-constant Cody–Waite reduction instead of one fused step), how the polynomial is evaluated
//! (Horner, the fewest operations, where the loop is throughput-bound; Estrin's scheme on AVX2's
//! four lanes, where it is latency-bound), and how `2ᵏ` is applied (`vscalefpd` on AVX-512, an
//! exponent built from integer bits elsewhere). Each implementation keeps exactly the operations
//! its hand-written predecessor used, so every path's results are unchanged bit for bit.

use super::{EXACT_X_MIN, EXP_C, EXP_C11, LN2_HI, LN2_LO, ROUND_MAGIC, ROUNDING_MARGIN, X_MIN};

/// A vector of f64 lanes and the operations the decay pipeline needs.
///
/// # Safety
///
/// Every method may only run on a CPU with the type's instruction set: the entry points hold a
/// detection token and call [`decay`] from a `#[target_feature]` function.
pub(super) trait Lanes: Copy {
    /// The matching vector of `u64` ages.
    type Ages: Copy;
    /// Every lane `v`.
    unsafe fn splat(v: f64) -> Self;
    /// Each age as an f64, rounded to nearest (as `age as f64` rounds).
    unsafe fn ages(a: Self::Ages) -> Self;
    /// `a − b`.
    unsafe fn sub(a: Self, b: Self) -> Self;
    /// `a · b`.
    unsafe fn mul(a: Self, b: Self) -> Self;
    /// `max(a, b)`; `b` when `a` is NaN.
    unsafe fn max(a: Self, b: Self) -> Self;
    /// `a · b + c`: fused where the instruction set has FMA, two roundings otherwise.
    unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self;
    /// `x − k · ln 2`, accurate to a few 10⁻¹⁴ for `|k| ≤ 1010`. The default is one fused step
    /// (exact product); without FMA the scalar path splits `ln 2` in two.
    #[inline(always)]
    unsafe fn reduce(x: Self, k: Self) -> Self {
        // SAFETY: the trait's contract, passed on.
        unsafe { Self::mul_add(k, Self::splat(-core::f64::consts::LN_2), x) }
    }
    /// `p(r) = Σ EXP_C[i] · rⁱ`; the default is Horner's scheme.
    #[inline(always)]
    unsafe fn poly(r: Self) -> Self {
        // SAFETY: the trait's contract, passed on.
        unsafe {
            let mut p = Self::splat(EXP_C[7]);
            for &c in EXP_C[..7].iter().rev() {
                p = Self::mul_add(p, r, Self::splat(c));
            }
            p
        }
    }
    /// `p₁₁(r) = Σ EXP_C11[i] · rⁱ`, the exactly rounded path's degree-11 polynomial, by
    /// Estrin's scheme: 14 operations instead of Horner's 11, but a dependency chain of 5 instead
    /// of 11, which is what a short call waits for (and what keeps a wide loop's pipes busy).
    #[inline(always)]
    unsafe fn poly11(r: Self) -> Self {
        // SAFETY: the trait's contract, passed on.
        unsafe {
            let c = |i: usize| Self::splat(EXP_C11[i]);
            let pair = |i: usize| Self::mul_add(c(i + 1), r, c(i));
            let r2 = Self::mul(r, r);
            let r4 = Self::mul(r2, r2);
            let r8 = Self::mul(r4, r4);
            let p03 = Self::mul_add(pair(2), r2, pair(0));
            let p47 = Self::mul_add(pair(6), r2, pair(4));
            let p811 = Self::mul_add(pair(10), r2, pair(8));
            Self::mul_add(p811, r8, Self::mul_add(p47, r4, p03))
        }
    }
    /// `v · 2ᵏ`, where `k` is an integer in [−1010, 0] and `t = k + ROUND_MAGIC` holds it in its
    /// low mantissa bits.
    unsafe fn scale(v: Self, k: Self, t: Self) -> Self;
}

/// `s · exp(x)` with `x = max(age · neg_inv_tau, X_MIN)`, lane by lane, in f64: the kernel's one
/// pipeline (see the precision notes of the module above). Age 0 is the caller's business: a
/// signalling NaN would come back quiet.
///
/// # Safety
///
/// The CPU runs `V`'s instruction set.
#[inline(always)]
pub(super) unsafe fn decay<V: Lanes>(s: V, ages: V::Ages, neg_inv_tau: f64) -> V {
    // SAFETY: the caller's contract covers every method's.
    unsafe {
        let x = V::max(
            V::mul(V::ages(ages), V::splat(neg_inv_tau)),
            V::splat(X_MIN),
        );
        // k = round(x / ln 2): adding ROUND_MAGIC rounds, and leaves k in t's low bits.
        let t = V::mul_add(
            x,
            V::splat(core::f64::consts::LOG2_E),
            V::splat(ROUND_MAGIC),
        );
        let k = V::sub(t, V::splat(ROUND_MAGIC));
        let p = V::poly(V::reduce(x, k));
        V::scale(V::mul(s, p), k, t)
    }
}

/// The scalar path: one f64 lane, no FMA (Rust never fuses `a * b + c`).
impl Lanes for f64 {
    type Ages = u64;

    #[inline(always)]
    unsafe fn splat(v: f64) -> f64 {
        v
    }

    #[inline(always)]
    unsafe fn ages(a: u64) -> f64 {
        a as f64
    }

    #[inline(always)]
    unsafe fn sub(a: f64, b: f64) -> f64 {
        a - b
    }

    #[inline(always)]
    unsafe fn mul(a: f64, b: f64) -> f64 {
        a * b
    }

    #[inline(always)]
    unsafe fn max(a: f64, b: f64) -> f64 {
        a.max(b)
    }

    #[inline(always)]
    unsafe fn mul_add(a: f64, b: f64, c: f64) -> f64 {
        a * b + c
    }

    #[inline(always)]
    unsafe fn reduce(x: f64, k: f64) -> f64 {
        // Cody–Waite: k · LN2_HI is exact (LN2_HI has 32 trailing zero bits, |k| < 2²¹).
        (x - k * LN2_HI) - k * LN2_LO
    }

    #[inline(always)]
    unsafe fn scale(v: f64, _: f64, t: f64) -> f64 {
        // As the AVX2 lanes do: t's low mantissa bits hold k in [-1010, 0] (two's complement), so
        // shifted into the exponent field and biased they are the bits of 2^k, a normal f64. Two
        // integer operations, where `k as i64` would cost a saturating conversion.
        v * f64::from_bits((t.to_bits() << 52).wrapping_add(1023 << 52))
    }
}

/// Two f64 lanes that bracket `exp(x)` for `x = −age/τ` as the engine computes it (one IEEE
/// division) and as the platform's `exp` evaluates it: `lo ≤ exp(x) ≤ hi`, and the same holds for
/// the platform's result. If `lo` and `hi` round to the same f32, so does the platform's `exp(x)`
/// (rounding is monotonic), and that f32 is the engine's factor; otherwise the caller asks `exp`.
///
/// The error budget, relative, against [`ROUNDING_MARGIN`] = 4·10⁻¹³:
/// * `x` is `age · (−1/τ)` (two roundings), not `age / τ` (one): at most `3 · 2⁻⁵³ · |x|`
///   apart, `≤ 6.7·10⁻¹⁴` for `|x| ≤ 200`; below −200 (`EXACT_X_MIN`) every factor rounds to 0
///   whichever way `x` was computed, so `x` is clamped there;
/// * `r = x − k ln 2` in one fused step: the error of `ln 2` in f64 times `|k| ≤ 289`, plus one
///   rounding, `≤ 10⁻¹⁴`;
/// * the degree-11 Taylor polynomial on `|r| ≤ ln 2 / 2`: truncation `≤ 9·10⁻¹⁵` relative, and
///   Horner's or Estrin's roundings (`≤ 12` of about `2⁻⁵³` each, `≤ 2·10⁻¹⁵`; without FMA the
///   scalar path rounds twice as often and splits `ln 2` in two, `≤ 4·10⁻¹⁵`);
/// * `2ᵏ` is exact (`k ≥ −289`, a normal f64); the platform's `exp` adds `< 2.3·10⁻¹⁶` (one ulp).
///
/// That is below `10⁻¹³` in all, a quarter of the margin. The two products `e · (1 ∓ margin)`
/// round once more each, which the slack covers.
///
/// # Safety
///
/// The CPU runs `V`'s instruction set.
#[inline(always)]
pub(super) unsafe fn exp_bracket<V: Lanes>(ages: V::Ages, neg_inv_tau: f64) -> (V, V) {
    // SAFETY: the caller's contract covers every method's.
    unsafe {
        // NaN only for age 0 when 1/τ overflows; max() maps it to the clamp and the caller keeps
        // the strength of age 0 anyway.
        let x = V::max(
            V::mul(V::ages(ages), V::splat(neg_inv_tau)),
            V::splat(EXACT_X_MIN),
        );
        let t = V::mul_add(
            x,
            V::splat(core::f64::consts::LOG2_E),
            V::splat(ROUND_MAGIC),
        );
        let k = V::sub(t, V::splat(ROUND_MAGIC));
        let e = V::scale(V::poly11(V::reduce(x, k)), k, t);
        (
            V::mul(e, V::splat(1.0 - ROUNDING_MARGIN)),
            V::mul(e, V::splat(1.0 + ROUNDING_MARGIN)),
        )
    }
}
