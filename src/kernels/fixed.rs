//! Vector operations on fixed-size embeddings (`&[f32; D]`), with the semantics of the Engram
//! engine's `compute::VectorOps` and run-time SIMD dispatch (AVX-512F, AVX2+FMA, NEON, scalar;
//! see [`dispatch`]).
//!
//! Engram's trait fixes `D = 768`; here `D` is a const generic (384, 768 and 1536 are the usual
//! embedding sizes), so for multiples of 16 no tail code runs. The sums keep four accumulators
//! each (the batch cosine four rows in flight, as the similarity kernel), where Engram's loops
//! wait on one. The functions take no scratch and allocate only where they return a `Vec`.
//!
//! Semantics, shared with Engram's scalar reference:
//!
//! - [`cosine`] is 0 when either vector's norm is exactly 0, otherwise `dot / (|a| · |b|)`
//!   clamped to `[-1, 1]`. A NaN anywhere gives NaN; an infinite norm gives 0 or NaN, as the
//!   division does.
//! - [`cosine_batch`] is [`cosine`] per row with the query's norm computed once: every score is 0
//!   when the query's norm is 0.
//! - [`weighted_average`] is `Σ weights[j] · vectors[j] / Σ weights` over the first
//!   `min(vectors, weights)` pairs, where the divisor sums *all* the weights; all zeros when
//!   either slice is empty or the weights sum to exactly 0.
//! - [`gather`] reads 0 for an index out of range; [`fma_accumulate`] and [`dot_columnar`] stop
//!   at the shorter slice.
//!
//! Sums are accumulated in `f32` with several accumulators (fused multiply-adds where the
//! instruction set has them), so results differ from a sequential sum by rounding: within
//! `1e-5 · Σ|aᵢ·bᵢ|` for the dot products and within `1e-5` for the cosines (the tests check
//! these bounds against an f64 reference at every level). The cosine's final division is in f64.
//!
//! # Example
//!
//! ```
//! use engram_kernels::kernels::fixed;
//!
//! let query = [0.5f32; 768];
//! let rows = vec![[1.0f32; 768], [-2.0; 768], [0.0; 768]];
//! let scores = fixed::cosine_batch(&query, &rows);
//! assert_eq!(scores, [1.0, -1.0, 0.0]);
//! assert_eq!(fixed::dot(&query, &rows[0]), 384.0);
//! ```

use core::mem::MaybeUninit;

use super::dispatch::{self, Isa};
use crate::kernels::similarity::kernel::Scalar8;

mod lanes;
#[cfg(target_arch = "aarch64")]
mod neon;
mod ops;
#[cfg(target_arch = "x86_64")]
mod x86;

use ops::Op;

/// Slices shorter than this take a plain loop instead of the dispatch.
const SHORT: usize = 32;

