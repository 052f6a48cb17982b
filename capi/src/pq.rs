//! C exports of the product-quantization scans: build a query's distance table, score code rows
//! against it, and select the top k.

use crate::args::{Args, guard_status, status};
use crate::{ENGRAM_ERR_INVALID, ENGRAM_OK};
use engram_kernels::kernels::pq::{self, CENTROIDS, Metric, PackedCodes};

/// `metric` value of the PQ exports: squared L2 distance (smaller is nearer).
///
/// # Example
///
/// ```
/// assert_eq!(engram_kernels_c::pq::ENGRAM_PQ_L2, 0);
/// ```
pub const ENGRAM_PQ_L2: u32 = 0;
/// `metric` value of the PQ exports: inner product (larger is nearer).
///
/// # Example
///
/// ```
/// assert_eq!(engram_kernels_c::pq::ENGRAM_PQ_INNER_PRODUCT, 1);
/// ```
pub const ENGRAM_PQ_INNER_PRODUCT: u32 = 1;

/// The metric a C `metric` value names.
fn to_metric(code: u32) -> Result<Metric, i32> {
    match code {
        ENGRAM_PQ_L2 => Ok(Metric::L2),
        ENGRAM_PQ_INNER_PRODUCT => Ok(Metric::InnerProduct),
        _ => Err(ENGRAM_ERR_INVALID),
    }
}

/// Writes the `m × 256` distance table of `query` (`dim` floats) against `codebook`
/// (`dim × 256` floats: `m` sub-spaces × 256 centroids × `dim / m` floats) into `table`
/// (`m × 256` floats). See [`build_table`](engram_kernels::kernels::pq::build_table).
///
/// Returns `ENGRAM_OK`; `ENGRAM_ERR_NULL` for a null pointer with a non-zero length;
/// `ENGRAM_ERR_INVALID` for an unknown `metric`, `dim == 0`, `m == 0` or `m` not dividing `dim`,
/// a size that overflows, or an overlap. On error `table` is untouched. No scratch.
///
/// # Safety
///
/// Each non-null pointer must be valid for its length (`dim`, `dim * 256`, `m * 256`).
///
/// # Example
///
/// ```
/// use engram_kernels_c::{ENGRAM_OK, pq::{engram_pq_build_table, ENGRAM_PQ_L2}};
/// let codebook: Vec<f32> = (0..256).map(|c| c as f32).collect(); // m = 1, dsub = 1
/// let mut table = vec![0.0f32; 256];
/// // SAFETY: every pointer is valid for the length passed with it.
/// let rc = unsafe {
///     engram_pq_build_table([3.0f32].as_ptr(), 1, codebook.as_ptr(), 1, ENGRAM_PQ_L2,
///                           table.as_mut_ptr())
/// };
/// assert_eq!((rc, table[0], table[3], table[5]), (ENGRAM_OK, 9.0, 0.0, 4.0));
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_pq_build_table(
    query: *const f32,
    dim: usize,
    codebook: *const f32,
    m: usize,
    metric: u32,
    table: *mut f32,
) -> i32 {
    guard_status(|| {
        let metric = to_metric(metric)?;
        let (Some(book_len), Some(table_len)) =
            (dim.checked_mul(CENTROIDS), m.checked_mul(CENTROIDS))
        else {
            return Err(ENGRAM_ERR_INVALID);
        };
        // SAFETY: the pointers are valid for these lengths: this function's contract.
        let mut args = unsafe { Args::new() };
        let t = args.output(table, table_len)?;
        let q = args.input(query, dim)?;
        let c = args.input(codebook, book_len)?;
        Ok(status(pq::build_table(q, c, m, metric, t)))
    })
}

