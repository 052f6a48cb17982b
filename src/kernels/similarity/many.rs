//! Many queries against the same candidates: one pass over the candidates per block of queries.

use super::{Match, Nan, Zero, batch_at, finite, many_at, select};
use crate::kernels::KernelError;
use crate::kernels::dispatch;
use crate::kernels::error::expect_len;
use crate::kernels::staging::{exhausted, stage};
use crate::scratch::with_arena;

/// Candidate rows scored per block inside [`top_k_many_into`]; the block's scores (`4 · nq · 256`
/// bytes) come from the scratch arena.
const TOP_K_BLOCK: usize = 256;

/// `(queries, candidates)` counts, or why the slices do not split into rows of `dim`.
fn shape(queries: &[f32], dim: usize, candidates: &[f32]) -> Result<(usize, usize), KernelError> {
    if dim == 0 {
        return Err(KernelError::InvalidParameter {
            what: "dim",
            value: 0.0,
            requirement: "greater than 0",
        });
    }
    for (what, v) in [("queries", queries), ("candidates", candidates)] {
        if !v.len().is_multiple_of(dim) {
            return Err(KernelError::NotAMultiple {
                what,
                len: v.len(),
                dim,
            });
        }
    }
    Ok((queries.len() / dim, candidates.len() / dim))
}

/// Cosine similarity of every query with every candidate: `scores[j * n + i]` is query `j`
/// against candidate `i` (row-major `[query][candidate]`), where `n = candidates.len() / dim`.
///
/// Queries and candidates are row-major with `dim` floats per row. The scores are the ones
/// [`cosine_similarity_batch`](super::cosine_similarity_batch) gives for each query, bit for bit
/// (same SIMD level), but each candidate row is read from memory once per block of up to 64
/// queries instead of once per query. No scratch and no allocation.
///
/// # Errors
///
/// * [`KernelError::InvalidParameter`] if `dim == 0`;
/// * [`KernelError::NotAMultiple`] if `queries` or `candidates` does not split into rows of
///   `dim`;
/// * [`KernelError::LengthMismatch`] unless `scores.len() == nq * n`;
/// * [`KernelError::NotFinite`] if a query holds a NaN or an infinity (`index` is the position in
///   `queries`). Every score is still written; that query's are 0, as for a query of magnitude 0.
///
/// On the other errors `scores` is untouched.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::similarity::cosine_similarity_many;
///
/// let queries = [1.0, 0.0, /* */ 0.0, 1.0];
/// let candidates = [1.0, 0.0, /* */ 1.0, 1.0, /* */ 0.0, -2.0];
/// let mut scores = [0.0; 6];
/// cosine_similarity_many(&queries, 2, &candidates, &mut scores)?;
/// let h = std::f32::consts::FRAC_1_SQRT_2;
/// assert_eq!(scores[..3], [1.0, h, 0.0]); // query 0
/// assert_eq!(scores[3..], [0.0, h, -1.0]); // query 1
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn cosine_similarity_many(
    queries: &[f32],
    dim: usize,
    candidates: &[f32],
    scores: &mut [f32],
) -> Result<(), KernelError> {
    let (nq, n) = shape(queries, dim, candidates)?;
    let expected = nq.saturating_mul(n);
    crate::kernels::error::expect_len("scores", expected, scores.len())?;
    if nq == 1 && n > 0 {
        // One query: the single-query kernel gives the same bits without the tiling's fixed
        // costs (1 x 10 rows of 768: 758 ns through the tiles, 367 ns this way), and proves the
        // query finite on the way.
        if batch_at::<Zero>(dispatch::token(), queries, candidates, scores) {
            return Ok(());
        }
    } else if !scores.is_empty() {
        many_at::<Zero>(dispatch::token(), queries, dim, candidates, scores);
    }
    finite("queries", queries)
}

/// The `k` best candidates for each query, best first, as [`top_k`](super::top_k) ranks them
/// (undefined scores skipped, ties by lower index), computed with the many-query kernel.
///
/// # Errors
///
/// As for [`cosine_similarity_many`], except that a non-finite query is an error before anything
/// is computed; [`KernelError::ScratchExhausted`] when the heaps or the block of scores do not
/// fit the scratch arena under the [`Error`](crate::OverflowPolicy::Error) overflow policy.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::similarity::top_k_many;
///
/// let queries = [1.0, 0.0, /* */ 0.0, 1.0];
/// let candidates = [1.0, 0.0, /* */ 1.0, 1.0, /* */ 0.0, -2.0];
/// let best = top_k_many(&queries, 2, &candidates, 2)?;
/// assert_eq!(best[0].iter().map(|m| m.index).collect::<Vec<_>>(), [0, 1]);
/// assert_eq!(best[1].iter().map(|m| m.index).collect::<Vec<_>>(), [1, 0]);
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn top_k_many(
    queries: &[f32],
    dim: usize,
    candidates: &[f32],
    k: usize,
) -> Result<Vec<Vec<Match>>, KernelError> {
    let (nq, n) = shape(queries, dim, candidates)?;
    finite("queries", queries)?;
    let m = k.min(n);
    let slots = nq.checked_mul(m).ok_or(exhausted::<Match>(usize::MAX))?;
    with_arena(|scratch| {
        let out = stage(scratch, slots, |_| Match::default())?;
        let counts = stage(scratch, nq, |_| 0usize)?;
        top_k_many_into(queries, dim, candidates, out, counts)?;
        Ok((0..nq)
            .map(|j| out[j * m..j * m + counts[j]].to_vec())
            .collect())
    })
}

