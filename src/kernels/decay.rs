//! Exponential decay of memory strengths: `s ← s · exp(−age / τ)`.
//!
//! `τ` is an e-folding time constant (one `τ` multiplies by `e⁻¹`); [`Decay::from_half_life`]
//! converts a true half-life. Ages are whole seconds (`u64`).
//!
//! Behaviour:
//! * age 0 leaves a strength bit-for-bit unchanged (`-0.0` and NaN payloads included);
//! * NaN stays NaN and ±∞ stays ±∞ (the factor is always positive, so the sign is kept);
//! * negative strengths and strengths above 1 are multiplied like any other;
//! * ages so large that the result is below half the smallest f32 subnormal give exactly ±0.
//!
//! # Precision
//!
//! Every lane works in f64 and rounds once to f32 at the end. The age is converted from `u64` to
//! f64 with one round-to-nearest (relative error 2⁻⁵³, so ages above 2⁵³ and `u64::MAX` are
//! fine), `x = −age/τ` is clamped at −700 (where every f32 result is already 0), and
//! `exp(x) = 2ᵏ · p(r)` with `k = round(x / ln 2)`, `r = x − k ln 2` (Cody–Waite, or one fused
//! multiply-add; either is accurate to 3·10⁻¹⁴ for the `k` that occur) and `p` the degree-7 Taylor polynomial, whose truncation error on
//! `|r| ≤ ln 2 / 2` is below 8·10⁻⁹. The product `s · p · 2ᵏ` is formed in f64, so neither large
//! strengths nor subnormal results lose accuracy. The relative error against an f64 reference is
//! therefore about one f32 rounding (≤ 2⁻²⁴ plus 10⁻⁸) at every age, well inside a target of
//! `2.4·10⁻⁷ · (1 + age/τ)`; results in the f32 subnormal range are within one subnormal step.
//!
//! # The C exports round like the engine
//!
//! [`Decay::apply_rounded_factor`], which the C exports `engram_apply_decay` and
//! `engram_apply_decay_tau` call, rounds twice instead, exactly as the Engram engine's own
//! reference does: the factor `exp(−age/τ)` is computed in f64 by the platform's `exp`, rounded
//! once to f32 ([`Decay::factor`]), and multiplied into the strength with one f32 multiply. It
//! matches that reference bit for bit (the engine checks strengths such as `f32::MAX` with an
//! absolute tolerance, where one ulp is 2·10³¹), at the cost of a second rounding: relative error
//! ≤ 2⁻²³ while the factor is a normal f32, that is below about 87 τ; beyond, the factor is
//! subnormal and the error is at most `|s| · 2⁻¹⁴⁹` absolute.
//!
//! It calls `exp` only where it must. Every level (AVX-512, AVX2, NEON, scalar) evaluates
//! `exp(−age/τ)` in f64 lanes with a known error bound (below 10⁻¹³ relative, see
//! `lanes::exp_bracket`), brackets the value by ±4·10⁻¹³ and rounds both ends to f32. Where
//! they agree, that f32 is the rounding of the platform's `exp` too (rounding is monotonic and
//! both values lie in the bracket); where they differ, the value lies too close to the midpoint
//! between two f32 values for the bound to decide, and that lane asks `exp` (about one lane in
//! 10⁵). On AVX-512 it is about as fast as [`Decay::apply`], and on 10M strengths it runs near
//! the memory bandwidth; `apply` remains the more accurate of the two.
//!
//! # Example
//!
//! ```
//! use engram_kernels::kernels::decay::Decay;
//!
//! let day = Decay::ENGRAM_DEFAULT; // tau = 86 400 s
//! let mut strengths = [1.0, 1.0, 1.0, 0.5];
//! day.apply(&mut strengths, &[0, 3600, 86_400, 86_400])?;
//! assert_eq!(strengths[0], 1.0);
//! assert!((strengths[1] - 0.959_189_475).abs() < 1e-7);
//! assert!((strengths[2] - 0.367_879_45).abs() < 1e-7);
//! assert!((strengths[3] - 0.183_939_72).abs() < 1e-7);
//! # Ok::<(), engram_kernels::kernels::KernelError>(())
//! ```

