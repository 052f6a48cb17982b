//! PQ asymmetric-distance scans: the table against an f64 reference, every SIMD level's scores
//! against the scalar definition bit for bit, top-k against a sort, and the error messages.

mod kernels_common;

use engram_kernels::kernels::KernelError;
use engram_kernels::kernels::pq::{self, CENTROIDS, Metric};
use engram_kernels::kernels::similarity::Match;
use kernels_common::for_each_level;
use proptest::prelude::*;

/// Deterministic pseudo-random values (xorshift), in [-1, 1) times `scale`.
fn floats(len: usize, mut seed: u64, scale: f32) -> Vec<f32> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            ((seed >> 40) as f32 / (1u64 << 23) as f32 - 1.0) * scale
        })
        .collect()
}

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

/// The definition of a score: table entries added left to right in f32, from 0.
fn score_ref(table: &[f32], row: &[u8]) -> f32 {
    row.iter().enumerate().fold(0.0f32, |acc, (j, &c)| {
        acc + table[j * CENTROIDS + usize::from(c)]
    })
}

/// A table whose entries span many magnitudes, so that adding in any other order than the
/// definition's changes the low bits of most scores (and the test would see it).
fn wild_table(m: usize, seed: u64) -> Vec<f32> {
    floats(m * CENTROIDS, seed, 1.0)
        .into_iter()
        .enumerate()
        .map(|(i, x)| x * [1.0, 1e-3, 1e4, 3.7][i % 4])
        .collect()
}

#[test]
fn every_level_matches_the_definition_bit_for_bit() {
    // m around the four-code gather groups and the eight-code words; row counts around the
    // 4/8/16-row vectors and the 64-row blocks.
    let ms = [1, 2, 3, 4, 5, 7, 8, 9, 12, 17, 96, 97];
    let ns = [0, 1, 3, 8, 15, 16, 17, 63, 64, 65, 130, 300];
    for_each_level(|level| {
        for &m in &ms {
            let table = wild_table(m, m as u64);
            for &n in &ns {
                let codes = bytes(n * m, (m * 1000 + n) as u64);
                let mut scores = vec![f32::NAN; n];
                pq::scan(&table, m, &codes, &mut scores).unwrap();
                for (i, row) in codes.chunks_exact(m).enumerate() {
                    let want = score_ref(&table, row);
                    assert_eq!(
                        scores[i].to_bits(),
                        want.to_bits(),
                        "{level} m {m} n {n} row {i}: {} vs {want}",
                        scores[i]
                    );
                }
            }
        }
    });
}

#[test]
fn the_order_of_the_adds_shows() {
    // (1e8 + 1) - 1e8 is 0 in f32, left to right; an order that adds the two big entries first
    // gives 1.
    let mut table = vec![0.0f32; 3 * CENTROIDS];
    table[1] = 1e8;
    table[CENTROIDS + 2] = 1.0;
    table[2 * CENTROIDS + 3] = -1e8;
    let codes: Vec<u8> = [1u8, 2, 3].repeat(40);
    for_each_level(|level| {
        let mut scores = vec![f32::NAN; 40];
        pq::scan(&table, 3, &codes, &mut scores).unwrap();
        assert!(scores.iter().all(|&s| s == 0.0), "{level}: {scores:?}");
    });
}

#[test]
fn the_table_matches_an_f64_reference() {
    for (m, dsub) in [(1, 1), (3, 5), (96, 8)] {
        let query = floats(m * dsub, 1, 2.0);
        let codebook = floats(m * CENTROIDS * dsub, 2, 2.0);
        for metric in [Metric::L2, Metric::InnerProduct] {
            let table = pq::distance_table(&query, &codebook, m, metric).unwrap();
            for j in 0..m {
                let q = &query[j * dsub..(j + 1) * dsub];
                for c in 0..CENTROIDS {
                    let cent = &codebook[(j * CENTROIDS + c) * dsub..][..dsub];
                    let want: f64 = q
                        .iter()
                        .zip(cent)
                        .map(|(&x, &y)| match metric {
                            Metric::L2 => (f64::from(x) - f64::from(y)).powi(2),
                            Metric::InnerProduct => f64::from(x) * f64::from(y),
                        })
                        .sum();
                    // dsub f32 adds of terms below 16: a few units in the last place of 16·dsub.
                    let got = f64::from(table[j * CENTROIDS + c]);
                    assert!(
                        (got - want).abs() <= 1e-5 * 16.0 * dsub as f64,
                        "{metric:?} {j} {c}"
                    );
                }
            }
        }
    }
}