/// Runs `op` at the active SIMD level.
#[inline]
fn run<O: Op>(op: O) -> O::Out {
    let mut out = MaybeUninit::uninit();
    match dispatch::token().isa() {
        // SAFETY: `Scalar8` uses no instruction beyond the target's baseline; `out` is valid for
        // a write.
        Isa::Scalar => unsafe { op.run::<Scalar8>(out.as_mut_ptr()) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2(t) => x86::avx2(t, op, &mut out),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512(t) => x86::avx512(t, op, &mut out),
        #[cfg(target_arch = "aarch64")]
        Isa::Neon(t) => neon::neon(t, op, &mut out),
    }
    // SAFETY: every `Op` writes its result to `out` before `run` returns, or its result is `()`
    // (the trait's contract).
    unsafe { out.assume_init() }
}

/// Cosine similarity of `a` and `b`: 0 when either norm is 0, otherwise clamped to `[-1, 1]`.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::fixed::cosine;
///
/// let a = [1.0f32; 384];
/// assert_eq!(cosine(&a, &a), 1.0);
/// assert_eq!(cosine(&a, &[0.0; 384]), 0.0);
/// ```
pub fn cosine<const D: usize>(a: &[f32; D], b: &[f32; D]) -> f32 {
    run(ops::Cosine(a, b))
}

/// The cosine similarity of `query` with every row, in row order.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::fixed::cosine_batch;
///
/// let scores = cosine_batch(&[1.0f32, 0.0], &[[0.0, 2.0], [3.0, 0.0]]);
/// assert_eq!(scores, [0.0, 1.0]);
/// ```
pub fn cosine_batch<const D: usize>(query: &[f32; D], rows: &[[f32; D]]) -> Vec<f32> {
    let mut scores = vec![0.0; rows.len()];
    cosine_batch_into(query, rows, &mut scores);
    scores
}

/// [`cosine_batch`] into a caller's buffer: `scores[i]` = cosine of `query` and `rows[i]`.
///
/// # Panics
///
/// If `scores.len() != rows.len()`.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::fixed::cosine_batch_into;
///
/// let mut scores = [9.0f32; 2];
/// cosine_batch_into(&[0.0f32; 4], &[[1.0; 4], [2.0; 4]], &mut scores);
/// assert_eq!(scores, [0.0, 0.0]); // a zero query scores 0 everywhere
/// ```
pub fn cosine_batch_into<const D: usize>(query: &[f32; D], rows: &[[f32; D]], scores: &mut [f32]) {
    let qq = run(ops::SumSquares(query));
    let inv_q = if qq == 0.0 {
        0.0
    } else {
        1.0 / f64::from(qq).sqrt()
    };
    batch_with_inv(query, qq == 0.0, inv_q, rows, scores);
}

/// [`cosine_batch_into`] with the query's norm (as [`l2_norm`] returns it) given, so a query
/// scored against many row sets pays for it once.
///
/// # Panics
///
/// If `scores.len() != rows.len()`.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::fixed::{cosine_batch_with_norm_into, l2_norm};
///
/// let query = [3.0f32, 4.0];
/// let norm = l2_norm(&query);
/// let mut scores = [0.0f32; 1];
/// cosine_batch_with_norm_into(&query, norm, &[[4.0, 3.0]], &mut scores);
/// assert!((scores[0] - 0.96).abs() < 1e-6);
/// ```
pub fn cosine_batch_with_norm_into<const D: usize>(
    query: &[f32; D],
    query_norm: f32,
    rows: &[[f32; D]],
    scores: &mut [f32],
) {
    batch_with_inv(
        query,
        query_norm == 0.0,
        1.0 / f64::from(query_norm),
        rows,
        scores,
    );
}

fn batch_with_inv<const D: usize>(
    query: &[f32; D],
    zero_query: bool,
    inv_q: f64,
    rows: &[[f32; D]],
    scores: &mut [f32],
) {
    assert_eq!(scores.len(), rows.len(), "one score per row");
    if zero_query {
        scores.fill(0.0);
        return;
    }
    run(ops::CosineBatch {
        query,
        inv_q,
        rows,
        scores,
    });
}

/// The dot product `Σ a[i] · b[i]`.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::fixed::dot;
///
/// assert_eq!(dot(&[2.0f32; 768], &[3.0; 768]), 4608.0);
/// ```
pub fn dot<const D: usize>(a: &[f32; D], b: &[f32; D]) -> f32 {
    run(ops::Dot(a, b))
}

/// The Euclidean norm `√(Σ v[i]²)`.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::fixed::l2_norm;
///
/// assert_eq!(l2_norm(&[3.0f32, 4.0]), 5.0);
/// ```
pub fn l2_norm<const D: usize>(v: &[f32; D]) -> f32 {
    run(ops::SumSquares(v)).sqrt()
}

/// The element-wise sum `a + b`.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::fixed::add;
///
/// assert_eq!(add(&[1.0f32, 2.0], &[3.0, 4.0]), [4.0, 6.0]);
/// ```
pub fn add<const D: usize>(a: &[f32; D], b: &[f32; D]) -> [f32; D] {
    run(ops::Add(a, b))
}

/// `v · factor`, element by element.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::fixed::scale;
///
/// assert_eq!(scale(&[1.0f32, -2.0], 0.5), [0.5, -1.0]);
/// ```
pub fn scale<const D: usize>(v: &[f32; D], factor: f32) -> [f32; D] {
    run(ops::Scale(v, factor))
}

/// `Σ weights[j] · vectors[j] / Σ weights`, over the first `min(vectors.len(), weights.len())`
/// pairs; the divisor is the sum of all of `weights` (Engram's definition). All zeros when either
/// slice is empty or the weights sum to exactly 0. The sum is multiplied by the reciprocal of the
/// divisor, as Engram's SIMD path does.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::fixed::weighted_average;
///
/// let avg = weighted_average(&[&[0.0f32, 4.0], &[4.0, 0.0]], &[3.0, 1.0]);
/// assert_eq!(avg, [1.0, 3.0]);
/// assert_eq!(weighted_average::<2>(&[], &[1.0]), [0.0, 0.0]);
/// ```
pub fn weighted_average<const D: usize>(vectors: &[&[f32; D]], weights: &[f32]) -> [f32; D] {
    if vectors.is_empty() || weights.is_empty() {
        return [0.0; D];
    }
    let sum: f32 = weights.iter().sum();
    if sum == 0.0 {
        return [0.0; D];
    }
    run(ops::WeightedSum {
        vectors,
        weights,
        inv: 1.0 / sum,
    })
}

/// `accumulator[i] += column[i] · scalar` for every `i` below both lengths.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::fixed::fma_accumulate;
///
/// let mut acc = [1.0f32, 1.0, 1.0];
/// fma_accumulate(&[1.0, 2.0], 2.0, &mut acc);
/// assert_eq!(acc, [3.0, 5.0, 1.0]);
/// ```
pub fn fma_accumulate(column: &[f32], scalar: f32, accumulator: &mut [f32]) {
    // Below two AVX-512 vectors the dispatch costs more than the arithmetic.
    if column.len().min(accumulator.len()) < SHORT {
        for (a, &c) in accumulator.iter_mut().zip(column) {
            *a += c * scalar;
        }
        return;
    }
    run(ops::FmaAccumulate {
        column,
        scalar,
        acc: accumulator,
    });
}

/// `base[i]` for every index, 0 where an index is out of range. Scalar: the loads are
/// independent and the out-of-range rule needs a compare per index anyway.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::fixed::gather;
///
/// assert_eq!(gather(&[1.0, 2.0, 3.0], &[2, 0, 7]), [3.0, 1.0, 0.0]);
/// ```
pub fn gather(base: &[f32], indices: &[usize]) -> Vec<f32> {
    indices
        .iter()
        .map(|&i| base.get(i).copied().unwrap_or(0.0))
        .collect()
}

/// The sum of `values` (in several partial sums, so not bit-equal to a sequential sum).
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::fixed::horizontal_sum;
///
/// assert_eq!(horizontal_sum(&[1.0, 2.0, 3.5]), 6.5);
/// ```
pub fn horizontal_sum(values: &[f32]) -> f32 {
    run(ops::Sum(values))
}

/// Dot products of `query` with candidates stored by column: `results[i] = Σ_d query[d] ·
/// columns[d][i]` over the first `min(D, columns.len())` columns, dimensions in order. Column `d`
/// contributes to `results[i]` only where `i < columns[d].len()`; `results` is overwritten.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::fixed::dot_columnar;
///
/// // Two candidates of dimension 2, (1, 2) and (3, 4), stored as two columns.
/// let columns: [&[f32]; 2] = [&[1.0, 3.0], &[2.0, 4.0]];
/// let mut results = [0.0f32; 2];
/// dot_columnar(&[10.0f32, 1.0], &columns, &mut results);
/// assert_eq!(results, [12.0, 34.0]);
/// ```
pub fn dot_columnar<const D: usize>(query: &[f32; D], columns: &[&[f32]], results: &mut [f32]) {
    run(ops::DotColumnar {
        query,
        columns,
        results,
    });
}

#[cfg(test)]
mod tests {
    use super::ops::{batch_score, cosine_from_sums};

    #[test]
    fn cosine_from_sums_follows_engram() {
        assert_eq!(cosine_from_sums(1.0, 0.0, 4.0), 0.0);
        assert_eq!(cosine_from_sums(1.0, 4.0, 0.0), 0.0);
        assert_eq!(cosine_from_sums(2.0, 1.0, 4.0), 1.0);
        // Rounding past 1 is clamped.
        assert_eq!(cosine_from_sums(2.0001, 1.0, 4.0), 1.0);
        assert_eq!(cosine_from_sums(-2.0001, 1.0, 4.0), -1.0);
        assert!(cosine_from_sums(f32::NAN, 1.0, 1.0).is_nan());
        assert!(cosine_from_sums(1.0, f32::NAN, 1.0).is_nan());
        // An infinite norm: finite dot gives 0, infinite dot NaN (as dot / (|a| |b|) does).
        assert_eq!(cosine_from_sums(1.0, f32::INFINITY, 1.0), 0.0);
        assert!(cosine_from_sums(f32::INFINITY, f32::INFINITY, 1.0).is_nan());
    }

    #[test]
    fn batch_score_matches_cosine_from_sums() {
        for (d, qq, cc) in [(3.0f32, 4.0f32, 9.0f32), (-1.0, 2.0, 0.5), (0.25, 1.0, 0.0)] {
            let inv_q = 1.0 / f64::from(qq).sqrt();
            let want = cosine_from_sums(d, qq, cc);
            assert!(
                (batch_score(d, inv_q, cc) - want).abs() <= 1e-7,
                "{d} {qq} {cc}"
            );
        }
        assert!(batch_score(f32::NAN, 1.0, 1.0).is_nan());
        assert_eq!(batch_score(1.0, 0.0, 1.0), 0.0);
        assert!(batch_score(f32::INFINITY, 0.0, 1.0).is_nan());
    }
}
