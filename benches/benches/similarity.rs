//! Cosine similarity side by side in one process: engram's batch and many-query kernels against
//! NumKong (per-pair `angular`, and its packed-matrix `angulars_packed`), SimSIMD's per-pair
//! cosine, and two streaming-read floors: the same candidate bytes summed with the widest SIMD
//! available in one sequential stream, and in four (as the single-query kernel reads them). Each
//! case runs its members in interleaved rounds and reports medians, so machine noise hits every
//! member alike; times are this thread's CPU time (see `support/clock.rs`).
//!
//! ```text
//! cargo bench -p engram-bench --bench similarity                 # every case
//! cargo bench -p engram-bench --bench similarity -- d768 many    # cases whose name has a filter
//! ENGRAM_BENCH_ROUNDS=15 cargo bench -p engram-bench --bench similarity
//! ```
//!
//! Output: one line per member with its median time per call, the candidate bytes per second,
//! and its time relative to engram (`x1.00` is engram; above 1 is slower than engram). With
//! `ENGRAM_BENCH_CSV=FILE` it also writes every member's median to FILE as CSV
//! (`case,queries,dim,n,member,seconds`), for `scripts/charts.sh`.

#[path = "support/clock.rs"]
mod clock;

use engram_kernels::kernels::dispatch;
use engram_kernels::kernels::similarity::{cosine_similarity_batch, cosine_similarity_many};
use numkong::{Angular, PackedMatrix, Tensor};
use simsimd::SpatialSimilarity;
use std::hint::black_box;
use std::time::Duration;

const SINGLE: [(usize, usize); 9] = [
    (768, 1_000),
    (768, 10_000),
    (768, 100_000),
    (384, 1_000),
    (384, 10_000),
    (384, 100_000),
    (1536, 1_000),
    (1536, 10_000),
    (1536, 100_000),
];
/// (queries, dim, candidates) for the many-query cases.
const MANY: [(usize, usize, usize); 2] = [(16, 768, 100_000), (16, 768, 10_000)];
/// Time one sample aims at; a member runs as many calls as fit.
const SAMPLE: Duration = Duration::from_millis(25);

