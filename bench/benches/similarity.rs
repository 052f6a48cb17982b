//! Batch cosine similarity: engram vs simsimd's per-pair cosine vs a streaming-read floor (the same
//! candidate bytes summed with a plain SIMD sum), side by side in one run.
//!
//! `cargo bench -p engram-bench --bench similarity -- --warm-up-time 1 --measurement-time 3`
//! Filter one dimension with e.g. `-- d768`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use engram_kernels::kernels::dispatch::{self, SimdLevel};
use engram_kernels::kernels::similarity::cosine_similarity_batch;
use simsimd::SpatialSimilarity;
use std::hint::black_box;

const DIMS: [usize; 3] = [768, 384, 1536];
const COUNTS: [usize; 3] = [1_000, 10_000, 100_000];

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
}

fn bench(c: &mut Criterion) {
    eprintln!("engram cosine uses SIMD level {}", dispatch::active());
    for dim in DIMS {
        let max_n = *COUNTS.iter().max().unwrap();
        let query = fill(dim, 7);
        let all = fill(dim * max_n, 11);
        let mut group = c.benchmark_group(format!("cosine/d{dim}"));
        for n in COUNTS {
            let cands = &all[..n * dim];
            let mut scores = vec![0.0f32; n];
            group.throughput(Throughput::Bytes((n * dim * 4) as u64));
            if n >= 100_000 {
                group.sample_size(10);
            }
            group.bench_function(BenchmarkId::new("engram", n), |b| {
                b.iter(|| cosine_similarity_batch(black_box(&query), black_box(cands), &mut scores))
            });
            // The AVX2 path too, at d = 768, for machines without AVX-512.
            if dim == 768 && dispatch::is_supported(SimdLevel::Avx2Fma) {
                dispatch::force(Some(SimdLevel::Avx2Fma)).unwrap();
                group.bench_function(BenchmarkId::new("engram-avx2", n), |b| {
                    b.iter(|| {
                        cosine_similarity_batch(black_box(&query), black_box(cands), &mut scores)
                    })
                });
                dispatch::force(None).unwrap();
            }
            group.bench_function(BenchmarkId::new("simsimd", n), |b| {
                b.iter(|| {
                    for (s, row) in scores.iter_mut().zip(cands.chunks_exact(dim)) {
                        // simsimd returns the cosine distance, 1 - cos.
                        *s = 1.0
                            - <f32 as SpatialSimilarity>::cos(black_box(&query), row).unwrap()
                                as f32;
                    }
                })
            });
            group.bench_function(BenchmarkId::new("floor", n), |b| {
                b.iter(|| stream_sum(black_box(cands)))
            });
            black_box(&scores);
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