/// The top k by sorting every score: nearest first, ties by lower index, NaN skipped.
fn top_ref(scores: &[f32], metric: Metric, k: usize) -> Vec<Match> {
    let mut all: Vec<Match> = scores
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.is_nan())
        .map(|(index, &score)| Match { index, score })
        .collect();
    all.sort_by(|a, b| {
        let by = match metric {
            Metric::L2 => a.score.total_cmp(&b.score),
            Metric::InnerProduct => b.score.total_cmp(&a.score),
        };
        by.then(a.index.cmp(&b.index))
    });
    all.truncate(k);
    all
}

#[test]
fn top_k_matches_a_sort_at_every_level() {
    let (m, dsub, n) = (12, 2, 700);
    let query = floats(m * dsub, 3, 1.0);
    let codebook = floats(m * CENTROIDS * dsub, 4, 1.0);
    // Few distinct codes, so many rows tie.
    let codes: Vec<u8> = bytes(n * m, 5).iter().map(|b| b % 3).collect();
    for_each_level(|level| {
        for metric in [Metric::L2, Metric::InnerProduct] {
            let table = pq::distance_table(&query, &codebook, m, metric).unwrap();
            let mut scores = vec![0.0; n];
            pq::scan(&table, m, &codes, &mut scores).unwrap();
            for k in [1, 10, 699, 700, 1000] {
                let want = top_ref(&scores, metric, k);
                let got = pq::top_k(&query, &codebook, m, metric, &codes, k).unwrap();
                assert_eq!(got, want, "{level} {metric:?} k {k}");
                let (mut idx, mut sc) = (vec![usize::MAX; k], vec![f32::NAN; k]);
                let found =
                    pq::top_k_into_parts(&query, &codebook, m, metric, &codes, &mut idx, &mut sc)
                        .unwrap();
                assert_eq!(found, want.len());
                for (i, w) in want.iter().enumerate() {
                    assert_eq!((idx[i], sc[i].to_bits()), (w.index, w.score.to_bits()));
                }
                assert!(idx[found..].iter().all(|&i| i == usize::MAX), "untouched");
            }
        }
    });
}

#[test]
fn top_k_skips_nan_scores_and_handles_no_rows() {
    let mut table = vec![1.0f32; CENTROIDS];
    table[7] = f32::NAN;
    table[8] = f32::INFINITY;
    let mut out = [Match::default(); 4];
    let n = pq::top_k_with_table(&table, 1, Metric::InnerProduct, &[7, 8, 0, 7], &mut out).unwrap();
    assert_eq!(n, 2);
    assert_eq!(
        out[0],
        Match {
            index: 1,
            score: f32::INFINITY
        }
    );
    assert_eq!(
        out[1],
        Match {
            index: 2,
            score: 1.0
        }
    );
    let n = pq::top_k_with_table(&table, 1, Metric::L2, &[], &mut out).unwrap();
    assert_eq!(n, 0);
    let codebook = vec![0.0; CENTROIDS];
    assert_eq!(
        pq::top_k(&[1.0], &codebook, 1, Metric::L2, &[], 3).unwrap(),
        []
    );
}

