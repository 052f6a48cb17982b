//! C exports of exponential decay, rounded as the engine rounds.

use crate::ENGRAM_ERR_INVALID;
use crate::args::{Args, guard_status, status};
use engram_kernels::kernels::decay::Decay;

/// Decay with the engine's τ = 86,400 s: `s ← s · exp(−age/τ)` for `num_memories` strengths in
/// place, rounded as the engine's reference does (the factor in f64, rounded once to f32, then
/// one f32 multiply), bit for bit. See
/// [`Decay::apply_rounded_factor`](engram_kernels::kernels::decay::Decay::apply_rounded_factor).
///
/// # Safety
///
/// Each non-null pointer must be valid for `num_memories` elements, without overlap.
///
/// # Example
///
/// ```
/// use engram_kernels_c::decay::engram_apply_decay;
/// let (mut s, ages) = ([1.0f32, 1.0], [0u64, 86_400]);
/// // SAFETY: every pointer is valid for the length passed with it.
/// unsafe { engram_apply_decay(s.as_mut_ptr(), ages.as_ptr(), 2) };
/// assert_eq!(s[0], 1.0);
/// assert!((s[1] - 0.36787945).abs() < 1e-7);
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_apply_decay(
    strengths: *mut f32,
    ages_seconds: *const u64,
    num_memories: usize,
) {
    guard_status(|| {
        // SAFETY: the pointers are valid for these lengths: this function's contract.
        let mut args = unsafe { Args::new() };
        let a = args.input(ages_seconds, num_memories)?;
        let s = args.output(strengths, num_memories)?;
        Ok(status(Decay::ENGRAM_DEFAULT.apply_rounded_factor(s, a)))
    });
}

/// Decay with an explicit e-folding time constant `tau_seconds`: `s ← s · exp(−age/τ)` for
/// `num_memories` strengths in place, rounded like [`engram_apply_decay`]
/// (the factor rounded once to f32, then one f32 multiply). See
/// [`Decay::from_time_constant`](engram_kernels::kernels::decay::Decay::from_time_constant) and
/// [`Decay::apply_rounded_factor`](engram_kernels::kernels::decay::Decay::apply_rounded_factor).
///
/// Returns `ENGRAM_OK`; `ENGRAM_ERR_NULL` for a null pointer with a non-zero length;
/// `ENGRAM_ERR_INVALID` when τ is rejected (not finite or not positive). On any error the
/// strengths are untouched.
///
/// # Safety
///
/// Each non-null pointer must be valid for `num_memories` elements, without overlap.
///
/// # Example
///
/// ```
/// use engram_kernels_c::{ENGRAM_ERR_INVALID, ENGRAM_OK, decay::engram_apply_decay_tau};
/// let (mut s, ages) = ([1.0f32], [3600u64]);
/// // SAFETY: every pointer is valid for the length passed with it.
/// assert_eq!(unsafe { engram_apply_decay_tau(s.as_mut_ptr(), ages.as_ptr(), 1, 3600.0) }, ENGRAM_OK);
/// assert!((s[0] - 0.36787945).abs() < 1e-7);
/// // SAFETY: every pointer is valid for the length passed with it.
/// assert_eq!(unsafe { engram_apply_decay_tau(s.as_mut_ptr(), ages.as_ptr(), 1, -1.0) },
///            ENGRAM_ERR_INVALID);
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_apply_decay_tau(
    strengths: *mut f32,
    ages_seconds: *const u64,
    num_memories: usize,
    tau_seconds: f64,
) -> i32 {
    guard_status(|| {
        let decay = Decay::from_time_constant(tau_seconds).map_err(|_| ENGRAM_ERR_INVALID)?;
        // SAFETY: the pointers are valid for these lengths: this function's contract.
        let mut args = unsafe { Args::new() };
        let a = args.input(ages_seconds, num_memories)?;
        let s = args.output(strengths, num_memories)?;
        Ok(status(decay.apply_rounded_factor(s, a)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ENGRAM_OK;

    /// The C decay exports, `Decay::apply_rounded_factor` and the engine's reference
    /// (`(float)exp(-(double)age / tau)`, then one f32 multiply) agree bit for bit.
    #[test]
    #[cfg_attr(
        miri,
        ignore = "Miri perturbs exp(); bit-for-bit comparisons are for native runs"
    )]
    fn c_decay_exports_round_like_the_engine() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (n, tau) = (4096, 3600.0);
        let mut s: Vec<f32> = (0..n)
            .map(|i| match i % 4 {
                0 => f32::from_bits(next() as u32 & 0x7f7f_ffff), // any finite positive
                1 => [f32::MAX, 1e10, f32::MIN_POSITIVE, -1.0][i / 4 % 4],
                _ => (next() % 2000) as f32 / 1000.0 - 1.0,
            })
            .collect();
        let ages: Vec<u64> = (0..n as u64)
            .map(|i| match i % 3 {
                0 => 1000 + next() % 999_001,
                1 => next() % 10_000_000,
                _ => next() >> (next() % 64),
            })
            .collect();
        let engine = |s: &[f32], tau: f64| -> Vec<u32> {
            s.iter()
                .zip(&ages)
                .map(|(&s, &a)| {
                    let f = (-(a as f64) / tau).exp() as f32;
                    (if a == 0 { s } else { s * f }).to_bits()
                })
                .collect()
        };
        let (want_day, want_tau) = (engine(&s, 86_400.0), engine(&s, tau));

        let mut c_day = s.clone();
        // SAFETY: both pointers are valid for n elements and do not overlap.
        unsafe { engram_apply_decay(c_day.as_mut_ptr(), ages.as_ptr(), n) };
        let mut c_tau = s.clone();
        // SAFETY: as above.
        let rc = unsafe { engram_apply_decay_tau(c_tau.as_mut_ptr(), ages.as_ptr(), n, tau) };
        assert_eq!(rc, ENGRAM_OK);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&c_day), want_day);
        assert_eq!(bits(&c_tau), want_tau);

        Decay::ENGRAM_DEFAULT
            .apply_rounded_factor(&mut s, &ages)
            .unwrap();
        assert_eq!(bits(&s), want_day, "the Rust API and the C export agree");

        let mut big = [f32::MAX];
        // SAFETY: both pointers are valid for one element.
        unsafe { engram_apply_decay(big.as_mut_ptr(), [100_000u64].as_ptr(), 1) };
        assert_eq!(big[0], 1.069_507_3e38, "the engine's FLT_MAX at 100,000 s");
    }

    #[test]
    fn c_decay_keeps_infinities_nans_and_age_zero() {
        let snan = f32::from_bits(0x7f80_0001);
        let mut s = [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, snan, -0.0];
        let ages = [u64::MAX, 50 * 86_400 * 1000, 10, 0, 0];
        // SAFETY: both pointers are valid for five elements.
        unsafe { engram_apply_decay(s.as_mut_ptr(), ages.as_ptr(), 5) };
        assert_eq!(s[..2], [f32::INFINITY, f32::NEG_INFINITY]);
        assert!(s[2].is_nan());
        assert_eq!(s[3].to_bits(), snan.to_bits(), "age 0 is bit-for-bit");
        assert_eq!(s[4].to_bits(), (-0.0f32).to_bits());
    }
}
