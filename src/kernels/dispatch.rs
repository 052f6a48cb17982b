//! Runtime SIMD dispatch: which instruction set the kernels use.
//!
//! The best level the CPU supports is detected once ([`detected`]). What the kernels actually use
//! ([`active`]) is that level, capped by the `ENGRAM_SIMD` environment variable (read once, on
//! first use) or overridden by [`force`] (for tests and benchmarks). The choice is cached in an
//! atomic, so a kernel call pays one relaxed load to dispatch.
//!
//! Inside the crate the choice travels as a token that only exists after run-time detection
//! confirmed the level; every SIMD entry point takes its instruction set's token, so the proof
//! that its `#[target_feature]` code may run is a value, not a convention among callers.
//!
//! `ENGRAM_SIMD` accepts `scalar`, `avx2`, `avx512` and `neon` (case-insensitive). It caps the
//! level: `ENGRAM_SIMD=avx512` on a CPU without AVX-512F gives AVX2+FMA. A value that is unknown,
//! or that names another architecture's instruction set, is ignored with one line on stderr.
//!
//! # Example
//!
//! ```
//! use engram_kernels::kernels::dispatch::{self, SimdLevel};
//!
//! let level = dispatch::active();
//! assert!(dispatch::is_supported(level));
//! // Forcing the scalar path always works (tests use this to compare paths).
//! dispatch::force(Some(SimdLevel::Scalar)).unwrap();
//! assert_eq!(dispatch::active(), SimdLevel::Scalar);
//! dispatch::force(None).unwrap();
//! assert_eq!(dispatch::active(), level);
//! ```

use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::OnceLock;

/// An instruction-set level a kernel can run at.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::dispatch::SimdLevel;
///
/// assert_eq!(SimdLevel::Avx2Fma.to_string(), "avx2");
/// assert_eq!("AVX512".parse::<SimdLevel>(), Ok(SimdLevel::Avx512));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SimdLevel {
    /// Portable Rust; the compiler may still use the target's baseline vectors (SSE2 on x86_64).
    Scalar,
    /// x86_64 AVX2 with FMA, 256-bit vectors.
    Avx2Fma,
    /// x86_64 AVX-512F (with AVX2 and FMA), 512-bit vectors. The decay kernel also uses
    /// AVX-512DQ when present and runs its AVX2 path otherwise.
    Avx512,
    /// aarch64 NEON (Advanced SIMD), 128-bit vectors.
    Neon,
}

impl SimdLevel {
    /// Every level, lowest first.
    pub const ALL: [SimdLevel; 4] = [
        SimdLevel::Scalar,
        SimdLevel::Avx2Fma,
        SimdLevel::Avx512,
        SimdLevel::Neon,
    ];

    /// The name `ENGRAM_SIMD` uses for this level.
    pub const fn name(self) -> &'static str {
        match self {
            SimdLevel::Scalar => "scalar",
            SimdLevel::Avx2Fma => "avx2",
            SimdLevel::Avx512 => "avx512",
            SimdLevel::Neon => "neon",
        }
    }

    const fn code(self) -> u8 {
        match self {
            SimdLevel::Scalar => 1,
            SimdLevel::Avx2Fma => 2,
            SimdLevel::Avx512 => 3,
            SimdLevel::Neon => 4,
        }
    }

    const fn from_code(code: u8) -> Option<SimdLevel> {
        match code {
            1 => Some(SimdLevel::Scalar),
            2 => Some(SimdLevel::Avx2Fma),
            3 => Some(SimdLevel::Avx512),
            4 => Some(SimdLevel::Neon),
            _ => None,
        }
    }
}

impl fmt::Display for SimdLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The `ENGRAM_SIMD` value was not one of `scalar`, `avx2`, `avx512`, `neon`.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::dispatch::SimdLevel;
///
/// let e = "sse9".parse::<SimdLevel>().unwrap_err();
/// assert_eq!(e.to_string(), "unknown SIMD level \"sse9\"; expected scalar, avx2, avx512 or neon");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseSimdLevelError(String);

impl fmt::Display for ParseSimdLevelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown SIMD level {:?}; expected scalar, avx2, avx512 or neon",
            self.0
        )
    }
}

impl std::error::Error for ParseSimdLevelError {}

impl core::str::FromStr for SimdLevel {
    type Err = ParseSimdLevelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        SimdLevel::ALL
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(t))
            .ok_or_else(|| ParseSimdLevelError(s.to_owned()))
    }
}

/// The best level this CPU supports.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::dispatch::{detected, is_supported};
///
/// assert!(is_supported(detected()));
/// ```
pub fn detected() -> SimdLevel {
    static DETECTED: OnceLock<SimdLevel> = OnceLock::new();
    *DETECTED.get_or_init(detect)
}

#[cfg(target_arch = "x86_64")]
fn detect() -> SimdLevel {
    // Every level includes the ones below it, so a kernel may fall back to a lower path.
    let avx2_fma =
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
    if avx2_fma && std::arch::is_x86_feature_detected!("avx512f") {
        SimdLevel::Avx512
    } else if avx2_fma {
        SimdLevel::Avx2Fma
    } else {
        SimdLevel::Scalar
    }
}

