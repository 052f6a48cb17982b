//! `kernels::fixed` against f64 references at every SIMD level this CPU runs, at the embedding
//! sizes (384, 768, 1536) and at odd sizes whose tails are shorter than a vector; then the
//! edge cases of Engram's semantics (zero and NaN vectors, clamping, the weighted average's
//! divisor, out-of-range gathers).

mod kernels_common;

use engram_kernels::kernels::fixed;
use kernels_common::for_each_level;

/// Deterministic values in [-1, 1).
fn values(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|i| {
            let h = (i as u32)
                .wrapping_mul(2_654_435_761)
                .wrapping_add(seed.wrapping_mul(40_503));
            ((h >> 16) % 2000) as f32 / 1000.0 - 1.0
        })
        .collect()
}

fn array<const D: usize>(seed: u32) -> [f32; D] {
    values(D, seed).try_into().unwrap()
}

fn dot_ref(a: &[f32], b: &[f32]) -> (f64, f64) {
    let exact = a.iter().zip(b).map(|(&x, &y)| f64::from(x) * f64::from(y));
    let abs = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) * f64::from(y)).abs());
    (exact.sum(), abs.sum())
}

/// Engram's cosine in f64: 0 when a norm is 0.
fn cos_ref(a: &[f32], b: &[f32]) -> f64 {
    let (d, _) = dot_ref(a, b);
    let (aa, bb) = (dot_ref(a, a).0, dot_ref(b, b).0);
    if aa == 0.0 || bb == 0.0 {
        0.0
    } else {
        (d / (aa.sqrt() * bb.sqrt())).clamp(-1.0, 1.0)
    }
}

/// Every operation at size `D` against its reference, with the tolerances the module documents.
fn check<const D: usize>(ctx: &str) {
    let a = array::<D>(1);
    let b = array::<D>(2);
    let ctx = format!("{ctx} D={D}");

    let got = f64::from(fixed::cosine(&a, &b));
    assert!((got - cos_ref(&a, &b)).abs() <= 1e-5, "{ctx} cosine {got}");

    let (want, abs) = dot_ref(&a, &b);
    let got = f64::from(fixed::dot(&a, &b));
    assert!((got - want).abs() <= 1e-5 * abs, "{ctx} dot {got} {want}");

    let want = dot_ref(&a, &a).0.sqrt();
    let got = f64::from(fixed::l2_norm(&a));
    assert!((got - want).abs() <= 1e-6 * want, "{ctx} norm {got} {want}");

    // One rounding per element, whatever the lane width: exact.
    let sum = fixed::add(&a, &b);
    let scaled = fixed::scale(&a, -1.75);
    for i in 0..D {
        assert_eq!(sum[i], a[i] + b[i], "{ctx} add [{i}]");
        assert_eq!(scaled[i], a[i] * -1.75, "{ctx} scale [{i}]");
    }

    for n in [1usize, 3, 9] {
        let vs: Vec<[f32; D]> = (0..n as u32).map(|s| array::<D>(10 + s)).collect();
        let refs: Vec<&[f32; D]> = vs.iter().collect();
        let ws: Vec<f32> = (0..n).map(|j| 0.25 + j as f32 * 0.5).collect();
        let wsum: f64 = ws.iter().map(|&w| f64::from(w)).sum();
        let avg = fixed::weighted_average(&refs, &ws);
        for i in 0..D {
            let terms = vs
                .iter()
                .zip(&ws)
                .map(|(v, &w)| f64::from(v[i]) * f64::from(w));
            let abs: f64 = terms.clone().map(f64::abs).sum();
            let want = terms.sum::<f64>() / wsum;
            let tol = 1e-5 * abs / wsum + 1e-7 * want.abs();
            let got = f64::from(avg[i]);
            assert!((got - want).abs() <= tol, "{ctx} avg n={n} [{i}]");
        }
    }

    // Batch: rows 0 and 2 (when present) zero and NaN; lengths around the four parts.
    for n in [0usize, 1, 3, 4, 5, 9, 63] {
        let mut rows: Vec<[f32; D]> = (0..n as u32).map(|s| array::<D>(100 + s)).collect();
        if n > 0 {
            rows[0] = [0.0; D];
        }
        if n > 2 {
            rows[2][D / 2] = f32::NAN;
        }
        let scores = fixed::cosine_batch(&a, &rows);
        let norm = fixed::l2_norm(&a);
        let mut given = vec![7.0f32; n];
        fixed::cosine_batch_with_norm_into(&a, norm, &rows, &mut given);
        assert_eq!(scores.len(), n);
        for (i, row) in rows.iter().enumerate() {
            let c = format!("{ctx} batch n={n} row {i}");
            if i == 2 {
                assert!(scores[i].is_nan() && given[i].is_nan(), "{c}");
                continue;
            }
            let want = cos_ref(&a, row);
            assert!((f64::from(scores[i]) - want).abs() <= 1e-5, "{c}");
            assert!(
                (f64::from(given[i]) - want).abs() <= 1e-5,
                "{c} (norm given)"
            );
            assert!(
                (scores[i] - fixed::cosine(&a, row)).abs() <= 1e-5,
                "{c} vs single"
            );
        }
    }

    // Columnar: D columns of m candidates, a few of them shorter than `results`.
    for m in [0usize, 1, 7, 37, 2100] {
        let data: Vec<Vec<f32>> = (0..D)
            .map(|d| {
                let len = if d % 5 == 3 { m / 2 } else { m };
                values(len, 1000 + d as u32)
            })
            .collect();
        let columns: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
        let mut results = vec![f32::NAN; m];
        fixed::dot_columnar(&a, &columns, &mut results);
        for (i, &got) in results.iter().enumerate() {
            let terms = columns
                .iter()
                .zip(&a)
                .filter(|(c, _)| i < c.len())
                .map(|(c, &q)| f64::from(c[i]) * f64::from(q));
            let abs: f64 = terms.clone().map(f64::abs).sum();
            let want: f64 = terms.sum();
            assert!(
                (f64::from(got) - want).abs() <= 1e-5 * abs,
                "{ctx} columnar m={m} [{i}]"
            );
        }
    }
}

