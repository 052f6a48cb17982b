//! Configuration of the thread scratch arenas (pool size, overflow policy, zeroing) and of the
//! process-wide chunk pool's retention (how many idle bytes it keeps).
//!
//! The configuration is process-wide. It starts from [`ArenaConfig::default`], is overlaid once
//! by the environment (the first time any of it is read), and can then be changed with
//! [`configure`]. A thread's pool size is fixed when its arena is created; the overflow policy
//! and zeroing apply from the next overflow or reset on.
//!
//! | Variable | Accepted values |
//! |---|---|
//! | `ENGRAM_ARENA_SIZE` | bytes, 64 KiB to 1 GiB inclusive, as a number with an optional binary suffix: `65536`, `64K`, `4M`, `4 MiB`, `1G` (`K` = 1024) |
//! | `ENGRAM_ARENA_OVERFLOW` | `panic`, `error` (or `error_return`, the C spelling) or `fallback` |
//! | `ENGRAM_ARENA_ZERO` | `true`/`1`/`yes`/`on` or `false`/`0`/`no`/`off` |
//! | `ENGRAM_ARENA_POOL_RETAIN` | bytes, 0 or more, written as `ENGRAM_ARENA_SIZE` is: the most idle memory the shared chunk pool keeps (8 MiB by default) |
//! | `ENGRAM_ARENA_STRICT` | as `ENGRAM_ARENA_ZERO`; when on, an invalid value above is fatal |
//! | `ENGRAM_SIMD` | `scalar`, `avx2`, `avx512` or `neon`: the highest instruction set the kernels may use (see `kernels::dispatch`); an invalid value is reported and ignored |
//!
//! Values are trimmed and case-insensitive (`" Fallback "` works); an empty value counts as
//! unset. Every message goes to stderr once, prefixed `engram-kernels: `.
//!
//! **Invalid values.** By default an invalid value never panics: it is reported once on stderr
//! and
//! * an invalid `ENGRAM_ARENA_SIZE`, `ENGRAM_ARENA_POOL_RETAIN` or `ENGRAM_ARENA_ZERO` keeps the
//!   default;
//! * an invalid `ENGRAM_ARENA_OVERFLOW` selects **`error`**, not the default `fallback`: whoever
//!   set the variable wanted to change the default, and the only other choices bound the memory,
//!   so a typo such as `eror` must not silently leave the pool unbounded. (`error` rather than
//!   `panic`, because it bounds the memory without taking the process down; it is also what
//!   `engram_configure_arena` does with an unknown strategy.)
//!
//! With `ENGRAM_ARENA_STRICT=1`, any invalid value (including one for `ENGRAM_ARENA_STRICT`
//! itself) aborts the process at first use, after printing what was wrong and what is accepted:
//! for deployments where a misconfigured arena must not start at all.
//!
//! # Example
//!
//! ```
//! use engram_kernels::config::{self, ArenaConfig, OverflowPolicy};
//!
//! config::configure(ArenaConfig { pool_size: 4 << 20, ..config::current() }).unwrap();
//! assert_eq!(config::current().pool_size, 4 << 20);
//! assert!(config::configure(ArenaConfig { pool_size: 1, ..ArenaConfig::default() }).is_err());
//! assert_eq!(config::parse_pool_size(" 4m "), Ok(4 << 20));
//! assert_eq!(" Error ".parse::<OverflowPolicy>(), Ok(OverflowPolicy::Error));
//! ```

use crate::diag::report;
use std::fmt;
use std::sync::Once;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering::Relaxed};

