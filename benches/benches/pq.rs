//! PQ asymmetric-distance scans side by side in one process: `pq::scan` forced to each SIMD level
//! this CPU has, the automatic choice, `pq::top_k` (k = 10, table built per call), the fast scan
//! (`pq::scan_quantized` on codes packed once, integer sums) and the exact `pq::top_k_packed`
//! (k = 10) forced to each level, and the memory floor: the same code bytes summed with the widest
//! SIMD available (a pure streaming read). Each
//! case runs its members in interleaved rounds and reports medians, so machine noise hits every
//! member alike; times are this thread's CPU time (see `support/clock.rs`).
//!
//! ```text
//! cargo bench -p engram-bench --bench pq                 # every case
//! cargo bench -p engram-bench --bench pq -- n1000000     # cases whose name has a filter
//! ENGRAM_BENCH_ROUNDS=15 cargo bench -p engram-bench --bench pq
//! ```
//!
//! Output: one line per member with its median time per call, million codes per second, GB/s of
//! code bytes, and its time relative to the floor (`x1.00`; above 1 is slower than the floor).

#[path = "support/clock.rs"]
mod clock;

use engram_kernels::kernels::dispatch::{self, SimdLevel};
use engram_kernels::kernels::pq::{self, CENTROIDS, Metric};
use std::hint::black_box;
use std::time::Duration;

/// (m, rows): Engram's cold tier is m = 96 sub-spaces of 8 dimensions (768-d).
const CASES: [(usize, usize); 3] = [(96, 1_000_000), (96, 100_000), (32, 1_000_000)];
const DSUB: usize = 8;
/// Time one sample aims at; a member runs as many calls as fit.
const SAMPLE: Duration = Duration::from_millis(50);

/// Deterministic pseudo-random bytes (xorshift).
fn bytes(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 32) as u8
        })
        .collect()
}

/// Sums every byte of `data`: the least work that still streams every code byte once.
fn stream_sum(data: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 was detected just above.
        return unsafe { x86::sum_avx2(data) };
    }
    data.iter().map(|&b| u64::from(b)).sum()
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;

    /// Four 32-byte vectors per step into four accumulators (`vpsadbw` sums 8 bytes to a u64),
    /// asking for the lines 8 KiB ahead into L2 as the fast scan does: without it this floor
    /// streams slower than the scan.
    #[target_feature(enable = "avx2")]
    pub fn sum_avx2(data: &[u8]) -> u64 {
        let zero = _mm256_setzero_si256();
        let mut acc = [zero; 4];
        let blocks = data.chunks_exact(128);
        let tail: u64 = blocks.remainder().iter().map(|&b| u64::from(b)).sum();
        for b in blocks {
            // A prefetch never faults, so the address may lie past the slice.
            _mm_prefetch::<_MM_HINT_T1>(b.as_ptr().wrapping_add(8192).cast());
            _mm_prefetch::<_MM_HINT_T1>(b.as_ptr().wrapping_add(8192 + 64).cast());
            for (j, a) in acc.iter_mut().enumerate() {
                // SAFETY: each 128-byte block holds four 32-byte vectors; j < 4.
                let v = unsafe { _mm256_loadu_si256(b.as_ptr().add(32 * j).cast()) };
                *a = _mm256_add_epi64(*a, _mm256_sad_epu8(v, zero));
            }
        }
        let s = _mm256_add_epi64(
            _mm256_add_epi64(acc[0], acc[1]),
            _mm256_add_epi64(acc[2], acc[3]),
        );
        let mut lanes = [0u64; 4];
        // SAFETY: `lanes` holds 32 bytes.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), s) };
        lanes.iter().sum::<u64>() + tail
    }
}

/// One member of a case: a name and a closure that makes one call.
struct Member<'a> {
    name: String,
    run: Box<dyn FnMut() + 'a>,
    iters: u32,
    times: Vec<f64>,
}

impl<'a> Member<'a> {
    fn new(name: impl Into<String>, run: impl FnMut() + 'a) -> Self {
        Member {
            name: name.into(),
            run: Box::new(run),
            iters: 1,
            times: Vec::new(),
        }
    }
}

