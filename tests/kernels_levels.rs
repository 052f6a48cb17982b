//! Every SIMD level of the cosine kernels on small odd shapes: masked and partial tails, the
//! single-query kernel's four parts with a remainder, spare query slots in a many-query block.
//! Sized for Miri: `scripts/miri.sh` runs this file with the AVX2, FMA and AVX-512F target
//! features enabled, so Miri executes (and checks every load of) the x86 paths, which this
//! machine's CPU may not have. Natively it runs the levels the CPU supports.
//! The decay tests check `Decay::apply_rounded_factor` against the engine's rounding bit for bit
//! on sweeps of ages, random ages and strengths, and edge values.

mod kernels_common;

use engram_kernels::kernels::decay::Decay;
use engram_kernels::kernels::dispatch::SimdLevel;
use engram_kernels::kernels::fixed;
use engram_kernels::kernels::similarity::{cosine_similarity_batch, cosine_similarity_many, top_k};
use kernels_common::{cos_ref, for_each_level, mag_ref};

/// Deterministic values in [-1, 1), with a zero row and a NaN row among the candidates.
fn values(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|i| {
            let h = (i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed);
            ((h >> 16) % 2000) as f32 / 1000.0 - 1.0
        })
        .collect()
}

#[test]
fn every_level_agrees_with_the_reference_and_many_with_single() {
    // (dim, candidates, queries): dims around the 8- and 16-lane widths; candidate counts that
    // leave a remainder after four parts; query counts that leave spare slots in a block.
    let shapes: &[(usize, usize, usize)] = if cfg!(miri) {
        &[(1, 3, 1), (7, 5, 2), (16, 9, 3), (17, 6, 5), (33, 7, 9)]
    } else {
        &[
            (1, 3, 1),
            (7, 5, 2),
            (16, 9, 3),
            (17, 6, 5),
            (33, 7, 9),
            (100, 63, 17),
        ]
    };
    let mut levels = Vec::new();
    for_each_level(|level| {
        levels.push(level);
        for &(dim, n, nq) in shapes {
            let queries = values(nq * dim, 1);
            let mut cands = values(n * dim, 2);
            cands[..dim].fill(0.0); // a zero row: undefined, scored 0
            if n > 2 {
                cands[2 * dim] = f32::NAN; // a NaN row: undefined, scored 0
            }
            let mut many = vec![f32::NAN; nq * n];
            cosine_similarity_many(&queries, dim, &cands, &mut many).unwrap();
            for (j, q) in queries.chunks_exact(dim).enumerate() {
                let mut one = vec![f32::NAN; n];
                cosine_similarity_batch(q, &cands, &mut one).unwrap();
                for (i, row) in cands.chunks_exact(dim).enumerate() {
                    let ctx = format!("{level} dim {dim} n {n} query {j} row {i}");
                    assert_eq!(one[i].to_bits(), many[j * n + i].to_bits(), "{ctx}");
                    // The spec's score: 0 for the zero and NaN rows (their magnitude is 0).
                    let want = cos_ref(q, row).expect("no magnitude near a threshold here");
                    assert!(
                        (f64::from(one[i]) - want).abs() <= 1e-5,
                        "{ctx}: {}",
                        one[i]
                    );
                }
                let best = top_k(q, &cands, 2).unwrap();
                let mut defined: Vec<(usize, f32)> = one
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| mag_ref(&cands[i * dim..(i + 1) * dim]) > Some(0.0))
                    .map(|(i, &s)| (i, s))
                    .collect();
                defined.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                let want: Vec<usize> = defined.iter().take(2).map(|&(i, _)| i).collect();
                let got: Vec<usize> = best.iter().map(|m| m.index).collect();
                assert_eq!(got, want, "{level} dim {dim} n {n} query {j}: top 2");
            }
        }
    });
    assert!(levels.contains(&SimdLevel::Scalar));
    // The Miri run enables these features so that it executes the x86 paths: make sure it did.
    if cfg!(all(miri, target_feature = "avx2")) {
        assert!(levels.contains(&SimdLevel::Avx2Fma));
    }
}

