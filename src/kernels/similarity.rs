//! Batch cosine similarity of one query against row-major candidates, and a top-k helper.
//!
//! Behaviour (`spec/kernels.md`): `mag(v) = sqrt(dot(v, v))`, taken as 0 when `dot(v, v)` is NaN,
//! infinite or below `1e-30`. A query of magnitude 0 scores 0 against everything; a candidate of
//! magnitude 0 scores 0; otherwise the score is `dot(q, c) / (mag(q) * mag(c))`, clamped to
//! `[-1, 1]`. So a NaN or infinity anywhere in a vector makes its score 0.
//!
//! Each candidate is read once: one streaming pass accumulates `dot(q, c)` and `dot(c, c)`
//! together in f32, in several independent accumulators, and `mag(q)` is computed once per call.
//! The final division runs in f64, so `mag(q) * mag(c)` can neither overflow nor underflow.
//! Against an f64 reference the scores agree within `1e-5` absolute on every SIMD path.
//!
//! # Example
//!
//! ```
//! use engram_kernels::kernels::similarity::{cosine_similarity, top_k};
//!
//! let query = [1.0, 2.0, 3.0];
//! let candidates = [1.0, 2.0, 3.0, /* next */ 4.0, 5.0, 6.0, /* next */ -1.0, -2.0, -3.0];
//! let scores = cosine_similarity(&query, &candidates)?;
//! assert_eq!(scores[0], 1.0);
//! assert!((scores[1] - 0.974_631_8).abs() < 1e-6);
//! assert_eq!(scores[2], -1.0);
//!
//! let best = top_k(&query, &candidates, 2)?;
//! assert_eq!(best.iter().map(|m| m.index).collect::<Vec<_>>(), [0, 1]);
//! # Ok::<(), engram_kernels::kernels::KernelError>(())
//! ```

use super::KernelError;
use super::dispatch::{self, SimdLevel};
use crate::arena::helpers::ArenaAlloc;
use crate::with_arena;

#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(target_arch = "x86_64")]
mod x86;

/// One candidate of a [`top_k`] result.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::similarity::{top_k, Match};
///
/// let best = top_k(&[1.0, 0.0], &[0.0, 1.0, 1.0, 0.0], 1)?;
/// assert_eq!(best, [Match { index: 1, score: 1.0 }]);
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Match {
    /// The candidate's row in `candidates`.
    pub index: usize,
    /// Its cosine similarity with the query.
    pub score: f32,
}

/// Writes the cosine similarity of `query` with each candidate into `scores`.
///
/// `dim = query.len()`; candidate `i` is `candidates[i * dim..(i + 1) * dim]`. With `dim == 0`
/// every score is 0. No scratch and no allocation.
///
/// # Errors
///
/// [`KernelError::LengthMismatch`] unless `candidates.len() == scores.len() * dim`.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::similarity::cosine_similarity_batch;
///
/// let q: Vec<f32> = (1..=8).map(|x| x as f32).collect();
/// let mut candidates = q.clone(); // 1..8
/// candidates.extend(q.iter().rev()); // 8..1
/// candidates.extend([0.0; 8]); // zeros
/// candidates.extend(q.iter().map(|x| -x)); // -(1..8)
/// let mut scores = [9.0; 4];
/// cosine_similarity_batch(&q, &candidates, &mut scores)?;
/// assert_eq!(scores[0], 1.0);
/// assert!((scores[1] - 0.588_235_3).abs() < 1e-6);
/// assert_eq!(&scores[2..], &[0.0, -1.0]);
///
/// let err = cosine_similarity_batch(&q, &candidates, &mut scores[..3]).unwrap_err();
/// assert_eq!(err.to_string(), "scores has length 3, expected 4");
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn cosine_similarity_batch(
    query: &[f32],
    candidates: &[f32],
    scores: &mut [f32],
) -> Result<(), KernelError> {
    let dim = query.len();
    if scores.len().checked_mul(dim) != Some(candidates.len()) {
        return Err(if dim != 0 && candidates.len().is_multiple_of(dim) {
            KernelError::LengthMismatch {
                what: "scores",
                expected: candidates.len() / dim,
                actual: scores.len(),
            }
        } else {
            KernelError::LengthMismatch {
                what: "candidates",
                expected: scores.len().saturating_mul(dim),
                actual: candidates.len(),
            }
        });
    }
    batch_at(dispatch::active(), query, candidates, scores);
    Ok(())
}

