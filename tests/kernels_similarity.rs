//! Cosine similarity and top-k: spec examples, error messages, and differential property tests
//! against an f64 reference on every SIMD level this CPU supports.

mod kernels_common;

use engram_kernels::kernels::KernelError;
use engram_kernels::kernels::similarity::{
    Match, cosine_similarity, cosine_similarity_batch, top_k, top_k_into, top_k_into_parts,
};
use kernels_common::{cos_ref, for_each_level, mag_ref};
use proptest::prelude::*;

/// The spec's tolerance against the f64 reference.
const TOL: f64 = 1e-5;

/// Compares with the spec's printed values (f64, as the spec writes them).
fn assert_close(got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (f64::from(g) - w).abs() <= tol,
            "score {i}: got {g}, want {w}"
        );
    }
}

#[test]
fn spec_example_three_dims() {
    for_each_level(|level| {
        let s = cosine_similarity(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        assert_close(&s, &[1.0, 0.974_631_786], 1e-6);
        assert!(s[0] <= 1.0, "{level}: not clamped");
    });
}

#[test]
fn spec_example_eight_dims() {
    let q: Vec<f32> = (1..=8).map(|x| x as f32).collect();
    let mut c = q.clone();
    c.extend(q.iter().rev());
    c.extend([0.0; 8]);
    c.extend(q.iter().map(|x| -x));
    for_each_level(|_| {
        let mut s = [f32::NAN; 4];
        cosine_similarity_batch(&q, &c, &mut s).unwrap();
        assert_close(&s, &[1.0, 0.588_235_319, 0.0, -1.0], 1e-6);
        assert_eq!(s[2], 0.0);
    });
}

#[test]
fn clamps_the_seeds_overshoot() {
    // The seed returns 1.00000024 for 768 tens against 768 tenths.
    let q = vec![10.0f32; 768];
    let c = vec![0.1f32; 768];
    for_each_level(|level| {
        let s = cosine_similarity(&q, &c).unwrap();
        assert!(s[0] <= 1.0 && s[0] >= 1.0 - 1e-6, "{level}: {}", s[0]);
        let neg: Vec<f32> = c.iter().map(|x| -x).collect();
        let s = cosine_similarity(&q, &neg).unwrap();
        assert!(s[0] >= -1.0 && s[0] <= -1.0 + 1e-6, "{level}: {}", s[0]);
    });
}

/// The kernels prove a query finite from its sum of squares and scan it only when that sum is not
/// finite: a query whose squares overflow is still valid, and a NaN or an infinity anywhere (past
/// the first block of the scan, in the tail, with no candidates, k = 0) is still reported at its
/// index, by the scores and by the top-k family, whose outputs stay untouched.
#[test]
fn query_check_covers_overflow_and_every_position() {
    let dim = 200;
    let row = vec![0.5f32; dim];
    for_each_level(|level| {
        let mut huge = vec![1.0f32; dim];
        huge[3] = 1e20; // finite, but dot(q, q) overflows f32
        let mut s = [7.0f32; 2];
        cosine_similarity_batch(&huge, &[row.clone(), row.clone()].concat(), &mut s).unwrap();
        assert_eq!(s, [0.0; 2], "{level}");
        assert_eq!(cosine_similarity(&huge, &row).unwrap(), [0.0], "{level}");
        assert!(
            cosine_similarity_batch(&huge, &[], &mut []).is_ok(),
            "{level}"
        );
        // The top-k family checks the query the same way, over more than one block of rows.
        let many = row.repeat(300);
        let (mut idx, mut sc) = ([0usize; 3], [0.0f32; 3]);
        assert!(top_k(&huge, &many, 3).is_ok(), "{level}");
        assert!(
            top_k_into(&huge, &many, &mut [Match::default(); 3]).is_ok(),
            "{level}"
        );
        assert!(
            top_k_into_parts(&huge, &many, &mut idx, &mut sc).is_ok(),
            "{level}"
        );
        assert!(top_k(&huge, &[], 3).is_ok(), "{level}");
        for index in [0, 63, 64, 130, 199] {
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                let mut q = vec![1.0f32; dim];
                q[index] = bad;
                let mut s = [7.0f32; 1];
                let untouched = Match {
                    index: 9,
                    score: 9.0,
                };
                let mut out = [untouched; 3];
                let (mut idx, mut sc) = ([9usize; 3], [9.0f32; 3]);
                for e in [
                    cosine_similarity_batch(&q, &row, &mut s).unwrap_err(),
                    cosine_similarity_batch(&q, &[], &mut []).unwrap_err(),
                    cosine_similarity(&q, &row).unwrap_err(),
                    cosine_similarity(&q, &[]).unwrap_err(),
                    top_k(&q, &many, 3).unwrap_err(),
                    top_k(&q, &[], 3).unwrap_err(),
                    top_k(&q, &many, 0).unwrap_err(),
                    top_k_into(&q, &many, &mut out).unwrap_err(),
                    top_k_into_parts(&q, &many, &mut idx, &mut sc).unwrap_err(),
                ] {
                    assert_query_not_finite(e, index, bad, level);
                }
                assert_eq!(out, [untouched; 3], "{level}");
                assert_eq!((idx, sc), ([9; 3], [9.0; 3]), "{level}");
                assert_eq!(s, [0.0], "{level}");
            }
        }
    });
}

