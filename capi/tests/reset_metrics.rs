//! `engram_reset_arenas` counts one reset per call in the crate's own metrics, so Rust code in
//! the same process reads the same totals as C, and `engram_reset_arena_metrics` clears them.
//! One test in its own binary: nothing else records resets meanwhile.

use engram_kernels::metrics;
use engram_kernels_c::arena::{
    engram_arena_stats, engram_reset_arena_metrics, engram_reset_arenas,
};

fn c_resets() -> usize {
    let mut n = usize::MAX;
    // SAFETY: each pointer is null or valid for one write.
    unsafe { engram_arena_stats(&mut n, std::ptr::null_mut(), std::ptr::null_mut()) };
    n
}

#[test]
fn explicit_resets_are_counted_once_seen_by_rust_and_cleared_by_the_metrics_reset() {
    // SAFETY: these exports take no pointers.
    unsafe { engram_reset_arena_metrics() };
    assert_eq!(metrics::snapshot().total_resets, 0);
    assert_eq!(c_resets(), 0);

    for _ in 0..3 {
        // SAFETY: as above.
        unsafe { engram_reset_arenas() };
    }
    assert_eq!(
        metrics::snapshot().total_resets,
        3,
        "Rust sees the C resets"
    );
    assert_eq!(c_resets(), 3, "and C counts each once");

    // SAFETY: as above.
    unsafe { engram_reset_arena_metrics() };
    assert_eq!(metrics::snapshot().total_resets, 0);
    assert_eq!(
        c_resets(),
        0,
        "the metrics reset clears explicit resets too"
    );
}