/// A deterministic pseudo-random vector in [-1, 1) (xorshift).
fn fill(len: usize, mut seed: u64) -> Vec<f32> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// Sums every float of `data`: the least work that still streams every candidate byte once.
fn stream_sum(data: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx512f") {
        // SAFETY: AVX-512F was detected just above.
        return unsafe { x86::sum_avx512(data) };
    }
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 was detected just above.
        return unsafe { x86::sum_avx2(data) };
    }
    let mut acc = [0.0f32; 16];
    let chunks = data.chunks_exact(16);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for j in 0..16 {
            acc[j] += c[j];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// [`stream_sum`] over four contiguous quarters read side by side: four sequential streams, as
/// the single-query kernel reads its candidates. Memory serves several streams faster than one,
/// so this is the stricter floor.
fn stream_sum4(data: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx512f") {
        // SAFETY: AVX-512F was detected just above.
        return unsafe { x86::sum4_avx512(data) };
    }
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 was detected just above.
        return unsafe { x86::sum4_avx2(data) };
    }
    data.chunks(data.len().div_ceil(4).max(1))
        .map(stream_sum)
        .sum()
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;

    #[target_feature(enable = "avx512f")]
    pub fn sum_avx512(data: &[f32]) -> f32 {
        let mut acc = [_mm512_setzero_ps(); 4];
        let blocks = data.chunks_exact(64);
        let tail: f32 = blocks.remainder().iter().sum();
        for b in blocks {
            for (j, a) in acc.iter_mut().enumerate() {
                // SAFETY: each 64-float block holds four 16-float vectors; j < 4.
                let v = unsafe { _mm512_loadu_ps(b.as_ptr().add(16 * j)) };
                *a = _mm512_add_ps(*a, v);
            }
        }
        let s = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
        _mm512_reduce_add_ps(s) + tail
    }

    #[target_feature(enable = "avx512f")]
    pub fn sum4_avx512(data: &[f32]) -> f32 {
        let part = data.len() / 4 / 32 * 32;
        let (quarters, tail) = data.split_at(4 * part);
        let mut acc = [_mm512_setzero_ps(); 4];
        for i in (0..part).step_by(32) {
            for (j, a) in acc.iter_mut().enumerate() {
                let p = quarters[j * part + i..].as_ptr();
                // SAFETY: quarter `j` holds 32 floats from `i` (part is a multiple of 32).
                let (x, y) = unsafe { (_mm512_loadu_ps(p), _mm512_loadu_ps(p.add(16))) };
                *a = _mm512_add_ps(*a, _mm512_add_ps(x, y));
            }
        }
        let s = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
        _mm512_reduce_add_ps(s) + tail.iter().sum::<f32>()
    }

    #[target_feature(enable = "avx2")]
    pub fn sum4_avx2(data: &[f32]) -> f32 {
        let part = data.len() / 4 / 16 * 16;
        let (quarters, tail) = data.split_at(4 * part);
        let mut acc = [_mm256_setzero_ps(); 4];
        for i in (0..part).step_by(16) {
            for (j, a) in acc.iter_mut().enumerate() {
                let p = quarters[j * part + i..].as_ptr();
                // SAFETY: quarter `j` holds 16 floats from `i` (part is a multiple of 16).
                let (x, y) = unsafe { (_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8))) };
                *a = _mm256_add_ps(*a, _mm256_add_ps(x, y));
            }
        }
        let s = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let mut lanes = [0.0f32; 8];
        // SAFETY: `lanes` holds 8 floats.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), s) };
        lanes.iter().sum::<f32>() + tail.iter().sum::<f32>()
    }

    #[target_feature(enable = "avx2")]
    pub fn sum_avx2(data: &[f32]) -> f32 {
        let mut acc = [_mm256_setzero_ps(); 4];
        let blocks = data.chunks_exact(32);
        let tail: f32 = blocks.remainder().iter().sum();
        for b in blocks {
            for (j, a) in acc.iter_mut().enumerate() {
                // SAFETY: each 32-float block holds four 8-float vectors; j < 4.
                let v = unsafe { _mm256_loadu_ps(b.as_ptr().add(8 * j)) };
                *a = _mm256_add_ps(*a, v);
            }
        }
        let s = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let mut lanes = [0.0f32; 8];
        // SAFETY: `lanes` holds 8 floats.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), s) };
        lanes.iter().sum::<f32>() + tail
    }
}

/// One member of a case: a name and a closure that makes one call.
struct Member<'a> {
    name: &'static str,
    run: Box<dyn FnMut() + 'a>,
    iters: u32,
    times: Vec<f64>,
}

impl<'a> Member<'a> {
    fn new(name: &'static str, run: impl FnMut() + 'a) -> Self {
        Member {
            name,
            run: Box::new(run),
            iters: 1,
            times: Vec::new(),
        }
    }
}

/// One case's shape, for the CSV rows: queries per call, dimension, candidates.
struct Shape {
    queries: usize,
    dim: usize,
    n: usize,
}