#[test]
fn errors_name_the_argument() {
    let codebook = vec![0.0f32; 2 * CENTROIDS * 3]; // m = 2, dsub = 3
    let query = [0.0f32; 6];
    let msg = |e: KernelError| e.to_string();
    let table_err =
        |q: &[f32], cb: &[f32], m| msg(pq::distance_table(q, cb, m, Metric::L2).unwrap_err());
    assert_eq!(
        table_err(&query, &codebook, 0),
        "m is 0, but it must be at least 1 and divide query.len()"
    );
    assert_eq!(
        table_err(&query, &codebook, 4),
        "m is 4, but it must be at least 1 and divide query.len()"
    );
    assert_eq!(table_err(&[], &codebook, 2), "query is empty");
    assert_eq!(
        table_err(&query, &codebook[1..], 2),
        "codebook has length 1535, expected 1536"
    );
    let mut table = vec![0.0; 2 * CENTROIDS];
    let e = pq::build_table(&query, &codebook, 2, Metric::L2, &mut table[1..]).unwrap_err();
    assert_eq!(msg(e), "table has length 511, expected 512");

    let mut scores = [0.0; 2];
    assert_eq!(
        msg(pq::scan(&table, 0, &[], &mut []).unwrap_err()),
        "m is 0, but it must be at least 1"
    );
    assert_eq!(
        msg(pq::scan(&table, 3, &[0; 6], &mut scores).unwrap_err()),
        "table has length 512, expected 768"
    );
    assert_eq!(
        msg(pq::scan(&table, 2, &[0; 5], &mut scores).unwrap_err()),
        "codes has length 5, expected 4"
    );
    assert_eq!(scores, [0.0; 2], "untouched on error");

    let e = pq::top_k(&query, &codebook, 2, Metric::L2, &[0; 4], 0).unwrap_err();
    assert_eq!(msg(e), "k is 0, but it must be at least 1");
    let e = pq::top_k(&query, &codebook, 2, Metric::L2, &[0; 5], 1).unwrap_err();
    assert_eq!(
        msg(e),
        "codes has length 5, which is not a multiple of the dimension 2"
    );
    let (mut idx, mut sc) = ([0usize; 2], [0.0f32; 1]);
    let e = pq::top_k_into_parts(&query, &codebook, 2, Metric::L2, &[0; 4], &mut idx, &mut sc);
    assert_eq!(msg(e.unwrap_err()), "scores has length 1, expected 2");
    let mut out: [Match; 0] = [];
    let e = pq::top_k_with_table(&table, 2, Metric::L2, &[0; 4], &mut out).unwrap_err();
    assert_eq!(msg(e), "k is 0, but it must be at least 1");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_shapes_match_the_definition_at_every_level(
        m in 1usize..40,
        n in 0usize..200,
        seed in any::<u64>(),
        scale in prop_oneof![Just(1.0f32), Just(1e-30), Just(1e30)],
    ) {
        let seed = seed | 1;
        let table: Vec<f32> = floats(m * CENTROIDS, seed, scale);
        let codes = bytes(n * m, seed.rotate_left(7) | 1);
        let want: Vec<u32> = codes.chunks_exact(m).map(|r| score_ref(&table, r).to_bits()).collect();
        let mut failures = Vec::new();
        for_each_level(|level| {
            let mut scores = vec![f32::NAN; n];
            pq::scan(&table, m, &codes, &mut scores).unwrap();
            let got: Vec<u32> = scores.iter().map(|s| s.to_bits()).collect();
            if got != want {
                failures.push(level);
            }
        });
        prop_assert!(failures.is_empty(), "levels {:?} differ", failures);
    }
}

// ---- The fast scan: packed codes, quantized tables, integer sums, exact top-k from them. ----

/// The integer sums by definition: quantized entries added as integers.
fn sums_ref(qt: &pq::QuantizedTable, codes: &[u8], m: usize) -> Vec<u16> {
    codes
        .chunks_exact(m)
        .map(|row| {
            row.iter()
                .enumerate()
                .map(|(j, &c)| u16::from(qt.codes(j)[usize::from(c)]))
                .sum()
        })
        .collect()
}

#[test]
fn packing_keeps_every_code() {
    for (m, n) in [(1, 0), (1, 1), (3, 64), (5, 65), (96, 130)] {
        let codes = bytes(n * m, 11 + m as u64);
        let packed = pq::PackedCodes::pack(&codes, m).unwrap();
        assert_eq!((packed.len(), packed.m()), (n, m));
        for (i, row) in codes.chunks_exact(m).enumerate() {
            assert_eq!(packed.row(i).collect::<Vec<_>>(), row, "m {m} row {i}");
            assert_eq!(packed.code(i, m - 1), row[m - 1]);
        }
    }
}

