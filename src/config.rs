//! Configuration of the thread scratch arenas: pool size, overflow policy, zeroing.
//!
//! The configuration is process-wide. It starts from [`ArenaConfig::default`], is overlaid once
//! by the environment (the first time any of it is read), and can then be changed with
//! [`configure`]. A thread's pool size is fixed when its arena is created; the overflow policy
//! and zeroing apply from the next overflow or reset on.
//!
//! | Variable | Accepted values |
//! |---|---|
//! | `ENGRAM_ARENA_SIZE` | bytes, 65,536 to 1,073,741,824 inclusive |
//! | `ENGRAM_ARENA_OVERFLOW` | `panic`, `error_return` or `fallback` |
//! | `ENGRAM_ARENA_ZERO` | `true`/`1` or `false`/`0` |
//!
//! An invalid value is ignored (the default stands) and reported once on stderr; it never
//! panics.
//!
//! # Example
//!
//! ```
//! use engram_kernels::config::{self, ArenaConfig, OverflowPolicy};
//!
//! config::configure(ArenaConfig { pool_size: 4 << 20, ..config::current() }).unwrap();
//! assert_eq!(config::current().pool_size, 4 << 20);
//! assert!(config::configure(ArenaConfig { pool_size: 1, ..ArenaConfig::default() }).is_err());
//! ```

use std::fmt;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::Relaxed};

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
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OverflowPolicy {
    /// Panic with a message that says what was asked, what remained and how to raise the pool.
    Panic,
    /// Refuse: the allocation returns `AllocError` (kernels report
    /// [`KernelError::ScratchExhausted`](crate::kernels::KernelError::ScratchExhausted)).
    Error,
    /// Serve the request from the system heap, count it as an overflow, and free it no later
    /// than the end of the scope. The default.
    #[default]
    Fallback,
}

impl std::str::FromStr for OverflowPolicy {
    type Err = ConfigError;