/// The cosine similarity of `query` with each candidate, in a new `Vec`.
///
/// # Errors
///
/// [`KernelError::NotAMultiple`] if `candidates.len()` is not a multiple of `query.len()` (an
/// empty query with non-empty candidates included).
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::similarity::cosine_similarity;
///
/// let scores = cosine_similarity(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])?;
/// assert_eq!(scores.len(), 2);
/// assert_eq!(scores[0], 1.0);
/// assert!((scores[1] - 0.974_631_8).abs() < 1e-6);
///
/// let err = cosine_similarity(&[1.0, 2.0], &[1.0, 2.0, 3.0]).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "candidates has length 3, which is not a multiple of the dimension 2"
/// );
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn cosine_similarity(query: &[f32], candidates: &[f32]) -> Result<Vec<f32>, KernelError> {
    let n = count(query, candidates)?;
    let mut scores = vec![0.0; n];
    batch_at(dispatch::active(), query, candidates, &mut scores);
    Ok(scores)
}

/// The `k` best candidates, best first; equal scores are ordered by lower index. Returns
/// `min(k, n)` matches. The selection heap lives in the thread's scratch arena.
///
/// # Errors
///
/// [`KernelError::NotAMultiple`] as for [`cosine_similarity`];
/// [`KernelError::ScratchExhausted`] if the heap does not fit the scratch arena under the
/// [`Error`](crate::OverflowPolicy::Error) overflow policy.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::similarity::top_k;
///
/// let q = [1.0, 0.0];
/// let candidates = [0.0, 1.0, /* */ 1.0, 1.0, /* */ 1.0, 0.0, /* */ 2.0, 2.0];
/// let best = top_k(&q, &candidates, 3)?;
/// assert_eq!(best.iter().map(|m| m.index).collect::<Vec<_>>(), [2, 1, 3]);
/// assert_eq!(best[0].score, 1.0);
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
/// use engram_kernels::ArenaAlloc;
pub fn top_k(query: &[f32], candidates: &[f32], k: usize) -> Result<Vec<Match>, KernelError> {
    let m = count(query, candidates)?.min(k);
    with_arena(|scratch| {
        let heap = scratch
            .try_alloc_slice_fill_with(m, |_| Match::default())
            .map_err(|_| KernelError::ScratchExhausted {
                requested: m.saturating_mul(size_of::<Match>()),
            })?;
        let written = top_k_into(query, candidates, heap)?;
        Ok(heap[..written].to_vec())
    })
}

/// Like [`top_k`] with `k = out.len()`, writing into `out` (used as the heap) without allocating.
/// Returns how many matches were written: `min(out.len(), n)`.
///
/// # Errors
///
/// [`KernelError::NotAMultiple`] as for [`cosine_similarity`].
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::similarity::{top_k_into, Match};
///
/// let mut out = [Match::default(); 4];
/// let n = top_k_into(&[0.0, 1.0], &[1.0, 0.0, /* */ 0.0, 3.0], &mut out)?;
/// assert_eq!(n, 2);
/// assert_eq!(out[0], Match { index: 1, score: 1.0 });
/// assert_eq!(out[1], Match { index: 0, score: 0.0 });
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn top_k_into(
    query: &[f32],
    candidates: &[f32],
    out: &mut [Match],
) -> Result<usize, KernelError> {
    let n = count(query, candidates)?;
    let m = n.min(out.len());
    if m == 0 {
        return Ok(0);
    }
    let heap = &mut out[..m];
    let level = dispatch::active();
    let dim = query.len();
    // Scores go through a small stack buffer so each block runs the batch kernel at full speed.
    const BLOCK: usize = 256;
    let mut buf = [0.0f32; BLOCK];
    for (b, block) in candidates.chunks(BLOCK * dim).enumerate() {
        let scores = &mut buf[..block.len() / dim];
        batch_at(level, query, block, scores);
        for (j, &score) in scores.iter().enumerate() {
            let cand = Match {
                index: b * BLOCK + j,
                score,
            };
            if cand.index < m {
                heap[cand.index] = cand;
                sift_up(heap, cand.index);
            } else if better(&cand, &heap[0]) {
                heap[0] = cand;
                sift_down(heap, 0);
            }
        }
    }
    heap.sort_unstable_by(|a, b| {
        if better(a, b) {
            core::cmp::Ordering::Less
        } else if better(b, a) {
            core::cmp::Ordering::Greater
        } else {
            core::cmp::Ordering::Equal
        }
    });
    Ok(m)
}

/// The number of candidates, or why `candidates` does not split into rows of `query.len()`.
fn count(query: &[f32], candidates: &[f32]) -> Result<usize, KernelError> {
    let dim = query.len();
    if candidates.is_empty() {
        return Ok(0);
    }
    if dim == 0 || !candidates.len().is_multiple_of(dim) {
        return Err(KernelError::NotAMultiple {
            what: "candidates",
            len: candidates.len(),
            dim,
        });
    }
    Ok(candidates.len() / dim)
}