/// Runs `members` in `rounds` interleaved rounds (the order rotates each round) and prints the
/// medians; the first member is the reference of the ratio column.
fn measure(
    clock: &clock::BenchClock,
    case: &str,
    (rows, m): (usize, usize),
    members: &mut [Member<'_>],
    rounds: usize,
) {
    for mb in members.iter_mut() {
        (mb.run)();
        let t0 = clock.now();
        (mb.run)();
        let one = (clock.now() - t0).max(Duration::from_nanos(100));
        mb.iters = (SAMPLE.as_secs_f64() / one.as_secs_f64()).clamp(1.0, 1e6) as u32;
    }
    for round in 0..rounds {
        for k in 0..members.len() {
            let mb = &mut members[(k + round) % members.len()];
            let t0 = clock.now();
            for _ in 0..mb.iters {
                (mb.run)();
            }
            mb.times
                .push((clock.now() - t0).as_secs_f64() / f64::from(mb.iters));
        }
    }
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let reference = median(&members[0].times);
    println!("{case}");
    for mb in members.iter() {
        let t = median(&mb.times);
        println!(
            "  {:<22} {:>9.2} ms  {:>7.1} Mcodes/s  {:>6.2} GB/s  x{:.2}",
            mb.name,
            t * 1e3,
            rows as f64 / t / 1e6,
            (rows * m) as f64 / t / 1e9,
            t / reference
        );
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
    let auto = dispatch::active();
    eprintln!("engram pq uses SIMD level {auto}; {rounds} interleaved rounds per case");

    for (m, rows) in CASES {
        let name = format!("scan m{m} n{rows}");
        if !wanted(&name) {
            continue;
        }
        let query: Vec<f32> = bytes(m * DSUB, 3)
            .iter()
            .map(|&b| f32::from(b) / 128.0 - 1.0)
            .collect();
        let codebook: Vec<f32> = bytes(m * CENTROIDS * DSUB, 5)
            .iter()
            .map(|&b| f32::from(b) / 128.0 - 1.0)
            .collect();
        let codes = bytes(rows * m, 11);
        let table = pq::distance_table(&query, &codebook, m, Metric::L2).unwrap();
        let mut auto_scores = vec![0.0f32; rows];
        let packed = pq::PackedCodes::pack(&codes, m).unwrap();
        let qt = pq::QuantizedTable::new(&table, m).unwrap();
        let mut members = vec![Member::new("floor (byte sum)", || {
            black_box(stream_sum(black_box(&codes)));
        })];
        // Forced levels: `force` is one atomic store, so each call runs the level it names.
        let levels = [
            SimdLevel::Avx512,
            SimdLevel::Avx2Fma,
            SimdLevel::Neon,
            SimdLevel::Scalar,
        ];
        for level in levels.into_iter().filter(|&l| dispatch::is_supported(l)) {
            let (table, codes) = (&table, &codes);
            let mut scores = vec![0.0f32; rows];
            members.push(Member::new(format!("scan {level}"), move || {
                dispatch::force(Some(level)).unwrap();
                pq::scan(black_box(table), m, black_box(codes), &mut scores).unwrap();
            }));
        }
        members.push(Member::new(format!("scan auto ({auto})"), || {
            dispatch::force(None).unwrap();
            pq::scan(black_box(&table), m, black_box(&codes), &mut auto_scores).unwrap();
        }));
        members.push(Member::new("top_k k10 auto", || {
            dispatch::force(None).unwrap();
            let best = pq::top_k(black_box(&query), &codebook, m, Metric::L2, &codes, 10);
            black_box(best.unwrap());
        }));
        // The fast scan: codes packed once, the table quantized once per query.
        for level in levels.into_iter().filter(|&l| dispatch::is_supported(l)) {
            let (qt, packed) = (&qt, &packed);
            let mut sums = vec![0u16; rows];
            members.push(Member::new(format!("fast scan {level}"), move || {
                dispatch::force(Some(level)).unwrap();
                pq::scan_quantized(black_box(qt), black_box(packed), &mut sums).unwrap();
            }));
        }
        for level in levels.into_iter().filter(|&l| dispatch::is_supported(l)) {
            let (query, codebook, packed) = (&query, &codebook, &packed);
            members.push(Member::new(
                format!("top_k_packed k10 {level}"),
                move || {
                    dispatch::force(Some(level)).unwrap();
                    let best =
                        pq::top_k_packed(black_box(query), codebook, m, Metric::L2, packed, 10);
                    black_box(best.unwrap());
                },
            ));
        }
        measure(&clock, &name, (rows, m), &mut members, rounds);
        dispatch::force(None).unwrap();
    }
}
