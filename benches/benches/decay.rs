//! Decay over 10M strengths: engram (every supported SIMD level) vs a bandwidth floor (read the
//! same strengths and ages, write the strengths) vs the seed's approach, one `f32::exp` per lane.
//!
//! `cargo bench -p engram-bench --bench decay -- --warm-up-time 1 --measurement-time 3`
//!
//! The runs decay the same buffer in place again and again; a long τ keeps the strengths in the
//! normal f32 range throughout. The kernel has no data-dependent branches, so its speed does not
//! depend on τ or the ages.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use engram_kernels::kernels::decay::Decay;
use engram_kernels::kernels::dispatch::{self, SimdLevel};
use std::hint::black_box;

/// The size; `DECAY_BENCH_N` overrides it (a cache-resident size shows the compute cost).
const N: usize = 10_000_000;
const TAU: f64 = 1e13;

/// Reads every strength and age and writes every strength, with next to no arithmetic. Ages are
/// below 2^63, so the OR adds nothing, but the compiler cannot know that.
#[inline(never)]
fn floor(strengths: &mut [f32], ages: &[u64]) {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx512f") {
        // SAFETY: AVX-512F was detected just above.
        return unsafe { floor_avx512(strengths, ages) };
    }
    floor_plain(strengths, ages)
}

#[inline(always)]
fn floor_plain(strengths: &mut [f32], ages: &[u64]) {
    for (s, &a) in strengths.iter_mut().zip(ages) {
        *s = f32::from_bits(s.to_bits() | (a >> 63) as u32);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn floor_avx512(strengths: &mut [f32], ages: &[u64]) {
    floor_plain(strengths, ages)
}

/// The seed's kernel: `s * expf(-age / tau)` in f32, one scalar exp per element.
#[inline(never)]
fn seed_scalar(strengths: &mut [f32], ages: &[u64], tau: f32) {
    for (s, &a) in strengths.iter_mut().zip(ages) {
        *s *= (-(a as f32) / tau).exp();
    }
}

fn bench(c: &mut Criterion) {
    let n: usize = std::env::var("DECAY_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(N);
    let mut strengths: Vec<f32> = (0..n).map(|i| 0.5 + (i % 1000) as f32 / 2000.0).collect();
    // Ages up to about 12 days, in seconds.
    let ages: Vec<u64> = (0..n as u64)
        .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 44)
        .collect();
    let decay = Decay::from_time_constant(TAU).unwrap();

    let mut group = c.benchmark_group(format!(
        "decay/{}",
        if n == N {
            "10M".to_string()
        } else {
            n.to_string()
        }
    ));
    group.throughput(Throughput::Bytes((n * (4 + 8 + 4)) as u64));
    group.sample_size(20);
    let auto = dispatch::active();
    for level in SimdLevel::ALL
        .into_iter()
        .filter(|&l| dispatch::is_supported(l))
        .rev()
    {
        dispatch::force(Some(level)).unwrap();
        let name = if level == auto {
            format!("engram-{level} (auto)")
        } else {
            format!("engram-{level}")
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                decay
                    .apply(black_box(&mut strengths), black_box(&ages))
                    .unwrap()
            })
        });
    }
    dispatch::force(None).unwrap();
    group.bench_function("floor", |b| {
        b.iter(|| floor(black_box(&mut strengths), black_box(&ages)))
    });
    group.bench_function("seed-scalar-expf", |b| {
        b.iter(|| seed_scalar(black_box(&mut strengths), black_box(&ages), TAU as f32))
    });
    group.finish();
    assert!(
        strengths.iter().all(|s| s.is_normal()),
        "strengths left the normal range"
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