/// `e` is `NotFinite` for the query at `index`, holding `bad` (compared by bits: NaN != NaN, so
/// the variant is compared field by field).
fn assert_query_not_finite(e: KernelError, index: usize, bad: f32, level: impl std::fmt::Display) {
    match e {
        KernelError::NotFinite {
            what: "query",
            index: i,
            value,
        } => {
            assert_eq!(i, index, "{level}");
            assert_eq!(value.to_bits(), bad.to_bits(), "{level}");
        }
        other => panic!("{level}: wrong error {other:?}"),
    }
}

#[test]
fn nan_inf_and_tiny_vectors_score_zero() {
    let q = [1.0f32, 2.0, 3.0, 4.0, 5.0];
    let rows: [[f32; 5]; 5] = [
        [1.0, f32::NAN, 3.0, 4.0, 5.0],
        [1.0, 2.0, f32::INFINITY, 4.0, 5.0],
        [f32::NEG_INFINITY, 2.0, 3.0, 4.0, 5.0],
        [1e-16, 0.0, 0.0, 0.0, 0.0], // dot(c, c) = 1e-32 < 1e-30
        [1e20, 1.0, 1.0, 1.0, 1.0],  // dot(c, c) overflows f32
    ];
    let c: Vec<f32> = rows.iter().flatten().copied().collect();
    for_each_level(|level| {
        assert_eq!(cosine_similarity(&q, &c).unwrap(), [0.0; 5]);
        // A query of tiny magnitude scores 0 against everything.
        assert_eq!(
            cosine_similarity(&[1e-16, 0.0, 0.0], &[1.0; 3]).unwrap(),
            [0.0]
        );
        // A query with NaN or an infinity is an error, but batch still writes the spec's zeros
        // (the C export relies on that).
        for (bad_q, index) in [
            ([f32::NAN, 1.0, 1.0, 1.0, 1.0], 0),
            ([1.0, 1.0, 1.0, 1.0, f32::INFINITY], 4),
            ([1.0, f32::NEG_INFINITY, 1.0, f32::NAN, 1.0], 1),
        ] {
            let mut s = [7.0f32; 6];
            let e =
                cosine_similarity_batch(&bad_q, &[q, q, q, q, q, q].concat(), &mut s).unwrap_err();
            assert_query_not_finite(e, index, bad_q[index], level);
            assert_eq!(s, [0.0; 6]);
            assert!(cosine_similarity(&bad_q, &q).is_err());
            assert!(top_k(&bad_q, &q, 1).is_err());
        }
    });
}