#[test]
fn quantized_sums_agree_on_every_level_and_estimates_keep_the_bound() {
    // Random tables, a wide range in one sub-space (coarse scale), and the largest m.
    let cases: &[(usize, usize, u64, f32)] = &[
        (1, 3, 1, 1.0),
        (4, 64, 2, 10.0),
        (7, 65, 3, 1e-3),
        (96, 200, 4, 1.0),
        (257, 70, 5, 1e4),
    ];
    for &(m, n, seed, scale) in cases {
        let mut table = floats(m * CENTROIDS, seed, scale);
        table[3] = 100.0 * scale; // one wide sub-space
        // Codes that hit every entry, including 127/128 and 255 at the permute boundaries.
        let mut codes = bytes(n * m, seed + 7);
        codes[0] = 127;
        let last = codes.len() - 1;
        codes[m.min(last)] = 128;
        *codes.last_mut().unwrap() = 255;
        let qt = pq::QuantizedTable::new(&table, m).unwrap();
        assert!(qt.scale() > 0.0);
        assert!(qt.bound() <= m as f64 * qt.scale() / 2.0 * 1.01 + 1e-4 * scale as f64 * m as f64);
        let want = sums_ref(&qt, &codes, m);
        let packed = pq::PackedCodes::pack(&codes, m).unwrap();
        for_each_level(|level| {
            let mut sums = vec![0u16; n];
            pq::scan_quantized(&qt, &packed, &mut sums).unwrap();
            assert_eq!(sums, want, "{level} m {m} n {n}");
        });
        for (row, &sum) in codes.chunks_exact(m).zip(&want) {
            let exact = f64::from(score_ref(&table, row));
            assert!((exact - qt.estimate(sum)).abs() <= qt.bound(), "m {m}");
            // The rounding part alone stays within m·s/2 (per entry s/2).
            assert!((exact - qt.estimate(sum)).abs() <= m as f64 * qt.scale() / 2.0 + qt.bound());
        }
    }
}

/// Every code value at every row position of a block, in every sub-space, against distinct table
/// entries: the table lookups of each level (byte permutes, nibble shuffles and blends, NEON table
/// lookups) pick the one entry a code names, whichever bits it has set and wherever it sits.
#[test]
fn quantized_sums_see_every_code_value_at_every_level() {
    let m = 3;
    // Entry `c` of sub-space `j` is a distinct integer per code, 0 to 255 in every sub-space, so
    // it quantizes to itself: `c` (j = 0), `255 - c` (j = 1), `c + 85` modulo 256 (j = 2).
    let entry = |j: usize, c: usize| match j {
        0 => c,
        1 => 255 - c,
        _ => (c + 85) % 256,
    };
    let mut table = vec![0.0f32; m * CENTROIDS];
    for j in 0..m {
        for c in 0..CENTROIDS {
            table[j * CENTROIDS + c] = entry(j, c) as f32;
        }
    }
    // 256 blocks of 64 rows: row p of block b holds code `p + b + 100 j` (modulo 256) in
    // sub-space j, so each of the 64 positions of a block sees all 256 codes in every sub-space.
    let n = 64 * CENTROIDS;
    let code = |r: usize, j: usize| (r % 64 + r / 64 + 100 * j) % 256;
    let codes: Vec<u8> = (0..n)
        .flat_map(|r| (0..m).map(move |j| code(r, j) as u8))
        .collect();
    let qt = pq::QuantizedTable::new(&table, m).unwrap();
    assert_eq!(qt.scale(), 1.0);
    let want = sums_ref(&qt, &codes, m);
    for (r, &w) in want.iter().enumerate() {
        let exact: usize = (0..m).map(|j| entry(j, code(r, j))).sum();
        assert_eq!(usize::from(w), exact, "row {r}");
    }
    let packed = pq::PackedCodes::pack(&codes, m).unwrap();
    for_each_level(|level| {
        let mut sums = vec![0u16; n];
        pq::scan_quantized(&qt, &packed, &mut sums).unwrap();
        assert_eq!(sums, want, "{level}");
    });
}

