//! Every SIMD level of the cosine kernels on small odd shapes: masked and partial tails, the
//! single-query kernel's four parts with a remainder, spare query slots in a many-query block.
//! Sized for Miri: `scripts/miri.sh` runs this file with the AVX2, FMA and AVX-512F target
//! features enabled, so Miri executes (and checks every load of) the x86 paths, which this
//! machine's CPU may not have. Natively it runs the levels the CPU supports.

mod kernels_common;

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