use super::KernelError;
use super::dispatch::{self, Isa, Token};
use crate::kernels::error::expect_len;

mod lanes;
#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(target_arch = "x86_64")]
mod x86;

/// An exponential decay with time constant `τ` seconds.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::decay::Decay;
///
/// let week = Decay::from_half_life(7.0 * 86_400.0)?;
/// assert!((week.factor(7 * 86_400) - 0.5).abs() < 1e-7);
/// assert_eq!(Decay::from_time_constant(86_400.0)?, Decay::ENGRAM_DEFAULT);
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decay {
    tau: f64,
    /// `−1/τ`, so a lane needs one multiplication for `x = −age/τ`.
    neg_inv_tau: f64,
}

impl Decay {
    /// `τ = 86 400 s` (one day), the constant of the C ABI's `engram_apply_decay`.
    pub const ENGRAM_DEFAULT: Decay = Decay {
        tau: 86_400.0,
        neg_inv_tau: -1.0 / 86_400.0,
    };

    /// A decay with e-folding time constant `tau_seconds`.
    ///
    /// # Errors
    ///
    /// [`KernelError::InvalidParameter`] unless `tau_seconds` is finite and greater than 0.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::kernels::decay::Decay;
    ///
    /// assert_eq!(Decay::from_time_constant(3600.0)?.time_constant(), 3600.0);
    /// assert_eq!(
    ///     Decay::from_time_constant(0.0).unwrap_err().to_string(),
    ///     "time constant (seconds) is 0, but it must be finite and greater than 0"
    /// );
    /// # Ok::<(), engram_kernels::kernels::KernelError>(())
    /// ```
    pub fn from_time_constant(tau_seconds: f64) -> Result<Decay, KernelError> {
        if !(tau_seconds.is_finite() && tau_seconds > 0.0) {
            return Err(KernelError::InvalidParameter {
                what: "time constant (seconds)",
                value: tau_seconds,
                requirement: "finite and greater than 0",
            });
        }
        Ok(Decay {
            tau: tau_seconds,
            neg_inv_tau: -1.0 / tau_seconds,
        })
    }

    /// A decay that halves a strength every `half_life_seconds`: `τ = half_life / ln 2`.
    ///
    /// # Errors
    ///
    /// [`KernelError::InvalidParameter`] unless `half_life_seconds` is finite, greater than 0 and
    /// small enough that `τ` is finite.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::kernels::decay::Decay;
    ///
    /// let d = Decay::from_half_life(60.0)?;
    /// assert!((d.time_constant() - 60.0 / std::f64::consts::LN_2).abs() < 1e-9);
    /// assert_eq!(
    ///     Decay::from_half_life(f64::NAN).unwrap_err().to_string(),
    ///     "half-life (seconds) is NaN, but it must be finite and greater than 0"
    /// );
    /// # Ok::<(), engram_kernels::kernels::KernelError>(())
    /// ```
    pub fn from_half_life(half_life_seconds: f64) -> Result<Decay, KernelError> {
        let invalid = |requirement| KernelError::InvalidParameter {
            what: "half-life (seconds)",
            value: half_life_seconds,
            requirement,
        };
        if !(half_life_seconds.is_finite() && half_life_seconds > 0.0) {
            return Err(invalid("finite and greater than 0"));
        }
        Decay::from_time_constant(half_life_seconds / core::f64::consts::LN_2)
            .map_err(|_| invalid("at most f64::MAX * ln 2"))
    }

    /// The time constant `τ` in seconds.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::kernels::decay::Decay;
    ///
    /// assert_eq!(Decay::ENGRAM_DEFAULT.time_constant(), 86_400.0);
    /// ```
    pub fn time_constant(&self) -> f64 {
        self.tau
    }

