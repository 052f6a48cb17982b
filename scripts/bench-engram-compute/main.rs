//! `kernels::fixed` against Engram's own `compute` module, side by side in one process.
//! Built and run by `scripts/bench-engram-compute.sh ENGRAM_DIR`, which generates `engram.rs`:
//! Engram's `engram-core/src/compute/mod.rs` mounted as `engram::compute` by `#[path]`, and the
//! baseline of Engram's `vector_similarity_comparison` bench (`engram::baseline`), the cosine
//! Engram measures at 384 and 1536 dimensions, where its `compute` module has no entry point.
//!
//! Every case runs both sides in interleaved rounds (the order alternating), each sample long
//! enough to time (about 0.5 ms), and reports the medians.

#[allow(dead_code, unused_imports, unexpected_cfgs, clippy::all)]
mod engram;

use engram::compute as theirs;
use engram_kernels::kernels::{dispatch, fixed};
use std::hint::black_box;
use std::time::Instant;

const SIZES: [usize; 5] = [10, 100, 1000, 10_000, 100_000];

/// Deterministic values in [-1, 1).
fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// Seconds per call of `f`, the median of `rounds` samples, for both closures, interleaved.
fn compare(rounds: usize, theirs: &mut dyn FnMut(), ours: &mut dyn FnMut()) -> (f64, f64) {
    let sample = |f: &mut dyn FnMut(), reps: usize| {
        let t = Instant::now();
        for _ in 0..reps {
            f();
        }
        t.elapsed().as_secs_f64() / reps as f64
    };
    // Warm both (page faults, caches), then size the samples from the slower side: short
    // samples (0.5 ms) mostly fit between preemptions on a loaded machine, and the median
    // discards the ones that do not.
    let once = sample(theirs, 1).max(sample(ours, 1));
    let reps = ((5e-4 / once) as usize).clamp(1, 1_000_000);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        if r % 2 == 0 {
            a.push(sample(theirs, reps));
            b.push(sample(ours, reps));
        } else {
            b.push(sample(ours, reps));
            a.push(sample(theirs, reps));
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(&mut a), median(&mut b))
}

struct Table {
    rounds: usize,
    /// Only the ops whose name contains this (`ENGRAM_BENCH_ONLY`).
    only: String,
}

impl Table {
    fn row(&self, op: &str, d: usize, n: usize, theirs: &mut dyn FnMut(), ours: &mut dyn FnMut()) {
        if !op.contains(&self.only) {
            return;
        }
        let (t, o) = compare(self.rounds, theirs, ours);
        println!(
            "| {op:<22} | {d:>4} | {n:>6} | {:>12.2} | {:>12.2} | {:>6.2}x |",
            t * 1e6,
            o * 1e6,
            t / o
        );
    }
}

