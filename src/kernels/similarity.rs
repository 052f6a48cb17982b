//! Cosine similarity of one query, or of many queries, against row-major candidates, and top-k
//! selection.
//!
//! Behaviour: `mag(v) = sqrt(dot(v, v))`, taken as 0 when `dot(v, v)` is NaN, infinite or below
//! `1e-30`. A query of magnitude 0 scores 0 against everything; a candidate of
//! magnitude 0 scores 0; otherwise the score is `dot(q, c) / (mag(q) * mag(c))`, clamped to
//! `[-1, 1]`. So a NaN or infinity anywhere in a candidate makes its score 0.
//!
//! A score the definition has to set to 0 (a candidate with a NaN or infinite component or zero
//! magnitude, or a query of zero magnitude) is *undefined*: the batch functions write 0, but the
//! top-k functions skip such candidates rather than rank their 0 above genuine negative matches.
//! A query with a NaN or infinite component is an error ([`KernelError::NotFinite`]) in this
//! Rust API; the C export `engram_vector_similarity` keeps all-zero scores for it, as the Zig
//! implementation does.
//!
//! Each candidate is read once per call: one streaming pass accumulates `dot(q, c)` and
//! `dot(c, c)` together in f32, four candidate rows at a time, and `mag(q)` is computed once per
//! call. The final division runs in f64, so `mag(q) * mag(c)` can neither overflow nor underflow.
//! The many-query functions read each candidate row once per block of queries and give the same
//! scores as the single-query ones bit for bit (same SIMD level, same sums in the same order).
//!
//! # Precision
//!
//! Against an f64 reference the scores agree within `1e-5` absolute on every SIMD path (the f32
//! sums carry a relative error of about `dim · 2⁻²⁴` in the worst case; the tests check `1e-5` up
//! to `dim = 1100` on inputs with NaN, infinities, tiny and huge magnitudes). Different SIMD
//! levels add in different orders, so their scores may differ in the last bits.
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
use super::dispatch::{self, Isa, Token};
use crate::kernels::error::expect_len;
use crate::kernels::staging::stage;
use crate::scratch::with_arena;

// `kernel`'s lanes trait and the per-ISA lane types are shared with `kernels::fixed`.
pub(super) mod kernel;
mod many;
#[cfg(target_arch = "aarch64")]
pub(super) mod neon;
pub(in crate::kernels) mod select;
#[cfg(target_arch = "x86_64")]
pub(super) mod x86;

