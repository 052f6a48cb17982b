//! Spreading activation: edges per second of the scratch-backed kernels against a straightforward
//! scalar implementation (a fresh `Vec` snapshot per call) in the same run.
//!
//! `cargo bench -p engram-bench --bench spread -- --warm-up-time 1 --measurement-time 3`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use engram_kernels::kernels::spread::{
    CsrGraph, FrontierParams, spread, spread_frontier, spread_legacy,
};
use std::hint::black_box;

const ITERATIONS: u32 = 5;

/// A random graph with `degree` out-edges per node (xorshift, fixed seed).
fn random_csr(n: usize, degree: usize) -> (Vec<usize>, Vec<u32>, Vec<f32>) {
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let offsets = (0..=n).map(|i| i * degree).collect();
    let targets = (0..n * degree)
        .map(|_| (next() % n as u64) as u32)
        .collect();
    let weights = (0..n * degree)
        .map(|_| (next() % 1000) as f32 / 2000.0)
        .collect();
    (offsets, targets, weights)
}

/// The straightforward implementation: a heap snapshot per call, indexed loops.
fn naive_spread(offsets: &[usize], targets: &[u32], weights: &[f32], act: &mut [f32], iters: u32) {
    for _ in 0..iters {
        let cur = act.to_vec();
        for src in 0..offsets.len() - 1 {
            for e in offsets[src]..offsets[src + 1] {
                act[targets[e] as usize] += cur[src] * weights[e];
            }
        }
        let mut m = 0.0f32;
        for &v in act.iter() {
            if v > m {
                m = v;
            }
        }
        if m > 1.0 {
            for v in act.iter_mut() {
                *v /= m;
            }
        }
    }
}

/// The straightforward frontier: a `Vec<bool>` of N and fresh `Vec` frontiers per call.
fn naive_frontier(
    (offsets, targets, weights): (&[usize], &[u32], &[f32]),
    seeds: &[(u32, f32)],
    (decay, threshold, hops): (f32, f32, u32),
    act: &mut [f32],
) -> usize {
    let mut visited = vec![false; act.len()];
    let mut frontier = Vec::new();
    for &(s, a) in seeds {
        if !visited[s as usize] {
            visited[s as usize] = true;
            frontier.push(s as usize);
        }
        act[s as usize] += a;
    }
    let mut edges = 0;
    for _ in 0..hops {
        let fires: Vec<f32> = frontier.iter().map(|&u| act[u]).collect();
        let mut next = Vec::new();
        for (&u, &a) in frontier.iter().zip(&fires) {
            if a >= threshold {
                for e in offsets[u]..offsets[u + 1] {
                    let t = targets[e] as usize;
                    if !visited[t] {
                        visited[t] = true;
                        next.push(t);
                    }
                    act[t] += (a * decay) * weights[e];
                    edges += 1;
                }
            }
        }
        frontier = next;
    }
    edges
}

fn iterated(c: &mut Criterion) {
    let mut group = c.benchmark_group("spread");
    for (n, degree) in [(1_000usize, 5usize), (100_000, 8)] {
        let (offsets, targets, weights) = random_csr(n, degree);
        let graph = CsrGraph::new(&offsets, &targets, &weights).unwrap();
        let start: Vec<f32> = (0..n).map(|i| (i % 7) as f32 * 0.1).collect();
        let mut act = start.clone();
        group.throughput(Throughput::Elements(
            (n * degree) as u64 * u64::from(ITERATIONS),
        ));
        let id = format!("{n}x{degree}");
        group.bench_function(BenchmarkId::new("csr", &id), |b| {
            b.iter(|| {
                act.copy_from_slice(&start);
                spread(&graph, black_box(&mut act), ITERATIONS).unwrap();
            })
        });
        group.bench_function(BenchmarkId::new("legacy", &id), |b| {
            b.iter(|| {
                act.copy_from_slice(&start);
                spread_legacy(&targets, &weights, black_box(&mut act), ITERATIONS).unwrap();
            })
        });
        group.bench_function(BenchmarkId::new("naive_scalar", &id), |b| {
            b.iter(|| {
                act.copy_from_slice(&start);
                naive_spread(
                    &offsets,
                    &targets,
                    &weights,
                    black_box(&mut act),
                    ITERATIONS,
                );
            })
        });
    }
    group.finish();
}

fn frontier(c: &mut Criterion) {
    let n = 1_000_000;
    let (offsets, targets, weights) = random_csr(n, 8);
    let graph = CsrGraph::new(&offsets, &targets, &weights).unwrap();
    let seeds: Vec<(u32, f32)> = (0..16).map(|i| (i * 61_027, 1.0)).collect();
    let (decay, threshold, hops) = (0.5, 0.01, 4);
    let params = FrontierParams::new(decay, threshold, hops).unwrap();
    let mut act = vec![0.0f32; n];
    // edges actually traversed, so the throughput is in edges per second
    let edges = naive_frontier(
        (&offsets, &targets, &weights),
        &seeds,
        (decay, threshold, hops),
        &mut act,
    );
    let summary = spread_frontier(&graph, &seeds, &params, &mut vec![0.0; n]).unwrap();
    eprintln!("frontier 1M x 8: {edges} edges, {summary:?}");
    // Re-zero only what a call touches, so the timing is the sparse work, not a 4 MB fill.
    let touched: Vec<usize> = (0..n).filter(|&i| act[i] != 0.0).collect();
    let reset = |act: &mut [f32]| touched.iter().for_each(|&i| act[i] = 0.0);

    let mut group = c.benchmark_group("spread_frontier");
    group.throughput(Throughput::Elements(edges as u64));
    group.bench_function("1Mx8/frontier", |b| {
        b.iter(|| {
            reset(&mut act);
            spread_frontier(&graph, &seeds, &params, black_box(&mut act)).unwrap()
        })
    });
    group.bench_function("1Mx8/naive_scalar", |b| {
        b.iter(|| {
            reset(&mut act);
            naive_frontier(
                (&offsets, &targets, &weights),
                &seeds,
                (decay, threshold, hops),
                black_box(&mut act),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, iterated, frontier);
criterion_main!(benches);
