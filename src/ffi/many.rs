//! C exports of the many-query cosine kernels.

use super::{Args, ENGRAM_ERR_INVALID, ENGRAM_OK, guard_status, status};
use crate::arena::helpers::ArenaAlloc;
use crate::kernels::KernelError;
use crate::kernels::similarity::{self, Match};
use crate::scratch::with_arena;

/// Cosine similarity of every query with every candidate, both row-major with `dim` floats per
/// row: `scores[j * num_candidates + i]` is query `j` against candidate `i`. Scored as
/// [`engram_vector_similarity`](super::engram_vector_similarity) scores (a query with a NaN or an
/// infinity scores 0 against everything, and the call still returns `ENGRAM_OK`), and bit for bit
/// what it gives query by query, but each candidate is read once per block of queries. See
/// [`cosine_similarity_many`](crate::kernels::similarity::cosine_similarity_many).
///
/// Returns `ENGRAM_OK`; `ENGRAM_ERR_NULL` for a null pointer with a non-zero length;
/// `ENGRAM_ERR_INVALID` when `dim == 0` with something to score, a size overflows, or `scores`
/// overlaps an input. On error `scores` is untouched. No scratch.
///
/// # Safety
///
/// Each non-null pointer must be valid for its length (`num_queries * dim`,
/// `num_candidates * dim`, `num_queries * num_candidates`).
///
/// # Example
///
/// ```
/// use engram_kernels::ffi::{ENGRAM_OK, engram_cosine_similarity_many};
/// let q = [1.0f32, 0.0, /* */ 0.0, 1.0];
/// let c = [1.0f32, 0.0, /* */ 0.0, -3.0, /* */ 2.0, 2.0];
/// let mut s = [9.0f32; 6];
/// // SAFETY: every pointer is valid for the length passed with it.
/// let rc = unsafe { engram_cosine_similarity_many(q.as_ptr(), 2, c.as_ptr(), 3, 2, s.as_mut_ptr()) };
/// assert_eq!(rc, ENGRAM_OK);
/// assert_eq!(&s[..2], &[1.0, 0.0]);
/// assert_eq!(&s[3..5], &[0.0, -1.0]);
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_cosine_similarity_many(
    queries: *const f32,
    num_queries: usize,
    candidates: *const f32,
    num_candidates: usize,
    dim: usize,
    scores: *mut f32,
) -> i32 {
    guard_status(|| {
        let (Some(q_len), Some(c_len), Some(s_len)) = (
            num_queries.checked_mul(dim),
            num_candidates.checked_mul(dim),
            num_queries.checked_mul(num_candidates),
        ) else {
            return Err(ENGRAM_ERR_INVALID);
        };
        // SAFETY: the pointers are valid for these lengths: this function's contract.
        let mut args = unsafe { Args::new() };
        let s = args.output(scores, s_len)?;
        let q = args.input(queries, q_len)?;
        let c = args.input(candidates, c_len)?;
        if s_len == 0 {
            return Ok(ENGRAM_OK);
        }
        if dim == 0 {
            return Err(ENGRAM_ERR_INVALID);
        }
        Ok(match similarity::cosine_similarity_many(q, dim, c, s) {
            // The scores are written, that query's as 0: the C layer keeps the Zig library's
            // all-zero behaviour for a query with NaN or an infinity.
            Err(KernelError::NotFinite { .. }) => ENGRAM_OK,
            other => status(other),
        })
    })
}

