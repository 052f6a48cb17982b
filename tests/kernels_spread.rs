//! Spreading activation: the spec's values, validation, differential property tests against
//! straightforward scalar references (same operation order, so bit-exact), the frontier variant,
//! threads and the scratch spill path.

// The references spell out `a = a + b` to mirror the spec's steps, and the expected values are
// the spec's printed digits, which round to the exact f32 results.
#![allow(clippy::assign_op_pattern, clippy::excessive_precision)]

use engram_kernels::kernels::spread::{
    CsrGraph, FrontierParams, FrontierSummary, spread, spread_frontier, spread_legacy,
};
use engram_kernels::kernels::{GraphError, KernelError};
use proptest::prelude::*;

// ---------- references: the spec's steps written out, one Vec per snapshot ----------

fn normalise_ref(act: &mut [f32]) {
    let mut m = 0.0f32;
    for &v in act.iter() {
        if v > m {
            m = v;
        }
    }
    if m > 1.0 {
        for v in act.iter_mut() {
            *v = *v / m;
        }
    }
}

fn csr_ref(offsets: &[usize], targets: &[u32], weights: &[f32], act: &mut [f32], iters: u32) {
    for _ in 0..iters {
        let cur = act.to_vec();
        for src in 0..offsets.len() - 1 {
            for e in offsets[src]..offsets[src + 1] {
                let t = targets[e] as usize;
                act[t] = act[t] + cur[src] * weights[e];
            }
        }
        normalise_ref(act);
    }
}

fn legacy_ref(adj: &[u32], weights: &[f32], act: &mut [f32], iters: u32) {
    let (n, e_count) = (act.len(), adj.len());
    if n == 0 || e_count == 0 {
        return;
    }
    let per_node = e_count.div_ceil(n);
    for _ in 0..iters {
        let cur = act.to_vec();
        for e in 0..e_count {
            let src = e / per_node;
            let t = adj[e] as usize;
            if t < n {
                act[t] = act[t] + cur[src] * weights[e];
            }
        }
        normalise_ref(act);
    }
}

/// The frontier semantics as documented, with plain Vecs.
fn frontier_ref(
    offsets: &[usize],
    targets: &[u32],
    weights: &[f32],
    seeds: &[(u32, f32)],
    (decay, threshold, max_hops): (f32, f32, u32),
    act: &mut [f32],
) -> FrontierSummary {
    let mut visited = vec![false; act.len()];
    let mut frontier = Vec::new();
    for &(s, a) in seeds {
        if !visited[s as usize] {
            visited[s as usize] = true;
            frontier.push(s as usize);
        }
        act[s as usize] = act[s as usize] + a;
    }
    let mut summary = FrontierSummary {
        reached: frontier.len(),
        ..Default::default()
    };
    for hop in 1..=max_hops {
        if frontier.is_empty() {
            break;
        }
        let fires: Vec<f32> = frontier.iter().map(|&u| act[u]).collect();
        let mut next = Vec::new();
        let mut any = false;
        for (&u, &a) in frontier.iter().zip(&fires) {
            let fires = a >= threshold; // false for NaN
            if !fires {
                continue;
            }
            any = true;
            summary.fired += 1;
            for e in offsets[u]..offsets[u + 1] {
                let t = targets[e] as usize;
                if !visited[t] {
                    visited[t] = true;
                    next.push(t);
                }
                act[t] = act[t] + (a * decay) * weights[e];
            }
        }
        if any {
            summary.hops = hop;
        }
        summary.reached += next.len();
        frontier = next;
    }
    summary
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
}

// ---------- the spec's values ----------

#[test]
fn legacy_spec_table() {
    let mut act = [1.0, 0.0, 0.0];
    spread_legacy(&[1, 2], &[0.5, 0.3], &mut act, 1).unwrap();
    assert_eq!(act, [1.0, 0.5, 0.0]);

    let mut act = [1.0, 0.0, 0.0];
    spread_legacy(&[1, 2], &[0.5, 0.3], &mut act, 5).unwrap();
    assert_eq!(act, [0.4, 1.0, 0.6]);

    // the chain 0→1→2→3→4: E = 4, N = 5, one edge per node; node 4's slot is unused
    let mut act = [1.0, 0.0, 0.0, 0.0, 0.0];
    spread_legacy(&[1, 2, 3, 4], &[0.9; 4], &mut act, 5).unwrap();
    assert_eq!(
        act,
        [0.123456791, 0.555555582, 1.0, 0.899999976, 0.404999942]
    );
}