#[cfg(target_arch = "aarch64")]
fn detect() -> SimdLevel {
    if std::arch::is_aarch64_feature_detected!("neon") {
        SimdLevel::Neon
    } else {
        SimdLevel::Scalar
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn detect() -> SimdLevel {
    SimdLevel::Scalar
}

/// Whether this CPU can run `level`. [`SimdLevel::Scalar`] is always supported.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::dispatch::{is_supported, SimdLevel};
///
/// assert!(is_supported(SimdLevel::Scalar));
/// #[cfg(target_arch = "x86_64")]
/// assert!(!is_supported(SimdLevel::Neon));
/// ```
pub fn is_supported(level: SimdLevel) -> bool {
    rank(level).is_some_and(|r| rank(detected()).is_some_and(|best| r <= best))
}

/// The levels of this CPU's architecture ordered by strength; `None` for another architecture's.
fn rank(level: SimdLevel) -> Option<u8> {
    match level {
        SimdLevel::Scalar => Some(0),
        SimdLevel::Avx2Fma if cfg!(target_arch = "x86_64") => Some(1),
        SimdLevel::Avx512 if cfg!(target_arch = "x86_64") => Some(2),
        SimdLevel::Neon if cfg!(target_arch = "aarch64") => Some(1),
        _ => None,
    }
}

/// 0 until the first [`active`] call; afterwards `SimdLevel::code` of the level in use.
static ACTIVE: AtomicU8 = AtomicU8::new(0);

/// Whether [`force`] set the level (`Some`) rather than the automatic choice.
static FORCED: AtomicBool = AtomicBool::new(false);

/// Whether the level in use was set by [`force`]. A kernel whose best code at a level is not
/// that level's SIMD code (the PQ scan) runs the level's own code only when it is forced, so
/// that tests and benchmarks can still compare every level.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) fn is_forced() -> bool {
    FORCED.load(Ordering::Relaxed)
}

/// The level chosen from [`detected`] and `ENGRAM_SIMD`, computed once.
fn automatic() -> SimdLevel {
    static AUTOMATIC: OnceLock<SimdLevel> = OnceLock::new();
    *AUTOMATIC.get_or_init(|| {
        let best = detected();
        // `config` accepts only the names of `SimdLevel::ALL` (see `simd_names_match_config`).
        let Some(cap) = crate::config::simd_cap().and_then(|name| name.parse().ok()) else {
            return best;
        };
        match (rank(cap), rank(best)) {
            (Some(c), Some(b)) if c < b => cap,
            (Some(_), _) => best,
            (None, _) => {
                crate::diag::report(format_args!(
                    "ignoring ENGRAM_SIMD={cap}: not an instruction set of this architecture; \
                     using {best}"
                ));
                best
            }
        }
    })
}

/// The level the kernels use now: [`detected`], capped by `ENGRAM_SIMD`, unless [`force`]d.
///
/// One relaxed atomic load after the first call.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::dispatch::{active, detected};
///
/// // Without ENGRAM_SIMD or force(), the kernels use the best level available.
/// if std::env::var_os("ENGRAM_SIMD").is_none() {
///     assert_eq!(active(), detected());
/// }
/// ```
#[inline]
pub fn active() -> SimdLevel {
    match SimdLevel::from_code(ACTIVE.load(Ordering::Relaxed)) {
        Some(level) => level,
        None => {
            let level = automatic();
            // A concurrent force() may win this race; either value is a supported level.
            let _ = ACTIVE.compare_exchange(0, level.code(), Ordering::Relaxed, Ordering::Relaxed);
            SimdLevel::from_code(ACTIVE.load(Ordering::Relaxed)).unwrap_or(level)
        }
    }
}

/// [`force`] was asked for a level this CPU cannot run.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::dispatch::{SimdLevel, UnsupportedSimdLevel};
///
/// let e = UnsupportedSimdLevel { level: SimdLevel::Neon, detected: SimdLevel::Avx2Fma };
/// assert_eq!(
///     e.to_string(),
///     "SIMD level neon is not supported by this CPU (the best it supports is avx2)"
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnsupportedSimdLevel {
    /// The level asked for.
    pub level: SimdLevel,
    /// The best level this CPU supports.
    pub detected: SimdLevel,
}

impl fmt::Display for UnsupportedSimdLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SIMD level {} is not supported by this CPU (the best it supports is {})",
            self.level, self.detected
        )
    }
}

impl std::error::Error for UnsupportedSimdLevel {}