#[test]
fn empty_inputs() {
    let mut none: [f32; 0] = [];
    cosine_similarity_batch(&[1.0], &[], &mut none).unwrap();
    let mut three = [5.0f32; 3];
    cosine_similarity_batch(&[], &[], &mut three).unwrap();
    assert_eq!(three, [0.0; 3], "dim 0 gives zeros");
    assert!(cosine_similarity(&[1.0, 2.0], &[]).unwrap().is_empty());
    assert!(cosine_similarity(&[], &[]).unwrap().is_empty());
    assert!(top_k(&[], &[], 3).unwrap().is_empty());
    assert!(top_k(&[1.0], &[1.0, 2.0], 0).unwrap().is_empty());
    assert_eq!(top_k_into(&[1.0], &[2.0], &mut []).unwrap(), 0);
}

#[test]
fn error_messages() {
    let mut s = [0.0f32; 2];
    let e = cosine_similarity_batch(&[1.0, 2.0], &[1.0, 2.0, 3.0], &mut s).unwrap_err();
    assert_eq!(
        e,
        KernelError::LengthMismatch {
            what: "candidates",
            expected: 4,
            actual: 3
        }
    );
    assert_eq!(e.to_string(), "candidates has length 3, expected 4");
    let e = cosine_similarity_batch(&[1.0, 2.0], &[1.0; 6], &mut s).unwrap_err();
    assert_eq!(e.to_string(), "scores has length 2, expected 3");
    let e = cosine_similarity_batch(&[], &[1.0], &mut s).unwrap_err();
    assert_eq!(e, KernelError::EmptyQuery);
    assert_eq!(e.to_string(), "query is empty");
    assert_eq!(s, [0.0; 2], "scores untouched on error");

    let e = cosine_similarity(&[1.0, 2.0, 3.0], &[1.0; 7]).unwrap_err();
    assert_eq!(
        e,
        KernelError::NotAMultiple {
            what: "candidates",
            len: 7,
            dim: 3
        }
    );
    assert_eq!(
        e.to_string(),
        "candidates has length 7, which is not a multiple of the dimension 3"
    );
    let e = cosine_similarity(&[], &[1.0]).unwrap_err();
    assert_eq!(e.to_string(), "query is empty");
    assert_eq!(
        top_k(&[], &[1.0, 2.0], 1).unwrap_err(),
        KernelError::EmptyQuery
    );
    let e = cosine_similarity(&[1.0, f32::INFINITY], &[1.0, 2.0]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "query[1] is inf; cosine similarity needs finite components"
    );
    assert_eq!(
        top_k_into(&[f32::NAN], &[1.0], &mut [Match::default()])
            .unwrap_err()
            .to_string(),
        "query[0] is NaN; cosine similarity needs finite components"
    );
    assert_eq!(top_k(&[1.0, 2.0], &[1.0; 3], 1).unwrap_err(), e_nm(3, 2));
    assert_eq!(
        top_k_into(&[1.0, 2.0], &[1.0; 5], &mut [Match::default(); 2]).unwrap_err(),
        e_nm(5, 2)
    );
}

fn e_nm(len: usize, dim: usize) -> KernelError {
    KernelError::NotAMultiple {
        what: "candidates",
        len,
        dim,
    }
}

/// Best first, ties by lower index, from independently computed scores.
fn top_ref(scores: &[f32], k: usize) -> Vec<usize> {
    top_ref_defined(scores, &vec![true; scores.len()], k)
}