/// Runs `members` in `rounds` interleaved rounds (the order rotates each round) and prints the
/// medians; the first member is the reference of the ratio column. Appends one CSV row per
/// member to `csv`.
fn measure(
    clock: &clock::BenchClock,
    case: &str,
    shape: Shape,
    members: &mut [Member<'_>],
    rounds: usize,
    csv: &mut String,
) {
    let bytes = shape.dim * shape.n * 4;
    for m in members.iter_mut() {
        // Warm-up call, then size the sample.
        (m.run)();
        let t0 = clock.now();
        (m.run)();
        let one = (clock.now() - t0).max(Duration::from_nanos(100));
        m.iters = (SAMPLE.as_secs_f64() / one.as_secs_f64()).clamp(1.0, 1e6) as u32;
    }
    for round in 0..rounds {
        for k in 0..members.len() {
            let m = &mut members[(k + round) % members.len()];
            let t0 = clock.now();
            for _ in 0..m.iters {
                (m.run)();
            }
            let dt = (clock.now() - t0).as_secs_f64() / f64::from(m.iters);
            m.times.push(dt);
        }
    }
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let reference = median(&members[0].times);
    println!("{case}");
    for m in members.iter() {
        let t = median(&m.times);
        println!(
            "  {:<22} {:>10.1} us  {:>7.1} GB/s  x{:.2}",
            m.name,
            t * 1e6,
            bytes as f64 / t / 1e9,
            t / reference
        );
        let Shape { queries, dim, n } = shape;
        *csv += &format!("{case},{queries},{dim},{n},{},{t}\n", m.name);
    }
}

fn main() {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f));
    let rounds: usize = std::env::var("ENGRAM_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(9);
    let clock = clock::BenchClock::from_env();
    eprintln!(
        "engram cosine uses SIMD level {}; {rounds} interleaved rounds per case",
        dispatch::active()
    );
    let mut csv = String::from("case,queries,dim,n,member,seconds\n");

    for (dim, n) in SINGLE {
        let name = format!("single d{dim} n{n}");
        if !wanted(&name) {
            continue;
        }
        let query = fill(dim, 7);
        let cands = fill(dim * n, 11);
        let mut s1 = vec![0.0f32; n];
        let mut s2 = vec![0.0f32; n];
        let mut s3 = vec![0.0f32; n];
        let mut members = [
            Member::new("engram", || {
                cosine_similarity_batch(black_box(&query), black_box(&cands), &mut s1).unwrap()
            }),
            Member::new("numkong angular", || {
                for (s, row) in s2.iter_mut().zip(cands.chunks_exact(dim)) {
                    // NumKong returns the angular distance, 1 - cos.
                    *s = 1.0 - f32::angular(black_box(&query), row).unwrap() as f32;
                }
            }),
            Member::new("simsimd cos", || {
                for (s, row) in s3.iter_mut().zip(cands.chunks_exact(dim)) {
                    *s = 1.0
                        - <f32 as SpatialSimilarity>::cos(black_box(&query), row).unwrap() as f32;
                }
            }),
            Member::new("floor (stream sum)", || {
                black_box(stream_sum(black_box(&cands)));
            }),
            Member::new("floor (4 streams)", || {
                black_box(stream_sum4(black_box(&cands)));
            }),
        ];
        let shape = Shape { queries: 1, dim, n };
        measure(&clock, &name, shape, &mut members, rounds, &mut csv);
    }

    for (nq, dim, n) in MANY {
        let name = format!("many q{nq} d{dim} n{n}");
        if !wanted(&name) {
            continue;
        }
        let queries = fill(nq * dim, 3);
        let cands = fill(dim * n, 11);
        let packed = PackedMatrix::try_pack(&Tensor::<f32>::from_slice(&cands, &[n, dim]))
            .expect("numkong packs the candidates");
        let q_tensor = Tensor::<f32>::from_slice(&queries, &[nq, dim]);
        let mut nk_out = Tensor::<f64>::try_full(&[nq, n], 0.0).expect("output tensor");
        let mut s1 = vec![0.0f32; nq * n];
        let mut s2 = vec![0.0f32; nq * n];
        let mut members = [
            Member::new("engram many", || {
                cosine_similarity_many(black_box(&queries), dim, black_box(&cands), &mut s1)
                    .unwrap()
            }),
            Member::new("engram 16 single", || {
                for (q, s) in queries.chunks_exact(dim).zip(s2.chunks_exact_mut(n)) {
                    cosine_similarity_batch(black_box(q), black_box(&cands), s).unwrap();
                }
            }),
            Member::new("numkong packed", || {
                q_tensor
                    .try_angulars_packed_into(black_box(&packed), &mut nk_out)
                    .unwrap();
            }),
            Member::new("floor (stream sum)", || {
                black_box(stream_sum(black_box(&cands)));
            }),
        ];
        let shape = Shape {
            queries: nq,
            dim,
            n,
        };
        measure(&clock, &name, shape, &mut members, rounds, &mut csv);
        drop(members);
        // The packed kernel agrees with ours (it returns 1 - cos).
        let diff = nk_out
            .as_slice()
            .iter()
            .zip(&s1)
            .map(|(a, &b)| (1.0 - a - f64::from(b)).abs())
            .fold(0.0f64, f64::max);
        eprintln!("  max |numkong - engram| = {diff:e}");
    }
    if let Ok(path) = std::env::var("ENGRAM_BENCH_CSV") {
        std::fs::write(&path, csv).unwrap_or_else(|e| panic!("writing {path}: {e}"));
    }
}