    /// `exp(−age/τ)` rounded to f32: computed in f64 by the platform's `exp` (as
    /// `(-(age as f64) / τ).exp()`) and rounded once, the factor that
    /// [`apply_rounded_factor`](Self::apply_rounded_factor) multiplies by. `factor(0)` is exactly 1.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::kernels::decay::Decay;
    ///
    /// let d = Decay::ENGRAM_DEFAULT;
    /// assert_eq!(d.factor(0), 1.0);
    /// assert!((d.factor(172_800) - 0.135_335_28).abs() < 1e-8);
    /// assert_eq!(d.factor(u64::MAX), 0.0);
    /// ```
    pub fn factor(&self, age_seconds: u64) -> f32 {
        // The engine's reference, operation for operation: `(float)exp(-(double)age / tau)`.
        ((-(age_seconds as f64)) / self.tau).exp() as f32
    }

    /// Multiplies each `strengths[i]` by [`factor(ages_seconds[i])`](Self::factor) with one f32
    /// multiply, in place: the rounding of the C exports and of the Engram engine's reference
    /// (`f = (float)exp(-(double)age / tau); s = s * f`), which it matches bit for bit, except
    /// that age 0 leaves a strength bit-for-bit unchanged (a signalling NaN stays signalling) and
    /// ±∞ stays ±∞ where the factor has underflowed to 0 (past about 104 τ) instead of becoming
    /// NaN. See [the module docs](self#the-c-exports-round-like-the-engine) for how it compares
    /// with [`apply`](Self::apply), which is more accurate and faster.
    ///
    /// No scratch and no allocation.
    ///
    /// # Errors
    ///
    /// [`KernelError::LengthMismatch`] if the slices differ in length; nothing is changed then.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::kernels::decay::Decay;
    ///
    /// let d = Decay::ENGRAM_DEFAULT;
    /// let mut s = [f32::MAX, 1.0, f32::INFINITY];
    /// d.apply_rounded_factor(&mut s, &[100_000, 0, u64::MAX])?;
    /// let f = (-100_000.0f64 / 86_400.0).exp() as f32;
    /// assert_eq!(s[0], f32::MAX * f);
    /// assert_eq!(s[0], 1.069_507_3e38); // `apply` gives 1.069_507_4e38, one ulp away
    /// assert_eq!(s[1..], [1.0, f32::INFINITY]);
    /// # Ok::<(), engram_kernels::kernels::KernelError>(())
    /// ```
    // Inlined into callers (the C exports among them): for a short call, the call and the length
    // check would cost as much as the work.
    #[inline(always)]
    pub fn apply_rounded_factor(
        &self,
        strengths: &mut [f32],
        ages_seconds: &[u64],
    ) -> Result<(), KernelError> {
        expect_len("ages_seconds", strengths.len(), ages_seconds.len())?;
        if strengths.len() < SHORT {
            // A strength or two: the engine's own expression per strength, inline. One call of the
            // platform's `exp` costs less than a vector block, or than the bracket of
            // `rounded_one` with its check.
            for (s, &age) in strengths.iter_mut().zip(ages_seconds) {
                *s = keep_or(*s, age, *s * self.factor(age));
            }
        } else {
            rounded_at(dispatch::token(), strengths, ages_seconds, self);
        }
        Ok(())
    }

    /// Multiplies each `strengths[i]` by `exp(−ages_seconds[i]/τ)` in place.
    ///
    /// No scratch and no allocation.
    ///
    /// # Errors
    ///
    /// [`KernelError::LengthMismatch`] if the slices differ in length; nothing is changed then.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::kernels::decay::Decay;
    ///
    /// let d = Decay::from_time_constant(10.0)?;
    /// let mut s = [2.0, -1.0, f32::NAN, f32::INFINITY];
    /// d.apply(&mut s, &[10, 10, 10, u64::MAX])?;
    /// assert!((s[0] - 2.0 * (-1.0f32).exp()).abs() < 1e-7);
    /// assert!((s[1] + (-1.0f32).exp()).abs() < 1e-7);
    /// assert!(s[2].is_nan());
    /// assert_eq!(s[3], f32::INFINITY);
    ///
    /// let err = d.apply(&mut s, &[1, 2]).unwrap_err();
    /// assert_eq!(err.to_string(), "ages_seconds has length 2, expected 4");
    /// # Ok::<(), engram_kernels::kernels::KernelError>(())
    /// ```
    pub fn apply(&self, strengths: &mut [f32], ages_seconds: &[u64]) -> Result<(), KernelError> {
        expect_len("ages_seconds", strengths.len(), ages_seconds.len())?;
        apply_at(dispatch::token(), strengths, ages_seconds, self.neg_inv_tau);
        Ok(())
    }
}