/// Higher score first, then lower index. Scores are never NaN (the kernel maps NaN to 0).
#[inline]
fn better(a: &Match, b: &Match) -> bool {
    a.score > b.score || (a.score == b.score && a.index < b.index)
}

/// Min-heap on `better`: the root is the worst match kept.
fn sift_up(heap: &mut [Match], mut i: usize) {
    while i > 0 {
        let parent = (i - 1) / 2;
        if !better(&heap[parent], &heap[i]) {
            break;
        }
        heap.swap(parent, i);
        i = parent;
    }
}

fn sift_down(heap: &mut [Match], mut i: usize) {
    loop {
        let (l, r) = (2 * i + 1, 2 * i + 2);
        let mut worst = i;
        if l < heap.len() && better(&heap[worst], &heap[l]) {
            worst = l;
        }
        if r < heap.len() && better(&heap[worst], &heap[r]) {
            worst = r;
        }
        if worst == i {
            return;
        }
        heap.swap(worst, i);
        i = worst;
    }
}

/// Runs the batch kernel of `level`. Lengths are already validated:
/// `candidates.len() == scores.len() * query.len()`.
fn batch_at(level: SimdLevel, query: &[f32], candidates: &[f32], scores: &mut [f32]) {
    debug_assert_eq!(
        Some(candidates.len()),
        scores.len().checked_mul(query.len())
    );
    if query.is_empty() {
        scores.fill(0.0);
        return;
    }
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: dispatch::active() only yields Avx512 when AVX-512F was detected at run time.
        SimdLevel::Avx512 => unsafe { x86::batch_avx512(query, candidates, scores) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: dispatch::active() only yields Avx2Fma when AVX2 and FMA were detected.
        SimdLevel::Avx2Fma => unsafe { x86::batch_avx2(query, candidates, scores) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: dispatch::active() only yields Neon when NEON was detected.
        SimdLevel::Neon => unsafe { neon::batch_neon(query, candidates, scores) },
        _ => batch_scalar(query, candidates, scores),
    }
}

/// `mag` from `dot(v, v)`, in f64 for the final division.
#[inline(always)]
fn magnitude(sum_sq: f32) -> f64 {
    if sum_sq.is_finite() && sum_sq >= 1e-30 {
        f64::from(sum_sq).sqrt()
    } else {
        0.0
    }
}

/// The score from `dot(q, c)`, `dot(c, c)` and `mag(q) > 0`.
#[inline(always)]
fn finish(dot: f32, cc: f32, q_mag: f64) -> f32 {
    let c_mag = magnitude(cc);
    if c_mag == 0.0 || !dot.is_finite() {
        return 0.0;
    }
    // f64: the product of two f32 magnitudes fits, and the clamp catches rounding past +-1.
    (f64::from(dot) / (q_mag * c_mag)).clamp(-1.0, 1.0) as f32
}

/// Shared driver: `pair` returns `(dot(q, c), dot(c, c))`.
#[inline(always)]
fn batch_with(
    query: &[f32],
    candidates: &[f32],
    scores: &mut [f32],
    pair: impl Fn(&[f32], &[f32]) -> (f32, f32),
) {
    let q_mag = magnitude(pair(query, query).1);
    if q_mag == 0.0 {
        scores.fill(0.0);
        return;
    }
    for (s, c) in scores.iter_mut().zip(candidates.chunks_exact(query.len())) {
        let (dot, cc) = pair(query, c);
        *s = finish(dot, cc, q_mag);
    }
}

fn batch_scalar(query: &[f32], candidates: &[f32], scores: &mut [f32]) {
    batch_with(query, candidates, scores, pair_scalar);
}

/// Eight independent accumulators per sum: the compiler keeps them in baseline vector registers.
#[inline]
fn pair_scalar(q: &[f32], c: &[f32]) -> (f32, f32) {
    const L: usize = 8;
    let (mut dot, mut cc) = ([0.0f32; L], [0.0f32; L]);
    let (qc, cc_chunks) = (q.chunks_exact(L), c.chunks_exact(L));
    let (q_tail, c_tail) = (qc.remainder(), cc_chunks.remainder());
    for (qs, cs) in qc.zip(cc_chunks) {
        for j in 0..L {
            dot[j] += qs[j] * cs[j];
            cc[j] += cs[j] * cs[j];
        }
    }
    for (j, (&a, &b)) in q_tail.iter().zip(c_tail).enumerate() {
        dot[j] += a * b;
        cc[j] += b * b;
    }
    (hsum(dot), hsum(cc))
}

#[inline(always)]
fn hsum(v: [f32; 8]) -> f32 {
    ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]))
}