/// The slice operations at lengths around the vector widths, mismatched lengths included.
fn check_slices(ctx: &str) {
    for len in (0..70).chain([1000, 4097]) {
        let v = values(len, 3);
        let got = f64::from(fixed::horizontal_sum(&v));
        let want: f64 = v.iter().map(|&x| f64::from(x)).sum();
        let abs: f64 = v.iter().map(|&x| f64::from(x).abs()).sum();
        assert!((got - want).abs() <= 1e-5 * abs, "{ctx} sum len={len}");

        for acc_len in [len, len / 2, len + 3] {
            let init = values(acc_len, 4);
            let mut acc = init.clone();
            fixed::fma_accumulate(&v, 0.75, &mut acc);
            for (i, (&got, &was)) in acc.iter().zip(&init).enumerate() {
                if i < len {
                    let want = f64::from(was) + f64::from(v[i]) * 0.75;
                    let tol = 1e-7 * (f64::from(was).abs() + f64::from(v[i]).abs());
                    assert!(
                        (f64::from(got) - want).abs() <= tol,
                        "{ctx} fma {len} [{i}]"
                    );
                } else {
                    assert_eq!(got.to_bits(), was.to_bits(), "{ctx} fma untouched [{i}]");
                }
            }
        }
    }
}

#[test]
fn every_level_matches_the_f64_reference() {
    let mut levels = Vec::new();
    for_each_level(|level| {
        levels.push(level);
        let ctx = level.to_string();
        check::<1>(&ctx);
        check::<7>(&ctx);
        check::<17>(&ctx);
        check::<33>(&ctx);
        check::<100>(&ctx);
        check::<384>(&ctx);
        check::<768>(&ctx);
        check::<1536>(&ctx);
        check_slices(&ctx);
    });
    assert!(!levels.is_empty());
}