#[test]
fn csr_spec_example() {
    let g = CsrGraph::new(&[0, 2, 2, 2], &[1, 2], &[0.5, 0.3]).unwrap();
    let mut act = [1.0, 0.0, 0.0];
    spread(&g, &mut act, 1).unwrap();
    assert_eq!(act, [1.0, 0.5, 0.3]);
}

#[test]
fn csr_chain_matches_the_legacy_chain() {
    let g = CsrGraph::new(&[0, 1, 2, 3, 4, 4], &[1, 2, 3, 4], &[0.9; 4]).unwrap();
    let mut act = [1.0, 0.0, 0.0, 0.0, 0.0];
    spread(&g, &mut act, 5).unwrap();
    assert_eq!(
        act,
        [0.123456791, 0.555555582, 1.0, 0.899999976, 0.404999942]
    );
}

#[test]
fn legacy_returns_at_once_on_empty_input() {
    let mut act = [2.0, 3.0];
    spread_legacy(&[], &[], &mut act, 5).unwrap();
    spread_legacy(&[1, 0], &[1.0, 1.0], &mut act, 0).unwrap();
    assert_eq!(act, [2.0, 3.0]); // not even normalised
    spread_legacy(&[0, 1], &[1.0, 1.0], &mut [], 3).unwrap();
}

#[test]
fn legacy_skips_out_of_range_targets() {
    let mut act = [1.0, 0.0];
    spread_legacy(&[7, 1, u32::MAX, 0], &[9.0, 0.5, 9.0, 0.25], &mut act, 1).unwrap();
    // E = 4, N = 2: edges 0,1 belong to node 0 and edges 2,3 to node 1 (activation 0)
    assert_eq!(act, [1.0, 0.5]);
}

#[test]
fn csr_zero_iterations_and_empty_graph_leave_activations() {
    let g = CsrGraph::new(&[0, 1, 1], &[1], &[5.0]).unwrap();
    let mut act = [1.0, 0.0];
    spread(&g, &mut act, 0).unwrap();
    assert_eq!(act, [1.0, 0.0]);
    let empty = CsrGraph::new(&[0], &[], &[]).unwrap();
    spread(&empty, &mut [], 4).unwrap();
}

#[test]
fn nan_and_infinity_follow_the_iteration() {
    // 0 → 1 with weight +inf: act[1] = inf, max = inf, so 0/inf = 0 and inf/inf = NaN
    let g = CsrGraph::new(&[0, 1, 1], &[1], &[f32::INFINITY]).unwrap();
    let mut act = [1.0, 0.0];
    spread(&g, &mut act, 1).unwrap();
    assert_eq!(act[0], 0.0);
    assert!(act[1].is_nan());

    // a NaN weight poisons its target only, and the max ignores it
    let g = CsrGraph::new(&[0, 2, 2, 2], &[1, 2], &[f32::NAN, 4.0]).unwrap();
    let mut act = [1.0, 0.0, 0.0];
    spread(&g, &mut act, 1).unwrap();
    assert!(act[1].is_nan());
    assert_eq!([act[0], act[2]], [0.25, 1.0]);
}

// ---------- validation ----------

fn graph_err(offsets: &[usize], targets: &[u32], weights: &[f32]) -> KernelError {
    CsrGraph::new(offsets, targets, weights).unwrap_err()
}