#[test]
fn quantized_tables_reject_what_they_cannot_bound() {
    let mut table = vec![0.0f32; 2 * CENTROIDS];
    table[300] = f32::INFINITY;
    assert!(matches!(
        pq::QuantizedTable::new(&table, 2),
        Err(KernelError::NotFinite { index: 300, .. })
    ));
    table[300] = f32::MAX;
    assert!(pq::QuantizedTable::new(&table, 2).is_err());
    assert!(pq::QuantizedTable::new(&vec![0.0; 258 * CENTROIDS], 258).is_err());
    assert!(pq::QuantizedTable::new(&[0.0; CENTROIDS], 2).is_err());
    let qt = pq::QuantizedTable::new(&[0.0; CENTROIDS], 1).unwrap();
    let packed = pq::PackedCodes::pack(&[0, 0], 2).unwrap();
    let err = pq::scan_quantized(&qt, &packed, &mut [0]).unwrap_err();
    assert!(matches!(err, KernelError::LengthMismatch { .. }));
}

/// `top_k_packed` (on owned codes, and on a borrowed buffer packed by `pack_into` through
/// `top_k_packed_into_parts`) against `top_k` on the unpacked codes: equal, match for match,
/// bit for bit.
fn check_packed_top_k(codebook: &[f32], query: &[f32], m: usize, codes: &[u8], k: usize) {
    let packed = pq::PackedCodes::pack(codes, m).unwrap();
    // A caller's buffer full of garbage: the padding must come out zero.
    let mut buf = vec![0xA5; pq::packed_len(codes.len() / m, m).unwrap()];
    assert_eq!(pq::pack_into(codes, m, &mut buf).unwrap(), codes.len() / m);
    assert_eq!(buf, packed.as_bytes());
    let view = pq::PackedCodes::from_packed(&buf[..], codes.len() / m, m).unwrap();
    assert_eq!(view, packed.as_view());
    for metric in [Metric::L2, Metric::InnerProduct] {
        let want = pq::top_k(query, codebook, m, metric, codes, k).unwrap();
        for_each_level(|level| {
            let got = pq::top_k_packed(query, codebook, m, metric, &packed, k).unwrap();
            assert_eq!(got.len(), want.len(), "{level} {metric:?} k {k}");
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(
                    (g.index, g.score.to_bits()),
                    (w.index, w.score.to_bits()),
                    "{level} {metric:?} m {m} k {k}"
                );
            }
            let (mut idx, mut sc) = (vec![usize::MAX; k], vec![-1.5f32; k]);
            let n =
                pq::top_k_packed_into_parts(query, codebook, m, metric, &view, &mut idx, &mut sc)
                    .unwrap();
            assert_eq!(n, want.len(), "{level} {metric:?} k {k} (parts)");
            for (r, w) in want.iter().enumerate() {
                assert_eq!((idx[r], sc[r].to_bits()), (w.index, w.score.to_bits()));
            }
            // Beyond the count, untouched.
            assert!(
                idx[n..].iter().all(|&i| i == usize::MAX) && sc[n..].iter().all(|&s| s == -1.5)
            );
        });
    }
}