/// The engine's decay of one strength: `s * (float)exp(-(double)age / tau)`, except that age 0
/// and ±∞ keep the strength (see `Decay::apply_rounded_factor`).
fn engine_decay(s: f32, age: u64, tau: f64) -> f32 {
    if age == 0 || s.is_infinite() {
        s
    } else {
        s * (-(age as f64) / tau).exp() as f32
    }
}

/// Runs `apply_rounded_factor` on every level and compares each result with [`engine_decay`]:
/// bit for bit natively; under Miri, whose `exp` is deliberately perturbed and whose arithmetic
/// picks any NaN payload IEEE allows, within one f32 step and NaN for NaN.
fn check_rounded(what: &str, tau: f64, strengths: &[f32], ages: &[u64]) {
    let d = Decay::from_time_constant(tau).unwrap();
    let want: Vec<f32> = strengths
        .iter()
        .zip(ages)
        .map(|(&s, &a)| engine_decay(s, a, tau))
        .collect();
    for_each_level(|level| {
        let mut got = strengths.to_vec();
        d.apply_rounded_factor(&mut got, ages).unwrap();
        for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
            let same = g.to_bits() == w.to_bits()
                || (cfg!(miri)
                    && ((g.is_nan() && w.is_nan())
                        || (g.is_finite()
                            && (g.to_bits() as i64 - w.to_bits() as i64).abs() <= 1)));
            assert!(
                same,
                "{level} {what} tau {tau}: strength {:e} age {} gave {g:e}, the engine {w:e}",
                strengths[i], ages[i]
            );
        }
    });
}