/// Scores `num_codes` code rows (`m` bytes each, row-major) against a distance table of `m × 256`
/// floats: `scores[i]` is the sum of `table[j * 256 + codes[i * m + j]]` over `j`, added in order
/// of `j` (the same bits at every SIMD level). See
/// [`scan`](engram_kernels::kernels::pq::scan).
///
/// Returns `ENGRAM_OK`; `ENGRAM_ERR_NULL` for a null pointer with a non-zero length;
/// `ENGRAM_ERR_INVALID` for `m == 0`, a size that overflows, or an overlap. On error `scores` is
/// untouched. No scratch.
///
/// # Safety
///
/// Each non-null pointer must be valid for its length (`m * 256`, `num_codes * m`, `num_codes`).
///
/// # Example
///
/// ```
/// use engram_kernels_c::{ENGRAM_OK, pq::engram_pq_scan};
/// let table: Vec<f32> = (0..512).map(|i| i as f32).collect(); // m = 2
/// let codes = [0u8, 0, /* */ 5, 1];
/// let mut scores = [0.0f32; 2];
/// // SAFETY: every pointer is valid for the length passed with it.
/// let rc = unsafe { engram_pq_scan(table.as_ptr(), 2, codes.as_ptr(), 2, scores.as_mut_ptr()) };
/// assert_eq!((rc, scores), (ENGRAM_OK, [256.0, 262.0]));
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_pq_scan(
    table: *const f32,
    m: usize,
    codes: *const u8,
    num_codes: usize,
    scores: *mut f32,
) -> i32 {
    guard_status(|| {
        let (Some(table_len), Some(codes_len)) =
            (m.checked_mul(CENTROIDS), num_codes.checked_mul(m))
        else {
            return Err(ENGRAM_ERR_INVALID);
        };
        // SAFETY: the pointers are valid for these lengths: this function's contract.
        let mut args = unsafe { Args::new() };
        let s = args.output(scores, num_codes)?;
        let t = args.input(table, table_len)?;
        let c = args.input(codes, codes_len)?;
        Ok(status(pq::scan(t, m, c, s)))
    })
}

/// The `k` nearest of `num_codes` code rows (`m` bytes each) to `query` (`dim` floats) under
/// `metric`, with the codebook of [`engram_pq_build_table`]: writes up to `k` row indices to
/// `out_indices` and their scores to `out_scores`, nearest first (ties by lower index, NaN scores
/// skipped), and that count to `*out_count`. The table and heap live in the thread's scratch
/// arena. See [`top_k_into_parts`](engram_kernels::kernels::pq::top_k_into_parts).
///
/// Returns `ENGRAM_OK`; `ENGRAM_ERR_NULL` for a null pointer with a non-zero length (`out_count`
/// must never be null); `ENGRAM_ERR_INVALID` for an unknown `metric`, `k == 0`, `dim == 0`,
/// `m == 0` or `m` not dividing `dim`, a size that overflows, or an overlap;
/// `ENGRAM_ERR_SCRATCH` under `error_return` when the table (`1 KiB × m`) and heap
/// (`16 × k` bytes) do not fit. On any error the outputs are untouched.
///
/// # Safety
///
/// Each non-null pointer must be valid for its length (`dim`, `dim * 256`, `num_codes * m`, `k`,
/// `k`, 1), and the outputs must not overlap anything else.
///
/// # Example
///
/// ```
/// use engram_kernels_c::{ENGRAM_OK, pq::{engram_pq_top_k, ENGRAM_PQ_L2}};
/// let codebook: Vec<f32> = (0..256).map(|c| c as f32).collect(); // m = 1, dsub = 1
/// let codes = [9u8, 2, 7, 255];
/// let (mut idx, mut sc, mut n) = ([0usize; 2], [0.0f32; 2], 0usize);
/// // SAFETY: every pointer is valid for the length passed with it.
/// let rc = unsafe {
///     engram_pq_top_k([8.0f32].as_ptr(), 1, codebook.as_ptr(), 1, ENGRAM_PQ_L2, codes.as_ptr(),
///                     4, 2, idx.as_mut_ptr(), sc.as_mut_ptr(), &mut n)
/// };
/// assert_eq!((rc, n, idx, sc), (ENGRAM_OK, 2, [0, 2], [1.0, 1.0]));
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_pq_top_k(
    query: *const f32,
    dim: usize,
    codebook: *const f32,
    m: usize,
    metric: u32,
    codes: *const u8,
    num_codes: usize,
    k: usize,
    out_indices: *mut usize,
    out_scores: *mut f32,
    out_count: *mut usize,
) -> i32 {
    guard_status(|| {
        let metric = to_metric(metric)?;
        let (Some(book_len), Some(codes_len)) =
            (dim.checked_mul(CENTROIDS), num_codes.checked_mul(m))
        else {
            return Err(ENGRAM_ERR_INVALID);
        };
        // SAFETY: the pointers are valid for these lengths: this function's contract.
        let mut args = unsafe { Args::new() };
        let indices = args.output(out_indices, k)?;
        let scores = args.output(out_scores, k)?;
        let [count] = args.output(out_count, 1)? else {
            unreachable!("a slice of length 1")
        };
        let q = args.input(query, dim)?;
        let c = args.input(codebook, book_len)?;
        let codes = args.input(codes, codes_len)?;
        Ok(status(
            pq::top_k_into_parts(q, c, m, metric, codes, indices, scores).map(|n| *count = n),
        ))
    })
}

