//! Helpers shared by the kernel test binaries: level forcing and f64 references.
#![allow(dead_code)]

use engram_kernels::kernels::dispatch::{self, SimdLevel};
use std::sync::{Mutex, MutexGuard};

/// `dispatch::force` is process-global: every test that forces a level holds this lock.
static FORCE_LOCK: Mutex<()> = Mutex::new(());

pub fn force_lock() -> MutexGuard<'static, ()> {
    FORCE_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The levels this CPU supports up to the automatic choice, lowest first. Levels the CPU lacks
/// are skipped, and so are levels above an `ENGRAM_SIMD` cap (valgrind runs with
/// `ENGRAM_SIMD=avx2` because it cannot decode AVX-512).
pub fn supported_levels() -> Vec<SimdLevel> {
    let auto = automatic_level();
    let order = |l: SimdLevel| SimdLevel::ALL.iter().position(|&x| x == l).unwrap();
    SimdLevel::ALL
        .into_iter()
        .filter(|&l| dispatch::is_supported(l) && (l == auto || order(l) < order(auto)))
        .collect()
}

/// The level `active()` returns when nothing is forced: `detected()` capped by `ENGRAM_SIMD`.
pub fn automatic_level() -> SimdLevel {
    let cap = std::env::var("ENGRAM_SIMD")
        .ok()
        .and_then(|v| v.parse::<SimdLevel>().ok());
    let best = dispatch::detected();
    match cap {
        Some(c) if dispatch::is_supported(c) => c,
        _ => best,
    }
}

/// Runs `f` once per supported level with that level forced, then restores automatic dispatch.
pub fn for_each_level(mut f: impl FnMut(SimdLevel)) {
    let _guard = force_lock();
    struct Restore;
    impl Drop for Restore {
        fn drop(&mut self) {
            dispatch::force(None).unwrap();
        }
    }
    let _restore = Restore;
    for level in supported_levels() {
        dispatch::force(Some(level)).unwrap();
        assert_eq!(dispatch::active(), level);
        f(level);
    }
}

/// `mag` of the spec computed in f64. The kernel accumulates `dot(v, v)` in f32, so near the two
/// thresholds (f32 overflow, `1e-30`) the classification is a matter of rounding: `None` there.
pub fn mag_ref(v: &[f32]) -> Option<f64> {
    let s: f64 = v.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
    let max = f64::from(f32::MAX);
    let near = |t: f64| (s - t).abs() <= 1e-3 * t;
    if s.is_nan() || s.is_infinite() {
        return Some(0.0);
    }
    if near(max) || near(1e-30) {
        return None;
    }
    if s > max || s < 1e-30 {
        Some(0.0)
    } else {
        Some(s.sqrt())
    }
}

/// The spec's cosine score in f64, or `None` when a magnitude sits on a threshold.
pub fn cos_ref(q: &[f32], c: &[f32]) -> Option<f64> {
    let mq = mag_ref(q)?;
    if mq == 0.0 {
        return Some(0.0);
    }
    let mc = mag_ref(c)?;
    if mc == 0.0 {
        return Some(0.0);
    }
    let dot: f64 = q
        .iter()
        .zip(c)
        .map(|(&a, &b)| f64::from(a) * f64::from(b))
        .sum();
    Some((dot / (mq * mc)).clamp(-1.0, 1.0))
}

/// `s · exp(−age/τ)` in f64.
pub fn decay_ref(s: f32, age: u64, tau: f64) -> f64 {
    f64::from(s) * (-(age as f64) / tau).exp()
}

/// Checks one decayed strength against the reference: the spec's relative bound
/// `2.4e-7 · (1 + age/τ)` for normal results, one subnormal step below `f32::MIN_POSITIVE`, and
/// the special values exactly. `extra_strict` also checks the documented precision (one f32
/// rounding plus 1e-8).
pub fn check_decay(s: f32, age: u64, tau: f64, got: f32, extra_strict: bool) -> Result<(), String> {
    let ctx = || {
        format!(
            "s={s:e} ({:#x}) age={age} tau={tau} got={got:e}",
            s.to_bits()
        )
    };
    if age == 0 {
        return if got.to_bits() == s.to_bits() {
            Ok(())
        } else {
            Err(format!("age 0 changed bits: {}", ctx()))
        };
    }
    if s.is_nan() {
        return if got.is_nan() {
            Ok(())
        } else {
            Err(format!("NaN lost: {}", ctx()))
        };
    }
    if s.is_infinite() {
        return if got == s {
            Ok(())
        } else {
            Err(format!("infinity lost: {}", ctx()))
        };
    }
    let r = decay_ref(s, age, tau);
    let err = (f64::from(got) - r).abs();
    let a = age as f64 / tau;
    if r.abs() >= f64::from(f32::MIN_POSITIVE) {
        let bound = 2.4e-7 * (1.0 + a) * r.abs();
        if err > bound {
            return Err(format!(
                "error {err:e} > spec bound {bound:e} (ref {r:e}): {}",
                ctx()
            ));
        }
        let strict = (2f64.powi(-24) + 1e-8) * r.abs();
        if extra_strict && err > strict {
            return Err(format!(
                "error {err:e} > documented {strict:e} (ref {r:e}): {}",
                ctx()
            ));
        }
    } else if err > 2f64.powi(-149) {
        return Err(format!(
            "subnormal error {err:e} > one step (ref {r:e}): {}",
            ctx()
        ));
    }
    if got != 0.0 && got.is_sign_negative() != s.is_sign_negative() {
        return Err(format!("sign flipped: {}", ctx()));
    }
    Ok(())
}