/// Like [`top_k_many`], writing into caller buffers: query `j`'s matches go to
/// `out[j * k..j * k + counts[j]]`, with `k = out.len() / nq` (so `out.len()` must be a multiple of
/// the number of queries `nq`) and `counts.len() == nq`. The block of scores comes from the scratch
/// arena (`1 KiB` per query).
///
/// # Errors
///
/// As for [`top_k_many`]; [`KernelError::NotAMultiple`] if `out.len()` is not a multiple of `nq`;
/// [`KernelError::LengthMismatch`] unless `counts.len() == nq`. The outputs are untouched on any
/// error.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::similarity::{top_k_many_into, Match};
///
/// let queries = [1.0, 0.0, /* */ 0.0, 1.0];
/// let candidates = [1.0, 0.0, /* */ f32::NAN, 1.0, /* */ 0.0, -2.0];
/// let mut out = [Match::default(); 4]; // k = 2 per query
/// let mut counts = [0; 2];
/// top_k_many_into(&queries, 2, &candidates, &mut out, &mut counts)?;
/// assert_eq!(counts, [2, 2]); // the NaN row is skipped
/// assert_eq!((out[0].index, out[1].index), (0, 2));
/// assert_eq!((out[2].index, out[3].index), (0, 2)); // 0.0 beats -1.0
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn top_k_many_into(
    queries: &[f32],
    dim: usize,
    candidates: &[f32],
    out: &mut [Match],
    counts: &mut [usize],
) -> Result<(), KernelError> {
    let (nq, n) = shape(queries, dim, candidates)?;
    crate::kernels::error::expect_len("counts", nq, counts.len())?;
    if nq == 0 {
        return Ok(());
    }
    if !out.len().is_multiple_of(nq) {
        return Err(KernelError::NotAMultiple {
            what: "out",
            len: out.len(),
            dim: nq,
        });
    }
    finite("queries", queries)?;
    let k = out.len() / nq;
    if k == 0 || n == 0 {
        counts.fill(0);
        return Ok(());
    }
    let token = dispatch::token();
    with_arena(|scratch| {
        let block_rows = TOP_K_BLOCK.min(n);
        let len = nq.saturating_mul(block_rows);
        let buf = stage(scratch, len, |_| 0.0f32)?;
        let mut heaps = allocator_api2::vec::Vec::new_in(scratch);
        heaps
            .try_reserve_exact(nq)
            .map_err(|_| exhausted::<select::TopK<'static>>(nq))?;
        heaps.extend(out.chunks_exact_mut(k).map(select::TopK::new));
        for (b, block) in candidates.chunks(TOP_K_BLOCK * dim).enumerate() {
            let rows = block.len() / dim;
            let scores = &mut buf[..nq * rows];
            many_at::<Nan>(token, queries, dim, block, scores);
            for (heap, row) in heaps.iter_mut().zip(scores.chunks_exact(rows)) {
                for (i, &s) in row.iter().enumerate() {
                    heap.push(b * TOP_K_BLOCK + i, s);
                }
            }
        }
        for (c, heap) in counts.iter_mut().zip(heaps.drain(..)) {
            *c = heap.finish();
        }
        Ok(())
    })
}

/// Like [`top_k_many_into`] with `k` matches per query, writing each match's candidate index to
/// `indices` and its score to `scores` (two arrays, as a C caller holds them): query `j`'s
/// matches go to `indices[j * k..j * k + counts[j]]` and the same range of `scores`. The
/// matches are staged in the thread's scratch arena (`16 · nq · min(k, n)` bytes beside the block
/// of scores).
///
/// # Errors
///
/// As for [`top_k_many_into`]; [`KernelError::LengthMismatch`] unless `indices.len()` and
/// `scores.len()` are `nq · k` and `counts.len()` is `nq`. The outputs are untouched on any error.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::similarity::top_k_many_into_parts;
///
/// let queries = [1.0, 0.0, /* */ 0.0, 1.0];
/// let candidates = [1.0, 0.0, /* */ 0.0, -3.0, /* */ 2.0, 2.0];
/// let (mut indices, mut scores, mut counts) = ([0usize; 4], [0.0f32; 4], [0usize; 2]);
/// top_k_many_into_parts(&queries, 2, &candidates, 2, &mut indices, &mut scores, &mut counts)?;
/// assert_eq!((counts, indices), ([2, 2], [0, 2, 2, 0]));
/// assert_eq!(scores[0], 1.0);
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn top_k_many_into_parts(
    queries: &[f32],
    dim: usize,
    candidates: &[f32],
    k: usize,
    indices: &mut [usize],
    scores: &mut [f32],
    counts: &mut [usize],
) -> Result<(), KernelError> {
    let (nq, n) = shape(queries, dim, candidates)?;
    let slots = nq.checked_mul(k).ok_or(KernelError::LengthMismatch {
        what: "indices",
        expected: usize::MAX,
        actual: indices.len(),
    })?;
    expect_len("indices", slots, indices.len())?;
    expect_len("scores", slots, scores.len())?;
    expect_len("counts", nq, counts.len())?;
    let m = k.min(n);
    with_arena(|scratch| {
        let best = stage(scratch, nq * m, |_| Match::default())?;
        let found = stage(scratch, nq, |_| 0usize)?;
        top_k_many_into(queries, dim, candidates, best, found)?;
        if m > 0 {
            for (j, (matches, &count)) in best.chunks_exact(m).zip(found.iter()).enumerate() {
                let (i, s) = (&mut indices[j * k..], &mut scores[j * k..]);
                super::write_parts(&matches[..count], i, s);
            }
        }
        counts.copy_from_slice(found);
        Ok(())
    })
}