#[test]
fn packed_buffers_the_caller_owns_are_checked() {
    let codes = bytes(70 * 3, 8);
    assert_eq!(pq::packed_len(70, 3), Some(2 * 64 * 3));
    assert_eq!(pq::packed_len(0, 3), Some(0));
    assert_eq!(pq::packed_len(usize::MAX, 1), None);
    assert_eq!(pq::packed_len(usize::MAX / 64, 65), None);
    let len = pq::packed_len(70, 3).unwrap();
    let mut buf = vec![9u8; len + 1];
    // Wrong lengths, m = 0, ragged codes: errors, and the buffer untouched.
    assert!(matches!(
        pq::pack_into(&codes, 3, &mut buf),
        Err(KernelError::LengthMismatch { what: "packed", .. })
    ));
    assert!(matches!(
        pq::pack_into(&codes, 0, &mut buf[..len]),
        Err(KernelError::InvalidParameter { what: "m", .. })
    ));
    assert!(matches!(
        pq::pack_into(&codes[1..], 3, &mut buf[..len]),
        Err(KernelError::NotAMultiple { .. })
    ));
    assert!(buf.iter().all(|&b| b == 9));
    assert_eq!(pq::pack_into(&codes, 3, &mut buf[..len]).unwrap(), 70);
    assert!(matches!(
        pq::PackedCodes::from_packed(&buf[..], 70, 3),
        Err(KernelError::LengthMismatch { what: "packed", .. })
    ));
    assert!(pq::PackedCodes::from_packed(&buf[..len], 70, 0).is_err());
    assert!(pq::PackedCodes::from_packed(&buf[..len], usize::MAX, 3).is_err());
    // An owned buffer round-trips too.
    let owned = pq::PackedCodes::from_packed(buf[..len].to_vec(), 70, 3).unwrap();
    assert_eq!(owned.row(69).collect::<Vec<_>>(), &codes[69 * 3..]);

    let view = pq::PackedCodes::from_packed(&buf[..len], 70, 3).unwrap();
    let codebook = floats(3 * CENTROIDS, 1, 1.0);
    let (mut idx, mut sc) = ([0usize; 4], [0.0f32; 3]);
    assert!(matches!(
        pq::top_k_packed_into_parts(
            &[1.0; 3],
            &codebook,
            3,
            Metric::L2,
            &view,
            &mut idx,
            &mut sc
        ),
        Err(KernelError::LengthMismatch { what: "scores", .. })
    ));
    let mut sc = [0.0f32; 4];
    assert!(matches!(
        pq::top_k_packed_into_parts(&[1.0; 3], &codebook, 3, Metric::L2, &view, &mut [], &mut []),
        Err(KernelError::InvalidParameter { what: "k", .. })
    ));
    let one = floats(CENTROIDS, 2, 1.0);
    assert!(matches!(
        pq::top_k_packed_into_parts(&[1.0], &one, 1, Metric::L2, &view, &mut idx, &mut sc),
        Err(KernelError::LengthMismatch {
            what: "packed m",
            ..
        })
    ));
    assert_eq!((idx, sc), ([0; 4], [0.0; 4]));
}

#[test]
fn top_k_packed_equals_top_k_on_random_inputs() {
    for (m, dsub, n, k, seed) in [
        (1, 1, 5, 2, 1),
        (4, 2, 300, 10, 2),
        (8, 2, 1000, 1, 3),
        (16, 1, 129, 200, 4),
        (96, 1, 700, 25, 5),
    ] {
        let codebook = floats(m * CENTROIDS * dsub, seed, 1.0);
        let query = floats(m * dsub, seed + 1, 1.0);
        let codes = bytes(n * m, seed + 2);
        check_packed_top_k(&codebook, &query, m, &codes, k);
    }
}

#[test]
fn top_k_packed_equals_top_k_on_ties_and_degenerate_tables() {
    let m = 4;
    // All rows equal: every score ties, the lowest indices win.
    let codebook = floats(m * CENTROIDS, 9, 1.0);
    check_packed_top_k(&codebook, &[0.5; 4], m, &vec![7; 100 * m], 5);
    // A constant codebook: scale 0, every row rescored.
    check_packed_top_k(
        &vec![0.25; m * CENTROIDS],
        &[1.0; 4],
        m,
        &bytes(90 * m, 3),
        7,
    );
    // Few distinct codes: many ties and near ties under the quantization.
    let codes: Vec<u8> = bytes(500 * m, 4).iter().map(|b| b % 3).collect();
    check_packed_top_k(&codebook, &[0.1, -0.2, 0.3, 0.0], m, &codes, 40);
    // k >= n, and n = 0.
    check_packed_top_k(&codebook, &[1.0; 4], m, &bytes(10 * m, 5), 64);
    check_packed_top_k(&codebook, &[1.0; 4], m, &[], 3);
    // Non-finite tables fall back to an exact scan; NaN rows are skipped as top_k skips them.
    let mut wild = codebook.clone();
    wild[5] = f32::NAN;
    wild[CENTROIDS + 9] = f32::INFINITY;
    let codes: Vec<u8> = bytes(200 * m, 6).iter().map(|b| b % 12).collect();
    check_packed_top_k(&wild, &[1.0; 4], m, &codes, 30);
}