/// What a thread scratch arena does with a request that does not fit.
///
/// A plain [`Arena`](crate::Arena) ignores this: it always answers `AllocError`.
///
/// # Example
///
/// ```
/// use engram_kernels::OverflowPolicy;
///
/// assert_eq!(OverflowPolicy::default(), OverflowPolicy::Fallback);
/// assert_eq!("error_return".parse::<OverflowPolicy>().unwrap(), OverflowPolicy::Error);
/// assert_eq!(" Error\n".parse::<OverflowPolicy>().unwrap(), OverflowPolicy::Error);
/// assert!("eror".parse::<OverflowPolicy>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OverflowPolicy {
    /// Panic with a message that says what was asked, what remained and how to raise the pool.
    Panic,
    /// Refuse: the allocation returns `AllocError` (the kernels report
    /// `KernelError::ScratchExhausted`).
    Error,
    /// Serve the request from the system heap, count it as an overflow, and free it no later
    /// than the end of the scope. The default.
    #[default]
    Fallback,
}

impl std::str::FromStr for OverflowPolicy {
    type Err = ConfigError;

    /// Parses the `ENGRAM_ARENA_OVERFLOW` spellings, trimmed and in any case: `panic`,
    /// `error` or `error_return`, `fallback`.
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "panic" => Ok(Self::Panic),
            "error" | "error_return" => Ok(Self::Error),
            "fallback" => Ok(Self::Fallback),
            _ => Err(invalid(
                OVERFLOW_VAR,
                s,
                "panic, error, error_return or fallback",
            )),
        }
    }
}

impl OverflowPolicy {
    const fn to_u8(self) -> u8 {
        match self {
            Self::Panic => 0,
            Self::Error => 1,
            Self::Fallback => 2,
        }
    }

    const fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Panic,
            1 => Self::Error,
            _ => Self::Fallback,
        }
    }
}

/// The process-wide scratch configuration.
///
/// # Example
///
/// ```
/// use engram_kernels::{ArenaConfig, OverflowPolicy};
///
/// let cfg = ArenaConfig::default();
/// assert_eq!(cfg.pool_size, 1 << 20);
/// assert_eq!(cfg.overflow, OverflowPolicy::Fallback);
/// assert!(!cfg.zero_on_reset);
/// assert_eq!(cfg.pool_retain, 8 << 20);
/// assert!(cfg.validate().is_ok());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ArenaConfig {
    /// Bytes per thread arena, [`MIN_POOL_SIZE`](Self::MIN_POOL_SIZE) to
    /// [`MAX_POOL_SIZE`](Self::MAX_POOL_SIZE).
    pub pool_size: usize,
    /// What to do with a request that does not fit.
    pub overflow: OverflowPolicy,
    /// Whether a reset zeroes the bytes used since the previous one.
    pub zero_on_reset: bool,
    /// The most idle bytes the process-wide chunk pool keeps for reuse (any value; 0 keeps
    /// none). Chunks that arenas give back beyond it go back to the system, the smallest first.
    /// Applies from the next chunk given back; [`scratch::set_pool_retain`] also trims the pool
    /// at once.
    ///
    /// [`scratch::set_pool_retain`]: crate::scratch::set_pool_retain
    pub pool_retain: usize,
}

impl ArenaConfig {
    /// Smallest accepted pool size: 64 KiB.
    pub const MIN_POOL_SIZE: usize = 64 << 10;
    /// Largest accepted pool size: 1 GiB.
    pub const MAX_POOL_SIZE: usize = 1 << 30;
    /// The default pool: 1 MiB, the size of the Zig implementation's per-thread pool (and the
    /// default capacity of an [`Arena`](crate::Arena)).
    ///
    /// ```
    /// assert_eq!(engram_kernels::ArenaConfig::DEFAULT_POOL_SIZE, 1 << 20);
    /// ```
    pub const DEFAULT_POOL_SIZE: usize = 1 << 20;
    /// The default pool retention: 8 MiB. Enough for a loop of
    /// [`with_arena_sized`](crate::with_arena_sized) batches of up to 8 MiB, or of scratch
    /// scopes that overflow by as much, to reuse its chunks round after round; small enough that
    /// a loop that fills and resets a growable arena keeps about one round's memory resident
    /// (the arena keeps its largest chunk itself, and frees the others at reset).
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(engram_kernels::ArenaConfig::DEFAULT_POOL_RETAIN, 8 << 20);
    /// ```
    pub const DEFAULT_POOL_RETAIN: usize = 8 << 20;

