//! C exports that configure the per-thread scratch arenas the kernels use, and read and reset
//! their process-wide metrics.

use crate::args::{Args, guard};
use engram_kernels::config::{self, OverflowPolicy};
use engram_kernels::diag;
use std::sync::Once;

/// Sets the pool size of arenas created from now on (`pool_size_mb` MiB, 1 to 1024; 0 or more
/// is ignored and reported once on stderr) and the overflow policy the exports honour: 0 panic,
/// 1 error_return, 2 fallback, anything else error_return.
///
/// # Safety
///
/// None beyond the C ABI; it is `unsafe` only for symmetry with the other exports.
///
/// # Example
///
/// ```
/// use engram_kernels::{OverflowPolicy, config};
/// use engram_kernels_c::arena::engram_configure_arena;
/// // SAFETY: this export takes no pointers.
/// unsafe { engram_configure_arena(2, 2) };
/// assert_eq!(config::current().overflow, OverflowPolicy::Fallback);
/// assert_eq!(config::current().pool_size, 2 << 20);
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_configure_arena(pool_size_mb: u32, overflow_strategy: u8) {
    guard(|| {
        let overflow = match overflow_strategy {
            0 => OverflowPolicy::Panic,
            2 => OverflowPolicy::Fallback,
            _ => OverflowPolicy::Error,
        };
        let valid_size = (1..=1024).contains(&pool_size_mb);
        let configured = valid_size
            && config::configure(config::ArenaConfig {
                pool_size: (pool_size_mb as usize) << 20,
                overflow,
                ..config::current()
            })
            .is_ok();
        if !configured {
            config::set_overflow_policy(overflow);
            static REPORTED: Once = Once::new();
            REPORTED.call_once(|| {
                diag::report(format_args!(
                    "engram_configure_arena: pool size {pool_size_mb} MiB is outside 1..=1024; \
                     keeping {} bytes",
                    config::current().pool_size
                ));
            });
        }
    })
}

/// Reads the process-wide arena metrics; each null pointer is skipped.
///
/// # Safety
///
/// Each non-null pointer must be valid for one aligned `size_t` write.
///
/// # Example
///
/// ```
/// use engram_kernels_c::arena::engram_arena_stats;
/// let mut resets = usize::MAX;
/// // SAFETY: each pointer is null or valid for one write.
/// unsafe { engram_arena_stats(&mut resets, std::ptr::null_mut(), std::ptr::null_mut()) };
/// assert_ne!(resets, usize::MAX);
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_arena_stats(
    total_resets: *mut usize,
    total_overflows: *mut usize,
    max_high_water_mark: *mut usize,
) {
    guard(|| {
        let m = engram_kernels::metrics::snapshot();
        // The counts are u64; a 32-bit size_t saturates rather than wraps.
        let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        for (ptr, value) in [
            (total_resets, count(m.total_resets)),
            (total_overflows, count(m.total_overflows)),
            (max_high_water_mark, m.max_high_water_mark),
        ] {
            // SAFETY: a non-null pointer is valid for one write: this function's contract. Each
            // pointer is taken on its own, so two that are equal are both written.
            if let Ok([slot]) = unsafe { Args::new() }.output(ptr, 1) {
                *slot = value;
            }
        }
    })
}

/// Resets the calling thread's arena (a no-op if it has none) and, like the Zig implementation,
/// counts one reset in the `total_resets` metric on every call (through
/// `engram_kernels::metrics::record_reset`, so Rust code in the same process sees it too, and
/// `engram_reset_arena_metrics` clears it).
///
/// # Safety
///
/// None beyond the C ABI.
///
/// # Example
///
/// ```
/// use engram_kernels_c::arena::{engram_arena_stats, engram_reset_arenas};
/// let resets = || {
///     let mut n = 0;
///     // SAFETY: each pointer is null or valid for one write.
///     unsafe { engram_arena_stats(&mut n, std::ptr::null_mut(), std::ptr::null_mut()) };
///     n
/// };
/// let before = resets();
/// // SAFETY: this export takes no pointers.
/// unsafe { engram_reset_arenas() };
/// assert!(resets() > before); // other threads (tests) may count resets too
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_reset_arenas() {
    guard(|| {
        engram_kernels::scratch::reset_thread_arena();
        engram_kernels::metrics::record_reset();
    })
}

/// Zeroes the process-wide arena metrics.
///
/// # Safety
///
/// None beyond the C ABI.
///
/// # Example
///
/// ```
/// use engram_kernels_c::arena::{engram_arena_stats, engram_reset_arena_metrics};
/// // SAFETY: this export takes no pointers.
/// unsafe { engram_reset_arena_metrics() };
/// let mut overflows = 1;
/// // SAFETY: each pointer is null or valid for one write.
/// unsafe { engram_arena_stats(std::ptr::null_mut(), &mut overflows, std::ptr::null_mut()) };
/// assert_eq!(overflows, 0);
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_reset_arena_metrics() {
    guard(|| {
        engram_kernels::metrics::reset();
    })
}

/// Frees the calling thread's arena; idempotent; the next kernel call re-creates it.
///
/// # Safety
///
/// None beyond the C ABI.
///
/// # Example
///
/// ```
/// use engram_kernels_c::arena::engram_deinit_thread_arena;
/// // SAFETY: this export takes no pointers.
/// unsafe { engram_deinit_thread_arena(); engram_deinit_thread_arena() };
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_deinit_thread_arena() {
    guard(|| {
        engram_kernels::scratch::release_thread_arena();
    })
}