/// Like `top_ref`, leaving out the rows marked undefined.
fn top_ref_defined(scores: &[f32], defined: &[bool], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).filter(|&i| defined[i]).collect();
    idx.sort_by(|&a, &b| scores[b].partial_cmp(&scores[a]).unwrap().then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

#[test]
fn top_k_orders_ties_by_index() {
    // Rows 1, 3 and 4 tie at 1.0; rows 0 and 2 tie at 0.
    let q = [1.0f32, 0.0];
    let c = [0.0, 1.0, 2.0, 0.0, 0.0, 5.0, 3.0, 0.0, 1.0, 0.0, -1.0, 0.0];
    for_each_level(|_| {
        let got: Vec<usize> = top_k(&q, &c, 5).unwrap().iter().map(|m| m.index).collect();
        assert_eq!(got, [1, 3, 4, 0, 2]);
        let mut out = [Match {
            index: 99,
            score: 9.0,
        }; 8];
        assert_eq!(top_k_into(&q, &c, &mut out).unwrap(), 6);
        assert_eq!(
            out[5],
            Match {
                index: 5,
                score: -1.0
            }
        );
        assert_eq!(
            out[6],
            Match {
                index: 99,
                score: 9.0
            },
            "beyond n untouched"
        );
    });
}

#[test]
fn top_k_skips_undefined_rows() {
    // Rows: genuine -1, NaN, +inf, zero, tiny, huge (dot(c, c) overflows), genuine -0.6.
    let q = [1.0f32, 0.0];
    let c = [
        -1.0,
        0.0,
        f32::NAN,
        1.0,
        f32::INFINITY,
        1.0,
        0.0,
        0.0,
        1e-16,
        0.0,
        1e20,
        0.0,
        -3.0,
        4.0,
    ];
    for_each_level(|level| {
        let best = top_k(&q, &c, 10).unwrap();
        assert_eq!(
            best,
            [
                Match {
                    index: 6,
                    score: -0.6
                },
                Match {
                    index: 0,
                    score: -1.0
                }
            ],
            "{level}"
        );
        let mut out = [Match {
            index: 99,
            score: 9.0,
        }; 4];
        assert_eq!(top_k_into(&q, &c, &mut out).unwrap(), 2);
        assert_eq!(out[2].index, 99, "beyond the count untouched");
        // A query of zero magnitude has no defined score at all.
        assert!(top_k(&[0.0, 0.0], &c, 3).unwrap().is_empty());
        // The batch scores of the undefined rows are the spec's 0.
        let s = cosine_similarity(&q, &c).unwrap();
        assert_eq!(&s[1..6], &[0.0; 5]);
    });
}

#[test]
fn top_k_spans_many_blocks() {
    // More candidates than the internal block, with many equal scores.
    let dim = 3;
    let n = 2000;
    let c: Vec<f32> = (0..n * dim)
        .map(|i| ((i * 7919) % 13) as f32 - 6.0)
        .collect();
    let q = [1.0f32, -2.0, 0.5];
    for_each_level(|level| {
        let scores = cosine_similarity(&q, &c).unwrap();
        for k in [1, 7, 300, n, n + 5] {
            let got = top_k(&q, &c, k).unwrap();
            let want = top_ref(&scores, k);
            assert_eq!(
                got.iter().map(|m| m.index).collect::<Vec<_>>(),
                want,
                "{level} k={k}"
            );
            for m in &got {
                assert_eq!(m.score, scores[m.index]);
            }
        }
    });
}

/// One f32 value from a vector's scale, with NaN and infinities injected now and then.
fn element(scale: f32) -> impl Strategy<Value = f32> {
    prop_oneof![
        40 => (-1.0f32..1.0).prop_map(move |x| x * scale),
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        1 => Just(f32::NEG_INFINITY),
        2 => Just(0.0f32),
    ]
}

/// Per-vector scales: ordinary, tiny (magnitude under the 1e-30 threshold or near it), and huge
/// (dot(v, v) overflowing f32 or close to it).
fn scale() -> impl Strategy<Value = f32> {
    prop_oneof![6 => Just(1.0f32), 1 => Just(1e-14), 1 => Just(1e-20), 1 => Just(1e15), 1 => Just(1e19), 1 => Just(3e5)]
}

fn vector(dim: usize) -> impl Strategy<Value = Vec<f32>> {
    scale().prop_flat_map(move |s| prop::collection::vec(element(s), dim))
}

fn case() -> impl Strategy<Value = (Vec<f32>, Vec<f32>, usize)> {
    (1usize..1100, 0usize..12).prop_flat_map(|(dim, n)| {
        (
            vector(dim),
            prop::collection::vec(vector(dim), n),
            0usize..4,
        )
            .prop_map(move |(q, mut rows, copies)| {
                // Scaled copies of the query score exactly ±1 and exercise the clamp.
                for (j, f) in [2.0f32, -0.5, 1.0].into_iter().take(copies).enumerate() {
                    rows.insert(j.min(rows.len()), q.iter().map(|x| x * f).collect());
                }
                let n = rows.len();
                (q, rows.concat(), n)
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn every_level_matches_the_f64_reference((q, c, n) in case()) {
        let dim = q.len();
        let want: Vec<Option<f64>> = c.chunks_exact(dim).map(|row| cos_ref(&q, row)).collect();
        let q_finite = q.iter().all(|x| x.is_finite());
        let mut failure = None;
        for_each_level(|level| {
            let mut got = vec![f32::NAN; n];
            let result = cosine_similarity_batch(&q, &c, &mut got);
            if result.is_ok() != q_finite {
                failure = Some(format!("{level}: {result:?} for a query finite={q_finite}"));
            }
            for (i, (&g, w)) in got.iter().zip(&want).enumerate() {
                let ok = (-1.0..=1.0).contains(&g)
                    && w.is_none_or(|w| (f64::from(g) - w).abs() <= TOL);
                if !ok && failure.is_none() {
                    failure = Some(format!("{level} dim {dim} row {i}: got {g}, want {w:?}"));
                }
            }
        });
        prop_assert!(failure.is_none(), "{}", failure.unwrap());
    }

    #[test]
    fn top_k_agrees_with_sorted_batch_scores((q, c, _n) in case(), k in 0usize..16) {
        let dim = q.len();
        if !q.iter().all(|x| x.is_finite()) {
            prop_assert!(top_k(&q, &c, k).is_err());
            return Ok(());
        }
        // Which rows have a score, decided in f64; cases with a magnitude on a threshold are
        // left out, since f32 rounding decides those.
        let Some(q_mag) = mag_ref(&q) else { return Ok(()) };
        let mut defined = Vec::new();
        for row in c.chunks_exact(dim) {
            let finite = row.iter().all(|x| x.is_finite());
            let Some(m) = mag_ref(row) else { return Ok(()) };
            defined.push(finite && m > 0.0 && q_mag > 0.0);
        }
        let mut failure = None;
        for_each_level(|level| {
            let scores = cosine_similarity(&q, &c).unwrap();
            let got = top_k(&q, &c, k).unwrap();
            let idx: Vec<usize> = got.iter().map(|m| m.index).collect();
            let want = top_ref_defined(&scores, &defined, k);
            if idx != want || got.iter().any(|m| m.score != scores[m.index]) {
                failure = Some(format!("{level}: {idx:?} vs {want:?}"));
            }
        });
        prop_assert!(failure.is_none(), "{}", failure.unwrap());
    }
}

#[test]
fn eight_threads_at_once() {
    let dim = 384;
    let n = 500;
    let q: Vec<f32> = (0..dim).map(|i| (i as f32 * 0.37).sin()).collect();
    let c: Vec<f32> = (0..n * dim).map(|i| (i as f32 * 0.011).cos()).collect();
    let want: Vec<f64> = c
        .chunks_exact(dim)
        .map(|row| cos_ref(&q, row).unwrap())
        .collect();
    std::thread::scope(|s| {
        for t in 0..8 {
            let (q, c, want) = (&q, &c, &want);
            s.spawn(move || {
                for _ in 0..20 {
                    let got = cosine_similarity(q, c).unwrap();
                    for (g, w) in got.iter().zip(want) {
                        assert!((f64::from(*g) - w).abs() <= TOL, "thread {t}");
                    }
                    let best = top_k(q, c, 10).unwrap();
                    assert_eq!(
                        best.iter().map(|m| m.index).collect::<Vec<_>>(),
                        top_ref(&got, 10)
                    );
                }
            });
        }
    });
}