    /// Checks the pool size range.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::ArenaConfig;
    ///
    /// let too_big = ArenaConfig { pool_size: 2 << 30, ..ArenaConfig::default() };
    /// assert!(too_big.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        if (Self::MIN_POOL_SIZE..=Self::MAX_POOL_SIZE).contains(&self.pool_size) {
            Ok(())
        } else {
            Err(ConfigError::PoolSizeOutOfRange {
                bytes: self.pool_size,
            })
        }
    }
}

impl Default for ArenaConfig {
    fn default() -> Self {
        Self {
            pool_size: Self::DEFAULT_POOL_SIZE,
            overflow: OverflowPolicy::Fallback,
            zero_on_reset: false,
            pool_retain: Self::DEFAULT_POOL_RETAIN,
        }
    }
}

/// Why a configuration value was rejected.
///
/// # Example
///
/// ```
/// use engram_kernels::config::parse_pool_size;
///
/// let e = parse_pool_size("lots").unwrap_err();
/// assert_eq!(
///     e.to_string(),
///     "ENGRAM_ARENA_SIZE=\"lots\" is invalid (expected bytes from 64K to 1G, \
///      as a number with an optional K, M or G suffix)"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A pool size outside 64 KiB ..= 1 GiB.
    PoolSizeOutOfRange {
        /// The size asked for.
        bytes: usize,
    },
    /// An environment variable with a value that does not parse.
    InvalidEnv {
        /// The variable.
        var: &'static str,
        /// Its value (lossily decoded).
        value: String,
        /// What it accepts.
        expected: &'static str,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PoolSizeOutOfRange { bytes } => write!(
                f,
                "pool size {bytes} is out of range ({} to {} bytes)",
                ArenaConfig::MIN_POOL_SIZE,
                ArenaConfig::MAX_POOL_SIZE
            ),
            Self::InvalidEnv {
                var,
                value,
                expected,
            } => write!(f, "{var}={value:?} is invalid (expected {expected})"),
        }
    }
}

impl std::error::Error for ConfigError {}

const SIZE_VAR: &str = "ENGRAM_ARENA_SIZE";
const OVERFLOW_VAR: &str = "ENGRAM_ARENA_OVERFLOW";
const ZERO_VAR: &str = "ENGRAM_ARENA_ZERO";
const RETAIN_VAR: &str = "ENGRAM_ARENA_POOL_RETAIN";
const STRICT_VAR: &str = "ENGRAM_ARENA_STRICT";
const SIMD_VAR: &str = "ENGRAM_SIMD";
/// The values `ENGRAM_SIMD` accepts: the names of the kernels' `dispatch::SimdLevel`s (a test
/// there keeps the two lists equal).
pub(crate) const SIMD_NAMES: [&str; 4] = ["scalar", "avx2", "avx512", "neon"];
const SIMD_EXPECTED: &str = "scalar, avx2, avx512 or neon";
const FLAG_EXPECTED: &str = "true, 1, yes, on, false, 0, no or off";

fn invalid(var: &'static str, value: &str, expected: &'static str) -> ConfigError {
    ConfigError::InvalidEnv {
        var,
        value: value.to_owned(),
        expected,
    }
}

/// Parses an `ENGRAM_ARENA_SIZE` value: a decimal number of bytes with an optional binary
/// suffix (`K`, `M`, `G`, optionally followed by `B` or `iB`, in any case, after optional
/// spaces), in 64 KiB ..= 1 GiB.
///
/// # Errors
///
/// [`ConfigError::InvalidEnv`] for anything else, including sizes out of range.
///
/// # Example
///
/// ```
/// use engram_kernels::config::parse_pool_size;
///
/// assert_eq!(parse_pool_size("65536"), Ok(65536));
/// assert_eq!(parse_pool_size("64k"), Ok(65536));
/// assert_eq!(parse_pool_size(" 8 MiB "), Ok(8 << 20));
/// assert_eq!(parse_pool_size("1G"), Ok(1 << 30));
/// assert!(parse_pool_size("65535").is_err());
/// assert!(parse_pool_size("-1").is_err());
/// assert!(parse_pool_size("2G").is_err());
/// ```
pub fn parse_pool_size(s: &str) -> Result<usize, ConfigError> {
    let expected = "bytes from 64K to 1G, as a number with an optional K, M or G suffix";
    parse_bytes(s)
        .filter(|b| (ArenaConfig::MIN_POOL_SIZE..=ArenaConfig::MAX_POOL_SIZE).contains(b))
        .ok_or_else(|| invalid(SIZE_VAR, s, expected))
}