/// Writes to `*out_len` the bytes that `num_codes` code rows of `m` codes take packed for
/// [`engram_pq_top_k_packed`]: `⌈num_codes / 64⌉ · 64 · m`. See
/// [`packed_len`](engram_kernels::kernels::pq::packed_len).
///
/// Returns `ENGRAM_OK`; `ENGRAM_ERR_NULL` if `out_len` is null; `ENGRAM_ERR_INVALID` for `m == 0`
/// or a size that overflows (`*out_len` untouched then).
///
/// # Safety
///
/// `out_len` must be null or valid for one write.
///
/// # Example
///
/// ```
/// use engram_kernels_c::{ENGRAM_OK, pq::engram_pq_packed_len};
/// let mut len = 0usize;
/// // SAFETY: `len` is valid for one write.
/// assert_eq!(unsafe { engram_pq_packed_len(65, 96, &mut len) }, ENGRAM_OK);
/// assert_eq!(len, 2 * 64 * 96);
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_pq_packed_len(
    num_codes: usize,
    m: usize,
    out_len: *mut usize,
) -> i32 {
    guard_status(|| {
        // SAFETY: the pointer is valid for this length: this function's contract.
        let mut args = unsafe { Args::new() };
        let [len] = args.output(out_len, 1)? else {
            unreachable!("a slice of length 1")
        };
        if m == 0 {
            return Err(ENGRAM_ERR_INVALID);
        }
        *len = pq::packed_len(num_codes, m).ok_or(ENGRAM_ERR_INVALID)?;
        Ok(ENGRAM_OK)
    })
}

/// Packs `num_codes` code rows (`m` bytes each, row-major) into `packed`, a buffer of
/// [`engram_pq_packed_len`] bytes, for [`engram_pq_top_k_packed`]: blocks of 64 rows, sub-space
/// major, the last block padded with zero codes. Pack once, then scan any number of queries; the
/// packed bytes may be stored and reloaded as they are. See
/// [`pack_into`](engram_kernels::kernels::pq::pack_into).
///
/// Returns `ENGRAM_OK`; `ENGRAM_ERR_NULL` for a null pointer with a non-zero length;
/// `ENGRAM_ERR_INVALID` for `m == 0`, a size that overflows, or an overlap. On error `packed` is
/// untouched. No scratch.
///
/// # Safety
///
/// Each non-null pointer must be valid for its length (`num_codes * m`, and the packed length).
///
/// # Example
///
/// ```
/// use engram_kernels_c::{ENGRAM_OK, pq::engram_pq_pack};
/// let codes = [1u8, 2, /* */ 3, 4];
/// let mut packed = vec![0xFFu8; 128]; // engram_pq_packed_len(2, 2)
/// // SAFETY: every pointer is valid for the length passed with it.
/// let rc = unsafe { engram_pq_pack(codes.as_ptr(), 2, 2, packed.as_mut_ptr()) };
/// assert_eq!((rc, packed[0], packed[1], packed[2], packed[64]), (ENGRAM_OK, 1, 3, 0, 2));
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_pq_pack(
    codes: *const u8,
    num_codes: usize,
    m: usize,
    packed: *mut u8,
) -> i32 {
    guard_status(|| {
        if m == 0 {
            return Err(ENGRAM_ERR_INVALID);
        }
        let (Some(codes_len), Some(packed_len)) =
            (num_codes.checked_mul(m), pq::packed_len(num_codes, m))
        else {
            return Err(ENGRAM_ERR_INVALID);
        };
        // SAFETY: the pointers are valid for these lengths: this function's contract.
        let mut args = unsafe { Args::new() };
        let out = args.output(packed, packed_len)?;
        let c = args.input(codes, codes_len)?;
        Ok(status(pq::pack_into(c, m, out).map(drop)))
    })
}