/// Makes every kernel in the process use `level` (`Some`), or go back to the automatic choice
/// (`None`). Meant for tests and benchmarks: it is process-global, so tests that force levels must
/// not run concurrently with each other.
///
/// # Errors
///
/// [`UnsupportedSimdLevel`] if this CPU does not support `level`; the active level is then
/// unchanged.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::dispatch::{force, SimdLevel, UnsupportedSimdLevel};
///
/// #[cfg(target_arch = "x86_64")]
/// {
///     let e = force(Some(SimdLevel::Neon)).unwrap_err();
///     assert!(matches!(e, UnsupportedSimdLevel { level: SimdLevel::Neon, .. }));
///     assert!(e.to_string().starts_with("SIMD level neon is not supported by this CPU"));
/// }
/// ```
pub fn force(level: Option<SimdLevel>) -> Result<(), UnsupportedSimdLevel> {
    let forced = level.is_some();
    let level = match level {
        None => automatic(),
        Some(l) if is_supported(l) => l,
        Some(l) => {
            return Err(UnsupportedSimdLevel {
                level: l,
                detected: detected(),
            });
        }
    };
    ACTIVE.store(level.code(), Ordering::Relaxed);
    FORCED.store(forced, Ordering::Relaxed);
    Ok(())
}

/// Proof that this CPU runs a [`SimdLevel`]: only [`Token::new`] creates one, after run-time
/// detection confirmed the level. The SIMD entry points take the per-ISA token that
/// [`Token::isa`] hands out, so their safety argument is local: holding the token is the proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    level: SimdLevel,
}

impl Token {
    /// The scalar path, which every CPU runs.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) const SCALAR: Token = Token {
        level: SimdLevel::Scalar,
    };

    /// A token for `level`, or `None` when this CPU cannot run it.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn new(level: SimdLevel) -> Option<Token> {
        is_supported(level).then_some(Token { level })
    }

    /// The level this token proves.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn level(self) -> SimdLevel {
        self.level
    }

    /// The instruction set to run, with its proof.
    pub(crate) fn isa(self) -> Isa {
        match self.level {
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512 => Isa::Avx512(Avx512Token(())),
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2Fma => Isa::Avx2(Avx2Token(())),
            #[cfg(target_arch = "aarch64")]
            SimdLevel::Neon => Isa::Neon(NeonToken(())),
            // `new` only admits levels of this architecture.
            _ => Isa::Scalar,
        }
    }
}

/// The token of the level the kernels use now ([`active`]): one relaxed load, so that a tiny
/// kernel call pays next to nothing for dispatch.
#[inline]
pub(crate) fn token() -> Token {
    // No second detection check: `ACTIVE` only ever holds a level that passed `is_supported`
    // (`force` checks it, `automatic` derives it from `detected`), so `active()` is the proof.
    Token { level: active() }
}

/// What a [`Token`] lets a kernel run.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Isa {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2(Avx2Token),
    #[cfg(target_arch = "x86_64")]
    Avx512(Avx512Token),
    #[cfg(target_arch = "aarch64")]
    Neon(NeonToken),
}

/// AVX2 and FMA were detected at run time. Only [`Token::isa`] creates one.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx2Token(());

/// AVX-512F, AVX2 and FMA were detected at run time. Only [`Token::isa`] creates one.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx512Token(());

#[cfg(target_arch = "x86_64")]
impl Avx512Token {
    /// AVX-512 detection includes AVX2 and FMA (see `detect`).
    pub(crate) fn avx2(self) -> Avx2Token {
        Avx2Token(())
    }

    /// AVX-512DQ as well, when this CPU has it.
    pub(crate) fn dq(self) -> Option<Avx512DqToken> {
        // The std macro caches its detection.
        std::arch::is_x86_feature_detected!("avx512dq").then_some(Avx512DqToken(()))
    }

    /// AVX-512BW and AVX-512VBMI as well, when this CPU has them.
    pub(crate) fn vbmi(self) -> Option<Avx512VbmiToken> {
        // The std macro caches its detection.
        let vbmi = std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vbmi");
        vbmi.then_some(Avx512VbmiToken(()))
    }
}

/// AVX-512F, AVX-512BW and AVX-512VBMI (with AVX2 and FMA) were detected at run time: the
/// byte permutes (`vpermi2b`) of the PQ fast scan.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx512VbmiToken(());

/// AVX-512F and AVX-512DQ (with AVX2 and FMA) were detected at run time.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx512DqToken(());

/// NEON was detected at run time. Only [`Token::isa`] creates one.
#[cfg(target_arch = "aarch64")]
#[derive(Clone, Copy, Debug)]
pub(crate) struct NeonToken(());

#[cfg(test)]
mod tests {
    #[test]
    fn simd_names_match_config() {
        let names = super::SimdLevel::ALL.map(super::SimdLevel::name);
        assert_eq!(names, crate::config::SIMD_NAMES);
    }

    use super::*;

    #[test]
    fn tokens_exist_only_for_supported_levels() {
        for level in SimdLevel::ALL {
            assert_eq!(Token::new(level).is_some(), is_supported(level), "{level}");
        }
        assert_eq!(Token::SCALAR.level(), SimdLevel::Scalar);
        assert!(matches!(Token::SCALAR.isa(), Isa::Scalar));
        assert!(is_supported(token().level()));
    }
}