/// The cases at one dimension `D`; `full` when Engram's `compute` module has the operations
/// (`D = 768`), otherwise only the cosines against Engram's bench baseline.
fn run<const D: usize>(table: &Table, full: bool) {
    let max = *SIZES.last().unwrap();
    let flat = values(max * D, D as u64);
    let rows: Vec<[f32; D]> = flat
        .chunks_exact(D)
        .map(|r| r.try_into().unwrap())
        .collect();
    let q: [f32; D] = values(D, 7).try_into().unwrap();
    let ops = theirs::get_vector_ops();
    for n in SIZES {
        let rs = &rows[..n];
        if !full {
            // Engram's baseline takes a Vec per candidate, as its bench builds them.
            let qv = q.to_vec();
            let vs: Vec<Vec<f32>> = rs.iter().map(|r| r.to_vec()).collect();
            table.row(
                "cosine_batch",
                D,
                n,
                &mut || {
                    let _ = black_box(engram::baseline::batch_cosine_similarity_rust(&qv, &vs));
                },
                &mut || {
                    let _ = black_box(fixed::cosine_batch(&q, rs));
                },
            );
            table.row(
                "cosine (n pairs)",
                D,
                n,
                &mut || {
                    let s: f32 = vs
                        .iter()
                        .map(|v| engram::baseline::cosine_similarity_rust(&qv, v))
                        .sum();
                    black_box(s);
                },
                &mut || {
                    let s: f32 = rs.iter().map(|r| fixed::cosine(&q, r)).sum();
                    black_box(s);
                },
            );
            continue;
        }
        // Engram's code is 768-only: the arrays are reinterpreted at that size.
        let q768: &[f32; 768] = q.as_slice().try_into().unwrap();
        let rs768: &[[f32; 768]] = bytes_as_768(rs);
        let q: &[f32; 768] = q768;
        let rs: &[[f32; 768]] = rs768;
        table.row(
            "cosine_batch",
            D,
            n,
            &mut || {
                let _ = black_box(theirs::cosine_similarity_batch_768(q, rs));
            },
            &mut || {
                let _ = black_box(fixed::cosine_batch(q, rs));
            },
        );
        table.row(
            "cosine (n pairs)",
            D,
            n,
            &mut || pairs(q, rs, theirs::cosine_similarity_768),
            &mut || pairs(q, rs, fixed::cosine),
        );
        table.row(
            "dot (n pairs)",
            D,
            n,
            &mut || pairs(q, rs, |a, b| ops.dot_product_768(a, b)),
            &mut || pairs(q, rs, fixed::dot),
        );
        table.row(
            "l2_norm (n vectors)",
            D,
            n,
            &mut || pairs(q, rs, |_, b| ops.l2_norm_768(b)),
            &mut || pairs(q, rs, |_, b| fixed::l2_norm(b)),
        );
        table.row(
            "add (n pairs)",
            D,
            n,
            &mut || pairs(q, rs, |a, b| black_box(ops.vector_add_768(a, b))[0]),
            &mut || pairs(q, rs, |a, b| black_box(fixed::add(a, b))[0]),
        );
        table.row(
            "scale (n vectors)",
            D,
            n,
            &mut || pairs(q, rs, |_, b| black_box(ops.vector_scale_768(b, 0.5))[0]),
            &mut || pairs(q, rs, |_, b| black_box(fixed::scale(b, 0.5))[0]),
        );
        let refs: Vec<&[f32; 768]> = rs.iter().collect();
        let weights = values(n, 3);
        table.row(
            "weighted_average",
            D,
            n,
            &mut || {
                let _ = black_box(ops.weighted_average_768(&refs, &weights));
            },
            &mut || {
                let _ = black_box(fixed::weighted_average(&refs, &weights));
            },
        );
        let column = &flat[..n];
        let mut acc = vec![0.0f32; n];
        let mut acc2 = acc.clone();
        table.row(
            "fma_accumulate",
            D,
            n,
            &mut || ops.fma_accumulate(column, 1e-3, black_box(&mut acc)),
            &mut || fixed::fma_accumulate(column, 1e-3, black_box(&mut acc2)),
        );
        let base = &flat[..n * D];
        let indices: Vec<usize> = values(n, 11)
            .iter()
            .map(|&x| ((x + 1.0) * 0.51 * base.len() as f32) as usize)
            .collect();
        table.row(
            "gather",
            D,
            n,
            &mut || {
                let _ = black_box(ops.gather_f32(base, &indices));
            },
            &mut || {
                let _ = black_box(fixed::gather(base, &indices));
            },
        );
        table.row(
            "horizontal_sum (n*D)",
            D,
            n,
            &mut || {
                let _ = black_box(ops.horizontal_sum(black_box(base)));
            },
            &mut || {
                let _ = black_box(fixed::horizontal_sum(black_box(base)));
            },
        );
        // The same n*D floats read as D columns of n candidates.
        let columns: Vec<&[f32]> = base.chunks_exact(n).collect();
        let mut out = vec![0.0f32; n];
        let mut out2 = out.clone();
        table.row(
            "dot_columnar",
            D,
            n,
            &mut || ops.batch_dot_product_columnar(q, &columns, black_box(&mut out)),
            &mut || fixed::dot_columnar(q, &columns, black_box(&mut out2)),
        );
    }
}

/// `f(q, row)` for every row, summed, as user code scoring a list one pair at a time. Generic, so
/// `f` inlines into the loop on both sides.
#[inline(always)]
fn pairs(q: &[f32; 768], rs: &[[f32; 768]], f: impl Fn(&[f32; 768], &[f32; 768]) -> f32) {
    let s: f32 = rs.iter().map(|r| f(q, black_box(r))).sum();
    black_box(s);
}

/// `[[f32; D]]` as `[[f32; 768]]`, for `D = 768` (checked).
fn bytes_as_768<const D: usize>(rows: &[[f32; D]]) -> &[[f32; 768]] {
    assert_eq!(D, 768);
    let flat = rows.as_flattened();
    let (chunks, rest) = flat.as_chunks::<768>();
    assert!(rest.is_empty());
    chunks
}

fn main() {
    let rounds = std::env::var("ENGRAM_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    println!(
        "ours: kernels::fixed at {}; Engram: compute at {:?}; {rounds} interleaved rounds, medians",
        dispatch::active(),
        theirs::detect_cpu_features()
    );
    println!("| op                     |    D |      n |  Engram (µs) |    ours (µs) | speedup |");
    println!("|------------------------|-----:|-------:|-------------:|-------------:|--------:|");
    let only = std::env::var("ENGRAM_BENCH_ONLY").unwrap_or_default();
    let table = Table { rounds, only };
    run::<384>(&table, false);
    run::<768>(&table, true);
    run::<1536>(&table, false);
}
