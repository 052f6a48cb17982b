//! The spreading kernels make no heap allocation when their scratch fits the thread's arena
//! (after the arena itself exists).

use engram_kernels::kernels::spread::{
    CsrGraph, FrontierParams, spread, spread_frontier, spread_legacy,
};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn spreads_that_fit_do_not_touch_the_heap() {
    let n = 10_000usize;
    let offsets: Vec<usize> = (0..=n).map(|i| i * 3).collect();
    let targets: Vec<u32> = (0..3 * n).map(|e| ((e * 7 + 1) % n) as u32).collect();
    let weights = vec![0.3f32; 3 * n];
    let g = CsrGraph::new(&offsets, &targets, &weights).unwrap();
    let params = FrontierParams::new(0.5, 0.0, 6).unwrap();
    let mut act = vec![0.5f32; n];
    let seeds = [(0u32, 1.0f32), (77, 1.0)];

    // The first call creates this thread's arena (one allocation), so warm up first.
    spread(&g, &mut act, 1).unwrap();

    let region = Region::new(GLOBAL);
    spread(&g, &mut act, 4).unwrap();
    spread_legacy(&targets, &weights, &mut act, 4).unwrap();
    let summary = spread_frontier(&g, &seeds, &params, &mut act).unwrap();
    let stats = region.change();
    assert!(
        summary.reached > 64,
        "the frontier queue must have grown: {summary:?}"
    );
    assert_eq!(stats.allocations, 0, "{stats:?}");
    assert_eq!(stats.reallocations, 0, "{stats:?}");
}