#[test]
fn csr_validation_errors_and_messages() {
    let cases: [(KernelError, &str); 6] = [
        (
            graph_err(&[], &[], &[]),
            "invalid graph: offsets is empty; it needs num_nodes + 1 entries",
        ),
        (
            graph_err(&[1, 1], &[0], &[1.0]),
            "invalid graph: offsets[0] is 1, expected 0",
        ),
        (
            graph_err(&[0, 2, 1, 2], &[0, 0], &[1.0, 1.0]),
            "invalid graph: offsets decrease at index 2: 2 is followed by 1",
        ),
        (
            graph_err(&[0, 1, 1], &[0, 0], &[1.0, 1.0]),
            "invalid graph: the last offset is 1, but there are 2 edges",
        ),
        (
            graph_err(&[0, 2], &[0, 0], &[1.0]),
            "invalid graph: weights has length 1, expected 2 (one per edge)",
        ),
        (
            graph_err(&[0, 1, 2], &[1, 2], &[1.0, 1.0]),
            "invalid graph: edge 1 targets node 2, but the graph has 2 nodes",
        ),
    ];
    for (err, msg) in &cases {
        assert_eq!(err.to_string(), *msg);
    }
    assert_eq!(
        cases[2].0,
        KernelError::InvalidGraph(GraphError::OffsetsNotMonotone {
            index: 2,
            previous: 2,
            next: 1
        })
    );
    assert_eq!(
        graph_err(&[], &[], &[]),
        KernelError::InvalidGraph(GraphError::EmptyOffsets)
    );
}

#[test]
fn length_mismatches_are_reported() {
    let g = CsrGraph::new(&[0, 0, 0], &[], &[]).unwrap();
    let err = spread(&g, &mut [0.0; 3], 1).unwrap_err();
    assert_eq!(err.to_string(), "activations has length 3, expected 2");

    let err = spread_legacy(&[0, 1], &[1.0], &mut [0.0; 2], 1).unwrap_err();
    assert_eq!(
        err,
        KernelError::LengthMismatch {
            what: "weights",
            expected: 2,
            actual: 1
        }
    );

    let p = FrontierParams::new(1.0, 0.0, 1).unwrap();
    let err = spread_frontier(&g, &[(0, 1.0)], &p, &mut [0.0; 1]).unwrap_err();
    assert_eq!(err.to_string(), "activations has length 1, expected 2");
}

#[test]
fn frontier_rejects_bad_params_and_seeds() {
    for (decay, threshold, msg) in [
        (0.0, 0.0, "hop_decay is 0, but it must be in (0, 1]"),
        (f32::NAN, 0.0, "hop_decay is NaN, but it must be in (0, 1]"),
        (
            1.0,
            -0.5,
            "threshold is -0.5, but it must be finite and >= 0",
        ),
        (
            1.0,
            f32::INFINITY,
            "threshold is inf, but it must be finite and >= 0",
        ),
    ] {
        assert_eq!(
            FrontierParams::new(decay, threshold, 3)
                .unwrap_err()
                .to_string(),
            msg
        );
    }
    let g = CsrGraph::new(&[0, 1, 1], &[1], &[1.0]).unwrap();
    let p = FrontierParams::new(1.0, 0.0, 3).unwrap();
    let mut act = [0.0; 2];
    let err = spread_frontier(&g, &[(0, 1.0), (2, 1.0)], &p, &mut act).unwrap_err();
    assert_eq!(
        err,
        KernelError::SeedOutOfRange {
            seed: 1,
            node: 2,
            num_nodes: 2
        }
    );
    assert_eq!(
        err.to_string(),
        "seed 1 names node 2, but the graph has 2 nodes"
    );
    assert_eq!(act, [0.0; 2], "nothing changed on a seed error");
    let err = spread_frontier(&g, &[(0, f32::NAN)], &p, &mut act).unwrap_err();
    assert_eq!(
        err.to_string(),
        "seed activation is NaN, but it must be finite"
    );
    assert_eq!(
        act,
        [0.0, 0.0],
        "a rejected call must not touch the activations"
    );
}

// ---------- frontier properties ----------

#[test]
fn frontier_fires_each_node_once_on_a_cycle() {
    // 0 → 1 → 0 with weight 1 and no decay: each node fires once, so the cycle stops
    let g = CsrGraph::new(&[0, 1, 2], &[1, 0], &[1.0, 1.0]).unwrap();
    let p = FrontierParams::new(1.0, 0.0, 100).unwrap();
    let mut act = [0.0; 2];
    let s = spread_frontier(&g, &[(0, 1.0)], &p, &mut act).unwrap();
    assert_eq!(act, [2.0, 1.0]); // node 1 sends its 1 back to node 0, which already fired
    assert_eq!(
        s,
        FrontierSummary {
            reached: 2,
            fired: 2,
            hops: 2
        }
    );
}

