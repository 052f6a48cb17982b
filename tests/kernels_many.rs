//! The many-query kernels: bit-for-bit agreement with the single-query kernel on every SIMD
//! level, the f64 reference, top-k per query, errors, and eight threads at once.

mod kernels_common;

use engram_kernels::kernels::KernelError;
use engram_kernels::kernels::similarity::{
    Match, cosine_similarity_batch, cosine_similarity_many, top_k, top_k_many, top_k_many_into,
};
use kernels_common::{cos_ref, for_each_level};
use proptest::prelude::*;

/// The spec's tolerance against the f64 reference.
const TOL: f64 = 1e-5;

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

/// Runs the many-query kernel and, query by query, the single-query kernel; asserts equal bits.
fn assert_many_matches_single(queries: &[f32], dim: usize, candidates: &[f32], ctx: &str) {
    let nq = queries.len() / dim;
    let n = candidates.len() / dim;
    let mut many = vec![f32::NAN; nq * n];
    let result = cosine_similarity_many(queries, dim, candidates, &mut many);
    let finite = queries.iter().all(|x| x.is_finite());
    assert_eq!(result.is_ok(), finite, "{ctx}: {result:?}");
    for (j, q) in queries.chunks_exact(dim).enumerate() {
        let mut one = vec![f32::NAN; n];
        let r = cosine_similarity_batch(q, candidates, &mut one);
        assert_eq!(r.is_ok(), q.iter().all(|x| x.is_finite()), "{ctx}");
        for (i, (&a, &b)) in many[j * n..(j + 1) * n].iter().zip(&one).enumerate() {
            assert_eq!(
                a.to_bits(),
                b.to_bits(),
                "{ctx}: query {j} row {i}: many {a} vs single {b}"
            );
        }
    }
}

#[test]
fn many_equals_single_bit_for_bit_across_shapes() {
    // Shapes that cross every boundary: a partial SIMD tail, the 8- and 4-query blocks, the
    // two-row pairs, the tile (256 rows at small dims, 64 at d = 768) and the 64-query
    // super-block.
    let shapes = [
        (1, 1, 1),
        (3, 1, 5),
        (9, 17, 3),
        (16, 768, 130),
        (7, 33, 300),
        (70, 5, 41),
        (8, 1536, 9),
        (2, 384, 513),
    ];
    for_each_level(|level| {
        for &(nq, dim, n) in &shapes {
            let q = fill(nq * dim, 3 + nq as u64);
            let c = fill(n * dim, 5 + dim as u64);
            assert_many_matches_single(&q, dim, &c, &format!("{level} nq={nq} d={dim} n={n}"));
        }
    });
}

#[test]
fn many_matches_the_f64_reference() {
    let (nq, dim, n) = (11, 100, 77);
    let q = fill(nq * dim, 1);
    let mut c = fill(n * dim, 2);
    // A zero row, a NaN row and a copy of query 3 scaled by -2.
    c[..dim].fill(0.0);
    c[dim] = f32::NAN;
    for i in 0..dim {
        c[2 * dim + i] = -2.0 * q[3 * dim + i];
    }
    for_each_level(|level| {
        let mut s = vec![0.0f32; nq * n];
        cosine_similarity_many(&q, dim, &c, &mut s).unwrap();
        for (j, qj) in q.chunks_exact(dim).enumerate() {
            for (i, row) in c.chunks_exact(dim).enumerate() {
                let want = cos_ref(qj, row).unwrap();
                let got = f64::from(s[j * n + i]);
                assert!(
                    (got - want).abs() <= TOL,
                    "{level} q{j} r{i}: {got} vs {want}"
                );
            }
        }
        assert_eq!(s[3 * n + 2], -1.0);
    });
}

/// One query takes the single-query kernel: the same errors (a NaN reported at its index, with
/// zeros written), a finite query whose squares overflow still accepted, no rows still checked.
#[test]
fn one_query_keeps_the_errors_and_the_overflow_rule() {
    let dim = 70;
    let c = fill(3 * dim, 12);
    for_each_level(|level| {
        let mut q = fill(dim, 13);
        q[66] = f32::NEG_INFINITY;
        let mut s = [7.0f32; 3];
        let e = cosine_similarity_many(&q, dim, &c, &mut s).unwrap_err();
        assert!(
            matches!(
                e,
                KernelError::NotFinite {
                    what: "queries",
                    index: 66,
                    ..
                }
            ),
            "{level}: {e:?}"
        );
        assert_eq!(s, [0.0; 3], "{level}");
        assert!(
            cosine_similarity_many(&q, dim, &[], &mut []).is_err(),
            "{level}"
        );
        q[66] = 1e20; // finite, but dot(q, q) overflows f32: every score undefined, no error
        cosine_similarity_many(&q, dim, &c, &mut s).unwrap();
        assert_eq!(s, [0.0; 3], "{level}");
    });
}

#[test]
fn a_non_finite_query_is_reported_and_scores_zero() {
    let dim = 4;
    let mut q = fill(3 * dim, 9);
    q[dim + 2] = f32::NAN;
    let c = fill(5 * dim, 10);
    for_each_level(|level| {
        let mut s = vec![7.0f32; 15];
        let e = cosine_similarity_many(&q, dim, &c, &mut s).unwrap_err();
        assert!(
            matches!(e, KernelError::NotFinite { what: "queries", index: 6, value } if value.is_nan()),
            "{e:?}"
        );
        assert_eq!(&s[5..10], &[0.0; 5], "{level}: the NaN query scores 0");
        assert!(
            s[..5]
                .iter()
                .chain(&s[10..])
                .all(|x| *x != 0.0 && *x != 7.0)
        );
        assert_many_matches_single(&q, dim, &c, &format!("{level}"));
        assert!(top_k_many(&q, dim, &c, 2).is_err());
    });
}