impl Default for Decay {
    /// [`Decay::ENGRAM_DEFAULT`].
    fn default() -> Self {
        Decay::ENGRAM_DEFAULT
    }
}

fn apply_at(token: Token, strengths: &mut [f32], ages: &[u64], neg_inv_tau: f64) {
    match token.isa() {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512(t) => match t.dq() {
            Some(dq) => x86::apply_avx512(dq, strengths, ages, neg_inv_tau),
            None => x86::apply_avx2(t.avx2(), strengths, ages, neg_inv_tau),
        },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2(t) => x86::apply_avx2(t, strengths, ages, neg_inv_tau),
        #[cfg(target_arch = "aarch64")]
        Isa::Neon(t) => neon::apply_neon(t, strengths, ages, neg_inv_tau),
        Isa::Scalar => apply_scalar(strengths, ages, neg_inv_tau),
    }
}

fn rounded_at(token: Token, strengths: &mut [f32], ages: &[u64], decay: &Decay) {
    match token.isa() {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512(t) => match t.dq() {
            Some(dq) => x86::rounded_avx512(dq, strengths, ages, decay),
            None => x86::rounded_avx2(t.avx2(), strengths, ages, decay),
        },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2(t) => x86::rounded_avx2(t, strengths, ages, decay),
        #[cfg(target_arch = "aarch64")]
        Isa::Neon(t) => neon::rounded_neon(t, strengths, ages, decay),
        Isa::Scalar => {
            for (s, &age) in strengths.iter_mut().zip(ages) {
                *s = rounded_one(*s, age, decay);
            }
        }
    }
}

/// [`Decay::apply_rounded_factor`] calls with fewer strengths than this compute each factor with
/// the platform's `exp`, inline, on every level: 13 instructions fewer per one-strength call than
/// [`rounded_one`]'s bracket and its check, and 11.7–13.0 ns against 13.1–14.0 ns (a loop of
/// calls, alternating processes on a loaded machine).
const SHORT: usize = 3;

/// One strength of [`Decay::apply_rounded_factor`]: the scalar path, and the SIMD paths' check.
#[inline(always)]
fn rounded_one(s: f32, age: u64, decay: &Decay) -> f32 {
    let f = match rounded_factor(age, decay.neg_inv_tau) {
        Some(f) => f,
        None => exact_factor(decay, age),
    };
    keep_or(s, age, s * f)
}

/// What [`Decay::apply_rounded_factor`] stores: `s` itself at age 0 (bit for bit) and for ±∞
/// (which the engine would turn into NaN once the factor underflows to 0), else `product`.
#[inline(always)]
fn keep_or(s: f32, age: u64, product: f32) -> f32 {
    if age == 0 || s.is_infinite() {
        s
    } else {
        product
    }
}

/// [`Decay::factor`] without `exp` on one f64 lane (see [`lanes::exp_bracket`]): `None` when the
/// bracket straddles an f32 rounding point (a few ages in a million), and only then could the
/// result differ from rounding the platform's `exp`.
#[inline(always)]
fn rounded_factor(age: u64, neg_inv_tau: f64) -> Option<f32> {
    // SAFETY: the f64 lanes are plain Rust arithmetic: any CPU runs them.
    let (lo, hi) = unsafe { lanes::exp_bracket::<f64>(age, neg_inv_tau) };
    let (lo, hi) = (lo as f32, hi as f32);
    (lo == hi).then_some(lo)
}

/// [`Decay::factor`], out of line: LLVM knows `exp` has no side effects and would otherwise call
/// it on every lane and select, instead of branching around the rare call.
#[cold]
#[inline(never)]
fn exact_factor(decay: &Decay, age: u64) -> f32 {
    decay.factor(age)
}

/// The SIMD paths' rare case: replaces `factors[i]` by [`Decay::factor`] for every bit `i` of
/// `unsure`.
#[cold]
#[inline(never)]
fn fix_factors<const W: usize>(
    factors: &mut [f32; W],
    mut unsure: u32,
    ages: &[u64; W],
    decay: &Decay,
) {
    while unsure != 0 {
        let i = unsure.trailing_zeros() as usize;
        factors[i] = exact_factor(decay, ages[i]);
        unsure &= unsure - 1;
    }
}