#[test]
fn frontier_zero_hops_only_adds_seeds() {
    let g = CsrGraph::new(&[0, 1, 1], &[1], &[1.0]).unwrap();
    let p = FrontierParams::new(1.0, 0.0, 0).unwrap();
    let mut act = [0.5, 0.0];
    let s = spread_frontier(&g, &[(0, 1.0), (0, 0.25)], &p, &mut act).unwrap();
    assert_eq!(act, [1.75, 0.0]);
    assert_eq!(
        s,
        FrontierSummary {
            reached: 1,
            fired: 0,
            hops: 0
        }
    );
}

// ---------- differential property tests ----------

fn weight() -> impl Strategy<Value = f32> {
    prop_oneof![
        8 => -2.0f32..2.0,
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        1 => Just(f32::NEG_INFINITY),
        1 => prop_oneof![Just(1e30f32), Just(-1e-30f32), Just(3e38f32), Just(1e-45f32)],
    ]
}

fn activation() -> impl Strategy<Value = f32> {
    prop_oneof![6 => -1.0f32..2.0, 1 => Just(0.0f32), 1 => Just(f32::NAN), 1 => Just(1e20f32)]
}

/// A random CSR graph: (offsets, targets, weights), with 1..40 nodes.
fn csr_graph() -> impl Strategy<Value = (Vec<usize>, Vec<u32>, Vec<f32>)> {
    (1usize..40).prop_flat_map(|n| {
        let degrees = proptest::collection::vec(0usize..6, n);
        (Just(n), degrees).prop_flat_map(|(n, degrees)| {
            let e: usize = degrees.iter().sum();
            let mut offsets = vec![0];
            for d in &degrees {
                offsets.push(offsets.last().unwrap() + d);
            }
            (
                Just(offsets),
                proptest::collection::vec(0..n as u32, e),
                proptest::collection::vec(weight(), e),
            )
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn csr_spread_is_bit_exact_with_the_reference(
        (offsets, targets, weights) in csr_graph(),
        seed_acts in proptest::collection::vec(activation(), 40),
        iters in 0u32..6,
    ) {
        let n = offsets.len() - 1;
        let mut act = seed_acts[..n].to_vec();
        let mut expected = act.clone();
        csr_ref(&offsets, &targets, &weights, &mut expected, iters);
        let g = CsrGraph::new(&offsets, &targets, &weights).unwrap();
        spread(&g, &mut act, iters).unwrap();
        prop_assert!(same_bits(&act, &expected), "{act:?} != {expected:?}");
    }

    #[test]
    fn legacy_spread_is_bit_exact_with_the_reference(
        n in 0usize..30,
        adj in proptest::collection::vec(0u32..40, 0..90),
        ws in proptest::collection::vec(weight(), 90),
        seed_acts in proptest::collection::vec(activation(), 30),
        iters in 0u32..6,
        all_in_range in any::<bool>(),
    ) {
        // Half the cases keep every target in range (the kernel's fast path), half do not.
        let adj: Vec<u32> = match (all_in_range, n) {
            (true, 1..) => adj.iter().map(|&t| t % n as u32).collect(),
            _ => adj,
        };
        let weights = &ws[..adj.len()];
        let mut act = seed_acts[..n].to_vec();
        let mut expected = act.clone();
        legacy_ref(&adj, weights, &mut expected, iters);
        spread_legacy(&adj, weights, &mut act, iters).unwrap();
        prop_assert!(same_bits(&act, &expected), "{act:?} != {expected:?}");
    }

    #[test]
    fn frontier_is_bit_exact_with_the_reference(
        (offsets, targets, weights) in csr_graph(),
        raw_seeds in proptest::collection::vec((0u32..40, -1.0f32..2.0), 0..5),
        start in proptest::collection::vec(activation(), 40),
        decay in 0.05f32..=1.0,
        threshold in prop_oneof![Just(0.0f32), 0.0f32..0.5],
        max_hops in 0u32..8,
    ) {
        let n = offsets.len() - 1;
        let seeds: Vec<(u32, f32)> = raw_seeds.iter().map(|&(s, a)| (s % n as u32, a)).collect();
        let mut act = start[..n].to_vec();
        let before = act.clone();
        let mut expected = act.clone();
        let want = frontier_ref(
            &offsets, &targets, &weights, &seeds, (decay, threshold, max_hops), &mut expected,
        );
        let g = CsrGraph::new(&offsets, &targets, &weights).unwrap();
        let p = FrontierParams::new(decay, threshold, max_hops).unwrap();
        let got = spread_frontier(&g, &seeds, &p, &mut act).unwrap();
        prop_assert!(same_bits(&act, &expected), "{act:?} != {expected:?}");
        prop_assert_eq!(got, want);
        prop_assert!(got.fired <= got.reached && got.hops <= max_hops);
        // nodes farther than max_hops from every seed are never touched
        let changed = act.iter().zip(&before).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
        prop_assert!(changed <= got.reached);
    }
}

// ---------- threads and scratch ----------

#[test]
fn eight_threads_spread_at_once() {
    let handles: Vec<_> = (0..8u32)
        .map(|t| {
            std::thread::spawn(move || {
                let n = 500 + 37 * t as usize;
                let offsets: Vec<usize> = (0..=n).map(|i| i * 4).collect();
                let targets: Vec<u32> = (0..4 * n)
                    .map(|e| ((e * 7919 + t as usize) % n) as u32)
                    .collect();
                let weights: Vec<f32> = (0..4 * n).map(|e| (e % 13) as f32 * 0.05).collect();
                let g = CsrGraph::new(&offsets, &targets, &weights).unwrap();
                for round in 0..20 {
                    let mut act: Vec<f32> = (0..n).map(|i| ((i + round) % 5) as f32).collect();
                    let mut expected = act.clone();
                    csr_ref(&offsets, &targets, &weights, &mut expected, 3);
                    spread(&g, &mut act, 3).unwrap();
                    assert!(same_bits(&act, &expected));

                    let mut legacy = (0..n).map(|i| (i % 3) as f32).collect::<Vec<_>>();
                    let mut legacy_expected = legacy.clone();
                    legacy_ref(&targets, &weights, &mut legacy_expected, 2);
                    spread_legacy(&targets, &weights, &mut legacy, 2).unwrap();
                    assert!(same_bits(&legacy, &legacy_expected));

                    let seeds = [(round as u32, 1.0), (t, 0.5)];
                    let hops = (0.5, 0.01, 4);
                    let mut front = vec![0.0f32; n];
                    let mut front_expected = front.clone();
                    let want = frontier_ref(
                        &offsets,
                        &targets,
                        &weights,
                        &seeds,
                        hops,
                        &mut front_expected,
                    );
                    let p = FrontierParams::new(hops.0, hops.1, hops.2).unwrap();
                    let got = spread_frontier(&g, &seeds, &p, &mut front).unwrap();
                    assert_eq!(got, want);
                    assert!(same_bits(&front, &front_expected));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

/// 300,000 nodes need a 1.2 MB snapshot, more than the default 1 MiB pool: the scratch spills
/// to the heap under the default Fallback policy, and the result is still exact.
#[test]
fn a_300k_node_spread_spills_and_is_still_right() {
    let n = 300_000usize;
    let adj: Vec<u32> = (0..n).map(|i| ((i + 1) % n) as u32).collect();
    let weights = vec![0.75f32; n];
    let mut act: Vec<f32> = (0..n).map(|i| (i % 10) as f32 * 0.1).collect();
    let mut expected = act.clone();
    legacy_ref(&adj, &weights, &mut expected, 3);

    let before = engram_kernels::metrics::snapshot().total_overflows;
    spread_legacy(&adj, &weights, &mut act, 3).unwrap();
    let after = engram_kernels::metrics::snapshot().total_overflows;
    assert!(same_bits(&act, &expected));
    assert!(
        after > before,
        "the spill must be counted: {before} -> {after}"
    );

    let offsets: Vec<usize> = (0..=n).collect();
    let g = CsrGraph::new(&offsets, &adj, &weights).unwrap();
    let mut csr_act: Vec<f32> = (0..n).map(|i| (i % 10) as f32 * 0.1).collect();
    spread(&g, &mut csr_act, 3).unwrap();
    assert!(same_bits(&csr_act, &expected));
    assert!(engram_kernels::metrics::snapshot().total_overflows > after);
}