#[test]
fn zero_and_non_finite_vectors_follow_engram() {
    for_each_level(|level| {
        let a = array::<768>(5);
        let zero = [0.0f32; 768];
        assert_eq!(fixed::cosine(&a, &zero), 0.0, "{level}");
        assert_eq!(fixed::cosine(&zero, &zero), 0.0, "{level}");
        // A zero query scores 0 against everything, NaN rows included.
        let mut nan_row = a;
        nan_row[5] = f32::NAN;
        assert_eq!(fixed::cosine_batch(&zero, &[a, nan_row]), [0.0, 0.0]);
        assert!(fixed::cosine(&a, &nan_row).is_nan(), "{level}");
        assert!(fixed::dot(&a, &nan_row).is_nan(), "{level}");
        // An infinite element: the norm is infinite, the dot infinite or NaN: NaN.
        let mut inf_row = [1.0f32; 768];
        inf_row[0] = f32::INFINITY;
        assert!(fixed::cosine(&[1.0; 768], &inf_row).is_nan(), "{level}");
        assert_eq!(fixed::l2_norm(&inf_row), f32::INFINITY, "{level}");
    });
}

#[test]
fn cosine_is_clamped_to_one() {
    for_each_level(|level| {
        for seed in 0..50 {
            let a = array::<1536>(seed);
            let twice = fixed::scale(&a, 2.0);
            let neg = fixed::scale(&a, -3.0);
            let same = fixed::cosine(&a, &twice);
            let opposite = fixed::cosine(&a, &neg);
            assert!((1.0 - 1e-6..=1.0).contains(&same), "{level} {same}");
            assert!(
                (-1.0..=-1.0 + 1e-6).contains(&opposite),
                "{level} {opposite}"
            );
            for s in fixed::cosine_batch(&a, &[twice, neg, a]) {
                assert!((-1.0..=1.0).contains(&s), "{level} batch {s}");
            }
        }
    });
}

#[test]
fn weighted_average_edge_cases() {
    let a = [2.0f32; 384];
    let b = [4.0f32; 384];
    assert_eq!(fixed::weighted_average::<384>(&[], &[1.0]), [0.0; 384]);
    assert_eq!(fixed::weighted_average(&[&a], &[]), [0.0; 384]);
    // Weights summing to exactly 0 give zeros, not a division by zero.
    assert_eq!(fixed::weighted_average(&[&a, &b], &[1.0, -1.0]), [0.0; 384]);
    // Extra weights count in the divisor (Engram's definition): (2·1) / (1 + 3) = 0.5.
    assert_eq!(fixed::weighted_average(&[&a], &[1.0, 3.0]), [0.5; 384]);
    // Extra vectors are ignored.
    assert_eq!(fixed::weighted_average(&[&a, &b], &[1.0]), [2.0; 384]);
    assert!(fixed::weighted_average(&[&a], &[f32::NAN])[0].is_nan());
}

#[test]
fn gather_reads_zero_out_of_range() {
    let base = values(10, 9);
    let got = fixed::gather(&base, &[9, 0, 10, usize::MAX, 3]);
    assert_eq!(got, [base[9], base[0], 0.0, 0.0, base[3]]);
    assert!(fixed::gather(&base, &[]).is_empty());
}

#[test]
fn columnar_ignores_columns_past_the_dimension() {
    let extra = [5.0f32; 3];
    let columns: [&[f32]; 3] = [&[1.0, 2.0, 3.0], &[1.0, 1.0, 1.0], &extra];
    let mut results = [9.0f32; 3];
    fixed::dot_columnar(&[2.0f32, 1.0], &columns, &mut results);
    assert_eq!(results, [3.0, 5.0, 7.0]);
}

#[test]
#[should_panic(expected = "one score per row")]
fn batch_into_checks_the_score_length() {
    let mut scores = [0.0f32; 1];
    fixed::cosine_batch_into(&[1.0f32; 4], &[[1.0; 4], [2.0; 4]], &mut scores);
}