fn apply_scalar(strengths: &mut [f32], ages: &[u64], neg_inv_tau: f64) {
    for (s, &age) in strengths.iter_mut().zip(ages) {
        // Branch-free, so the compiler can vectorize with the baseline instruction set.
        let r = decay_lane(*s, age, neg_inv_tau);
        *s = if age == 0 { *s } else { r };
    }
}

/// Below this `x`, `s · exp(x)` rounds to 0 for every finite f32 `s` (`exp(−700) < 2⁻¹⁰⁰⁹`).
const X_MIN: f64 = -700.0;
/// Adding and subtracting `1.5 · 2⁵²` rounds an f64 of magnitude below 2⁵¹ to an integer; the
/// integer also sits in the low mantissa bits of the sum.
const ROUND_MAGIC: f64 = 6_755_399_441_055_744.0;
/// `ln 2 = LN2_HI + LN2_LO` for the scalar path's Cody–Waite reduction (the SIMD paths use one
/// fused multiply-add instead); `LN2_HI` has 32 trailing zero bits, so `k · LN2_HI` is exact for
/// `|k| < 2²¹` (here `|k| ≤ 1010`).
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
/// Taylor coefficients of `exp`, `EXP_C[i] = 1/i!`, for the degree-7 polynomial `p(r)`.
const EXP_C: [f64; 8] = [
    1.0,
    1.0,
    0.5,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
];

/// Taylor coefficients `1/i!` of the exactly rounded path's degree-11 polynomial: its truncation
/// error on `|r| ≤ ln 2 / 2` is below 9·10⁻¹⁵ relative.
const EXP_C11: [f64; 12] = [
    1.0,
    1.0,
    0.5,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
    1.0 / 40_320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
];
/// Four times the error bound of [`lanes::exp_bracket`]'s f64 `exp(x)` plus that of the
/// platform's `exp` (10⁻¹³ in all), and far less than the spacing of f32 values (6·10⁻⁸
/// relative): lanes within it of an f32 rounding point, about 10⁻⁵ of them, ask `exp`.
const ROUNDING_MARGIN: f64 = 4e-13;
/// Below this `x` every factor `exp(x)` rounds to 0 in f32 (`exp(−200) < 2⁻²⁸⁸`, and the
/// smallest f32 subnormal is 2⁻¹⁴⁹).
const EXACT_X_MIN: f64 = -200.0;

/// One lane of the kernel; the SIMD paths run the same pipeline (`lanes.rs`) with their own
/// primitives (fused multiply-adds among them).
#[inline(always)]
fn decay_one(s: f32, age: u64, neg_inv_tau: f64) -> f32 {
    if age == 0 {
        s
    } else {
        decay_lane(s, age, neg_inv_tau)
    }
}