pub use many::{cosine_similarity_many, top_k_many, top_k_many_into, top_k_many_into_parts};

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
/// `dim = query.len()`; candidate `i` is `candidates[i * dim..(i + 1) * dim]`. No scratch and no
/// allocation.
///
/// # Errors
///
/// * [`KernelError::EmptyQuery`] if `query` is empty while `candidates` is not (with no
///   candidates an empty query is fine, and every score is 0);
/// * [`KernelError::LengthMismatch`] unless `candidates.len() == scores.len() * dim`;
/// * [`KernelError::NotFinite`] if `query` holds a NaN or an infinity. `scores` is then filled with
///   0, the score of a query of magnitude 0, so a caller that ignores the error (the C export)
///   gets the Zig implementation's scores. On the other errors `scores` is untouched.
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
    if dim == 0 {
        if !candidates.is_empty() {
            return Err(KernelError::EmptyQuery);
        }
        scores.fill(0.0);
        return Ok(());
    }
    if scores.len().checked_mul(dim) != Some(candidates.len()) {
        return Err(if candidates.len().is_multiple_of(dim) {
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
    if batch_at::<Zero>(dispatch::token(), query, candidates, scores) {
        return Ok(());
    }
    finite("query", query)
}

/// The cosine similarity of `query` with each candidate, in a new `Vec`.
///
/// # Errors
///
/// [`KernelError::EmptyQuery`] for an empty query with candidates;
/// [`KernelError::NotAMultiple`] if `candidates.len()` is not a multiple of `query.len()`;
/// [`KernelError::NotFinite`] if `query` holds a NaN or an infinity.
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
/// assert_eq!(cosine_similarity(&[], &[1.0]).unwrap_err().to_string(), "query is empty");
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn cosine_similarity(query: &[f32], candidates: &[f32]) -> Result<Vec<f32>, KernelError> {
    let n = count(query, candidates)?;
    let mut scores = vec![0.0; n];
    if n == 0 || !batch_at::<Zero>(dispatch::token(), query, candidates, &mut scores) {
        finite("query", query)?;
    }
    Ok(scores)
}

/// The `k` best candidates, best first; equal scores are ordered by lower index. Candidates whose
/// score is undefined (a NaN or infinite component, or zero magnitude) are skipped, so fewer than
/// `min(k, n)` matches come back when fewer candidates have a score; a query of zero magnitude has
/// none. The selection heap lives in the thread's scratch arena.
///
/// # Errors
///
/// As for [`cosine_similarity`]; and [`KernelError::ScratchExhausted`] if the heap does not fit
/// the scratch arena under the [`Error`](crate::OverflowPolicy::Error) overflow policy.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::similarity::top_k;
///
/// let q = [1.0, 0.0];
/// let candidates = [0.0, 1.0, /* */ -1.0, 0.0, /* */ 1.0, 0.0, /* */ f32::NAN, 2.0];
/// let best = top_k(&q, &candidates, 4)?;
/// // The NaN row has no score: it is skipped, not ranked as 0 above the -1.
/// assert_eq!(best.iter().map(|m| m.index).collect::<Vec<_>>(), [2, 0, 1]);
/// assert_eq!(best[0].score, 1.0);
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn top_k(query: &[f32], candidates: &[f32], k: usize) -> Result<Vec<Match>, KernelError> {
    let m = count(query, candidates)?.min(k);
    with_arena(|scratch| {
        let heap = stage(scratch, m, |_| Match::default())?;
        let written = top_k_counted(query, candidates, heap)?;
        Ok(heap[..written].to_vec())
    })
}

/// Like [`top_k`] with `k = out.len()`, writing into `out` (used as the heap) without allocating.
/// Returns how many matches were written: at most `min(out.len(), n)`, fewer when some scores are
/// undefined. `out` beyond that count is untouched.
///
/// # Errors
///
/// As for [`cosine_similarity`]; `out` is untouched then.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::similarity::{top_k_into, Match};
///
/// let mut out = [Match::default(); 4];
/// let n = top_k_into(&[0.0, 1.0], &[1.0, 0.0, /* */ 0.0, 3.0, /* */ 0.0, 0.0], &mut out)?;
/// assert_eq!(n, 2); // the zero row has no score
/// assert_eq!(out[0], Match { index: 1, score: 1.0 });
/// assert_eq!(out[1], Match { index: 0, score: 0.0 });
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn top_k_into(
    query: &[f32],
    candidates: &[f32],
    out: &mut [Match],
) -> Result<usize, KernelError> {
    count(query, candidates)?;
    top_k_counted(query, candidates, out)
}

/// [`top_k_into`] once [`count`] has validated the shapes. The query is checked by the kernel:
/// its sum of squares is finite only if every component is (see [`cosine_similarity_batch`]), so
/// the query is scanned only when that sum is not finite (for the error's index, or to find it
/// finite after all: an overflowing sum), or when no kernel runs. On an error `out` is untouched:
/// the check comes after the first block's scores and before anything enters the heap.
fn top_k_counted(
    query: &[f32],
    candidates: &[f32],
    out: &mut [Match],
) -> Result<usize, KernelError> {
    if out.is_empty() || candidates.is_empty() {
        finite("query", query)?;
        return Ok(0);
    }
    let token = dispatch::token();
    let dim = query.len();
    let mut heap = select::TopK::new(out);
    // Scores go through a small stack buffer so each block runs the batch kernel at full speed.
    const BLOCK: usize = 256;
    let mut buf = [0.0f32; BLOCK];
    for (b, block) in candidates.chunks(BLOCK * dim).enumerate() {
        let scores = &mut buf[..block.len() / dim];
        // The kernel's answer depends on the query alone: the first block's is every block's.
        if !batch_at::<Nan>(token, query, block, scores) && b == 0 {
            finite("query", query)?;
        }
        for (j, &score) in scores.iter().enumerate() {
            heap.push(b * BLOCK + j, score);
        }
    }
    Ok(heap.finish())
}

/// Like [`top_k`] with `k = indices.len()`, writing each match's candidate index to `indices` and
/// its score to `scores` (two arrays, as a C caller holds them) instead of returning a `Vec`. The
/// selection heap lives in the thread's scratch arena. Returns how many matches were written,
/// best first; both outputs beyond that count are untouched.
///
/// # Errors
///
/// As for [`top_k`]; [`KernelError::LengthMismatch`] unless `scores.len() == indices.len()`. The
/// outputs are untouched on any error.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::similarity::top_k_into_parts;
///
/// let (mut indices, mut scores) = ([0usize; 2], [0.0f32; 2]);
/// let n = top_k_into_parts(&[1.0, 0.0], &[0.0, 1.0, /* */ 2.0, 0.0], &mut indices, &mut scores)?;
/// assert_eq!((n, indices, scores), (2, [1, 0], [1.0, 0.0]));
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn top_k_into_parts(
    query: &[f32],
    candidates: &[f32],
    indices: &mut [usize],
    scores: &mut [f32],
) -> Result<usize, KernelError> {
    expect_len("scores", indices.len(), scores.len())?;
    let m = count(query, candidates)?.min(indices.len());
    with_arena(|scratch| {
        let heap = stage(scratch, m, |_| Match::default())?;
        let found = top_k_counted(query, candidates, heap)?;
        write_parts(&heap[..found], indices, scores);
        Ok(found)
    })
}

/// Copies each match's index and score to the two outputs (which are at least as long).
fn write_parts(matches: &[Match], indices: &mut [usize], scores: &mut [f32]) {
    for ((m, i), s) in matches.iter().zip(indices).zip(scores) {
        (*i, *s) = (m.index, m.score);
    }
}

/// The number of candidates, or why `candidates` does not split into rows of `query.len()`.
fn count(query: &[f32], candidates: &[f32]) -> Result<usize, KernelError> {
    let dim = query.len();
    if candidates.is_empty() {
        return Ok(0);
    }
    if dim == 0 {
        return Err(KernelError::EmptyQuery);
    }
    if !candidates.len().is_multiple_of(dim) {
        return Err(KernelError::NotAMultiple {
            what: "candidates",
            len: candidates.len(),
            dim,
        });
    }
    Ok(candidates.len() / dim)
}

/// `Ok` unless `v` holds a NaN or an infinity; the error names the first one.
///
/// Blocks are tested without an early exit, which the compiler vectorizes: a scalar scan cost
/// more than the kernels it guards on one or a few candidates. The index is looked up only for
/// the error.
fn finite(what: &'static str, v: &[f32]) -> Result<(), KernelError> {
    // All exponent bits set: an infinity or a NaN.
    const EXP: u32 = 0x7f80_0000;
    let blocks_finite = v
        .chunks(64)
        .all(|b| b.iter().fold(true, |ok, x| ok & (x.to_bits() & EXP != EXP)));
    if blocks_finite {
        return Ok(());
    }
    match v.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(index) => Err(KernelError::NotFinite {
            what,
            index,
            value: v[index],
        }),
    }
}

/// What the kernel writes for an undefined score: 0 for the public scores, NaN (a marker the
/// top-k heap skips) inside top-k.
pub(super) trait Undefined {
    const VALUE: f32;
}

pub(super) struct Zero;
impl Undefined for Zero {
    const VALUE: f32 = 0.0;
}

pub(super) struct Nan;
impl Undefined for Nan {
    const VALUE: f32 = f32::NAN;
}

/// Runs the single-query kernel the token allows. Lengths are already validated: `dim > 0` and
/// `candidates.len() == scores.len() * dim`. Returns `true` when the kernel proved every
/// component of `query` finite (its sum of squares is finite); `false` leaves it open (a NaN, an
/// infinity, or a sum that overflowed).
#[must_use]
fn batch_at<U: Undefined>(
    token: Token,
    query: &[f32],
    candidates: &[f32],
    scores: &mut [f32],
) -> bool {
    match token.isa() {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512(t) => x86::batch_avx512::<U>(t, query, candidates, scores),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2(t) => x86::batch_avx2::<U>(t, query, candidates, scores),
        #[cfg(target_arch = "aarch64")]
        Isa::Neon(t) => neon::batch_neon::<U>(t, query, candidates, scores),
        Isa::Scalar => kernel::batch_scalar::<U>(query, candidates, scores),
    }
}

/// Runs the many-query kernel the token allows. Lengths are already validated: `dim > 0`, both
/// slices hold whole rows, `scores.len()` is their product.
fn many_at<U: Undefined>(
    token: Token,
    queries: &[f32],
    dim: usize,
    candidates: &[f32],
    scores: &mut [f32],
) {
    match token.isa() {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512(t) => x86::many_avx512::<U>(t, queries, dim, candidates, scores),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2(t) => x86::many_avx2::<U>(t, queries, dim, candidates, scores),
        #[cfg(target_arch = "aarch64")]
        Isa::Neon(t) => neon::many_neon::<U>(t, queries, dim, candidates, scores),
        Isa::Scalar => kernel::many_scalar::<U>(queries, dim, candidates, scores),
    }
}