/// Parses an `ENGRAM_ARENA_POOL_RETAIN` value: bytes written as for
/// [`parse_pool_size`], any size from 0 up.
///
/// # Errors
///
/// [`ConfigError::InvalidEnv`] for anything that is not such a number, or that overflows.
///
/// # Example
///
/// ```
/// use engram_kernels::config::parse_pool_retain;
///
/// assert_eq!(parse_pool_retain("0"), Ok(0));
/// assert_eq!(parse_pool_retain(" 16 MiB "), Ok(16 << 20));
/// assert!(parse_pool_retain("lots").is_err());
/// assert!(parse_pool_retain("-1").is_err());
/// ```
pub fn parse_pool_retain(s: &str) -> Result<usize, ConfigError> {
    let expected = "bytes, as a number with an optional K, M or G suffix";
    parse_bytes(s).ok_or_else(|| invalid(RETAIN_VAR, s, expected))
}

/// A decimal number of bytes with an optional binary suffix (`K`, `M`, `G`, optionally followed
/// by `B` or `iB`, in any case, after optional spaces), trimmed; `None` if it does not parse or
/// overflows.
fn parse_bytes(s: &str) -> Option<usize> {
    let t = s.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let (number, suffix) = t.split_at(digits);
    let shift = match suffix.trim_start().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return None,
    };
    let n: usize = number.parse().ok()?;
    n.checked_mul(1 << shift)
}

/// Parses a boolean spelling, trimmed and in any case.
fn parse_flag(var: &'static str, s: &str) -> Result<bool, ConfigError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(invalid(var, s, FLAG_EXPECTED)),
    }
}

/// Parses an `ENGRAM_ARENA_ZERO` value: `true`/`1`/`yes`/`on` or `false`/`0`/`no`/`off`,
/// trimmed and in any case.
///
/// # Errors
///
/// [`ConfigError::InvalidEnv`] for anything else.
///
/// # Example
///
/// ```
/// use engram_kernels::config::parse_zero;
///
/// assert_eq!(parse_zero("1"), Ok(true));
/// assert_eq!(parse_zero(" FALSE "), Ok(false));
/// assert!(parse_zero("yes please").is_err());
/// ```
pub fn parse_zero(s: &str) -> Result<bool, ConfigError> {
    parse_flag(ZERO_VAR, s)
}

