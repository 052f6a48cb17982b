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

    // The counter is process-wide and the test harness's main thread may allocate while this
    // runs, so measure several rounds: a kernel that allocates would do so in every round.
    let mut rounds = Vec::new();
    for _ in 0..5 {
        let region = Region::new(GLOBAL);
        spread(&g, &mut act, 4).unwrap();
        spread_legacy(&targets, &weights, &mut act, 4).unwrap();
        let summary = spread_frontier(&g, &seeds, &params, &mut act).unwrap();
        let stats = region.change();
        assert!(
            summary.reached > 64,
            "the frontier queue must have grown: {summary:?}"
        );
        rounds.push(stats);
    }
    let quiet = rounds
        .iter()
        .filter(|s| s.allocations == 0 && s.reallocations == 0)
        .count();
    assert!(quiet > 0, "every round touched the heap: {rounds:?}");
}