/// The `k` best cosine matches of each of `num_queries` queries among `num_candidates` candidates
/// (row-major, `dim` floats per row), as [`engram_top_k_similarity`](super::engram_top_k_similarity)
/// ranks them (best first, ties by lower index, candidates with an undefined score skipped),
/// computed with the many-query kernel. Query `j`'s matches go to
/// `out_indices[j * k .. j * k + out_counts[j]]` and the same range of `out_scores`. See
/// [`top_k_many_into`](crate::kernels::similarity::top_k_many_into).
///
/// Returns `ENGRAM_OK`; `ENGRAM_ERR_NULL` for a null pointer with a non-zero length;
/// `ENGRAM_ERR_INVALID` when `dim == 0` with queries and candidates, a size overflows, an output
/// overlaps anything else, or a query holds a NaN or an infinity; `ENGRAM_ERR_SCRATCH` under
/// `error_return` when the scratch (`16 * num_queries * k` bytes for the heaps plus 1 KiB per
/// query for a block of scores) does not fit. On error nothing is written.
///
/// # Safety
///
/// Each non-null pointer must be valid for its length (`num_queries * dim`,
/// `num_candidates * dim`, `num_queries * k` twice, `num_queries`).
///
/// # Example
///
/// ```
/// use engram_kernels::ffi::{ENGRAM_OK, engram_top_k_similarity_many};
/// let q = [1.0f32, 0.0, /* */ 0.0, 1.0];
/// let c = [1.0f32, 0.0, /* */ 0.0, -3.0, /* */ 2.0, 2.0];
/// let (mut idx, mut sc, mut counts) = ([0usize; 4], [0.0f32; 4], [0usize; 2]);
/// // SAFETY: every pointer is valid for the length passed with it.
/// let rc = unsafe {
///     engram_top_k_similarity_many(q.as_ptr(), 2, c.as_ptr(), 3, 2, 2, idx.as_mut_ptr(),
///                                  sc.as_mut_ptr(), counts.as_mut_ptr())
/// };
/// assert_eq!((rc, counts), (ENGRAM_OK, [2, 2]));
/// assert_eq!(idx, [0, 2, 2, 0]);
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_top_k_similarity_many(
    queries: *const f32,
    num_queries: usize,
    candidates: *const f32,
    num_candidates: usize,
    dim: usize,
    k: usize,
    out_indices: *mut usize,
    out_scores: *mut f32,
    out_counts: *mut usize,
) -> i32 {
    guard_status(|| {
        let (Some(q_len), Some(c_len), Some(o_len)) = (
            num_queries.checked_mul(dim),
            num_candidates.checked_mul(dim),
            num_queries.checked_mul(k),
        ) else {
            return Err(ENGRAM_ERR_INVALID);
        };
        if dim == 0 && num_queries > 0 && num_candidates > 0 {
            return Err(ENGRAM_ERR_INVALID);
        }
        // SAFETY: the pointers are valid for these lengths: this function's contract.
        let mut args = unsafe { Args::new() };
        let indices = args.output(out_indices, o_len)?;
        let scores = args.output(out_scores, o_len)?;
        let counts = args.output(out_counts, num_queries)?;
        let q = args.input(queries, q_len)?;
        let c = args.input(candidates, c_len)?;
        if num_queries == 0 {
            return Ok(ENGRAM_OK);
        }
        if num_candidates == 0 || k == 0 {
            counts.fill(0);
            return Ok(ENGRAM_OK);
        }
        let want = k.min(num_candidates);
        Ok(status(with_arena(|scratch| {
            let slots = num_queries.saturating_mul(want);
            let best = scratch
                .try_alloc_slice_fill_with(slots, |_| Match::default())
                .map_err(|_| KernelError::ScratchExhausted {
                    requested: slots.saturating_mul(size_of::<Match>()),
                })?;
            let found = scratch
                .try_alloc_slice_fill_with(num_queries, |_| 0usize)
                .map_err(|_| KernelError::ScratchExhausted {
                    requested: num_queries.saturating_mul(size_of::<usize>()),
                })?;
            similarity::top_k_many_into(q, dim, c, best, found)?;
            for (j, &n) in found.iter().enumerate() {
                for (i, m) in best[j * want..j * want + n].iter().enumerate() {
                    indices[j * k + i] = m.index;
                    scores[j * k + i] = m.score;
                }
            }
            counts.copy_from_slice(found);
            Ok(())
        })))
    })
}