    /// Parses the `ENGRAM_ARENA_OVERFLOW` spellings: `panic`, `error_return`, `fallback`.
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        match s {
            "panic" => Ok(Self::Panic),
            "error_return" => Ok(Self::Error),
            "fallback" => Ok(Self::Fallback),
            _ => Err(invalid(OVERFLOW_VAR, s, "panic, error_return or fallback")),
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
}

impl ArenaConfig {
    /// Smallest accepted pool size: 64 KiB.
    pub const MIN_POOL_SIZE: usize = 64 << 10;
    /// Largest accepted pool size: 1 GiB.
    pub const MAX_POOL_SIZE: usize = 1 << 30;

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
            pool_size: crate::Arena::DEFAULT_CAPACITY,
            overflow: OverflowPolicy::Fallback,
            zero_on_reset: false,
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
///     "ENGRAM_ARENA_SIZE=\"lots\" is invalid (expected bytes, 65536 to 1073741824); keeping the default"
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
            } => write!(
                f,
                "{var}={value:?} is invalid (expected {expected}); keeping the default"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

const SIZE_VAR: &str = "ENGRAM_ARENA_SIZE";
const OVERFLOW_VAR: &str = "ENGRAM_ARENA_OVERFLOW";
const ZERO_VAR: &str = "ENGRAM_ARENA_ZERO";

fn invalid(var: &'static str, value: &str, expected: &'static str) -> ConfigError {
    ConfigError::InvalidEnv {
        var,
        value: value.to_owned(),
        expected,
    }
}

/// Parses an `ENGRAM_ARENA_SIZE` value: decimal bytes in 64 KiB ..= 1 GiB.
///
/// # Example
///
/// ```
/// use engram_kernels::config::parse_pool_size;
///
/// assert_eq!(parse_pool_size("65536"), Ok(65536));
/// assert!(parse_pool_size("65535").is_err());
/// assert!(parse_pool_size("-1").is_err());
/// ```
pub fn parse_pool_size(s: &str) -> Result<usize, ConfigError> {
    let expected = "bytes, 65536 to 1073741824";
    match s.trim().parse::<usize>() {
        Ok(n) if (ArenaConfig::MIN_POOL_SIZE..=ArenaConfig::MAX_POOL_SIZE).contains(&n) => Ok(n),
        _ => Err(invalid(SIZE_VAR, s, expected)),
    }
}

/// Parses an `ENGRAM_ARENA_ZERO` value: `true`/`1` or `false`/`0`.
///
/// # Example
///
/// ```
/// use engram_kernels::config::parse_zero;
///
/// assert_eq!(parse_zero("1"), Ok(true));
/// assert_eq!(parse_zero("false"), Ok(false));
/// assert!(parse_zero("yes").is_err());
/// ```
pub fn parse_zero(s: &str) -> Result<bool, ConfigError> {
    match s {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(invalid(ZERO_VAR, s, "true, 1, false or 0")),
    }
}

/// Overlays the environment on `base`, returning the result and every rejected value.
///
/// `lookup` reads a variable; [`current`] passes `std::env::var_os`. This is the pure half of
/// the environment handling, exposed so it can be tested without touching the process
/// environment.
///
/// # Example
///
/// ```
/// use engram_kernels::config::{ArenaConfig, OverflowPolicy, from_env_with};
///
/// let (cfg, errors) = from_env_with(ArenaConfig::default(), |var| match var {
///     "ENGRAM_ARENA_OVERFLOW" => Some("error_return".into()),
///     "ENGRAM_ARENA_SIZE" => Some("12".into()),
///     _ => None,
/// });
/// assert_eq!(cfg.overflow, OverflowPolicy::Error);
/// assert_eq!(cfg.pool_size, 1 << 20); // 12 is out of range: the default stands
/// assert_eq!(errors.len(), 1);
/// ```
pub fn from_env_with(
    base: ArenaConfig,
    lookup: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> (ArenaConfig, Vec<ConfigError>) {
    let mut cfg = base;
    let mut errors = Vec::new();
    let read = |var: &'static str| lookup(var).map(|v| v.to_string_lossy().into_owned());
    if let Some(v) = read(SIZE_VAR) {
        match parse_pool_size(&v) {
            Ok(n) => cfg.pool_size = n,
            Err(e) => errors.push(e),
        }
    }
    if let Some(v) = read(OVERFLOW_VAR) {
        match v.parse() {
            Ok(p) => cfg.overflow = p,
            Err(e) => errors.push(e),
        }
    }
    if let Some(v) = read(ZERO_VAR) {
        match parse_zero(&v) {
            Ok(z) => cfg.zero_on_reset = z,
            Err(e) => errors.push(e),
        }
    }
    (cfg, errors)
}

static ENV: Once = Once::new();
static POOL_SIZE: AtomicUsize = AtomicUsize::new(crate::Arena::DEFAULT_CAPACITY);
static OVERFLOW: AtomicU8 = AtomicU8::new(OverflowPolicy::Fallback.to_u8());
static ZERO: AtomicBool = AtomicBool::new(false);

fn store(cfg: ArenaConfig) {
    POOL_SIZE.store(cfg.pool_size, Relaxed);
    OVERFLOW.store(cfg.overflow.to_u8(), Relaxed);
    ZERO.store(cfg.zero_on_reset, Relaxed);
}

fn load_env_once() {
    ENV.call_once(|| {
        let (cfg, errors) = from_env_with(ArenaConfig::default(), |v| std::env::var_os(v));
        for e in errors {
            eprintln!("engram-kernels: {e}");
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
        zero_on_reset: ZERO.load(Relaxed),
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
    fn garbage_keeps_defaults_and_reports_each_variable() {
        let garbage: &[(&str, &str)] = &[
            (SIZE_VAR, "1e6"),
            (OVERFLOW_VAR, "PANIC"),
            (ZERO_VAR, "yes please"),
        ];
        let (cfg, errors) = from_env_with(ArenaConfig::default(), env(garbage));
        assert_eq!(cfg, ArenaConfig::default());
        assert_eq!(errors.len(), 3);
        assert!(
            errors
                .iter()
                .all(|e| matches!(e, ConfigError::InvalidEnv { .. }))
        );
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
            "1 MiB",
        ] {
            assert!(parse_pool_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn valid_values_apply() {
        let ok: &[(&str, &str)] = &[
            (SIZE_VAR, "131072"),
            (OVERFLOW_VAR, "panic"),
            (ZERO_VAR, "true"),
        ];
        let (cfg, errors) = from_env_with(ArenaConfig::default(), env(ok));
        assert!(errors.is_empty());
        assert_eq!(
            cfg,
            ArenaConfig {
                pool_size: 131072,
                overflow: OverflowPolicy::Panic,
                zero_on_reset: true
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