/// `s · exp(−age/τ)` for `age > 0`. (At age 0 it is `s` too, except that a signalling NaN comes
/// back quiet: callers keep `s` then.)
#[inline(always)]
fn decay_lane(s: f32, age: u64, neg_inv_tau: f64) -> f32 {
    // -1/tau < 0, so x is negative, 0 (age 0) or -inf (NaN only for age 0 with tau so small that
    // 1/tau overflows; max() maps it to X_MIN, and the caller keeps s).
    // SAFETY: the f64 lanes are plain Rust arithmetic: any CPU runs them.
    (unsafe { lanes::decay(f64::from(s), age, neg_inv_tau) }) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::dispatch::SimdLevel;

    /// The fast factor rounds exactly as the platform's `exp` does, and asks it rarely.
    #[test]
    #[cfg_attr(
        miri,
        ignore = "Miri perturbs exp(); bit-for-bit comparisons are for native runs"
    )]
    fn rounded_factor_matches_the_platform_exp() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (mut cases, mut asked) = (0u64, 0u64);
        for tau in [86_400.0, 3600.0, 1.0, 1e-6, 7.3e9, f64::MAX] {
            let d = Decay::from_time_constant(tau).unwrap();
            for i in 0..200_000u64 {
                let age = match i % 4 {
                    0 => i,
                    1 => next() % 10_000_000,
                    2 => next() >> (next() % 64),
                    _ => u64::MAX - i,
                };
                cases += 1;
                match rounded_factor(age, d.neg_inv_tau) {
                    Some(f) => {
                        assert_eq!(f.to_bits(), d.factor(age).to_bits(), "{age} s, tau {tau}")
                    }
                    None => asked += 1,
                }
            }
        }
        assert!(asked * 10_000 < cases, "{asked} of {cases} needed exp()");
    }

    /// The lanes the bracket cannot decide exist, and every level's path fixes them: the ages
    /// whose f64 bracket straddles an f32 rounding point, run through each level's blocks and
    /// tails, give the engine's bits.
    #[test]
    #[cfg_attr(
        miri,
        ignore = "Miri perturbs exp(); bit-for-bit comparisons are for native runs"
    )]
    fn every_level_fixes_the_lanes_the_bracket_cannot_decide() {
        let tau = 86_400.0;
        let d = Decay::from_time_constant(tau).unwrap();
        let unsure: Vec<u64> = (1..3_000_000u64)
            .filter(|&a| rounded_factor(a, d.neg_inv_tau).is_none())
            .collect();
        assert!(unsure.len() >= 8, "only {} undecided ages", unsure.len());
        // Undecided ages among decided ones, in every lane position of a block, plus a tail.
        let ages: Vec<u64> = unsure
            .iter()
            .flat_map(|&a| [a, a + 1, 7, a, 0, a])
            .chain([unsure[0]; 5])
            .collect();
        let start: Vec<f32> = (0..ages.len()).map(|i| 1.0 - i as f32 * 1e-4).collect();
        let want: Vec<u32> = start
            .iter()
            .zip(&ages)
            .map(|(&s, &a)| {
                let f = (-(a as f64) / tau).exp() as f32;
                (if a == 0 { s } else { s * f }).to_bits()
            })
            .collect();
        for level in SimdLevel::ALL
            .into_iter()
            .filter(|&l| dispatch::is_supported(l))
        {
            let token = Token::new(level).expect("a supported level");
            let mut s = start.clone();
            rounded_at(token, &mut s, &ages, &d);
            let got: Vec<u32> = s.iter().map(|x| x.to_bits()).collect();
            assert!(got == want, "{level}");
        }
    }

    /// Every level's `apply_rounded_factor` path gives the engine's bits.
    #[test]
    #[cfg_attr(
        miri,
        ignore = "Miri perturbs exp(); bit-for-bit comparisons are for native runs"
    )]
    fn every_level_rounds_like_the_engine() {
        let n = 10_007; // not a multiple of the chunk
        let ages: Vec<u64> = (0..n as u64)
            .map(|i| match i % 5 {
                0 => 0,
                1 => i * 977,
                2 => i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (i % 64),
                3 => u64::MAX - i,
                _ => 86_400 * (i % 200),
            })
            .collect();
        let start: Vec<f32> = (0..n)
            .map(|i| match i % 7 {
                0 => f32::MAX,
                1 => f32::INFINITY,
                2 => f32::NAN,
                3 => f32::MIN_POSITIVE,
                _ => (i as f32 - 5000.0) * 1e3,
            })
            .collect();
        for tau in [86_400.0, 0.5] {
            let d = Decay::from_time_constant(tau).unwrap();
            let want: Vec<u32> = start
                .iter()
                .zip(&ages)
                .map(|(&s, &a)| {
                    let f = (-(a as f64) / tau).exp() as f32;
                    let keep = a == 0 || s.is_infinite();
                    (if keep { s } else { s * f }).to_bits()
                })
                .collect();
            for level in SimdLevel::ALL
                .into_iter()
                .filter(|&l| dispatch::is_supported(l))
            {
                let token = Token::new(level).expect("a supported level");
                let mut s = start.clone();
                rounded_at(token, &mut s, &ages, &d);
                let got: Vec<u32> = s.iter().map(|x| x.to_bits()).collect();
                assert!(got == want, "{level}, tau {tau}");
            }
        }
    }
}
