//! Spreading under the `Error` overflow policy, in a test binary of its own (the policy is
//! process-wide): refused scratch is reported as `ScratchExhausted`, the activations are left as
//! they were, and the overflow is counted.

use engram_kernels::OverflowPolicy;
use engram_kernels::config;
use engram_kernels::kernels::KernelError;
use engram_kernels::kernels::spread::{
    CsrGraph, FrontierParams, spread, spread_frontier, spread_legacy,
};

#[test]
fn refused_scratch_leaves_activations_untouched() {
    config::set_overflow_policy(OverflowPolicy::Error);
    assert!(
        config::current().pool_size <= 1 << 20,
        "the test assumes the default 1 MiB pool"
    );

    let n = 300_000usize;
    let adj: Vec<u32> = (0..n).map(|i| ((i * 7 + 1) % n) as u32).collect();
    let weights = vec![0.5f32; n];
    let start: Vec<f32> = (0..n).map(|i| (i % 4) as f32).collect();

    let overflows = engram_kernels::metrics::snapshot().total_overflows;
    let mut act = start.clone();
    let err = spread_legacy(&adj, &weights, &mut act, 2).unwrap_err();
    assert_eq!(err, KernelError::ScratchExhausted { requested: 4 * n });
    assert_eq!(act, start);

    let offsets: Vec<usize> = (0..=n).collect();
    let g = CsrGraph::new(&offsets, &adj, &weights).unwrap();
    assert_eq!(
        spread(&g, &mut act, 2).unwrap_err(),
        KernelError::ScratchExhausted { requested: 4 * n }
    );
    assert_eq!(act, start);
    assert!(engram_kernels::metrics::snapshot().total_overflows >= overflows + 2);

    // The frontier's queue outgrows the pool part-way through; what it did is undone.
    // A binary tree of 2^20 - 1 nodes: node i points at 2i+1 and 2i+2.
    let nodes = (1usize << 20) - 1;
    let mut offsets = vec![0usize];
    let mut targets = Vec::new();
    for i in 0..nodes {
        for child in [2 * i + 1, 2 * i + 2] {
            if child < nodes {
                targets.push(child as u32);
            }
        }
        offsets.push(targets.len());
    }
    let tree_weights = vec![1.0f32; targets.len()];
    let tree = CsrGraph::new(&offsets, &targets, &tree_weights).unwrap();
    let params = FrontierParams::new(1.0, 0.0, 30).unwrap();
    let tree_start: Vec<f32> = (0..nodes).map(|i| (i % 3) as f32 * 0.5).collect();
    let mut tree_act = tree_start.clone();
    let err = spread_frontier(&tree, &[(0, 1.0)], &params, &mut tree_act).unwrap_err();
    assert!(
        matches!(err, KernelError::ScratchExhausted { .. }),
        "{err:?}"
    );
    assert_eq!(
        tree_act, tree_start,
        "a refused frontier spread must be undone"
    );

    // Small calls still succeed under the Error policy.
    let mut small = [1.0f32, 0.0, 0.0];
    spread_legacy(&[1, 2], &[0.5, 0.3], &mut small, 1).unwrap();
    assert_eq!(small, [1.0, 0.5, 0.0]);
    let mut tree_act = tree_start.clone();
    let shallow = FrontierParams::new(1.0, 0.0, 3).unwrap();
    let s = spread_frontier(&tree, &[(0, 1.0)], &shallow, &mut tree_act).unwrap();
    assert_eq!(s.reached, 15);

    config::set_overflow_policy(OverflowPolicy::Fallback);
    let mut tree_act = tree_start.clone();
    let s = spread_frontier(&tree, &[(0, 1.0)], &params, &mut tree_act).unwrap();
    assert_eq!(s.reached, nodes);
}