#[test]
fn errors() {
    let mut s = [0.0f32; 4];
    let e = cosine_similarity_many(&[1.0; 4], 0, &[1.0; 4], &mut s).unwrap_err();
    assert_eq!(e.to_string(), "dim is 0, but it must be greater than 0");
    let e = cosine_similarity_many(&[1.0; 5], 2, &[1.0; 4], &mut s).unwrap_err();
    assert_eq!(
        e.to_string(),
        "queries has length 5, which is not a multiple of the dimension 2"
    );
    let e = cosine_similarity_many(&[1.0; 4], 2, &[1.0; 3], &mut s).unwrap_err();
    assert_eq!(
        e.to_string(),
        "candidates has length 3, which is not a multiple of the dimension 2"
    );
    let e = cosine_similarity_many(&[1.0; 4], 2, &[1.0; 6], &mut s).unwrap_err();
    assert_eq!(e.to_string(), "scores has length 4, expected 6");
    assert_eq!(s, [0.0; 4], "untouched on error");
    // Nothing to do is fine.
    cosine_similarity_many(&[], 3, &[1.0; 6], &mut []).unwrap();
    cosine_similarity_many(&[1.0; 3], 3, &[], &mut []).unwrap();

    let mut out = [Match::default(); 5];
    let mut counts = [9usize; 2];
    let e = top_k_many_into(&[1.0; 4], 2, &[1.0; 4], &mut out, &mut counts).unwrap_err();
    assert_eq!(
        e.to_string(),
        "out has length 5, which is not a multiple of the dimension 2"
    );
    let e = top_k_many_into(&[1.0; 4], 2, &[1.0; 4], &mut out[..4], &mut counts[..1]).unwrap_err();
    assert_eq!(e.to_string(), "counts has length 1, expected 2");
    assert_eq!(counts, [9, 9], "untouched on error");
    top_k_many_into(&[1.0; 4], 2, &[], &mut out[..4], &mut counts).unwrap();
    assert_eq!(counts, [0, 0]);
    assert_eq!(
        top_k_many(&[1.0; 4], 2, &[1.0; 4], 0).unwrap(),
        [vec![], vec![]]
    );
}

#[test]
fn top_k_many_equals_top_k_per_query() {
    let (nq, dim, n) = (13, 48, 700);
    let q = fill(nq * dim, 21);
    let mut c = fill(n * dim, 22);
    // Undefined rows (skipped) and exact duplicates (ties by index) across block boundaries.
    c[300 * dim] = f32::INFINITY;
    c[5 * dim..6 * dim].fill(0.0);
    let dup: Vec<f32> = c[10 * dim..11 * dim].to_vec();
    c[600 * dim..601 * dim].copy_from_slice(&dup);
    for_each_level(|level| {
        for k in [1, 5, 64, n + 3] {
            let many = top_k_many(&q, dim, &c, k).unwrap();
            assert_eq!(many.len(), nq);
            for (j, qj) in q.chunks_exact(dim).enumerate() {
                let one = top_k(qj, &c, k).unwrap();
                assert_eq!(many[j], one, "{level} k={k} query {j}");
                assert!(one.iter().all(|m| m.index != 300 && m.index != 5));
            }
            assert_eq!(many[0].len(), k.min(n - 2));
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn many_equals_single_for_random_shapes(
        nq in 0usize..20,
        dim in 1usize..80,
        n in 0usize..90,
        seed in any::<u64>(),
        special in prop::collection::vec((any::<prop::sample::Index>(), 0u8..4), 0..4),
    ) {
        let q = fill(nq * dim, seed | 1);
        let mut c = fill(n * dim, seed.rotate_left(17) | 1);
        for (at, kind) in special {
            if c.is_empty() { break; }
            let i = at.index(c.len());
            c[i] = [f32::NAN, f32::INFINITY, 0.0, 1e30][kind as usize];
        }
        let mut failure = None;
        for_each_level(|level| {
            let r = std::panic::catch_unwind(|| {
                assert_many_matches_single(&q, dim, &c, &format!("{level}"))
            });
            if r.is_err() && failure.is_none() {
                failure = Some(format!("{level}: nq={nq} dim={dim} n={n}"));
            }
        });
        prop_assert!(failure.is_none(), "{}", failure.unwrap());
    }
}

#[test]
fn eight_threads_at_once() {
    // Holding the lock keeps other tests from forcing another level midway (scores compared bit
    // for bit).
    let _guard = kernels_common::force_lock();
    let (nq, dim, n) = (5, 96, 400);
    let q = fill(nq * dim, 31);
    let c = fill(n * dim, 32);
    let mut want = vec![0.0f32; nq * n];
    cosine_similarity_many(&q, dim, &c, &mut want).unwrap();
    let want_top = top_k_many(&q, dim, &c, 7).unwrap();
    std::thread::scope(|s| {
        for t in 0..8 {
            let (q, c, want, want_top) = (&q, &c, &want, &want_top);
            s.spawn(move || {
                for _ in 0..10 {
                    let mut got = vec![0.0f32; nq * n];
                    cosine_similarity_many(q, dim, c, &mut got).unwrap();
                    assert_eq!(&got, want, "thread {t}");
                    assert_eq!(&top_k_many(q, dim, c, 7).unwrap(), want_top, "thread {t}");
                }
            });
        }
    });
}