/// [`engram_pq_top_k`] over codes packed by [`engram_pq_pack`]: the same rows, scores and order,
/// bit for bit, from a quantized SIMD scan that rescores in f32 only the rows that could reach
/// the k nearest. `m` is at most 257. See
/// [`top_k_packed_into_parts`](engram_kernels::kernels::pq::top_k_packed_into_parts).
///
/// Returns `ENGRAM_OK`; `ENGRAM_ERR_NULL` for a null pointer with a non-zero length (`out_count`
/// must never be null); `ENGRAM_ERR_INVALID` for an unknown `metric`, `k == 0`, `dim == 0`,
/// `m == 0`, `m > 257` or `m` not dividing `dim`, a size that overflows, or an overlap;
/// `ENGRAM_ERR_SCRATCH` under `error_return` when the tables (`1.25 KiB × m`), histogram
/// (`1 KiB × m`) and heap (`16 × k` bytes) do not fit. On any error the outputs are untouched.
///
/// # Safety
///
/// Each non-null pointer must be valid for its length (`dim`, `dim * 256`, the packed length,
/// `k`, `k`, 1), and the outputs must not overlap anything else.
///
/// # Example
///
/// ```
/// use engram_kernels_c::{ENGRAM_OK, pq::{engram_pq_pack, engram_pq_top_k_packed, ENGRAM_PQ_L2}};
/// let codebook: Vec<f32> = (0..256).map(|c| c as f32).collect(); // m = 1, dsub = 1
/// let codes = [9u8, 2, 7, 255];
/// let mut packed = [0u8; 64]; // engram_pq_packed_len(4, 1)
/// let (mut idx, mut sc, mut n) = ([0usize; 2], [0.0f32; 2], 0usize);
/// // SAFETY: every pointer is valid for the length passed with it.
/// let rc = unsafe {
///     engram_pq_pack(codes.as_ptr(), 4, 1, packed.as_mut_ptr());
///     engram_pq_top_k_packed([8.0f32].as_ptr(), 1, codebook.as_ptr(), 1, ENGRAM_PQ_L2,
///                            packed.as_ptr(), 4, 2, idx.as_mut_ptr(), sc.as_mut_ptr(), &mut n)
/// };
/// assert_eq!((rc, n, idx, sc), (ENGRAM_OK, 2, [0, 2], [1.0, 1.0]));
/// ```
#[unsafe(no_mangle)]
pub unsafe extern "C" fn engram_pq_top_k_packed(
    query: *const f32,
    dim: usize,
    codebook: *const f32,
    m: usize,
    metric: u32,
    packed: *const u8,
    num_codes: usize,
    k: usize,
    out_indices: *mut usize,
    out_scores: *mut f32,
    out_count: *mut usize,
) -> i32 {
    guard_status(|| {
        let metric = to_metric(metric)?;
        if m == 0 {
            return Err(ENGRAM_ERR_INVALID);
        }
        let (Some(book_len), Some(packed_len)) =
            (dim.checked_mul(CENTROIDS), pq::packed_len(num_codes, m))
        else {
            return Err(ENGRAM_ERR_INVALID);
        };
        // SAFETY: the pointers are valid for these lengths: this function's contract.
        let mut args = unsafe { Args::new() };
        let indices = args.output(out_indices, k)?;
        let scores = args.output(out_scores, k)?;
        let [count] = args.output(out_count, 1)? else {
            unreachable!("a slice of length 1")
        };
        let q = args.input(query, dim)?;
        let c = args.input(codebook, book_len)?;
        let bytes = args.input(packed, packed_len)?;
        let packed =
            PackedCodes::from_packed(bytes, num_codes, m).map_err(|_| ENGRAM_ERR_INVALID)?;
        Ok(status(
            pq::top_k_packed_into_parts(q, c, m, metric, &packed, indices, scores)
                .map(|n| *count = n),
        ))
    })
}
