use engram_kernels::kernels::decay::Decay;
use engram_kernels::kernels::dispatch::{self, SimdLevel};
use std::hint::black_box;
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat").unwrap().split_whitespace().next().unwrap().parse().unwrap()
}
fn main() {
    let n: usize = std::env::args().nth(1).map(|s| s.parse().unwrap()).unwrap_or(32768);
    let mut s: Vec<f32> = (0..n).map(|i| 0.5 + (i % 1000) as f32 / 2000.0).collect();
    let ages: Vec<u64> = (0..n as u64).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 44).collect();
    let d = Decay::from_time_constant(1e13).unwrap();
    for level in [SimdLevel::Avx512, SimdLevel::Avx2Fma, SimdLevel::Scalar] {
        dispatch::force(Some(level)).unwrap();
        let mut best = f64::MAX;
        for _ in 0..5 {
            let iters = (200_000_000 / n).max(3);
            let t0 = cpu_ns();
            for _ in 0..iters { d.apply(black_box(&mut s), black_box(&ages)).unwrap(); }
            let dt = (cpu_ns() - t0) as f64 / (iters * n) as f64;
            best = best.min(dt);
        }
        println!("{level}: {best:.3} cpu-ns/elem");
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let iters = (200_000_000 / n).max(3);
        let t0 = cpu_ns();
        for _ in 0..iters {
            for (x, &a) in black_box(&mut s).iter_mut().zip(black_box(&ages)) { *x = f32::from_bits(x.to_bits() | (a >> 63) as u32); }
        }
        best = best.min((cpu_ns() - t0) as f64 / (iters * n) as f64);
    }
    println!("floor(sse): {best:.3} cpu-ns/elem");
}