/// xorshift64: deterministic test inputs.
fn xorshift(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn decay_rounded_factor_is_the_engines_on_every_level() {
    let (sweep, random) = if cfg!(miri) {
        (300, 200)
    } else {
        (1_000_000, 200_003)
    };
    let taus: &[f64] = if cfg!(miri) {
        &[86_400.0, 0.37]
    } else {
        &[86_400.0, 3600.0, 604_800.0, 1.0, 0.37, 1e-3, 7.3e9]
    };
    let mut seed = 0x2545_f491_4f6c_dd1d;
    for &tau in taus {
        // Every age in 0..sweep, strength 1 (the factor itself) and a strength in (0.5, 1].
        let ages: Vec<u64> = (0..sweep).collect();
        check_rounded("sweep", tau, &vec![1.0; ages.len()], &ages);
        let s: Vec<f32> = ages
            .iter()
            .map(|&a| 1.0 - (a % 1000) as f32 / 2000.0)
            .collect();
        check_rounded("sweep", tau, &s, &ages);
        // Random u32 and u64 ages (of every magnitude) with random f32 bit patterns: NaNs,
        // infinities, subnormals and negative strengths among them.
        let ages: Vec<u64> = (0..random)
            .map(|i| match i % 3 {
                0 => xorshift(&mut seed) >> 32,
                1 => xorshift(&mut seed) >> (xorshift(&mut seed) % 64),
                _ => (xorshift(&mut seed) >> 40) % (200 * tau.max(1.0) as u64),
            })
            .collect();
        let s: Vec<f32> = (0..random)
            .map(|_| f32::from_bits(xorshift(&mut seed) as u32))
            .collect();
        check_rounded("random", tau, &s, &ages);
    }
    // Factors in the f32 subnormal range (about 87 to 104 tau) and around where they reach 0.
    let tau = 1000.0;
    let ages: Vec<u64> = (80_000..110_000)
        .step_by(if cfg!(miri) { 1000 } else { 1 })
        .collect();
    check_rounded("subnormal factors", tau, &vec![1.0; ages.len()], &ages);
    check_rounded("subnormal factors", tau, &vec![f32::MAX; ages.len()], &ages);
}

#[test]
fn decay_rounded_factor_edges_on_every_level() {
    let snan = f32::from_bits(0x7f80_0001);
    let strengths = [
        1.0,
        -1.0,
        0.0,
        -0.0,
        f32::MAX,
        f32::MIN_POSITIVE,
        f32::from_bits(1),
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        snan,
        0.75,
    ];
    let ages = [
        0,
        1,
        2,
        86_400,
        1 << 53,
        (1 << 53) + 1,
        u64::MAX,
        u64::MAX - 1,
        i64::MAX as u64,
        u32::MAX as u64,
        10_000_000_000,
        7,
    ];
    // Every strength with every age, 144 lanes: full blocks and a partial one on every level.
    let s: Vec<f32> = strengths.iter().flat_map(|&s| [s; 12]).collect();
    let a: Vec<u64> = (0..12).flat_map(|_| ages).collect();
    for tau in [86_400.0, 1.0, 1e-300, 5e-324, 1e300, f64::MAX] {
        check_rounded("edges", tau, &s, &a);
        // Lengths 0..=33 cover empty calls and every partial block.
        for n in 0..=33 {
            check_rounded("short", tau, &s[..n], &a[..n]);
        }
    }
    // Huge ages give exactly 0 (of the strength's sign); age 0 keeps every bit.
    let d = Decay::ENGRAM_DEFAULT;
    for_each_level(|level| {
        let mut x = [0.5, -0.5, snan, -0.0];
        d.apply_rounded_factor(&mut x, &[u64::MAX, 1 << 40, 0, 0])
            .unwrap();
        assert_eq!(x[0].to_bits(), 0, "{level}");
        assert_eq!(x[1].to_bits(), (-0.0f32).to_bits(), "{level}");
        assert_eq!(x[2].to_bits(), snan.to_bits(), "{level}");
        assert_eq!(x[3].to_bits(), (-0.0f32).to_bits(), "{level}");
    });
    // A time constant that is not finite and positive is refused (the C export's
    // ENGRAM_ERR_INVALID), so no kernel ever sees one.
    for tau in [f64::INFINITY, f64::NAN, 0.0, -1.0, f64::NEG_INFINITY] {
        assert!(Decay::from_time_constant(tau).is_err(), "{tau}");
    }
}

#[test]
fn pq_scans_agree_with_the_definition_at_every_level() {
    use engram_kernels::kernels::pq::{CENTROIDS, scan};
    // m around the four-code gather groups and the eight-code words; row counts that leave
    // partial vectors and a partial 64-row block.
    let shapes: &[(usize, usize)] = if cfg!(miri) {
        &[(1, 3), (4, 17), (7, 9), (9, 70)]
    } else {
        &[(1, 3), (4, 17), (7, 9), (9, 70), (96, 130), (97, 65)]
    };
    let mut levels = Vec::new();
    for_each_level(|level| {
        // Miri does not implement the AVX-512 gathers (`llvm.x86.avx512.gather.*`); it runs the
        // AVX2 ones. The native run covers AVX-512 where the CPU has it.
        if cfg!(miri) && level == SimdLevel::Avx512 {
            return;
        }
        levels.push(level);
        for &(m, n) in shapes {
            let table = values(m * CENTROIDS, 3);
            let codes: Vec<u8> = values(n * m, 4)
                .iter()
                .map(|&x| ((x + 1.0) * 127.9) as u8)
                .collect();
            let mut scores = vec![f32::NAN; n];
            scan(&table, m, &codes, &mut scores).unwrap();
            for (i, row) in codes.chunks_exact(m).enumerate() {
                // The definition: entries added in order of the sub-space, from 0, in f32.
                let want = row.iter().enumerate().fold(0.0f32, |acc, (j, &c)| {
                    acc + table[j * CENTROIDS + usize::from(c)]
                });
                assert_eq!(
                    scores[i].to_bits(),
                    want.to_bits(),
                    "{level} m {m} n {n} row {i}"
                );
            }
        }
    });
    if cfg!(all(miri, target_feature = "avx2")) {
        assert!(levels.contains(&SimdLevel::Avx2Fma));
    }
}

#[test]
fn pq_quantized_sums_are_equal_at_every_level() {
    use engram_kernels::kernels::pq::{CENTROIDS, PackedCodes, QuantizedTable, scan_quantized};
    // A full block and a partial one; m = 257 reaches the largest sum, 257 · 255 = 65535.
    let shapes: &[(usize, usize)] = if cfg!(miri) {
        &[(1, 3), (3, 65)]
    } else {
        &[(1, 3), (3, 65), (96, 130), (257, 64)]
    };
    for &(m, n) in shapes {
        let mut table = values(m * CENTROIDS, 5);
        let mut codes: Vec<u8> = values(n * m, 6)
            .iter()
            .map(|&x| ((x + 1.0) * 127.9) as u8)
            .collect();
        if m == 257 {
            // Every sub-space spans [-1, 1] and every row picks the top (255 after quantizing).
            for t in table.chunks_exact_mut(CENTROIDS) {
                (t[0], t[1]) = (-1.0, 1.0);
            }
            codes.fill(1);
        }
        let qt = QuantizedTable::new(&table, m).unwrap();
        let packed = PackedCodes::pack(&codes, m).unwrap();
        let want: Vec<u16> = codes
            .chunks_exact(m)
            .map(|row| {
                row.iter()
                    .enumerate()
                    .map(|(j, &c)| u16::from(qt.codes(j)[usize::from(c)]))
                    .sum()
            })
            .collect();
        assert!(m != 257 || want.iter().all(|&s| s == u16::MAX));
        for_each_level(|level| {
            // Miri does not implement the AVX-512 VBMI byte permutes (`vpermi2b`); the native run
            // covers that level where the CPU has VBMI.
            if cfg!(miri) && level == SimdLevel::Avx512 {
                return;
            }
            let mut sums = vec![0u16; n];
            scan_quantized(&qt, &packed, &mut sums).unwrap();
            assert_eq!(sums, want, "{level} m {m} n {n}");
        });
    }
}

/// `kernels::fixed` at every level on sizes whose tails are shorter than a vector: every load and
/// store of the fixed-size paths runs here under Miri (`tests/kernels_fixed.rs` has the full
/// reference checks at the embedding sizes).
#[test]
fn fixed_size_ops_at_every_level() {
    fn check<const D: usize>(level: SimdLevel) {
        let a: [f32; D] = values(D, 3).try_into().unwrap();
        let rows: Vec<[f32; D]> = values(5 * D, 4)
            .chunks_exact(D)
            .map(|r| r.try_into().unwrap())
            .collect();
        let ctx = format!("{level} D {D}");
        let scores = fixed::cosine_batch(&a, &rows);
        for (row, &s) in rows.iter().zip(&scores) {
            let want = cos_ref(&a, row).unwrap();
            assert!((f64::from(s) - want).abs() <= 1e-5, "{ctx} batch");
            assert!(
                (f64::from(fixed::cosine(&a, row)) - want).abs() <= 1e-5,
                "{ctx}"
            );
        }
        let dot: f64 = a.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
        assert!(
            (f64::from(fixed::dot(&a, &a)) - dot).abs() <= 1e-5 * dot,
            "{ctx} dot"
        );
        assert_eq!(fixed::add(&a, &a), fixed::scale(&a, 2.0), "{ctx} add");
        let avg = fixed::weighted_average(&[&rows[0], &rows[1]], &[1.0, 1.0]);
        for i in 0..D {
            let want = (f64::from(rows[0][i]) + f64::from(rows[1][i])) / 2.0;
            assert!((f64::from(avg[i]) - want).abs() <= 1e-6, "{ctx} avg");
        }
        let columns: Vec<&[f32]> = rows.iter().map(|r| &r[..]).collect();
        let mut res = vec![0.0f32; D];
        fixed::dot_columnar(&[1.0f32; 5], &columns, &mut res);
        let mut acc = vec![0.0f32; D];
        for c in &columns {
            fixed::fma_accumulate(c, 1.0, &mut acc);
        }
        let total = fixed::horizontal_sum(&acc);
        for i in 0..D {
            assert!((res[i] - acc[i]).abs() <= 1e-5, "{ctx} columnar [{i}]");
        }
        let want: f32 = res.iter().sum();
        assert!((total - want).abs() <= 1e-4, "{ctx} sum");
    }
    for_each_level(|level| {
        check::<7>(level);
        check::<17>(level);
        check::<40>(level);
    });
}