/// Whether `ENGRAM_ARENA_STRICT` asks for strict handling of invalid values, read through
/// `lookup` (as in [`from_env_with`]). Unset or empty is off; an invalid value counts as on
/// (whoever set it wanted strictness) and is returned as an error too.
///
/// # Example
///
/// ```
/// use engram_kernels::config::strict_from_env_with;
///
/// assert_eq!(strict_from_env_with(|_| None), (false, None));
/// assert_eq!(strict_from_env_with(|_| Some(" On".into())), (true, None));
/// let (strict, error) = strict_from_env_with(|_| Some("please".into()));
/// assert!(strict && error.is_some());
/// ```
pub fn strict_from_env_with(
    lookup: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> (bool, Option<ConfigError>) {
    match read_var(&lookup, STRICT_VAR) {
        None => (false, None),
        Some(v) => match parse_flag(STRICT_VAR, &v) {
            Ok(on) => (on, None),
            Err(e) => (true, Some(e)),
        },
    }
}

/// A variable's value, lossily decoded; `None` when unset or blank.
fn read_var(lookup: &impl Fn(&str) -> Option<std::ffi::OsString>, var: &str) -> Option<String> {
    let v = lookup(var)?.to_string_lossy().into_owned();
    (!v.trim().is_empty()).then_some(v)
}

/// Overlays the environment on `base`, returning the result and every rejected value.
///
/// `lookup` reads a variable; [`current`] passes `std::env::var_os`. This is the pure half of
/// the environment handling, exposed so it can be tested without touching the process
/// environment. An invalid `ENGRAM_ARENA_OVERFLOW` selects [`OverflowPolicy::Error`] (see the
/// [module docs](self)); other invalid values leave `base`'s.
///
/// # Example
///
/// ```
/// use engram_kernels::config::{ArenaConfig, OverflowPolicy, from_env_with};
///
/// let (cfg, errors) = from_env_with(ArenaConfig::default(), |var| match var {
///     "ENGRAM_ARENA_OVERFLOW" => Some(" Error ".into()),
///     "ENGRAM_ARENA_SIZE" => Some("12".into()),
///     _ => None,
/// });
/// assert_eq!(cfg.overflow, OverflowPolicy::Error);
/// assert_eq!(cfg.pool_size, 1 << 20); // 12 is out of range: the default stands
/// assert_eq!(errors.len(), 1);
///
/// let (cfg, errors) = from_env_with(ArenaConfig::default(), |var| {
///     (var == "ENGRAM_ARENA_OVERFLOW").then(|| "falback".into())
/// });
/// assert_eq!(cfg.overflow, OverflowPolicy::Error); // a typo never means "unbounded"
/// assert_eq!(errors.len(), 1);
/// ```
pub fn from_env_with(
    base: ArenaConfig,
    lookup: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> (ArenaConfig, Vec<ConfigError>) {
    let mut cfg = base;
    let mut errors = Vec::new();
    if let Some(v) = read_var(&lookup, SIZE_VAR) {
        match parse_pool_size(&v) {
            Ok(n) => cfg.pool_size = n,
            Err(e) => errors.push(e),
        }
    }
    if let Some(v) = read_var(&lookup, OVERFLOW_VAR) {
        match v.parse() {
            Ok(p) => cfg.overflow = p,
            Err(e) => {
                cfg.overflow = OverflowPolicy::Error;
                errors.push(e);
            }
        }
    }
    if let Some(v) = read_var(&lookup, ZERO_VAR) {
        match parse_zero(&v) {
            Ok(z) => cfg.zero_on_reset = z,
            Err(e) => errors.push(e),
        }
    }
    if let Some(v) = read_var(&lookup, RETAIN_VAR) {
        match parse_pool_retain(&v) {
            Ok(n) => cfg.pool_retain = n,
            Err(e) => errors.push(e),
        }
    }
    (cfg, errors)
}

/// `ENGRAM_SIMD` read through `lookup` (as in [`from_env_with`]): `Ok(None)` when unset or blank,
/// otherwise the accepted name it spells, in lowercase. The kernels use it as the highest
/// instruction set they may run.
///
/// # Errors
///
/// [`ConfigError::InvalidEnv`] for a value that is not `scalar`, `avx2`, `avx512` or `neon`
/// (trimmed, case-insensitive).
///
/// # Example
///
/// ```
/// use engram_kernels::config::simd_from_env_with;
///
/// assert_eq!(simd_from_env_with(|_| None), Ok(None));
/// assert_eq!(simd_from_env_with(|_| Some(" AVX2 ".into())), Ok(Some("avx2")));
/// assert!(simd_from_env_with(|_| Some("sse9".into())).is_err());
/// ```
pub fn simd_from_env_with(
    lookup: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<Option<&'static str>, ConfigError> {
    let Some(v) = read_var(&lookup, SIMD_VAR) else {
        return Ok(None);
    };
    SIMD_NAMES
        .into_iter()
        .find(|name| name.eq_ignore_ascii_case(v.trim()))
        .map(Some)
        .ok_or_else(|| invalid(SIMD_VAR, &v, SIMD_EXPECTED))
}

/// `ENGRAM_SIMD` from the process environment, read once; an invalid value is reported once on
/// stderr and counts as unset.
#[cfg_attr(not(feature = "kernels"), allow(dead_code))]
pub(crate) fn simd_cap() -> Option<&'static str> {
    static CAP: std::sync::OnceLock<Option<&'static str>> = std::sync::OnceLock::new();
    *CAP.get_or_init(|| {
        simd_from_env_with(|v| std::env::var_os(v)).unwrap_or_else(|e| {
            report(format_args!("{e}; using the best level this CPU supports"));
            None
        })
    })
}

/// What happens instead of an invalid value, for the stderr line.
fn consequence(e: &ConfigError, cfg: &ArenaConfig) -> std::string::String {
    match e {
        ConfigError::InvalidEnv { var, .. } if *var == OVERFLOW_VAR => {
            "using error (bounded): the pool is not left unbounded by a typo".to_owned()
        }
        ConfigError::InvalidEnv { var, .. } if *var == SIZE_VAR => {
            format!("keeping {} bytes", cfg.pool_size)
        }
        ConfigError::InvalidEnv { var, .. } if *var == RETAIN_VAR => {
            format!("keeping {} bytes", cfg.pool_retain)
        }
        ConfigError::InvalidEnv { var, .. } if *var == ZERO_VAR => {
            format!("keeping {}", cfg.zero_on_reset)
        }
        _ => "ignored".to_owned(),
    }
}

static ENV: Once = Once::new();
static POOL_SIZE: AtomicUsize = AtomicUsize::new(ArenaConfig::DEFAULT_POOL_SIZE);
static OVERFLOW: AtomicU8 = AtomicU8::new(OverflowPolicy::Fallback.to_u8());
static POOL_RETAIN: AtomicUsize = AtomicUsize::new(ArenaConfig::DEFAULT_POOL_RETAIN);
/// The zeroing flag: 0 or 1, or [`ZERO_UNKNOWN`] until the environment has been read, so that
/// the scope path learns both from one load.
static ZERO: AtomicU8 = AtomicU8::new(ZERO_UNKNOWN);
const ZERO_UNKNOWN: u8 = 2;

fn store(cfg: ArenaConfig) {
    POOL_SIZE.store(cfg.pool_size, Relaxed);
    OVERFLOW.store(cfg.overflow.to_u8(), Relaxed);
    POOL_RETAIN.store(cfg.pool_retain, Relaxed);
    ZERO.store(u8::from(cfg.zero_on_reset), Relaxed);
}

/// Reads the environment on first use. Inlined: after the first call it is one load and a
/// branch, which the scope path pays at every outermost exit.
#[inline]
fn load_env_once() {
    if !ENV.is_completed() {
        load_env_slow();
    }
}

#[cold]
fn load_env_slow() {
    ENV.call_once(|| {
        let lookup = |v: &str| std::env::var_os(v);
        let (cfg, mut errors) = from_env_with(ArenaConfig::default(), lookup);
        let (strict, strict_error) = strict_from_env_with(lookup);
        errors.extend(strict_error);
        if strict && !errors.is_empty() {
            for e in &errors {
                report(e);
            }
            report(format_args!(
                "{STRICT_VAR} is on, so invalid configuration is fatal; aborting. Fix the \
                 value(s) above or unset {STRICT_VAR}."
            ));
            std::process::abort();
        }
        for e in &errors {
            report(format_args!("{e}; {}", consequence(e, &cfg)));
        }
        store(cfg);
    });
}

/// The configuration in force (the environment is read the first time this is called).
///
/// # Example
///
/// ```
/// let cfg = engram_kernels::config::current();
/// assert!(cfg.validate().is_ok());
/// ```
pub fn current() -> ArenaConfig {
    load_env_once();
    ArenaConfig {
        pool_size: POOL_SIZE.load(Relaxed),
        overflow: overflow_policy(),
        zero_on_reset: ZERO.load(Relaxed) == 1,
        pool_retain: pool_retain(),
    }
}

/// Replaces the configuration, after validating it; on error nothing changes.
///
/// Threads that already have an arena keep its size; new arenas (and arenas re-created after
/// [`release_thread_arena`](crate::scratch::release_thread_arena)) get the new one.
///
/// # Example
///
/// ```
/// use engram_kernels::config::{self, ArenaConfig};
///
/// let before = config::current();
/// config::configure(ArenaConfig { zero_on_reset: true, ..before }).unwrap();
/// assert!(config::current().zero_on_reset);
/// config::configure(before).unwrap();
/// ```
pub fn configure(cfg: ArenaConfig) -> Result<(), ConfigError> {
    cfg.validate()?;
    load_env_once();
    store(cfg);
    Ok(())
}

/// Sets only the overflow policy.
///
/// # Example
///
/// ```
/// use engram_kernels::config::{self, OverflowPolicy};
///
/// config::set_overflow_policy(OverflowPolicy::Error);
/// assert_eq!(config::current().overflow, OverflowPolicy::Error);
/// config::set_overflow_policy(OverflowPolicy::Fallback);
/// ```
pub fn set_overflow_policy(policy: OverflowPolicy) {
    load_env_once();
    OVERFLOW.store(policy.to_u8(), Relaxed);
}

/// Sets only the pool retention; [`crate::scratch::set_pool_retain`] also trims the pool.
pub(crate) fn store_pool_retain(bytes: usize) {
    load_env_once();
    POOL_RETAIN.store(bytes, Relaxed);
}

/// The pool retention in force; read each time a chunk is given back to the pool (a cold path).
pub(crate) fn pool_retain() -> usize {
    load_env_once();
    POOL_RETAIN.load(Relaxed)
}

/// The configured zeroing flag alone: what every scratch reset reads, so it is one load and a
/// compare once the environment has been read (which `store` does before setting the flag).
#[inline]
pub(crate) fn zero_on_reset() -> bool {
    match ZERO.load(Relaxed) {
        ZERO_UNKNOWN => {
            load_env_slow();
            ZERO.load(Relaxed) == 1
        }
        z => z == 1,
    }
}

/// The overflow policy in force; read on the (cold) overflow path only.
pub(crate) fn overflow_policy() -> OverflowPolicy {
    load_env_once();
    OverflowPolicy::from_u8(OVERFLOW.load(Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(*v))
        }
    }

    #[test]
    fn garbage_keeps_defaults_except_overflow_which_becomes_bounded() {
        let garbage: &[(&str, &str)] = &[
            (SIZE_VAR, "1e6"),
            (OVERFLOW_VAR, "explode"),
            (ZERO_VAR, "yes please"),
            (RETAIN_VAR, "-4M"),
        ];
        let (cfg, errors) = from_env_with(ArenaConfig::default(), env(garbage));
        assert_eq!(
            cfg,
            ArenaConfig {
                overflow: OverflowPolicy::Error,
                ..ArenaConfig::default()
            }
        );
        let vars: Vec<_> = errors
            .iter()
            .map(|e| match e {
                ConfigError::InvalidEnv { var, .. } => *var,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(vars, [SIZE_VAR, OVERFLOW_VAR, ZERO_VAR, RETAIN_VAR]);
        assert!(consequence(&errors[1], &cfg).starts_with("using error"));
        assert_eq!(consequence(&errors[0], &cfg), "keeping 1048576 bytes");
        assert_eq!(consequence(&errors[3], &cfg), "keeping 8388608 bytes");
    }

    #[test]
    fn blank_values_count_as_unset() {
        let blank: &[(&str, &str)] = &[(SIZE_VAR, ""), (OVERFLOW_VAR, "  "), (ZERO_VAR, "\t")];
        let (cfg, errors) = from_env_with(ArenaConfig::default(), env(blank));
        assert_eq!(cfg, ArenaConfig::default());
        assert!(errors.is_empty());
        assert_eq!(
            strict_from_env_with(env(&[(STRICT_VAR, " ")])),
            (false, None)
        );
    }

    #[test]
    fn spellings_are_trimmed_and_case_insensitive() {
        for (text, policy) in [
            ("panic", OverflowPolicy::Panic),
            (" PANIC\n", OverflowPolicy::Panic),
            ("error", OverflowPolicy::Error),
            ("Error_Return", OverflowPolicy::Error),
            ("\tFallBack ", OverflowPolicy::Fallback),
        ] {
            assert_eq!(text.parse::<OverflowPolicy>(), Ok(policy), "{text:?}");
        }
        for bad in ["", "err", "error return", "fall back", "2"] {
            assert!(bad.parse::<OverflowPolicy>().is_err(), "{bad:?}");
        }
        for (text, on) in [(" TRUE", true), ("On", true), ("yes", true), ("Off", false)] {
            assert_eq!(parse_zero(text), Ok(on), "{text:?}");
        }
        assert!(parse_zero("2").is_err());
    }

    #[test]
    fn strict_flag_reads_like_the_other_flags() {
        assert_eq!(
            strict_from_env_with(env(&[(STRICT_VAR, "1")])),
            (true, None)
        );
        assert_eq!(
            strict_from_env_with(env(&[(STRICT_VAR, "off")])),
            (false, None)
        );
        let (on, err) = strict_from_env_with(env(&[(STRICT_VAR, "sure")]));
        assert!(on);
        assert!(matches!(
            err,
            Some(ConfigError::InvalidEnv {
                var: STRICT_VAR,
                ..
            })
        ));
    }

    #[test]
    fn pool_size_bounds_are_inclusive() {
        assert_eq!(parse_pool_size("65536"), Ok(65536));
        assert_eq!(parse_pool_size("1073741824"), Ok(1 << 30));
        for bad in [
            "65535",
            "1073741825",
            "",
            " ",
            "0x10000",
            "18446744073709551616",
            "1e6",
            "63K",
            "1025M",
            "2G",
            "-64K",
            "+64K",
            "64 K B",
            "1.5M",
            "M",
            "17179869184G", // overflows usize when multiplied
        ] {
            assert!(parse_pool_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn pool_size_suffixes_are_binary() {
        for (text, bytes) in [
            ("64K", 64 << 10),
            ("64k", 64 << 10),
            ("64KiB", 64 << 10),
            ("64 kb", 64 << 10),
            (" 1m ", 1 << 20),
            ("4 MiB", 4 << 20),
            ("1024M", 1 << 30),
            ("1G", 1 << 30),
            ("1gib", 1 << 30),
            ("131072B", 131072),
        ] {
            assert_eq!(parse_pool_size(text), Ok(bytes), "{text:?}");
        }
    }

    #[test]
    fn valid_values_apply() {
        let ok: &[(&str, &str)] = &[
            (SIZE_VAR, "131072"),
            (OVERFLOW_VAR, "panic"),
            (ZERO_VAR, "true"),
            (RETAIN_VAR, " 0 "),
        ];
        let (cfg, errors) = from_env_with(ArenaConfig::default(), env(ok));
        assert!(errors.is_empty());
        assert_eq!(
            cfg,
            ArenaConfig {
                pool_size: 131072,
                overflow: OverflowPolicy::Panic,
                zero_on_reset: true,
                pool_retain: 0,
            }
        );
    }

    #[test]
    #[cfg(unix)]
    fn non_utf8_values_are_rejected_not_panicked_on() {
        use std::os::unix::ffi::OsStringExt;
        let (cfg, errors) = from_env_with(ArenaConfig::default(), |k| {
            (k == SIZE_VAR).then(|| OsString::from_vec(vec![0xff, 0xfe]))
        });
        assert_eq!(cfg.pool_size, ArenaConfig::default().pool_size);
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn policy_round_trips_through_its_code() {
        for p in [
            OverflowPolicy::Panic,
            OverflowPolicy::Error,
            OverflowPolicy::Fallback,
        ] {
            assert_eq!(OverflowPolicy::from_u8(p.to_u8()), p);
        }
    }
}
