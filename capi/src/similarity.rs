//! C exports of the cosine-similarity kernels: one query against a batch, the top k of a batch,
//! and many queries at once.

use crate::args::{Args, guard_status, status};
use crate::{ENGRAM_ERR_INVALID, ENGRAM_OK};
use engram_kernels::kernels::KernelError;
use engram_kernels::kernels::similarity;

/// Batch cosine similarity of `query` (`query_len` floats) against `num_candidates` row-major
/// candidates, into `scores` (`num_candidates` floats). See
/// [`cosine_similarity_batch`](engram_kernels::kernels::similarity::cosine_similarity_batch).
///
/// # Safety
///
/// Each non-null pointer must be valid for its length (`query_len`, `query_len *
/// num_candidates`, `num_candidates`), and `scores` must not overlap the inputs.
///
/// # Example
///
/// ```
/// use engram_kernels_c::similarity::engram_vector_similarity;
/// let (q, c, mut s) = ([1.0f32, 2.0, 3.0], [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], [0.0f32; 2]);
/// // SAFETY: every pointer is valid for the length passed with it.
/// unsafe { engram_vector_similarity(q.as_ptr(), c.as_ptr(), s.as_mut_ptr(), 3, 2) };
/// assert_eq!(s[0], 1.0);
/// assert!((s[1] - 0.974631786).abs() < 1e-6);
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_vector_similarity(
    query: *const f32,
    candidates: *const f32,
    scores: *mut f32,
    query_len: usize,
    num_candidates: usize,
) {
    guard_status(|| {
        let total = query_len
            .checked_mul(num_candidates)
            .ok_or(ENGRAM_ERR_INVALID)?;
        // SAFETY: the pointers are valid for these lengths: this function's contract.
        let mut args = unsafe { Args::new() };
        let q = args.input(query, query_len)?;
        let c = args.input(candidates, total)?;
        let s = args.output(scores, num_candidates)?;
        Ok(status(similarity::cosine_similarity_batch(q, c, s)))
    });
}

/// The `k` best cosine matches of `query` (`query_len` floats) among `num_candidates` row-major
/// candidates: writes `min(k, num_candidates)` candidate indices to `out_indices` and their scores
/// to `out_scores`, best first, and that count to `*out_count`. See
/// [`top_k_into_parts`](engram_kernels::kernels::similarity::top_k_into_parts) for scoring and ties.
///
/// Returns `ENGRAM_OK`; `ENGRAM_ERR_NULL` for a null pointer with a non-zero length (`out_count`
/// must never be null); `ENGRAM_ERR_INVALID` when `query_len * num_candidates` overflows or
/// `query_len == 0` with candidates; `ENGRAM_ERR_SCRATCH` under `error_return` when its k-entry heap does
/// not fit. On any error the outputs are untouched.
///
/// # Safety
///
/// Each non-null pointer must be valid for its length (`query_len`, `query_len *
/// num_candidates`, `k`, `k`, 1), and the outputs must not overlap anything else.
///
/// # Example
///
/// ```
/// use engram_kernels_c::{ENGRAM_OK, similarity::engram_top_k_similarity};
/// let q = [1.0f32, 0.0];
/// let c = [0.0f32, 1.0, 1.0, 0.0, 1.0, 1.0]; // orthogonal, identical, 45 degrees
/// let (mut idx, mut sc, mut n) = ([0usize; 2], [0.0f32; 2], 0usize);
/// // SAFETY: every pointer is valid for the length passed with it.
/// let rc = unsafe {
///     engram_top_k_similarity(q.as_ptr(), c.as_ptr(), 2, 3, 2, idx.as_mut_ptr(),
///                             sc.as_mut_ptr(), &mut n)
/// };
/// assert_eq!((rc, n, idx), (ENGRAM_OK, 2, [1, 2]));
/// assert_eq!(sc[0], 1.0);
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_top_k_similarity(
    query: *const f32,
    candidates: *const f32,
    query_len: usize,
    num_candidates: usize,
    k: usize,
    out_indices: *mut usize,
    out_scores: *mut f32,
    out_count: *mut usize,
) -> i32 {
    guard_status(|| {
        // A zero-length query cannot rank candidates: refuse it rather than report no match.
        if query_len == 0 && num_candidates > 0 {
            return Err(ENGRAM_ERR_INVALID);
        }
        let total = query_len
            .checked_mul(num_candidates)
            .ok_or(ENGRAM_ERR_INVALID)?;
        // SAFETY: the pointers are valid for these lengths: this function's contract.
        let mut args = unsafe { Args::new() };
        let q = args.input(query, query_len)?;
        let c = args.input(candidates, total)?;
        let indices = args.output(out_indices, k)?;
        let scores = args.output(out_scores, k)?;
        let [count] = args.output(out_count, 1)? else {
            unreachable!("a slice of length 1")
        };
        Ok(status(
            similarity::top_k_into_parts(q, c, indices, scores).map(|found| *count = found),
        ))
    })
}

/// Cosine similarity of every query with every candidate, both row-major with `dim` floats per
/// row: `scores[j * num_candidates + i]` is query `j` against candidate `i`. Scored as
/// [`engram_vector_similarity`] scores (a query with a NaN or an
/// infinity scores 0 against everything, and the call still returns `ENGRAM_OK`), and bit for bit
/// what it gives query by query, but each candidate is read once per block of queries. See
/// [`cosine_similarity_many`](engram_kernels::kernels::similarity::cosine_similarity_many).
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
/// use engram_kernels_c::{ENGRAM_OK, similarity::engram_cosine_similarity_many};
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
/// (row-major, `dim` floats per row), as [`engram_top_k_similarity`]
/// ranks them (best first, ties by lower index, candidates with an undefined score skipped),
/// computed with the many-query kernel. Query `j`'s matches go to
/// `out_indices[j * k .. j * k + out_counts[j]]` and the same range of `out_scores`. See
/// [`top_k_many_into_parts`](engram_kernels::kernels::similarity::top_k_many_into_parts).
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
/// use engram_kernels_c::{ENGRAM_OK, similarity::engram_top_k_similarity_many};
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
        Ok(status(similarity::top_k_many_into_parts(
            q, dim, c, k, indices, scores, counts,
        )))
    })
}
