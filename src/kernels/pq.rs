//! Product-quantization (PQ) asymmetric-distance scans: score `u8` code rows against an f32 query
//! through a per-query distance table, and select the top k.
//!
//! A PQ codebook splits a `dim`-dimensional space into `m` sub-spaces of `dsub = dim / m`
//! dimensions, each with [`CENTROIDS`] (256) centroids; a vector is stored as `m` bytes, the
//! index of the nearest centroid in each sub-space (Engram's cold tier: 768-d embeddings as
//! `m = 96` sub-vectors of `dsub = 8`). The *asymmetric* distance compares the exact query with
//! the centroids a code names, so one table of `m × 256` partial scores, built once per query
//! ([`build_table`]), turns every score into `m` table lookups and adds ([`scan`]).
//!
//! * [`Metric::L2`]: `table[j][c] = Σ_d (q[j·dsub + d] − centroid[j][c][d])²`, the score is the
//!   squared L2 distance from the query to the reconstructed vector; smaller is nearer.
//! * [`Metric::InnerProduct`]: `table[j][c] = Σ_d q[j·dsub + d] · centroid[j][c][d]`, the score
//!   is the inner product with the reconstructed vector; larger is nearer.
//!
//! Cosine similarity is not a third metric: the reconstructed vector's norm is not the sum of
//! per-sub-space terms, so it cannot come out of one table. Normalize the vectors before training
//! and encoding (the usual practice), normalize the query, and rank by
//! [`InnerProduct`](Metric::InnerProduct); or rank by L2, which orders unit vectors as cosine does.
//!
//! # Agreement between SIMD levels
//!
//! Every level gives the same scores **bit for bit**, the scalar reference's. The table is built by
//! one portable function at every level, and every kernel computes a row's score in the same
//! order: `((0 + table[0][c₀]) + table[1][c₁]) + … + table[m−1][c_{m−1}]`, in f32. The SIMD
//! kernels put *rows* in lanes (16 rows per AVX-512 vector, 8 per AVX2, 4 per NEON) and fetch
//! each lane's table entry (a gather on x86, scalar loads on NEON), so no lane ever adds in
//! another order; there is no FMA and no tree reduction. The tests compare scores with `to_bits`.
//!
//! # Speed
//!
//! A scan is bound by its table lookups, not by reading the codes: at `m = 96` each row costs 96
//! dependent-address loads. On x86_64 the automatic choice is a blocked scalar-load scan at every
//! level, because the AVX2 and AVX-512 gathers measured slower than scalar loads (AMD EPYC; the
//! figures and the command are in the README's Performance section); forcing a level with
//! [`dispatch::force`] runs its gather kernel. On aarch64 the NEON kernel runs.
//!
//! # Fast scan
//!
//! For many queries over the same codes, [`PackedCodes`] re-lays them once in blocks of 64 rows
//! (sub-space major), [`QuantizedTable`] turns a query's table into bytes, and
//! [`scan_quantized`] sums those bytes, one byte permute per 64 codes (AVX-512 VBMI, NEON): the
//! sums are integers, equal at every level, and estimate each score within a stated bound.
//! [`top_k_packed`] gives exactly [`top_k`]'s answer from them, rescoring in f32 only the rows
//! the bound cannot rule out.
//!
//! Non-finite values are not errors: a NaN or infinity in the query or the codebook spreads into
//! the table and the scores by IEEE rules. The top-k functions skip NaN scores.
//!
//! # Example
//!
//! ```
//! use engram_kernels::kernels::pq::{self, Metric, CENTROIDS};
//!
//! // m = 2 sub-spaces of dsub = 1 dimension; centroid c of both sub-spaces is the value c.
//! let codebook: Vec<f32> = (0..2 * CENTROIDS).map(|i| (i % CENTROIDS) as f32).collect();
//! let query = [3.0, 10.0];
//! let codes = [3, 10, /* next row */ 4, 8, /* next */ 0, 0];
//!
//! let table = pq::distance_table(&query, &codebook, 2, Metric::L2)?;
//! let mut scores = [0.0; 3];
//! pq::scan(&table, 2, &codes, &mut scores)?;
//! assert_eq!(scores, [0.0, 1.0 + 4.0, 9.0 + 100.0]);
//!
//! let best = pq::top_k(&query, &codebook, 2, Metric::L2, &codes, 2)?;
//! assert_eq!(best.iter().map(|m| m.index).collect::<Vec<_>>(), [0, 1]);
//! # Ok::<(), engram_kernels::kernels::KernelError>(())
//! ```

use super::KernelError;
use super::dispatch::{self, Isa, Token};
use super::similarity::Match;
use super::similarity::select::TopK;
use crate::kernels::error::expect_len;
use crate::kernels::staging::stage;
use crate::scratch::with_arena;

mod kernel;
#[cfg(target_arch = "aarch64")]
mod neon;
mod packed;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use packed::{
    BLOCK_ROWS, MAX_QUANTIZED_M, PackedCodes, QuantizedTable, pack_into, packed_len,
    scan_quantized, top_k_packed, top_k_packed_into_parts, top_k_packed_with_table,
};

/// Centroids per sub-space: a code is one byte.
///
/// # Example
///
/// ```
/// assert_eq!(engram_kernels::kernels::pq::CENTROIDS, 256);
/// ```
pub const CENTROIDS: usize = 256;

/// What a distance table holds, and so what a score means and which scores rank first.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::pq::Metric;
///
/// assert!(Metric::L2.ranks_first(1.0, 2.0)); // a smaller distance is nearer
/// assert!(Metric::InnerProduct.ranks_first(2.0, 1.0)); // a larger product is nearer
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Squared Euclidean distance; smaller is nearer.
    L2,
    /// Inner product; larger is nearer.
    InnerProduct,
}

impl Metric {
    /// Whether score `a` ranks strictly before score `b` under this metric.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::kernels::pq::Metric;
    ///
    /// assert!(!Metric::L2.ranks_first(1.0, 1.0));
    /// ```
    pub fn ranks_first(self, a: f32, b: f32) -> bool {
        match self {
            Metric::L2 => a < b,
            Metric::InnerProduct => a > b,
        }
    }

    /// The key the top-k heap (which keeps the largest) ranks by: the score, negated for L2.
    /// Negation is exact, so negating again gives the score back bit for bit.
    fn key(self, score: f32) -> f32 {
        match self {
            Metric::L2 => -score,
            Metric::InnerProduct => score,
        }
    }
}

/// Writes the `m × 256` distance table of `query` against `codebook` into `table`: entry
/// `table[j * 256 + c]` is the partial score of sub-space `j` for centroid `c` (see the module
/// docs). `dsub = query.len() / m`; `codebook` holds `m × 256 × dsub` floats, sub-space major,
/// then centroid, then dimension.
///
/// # Errors
///
/// * [`KernelError::InvalidParameter`] if `m` is 0 or does not divide `query.len()`;
/// * [`KernelError::EmptyQuery`] if `query` is empty;
/// * [`KernelError::LengthMismatch`] unless `codebook.len() == m * 256 * dsub` and
///   `table.len() == m * 256`.
///
/// `table` is untouched on error.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::pq::{build_table, Metric, CENTROIDS};
///
/// // One sub-space of two dimensions; centroid c is (c, 1).
/// let codebook: Vec<f32> = (0..CENTROIDS).flat_map(|c| [c as f32, 1.0]).collect();
/// let mut table = vec![0.0; CENTROIDS];
/// build_table(&[2.0, 3.0], &codebook, 1, Metric::InnerProduct, &mut table)?;
/// assert_eq!(&table[..3], &[3.0, 5.0, 7.0]);
///
/// let err = build_table(&[2.0, 3.0], &codebook, 1, Metric::L2, &mut table[..7]).unwrap_err();
/// assert_eq!(err.to_string(), "table has length 7, expected 256");
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn build_table(
    query: &[f32],
    codebook: &[f32],
    m: usize,
    metric: Metric,
    table: &mut [f32],
) -> Result<(), KernelError> {
    let dsub = table_shape(query, codebook, m)?;
    expect_len("table", m * CENTROIDS, table.len())?;
    kernel::build_table(query, codebook, dsub, metric, table);
    Ok(())
}

/// Like [`build_table`], into a new `Vec` of `m × 256` floats.
///
/// # Errors
///
/// As for [`build_table`] (except for the table's length).
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::pq::{distance_table, Metric, CENTROIDS};
///
/// let codebook = vec![1.0; 3 * CENTROIDS * 2]; // m = 3, dsub = 2, every centroid (1, 1)
/// let table = distance_table(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &codebook, 3, Metric::L2)?;
/// assert_eq!((table.len(), table[0], table[256], table[512]), (768, 1.0, 13.0, 41.0));
///
/// let err = distance_table(&[1.0; 6], &codebook, 4, Metric::L2).unwrap_err();
/// assert_eq!(err.to_string(), "m is 4, but it must be at least 1 and divide query.len()");
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn distance_table(
    query: &[f32],
    codebook: &[f32],
    m: usize,
    metric: Metric,
) -> Result<Vec<f32>, KernelError> {
    let dsub = table_shape(query, codebook, m)?;
    let mut table = vec![0.0; m * CENTROIDS];
    kernel::build_table(query, codebook, dsub, metric, &mut table);
    Ok(table)
}

/// Scores every code row against a distance table: `scores[i]` is the sum over `j` of
/// `table[j * 256 + codes[i * m + j]]`, added in order of `j` (see the module docs). `codes` is
/// row-major, `m` bytes per row. No scratch and no allocation.
///
/// # Errors
///
/// * [`KernelError::InvalidParameter`] if `m` is 0;
/// * [`KernelError::LengthMismatch`] unless `table.len() == m * 256` and
///   `codes.len() == scores.len() * m`.
///
/// `scores` is untouched on error.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::pq::{scan, CENTROIDS};
///
/// let table: Vec<f32> = (0..2 * CENTROIDS).map(|i| i as f32).collect(); // m = 2
/// let mut scores = [0.0; 2];
/// scan(&table, 2, &[0, 0, /* */ 5, 1], &mut scores)?;
/// assert_eq!(scores, [256.0, 5.0 + 257.0]);
///
/// let err = scan(&table, 2, &[0, 0, 5], &mut scores).unwrap_err();
/// assert_eq!(err.to_string(), "codes has length 3, expected 4");
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn scan(table: &[f32], m: usize, codes: &[u8], scores: &mut [f32]) -> Result<(), KernelError> {
    scan_shape(table, m)?;
    expect_len("codes", scores.len().saturating_mul(m), codes.len())?;
    scan_at(dispatch::token(), table, codes, scores);
    Ok(())
}

/// The `k` nearest code rows to `query` under `metric`, nearest first (smallest L2 distance,
/// largest inner product); equal scores are ordered by lower row index, and rows whose score is
/// NaN are skipped. The distance table and the selection heap live in the thread's scratch arena.
///
/// # Errors
///
/// * As for [`build_table`];
/// * [`KernelError::InvalidParameter`] if `k` is 0 (a caller asking for nothing is a bug);
/// * [`KernelError::NotAMultiple`] unless `codes.len()` is a multiple of `m`;
/// * [`KernelError::ScratchExhausted`] if the table or heap does not fit the scratch arena under
///   the [`Error`](crate::OverflowPolicy::Error) overflow policy.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::pq::{top_k, Metric, CENTROIDS};
///
/// // m = 1, dsub = 1: centroid c is the value c.
/// let codebook: Vec<f32> = (0..CENTROIDS).map(|c| c as f32).collect();
/// let codes = [9, 2, 7, 255];
/// let near = top_k(&[8.0], &codebook, 1, Metric::L2, &codes, 2)?;
/// assert_eq!(near.iter().map(|m| (m.index, m.score)).collect::<Vec<_>>(), [(0, 1.0), (2, 1.0)]);
/// let big = top_k(&[1.0], &codebook, 1, Metric::InnerProduct, &codes, 1)?;
/// assert_eq!((big[0].index, big[0].score), (3, 255.0));
///
/// let err = top_k(&[8.0], &codebook, 1, Metric::L2, &codes, 0).unwrap_err();
/// assert_eq!(err.to_string(), "k is 0, but it must be at least 1");
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn top_k(
    query: &[f32],
    codebook: &[f32],
    m: usize,
    metric: Metric,
    codes: &[u8],
    k: usize,
) -> Result<Vec<Match>, KernelError> {
    let n = top_k_shape(query, codebook, m, codes, k)?;
    with_arena(|scratch| {
        let table = stage(scratch, m * CENTROIDS, |_| 0.0f32)?;
        build_table(query, codebook, m, metric, table)?;
        let heap = stage(scratch, k.min(n), |_| Match::default())?;
        let found = select(table, m, metric, codes, heap);
        Ok(heap[..found].to_vec())
    })
}

/// Like [`top_k`] with `k = indices.len()`, writing each match's row index to `indices` and its
/// score to `scores` (two arrays, as a C caller holds them). Table and heap live in scratch.
/// Returns how many matches were written, nearest first; both outputs beyond that count are
/// untouched.
///
/// # Errors
///
/// As for [`top_k`]; [`KernelError::LengthMismatch`] unless `scores.len() == indices.len()`. The
/// outputs are untouched on any error.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::pq::{top_k_into_parts, Metric, CENTROIDS};
///
/// let codebook: Vec<f32> = (0..CENTROIDS).map(|c| c as f32).collect();
/// let (mut indices, mut scores) = ([0usize; 2], [0.0f32; 2]);
/// let n = top_k_into_parts(&[2.0], &codebook, 1, Metric::L2, &[0, 3, 2], &mut indices, &mut scores)?;
/// assert_eq!((n, indices, scores), (2, [2, 1], [0.0, 1.0]));
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn top_k_into_parts(
    query: &[f32],
    codebook: &[f32],
    m: usize,
    metric: Metric,
    codes: &[u8],
    indices: &mut [usize],
    scores: &mut [f32],
) -> Result<usize, KernelError> {
    expect_len("scores", indices.len(), scores.len())?;
    let n = top_k_shape(query, codebook, m, codes, indices.len())?;
    with_arena(|scratch| {
        let table = stage(scratch, m * CENTROIDS, |_| 0.0f32)?;
        build_table(query, codebook, m, metric, table)?;
        let heap = stage(scratch, indices.len().min(n), |_| Match::default())?;
        let found = select(table, m, metric, codes, heap);
        for ((hit, i), s) in heap[..found].iter().zip(indices).zip(scores) {
            (*i, *s) = (hit.index, hit.score);
        }
        Ok(found)
    })
}

/// The nearest code rows under a distance table built for `metric`, written to `out` (used as the
/// heap, `k = out.len()`) without allocating. Returns how many were written: `min(k, rows)` less
/// the rows whose score is NaN; `out` beyond that count is untouched. Ranked as [`top_k`] ranks.
///
/// # Errors
///
/// As for [`scan`] (the `codes` length error is [`KernelError::NotAMultiple`] here), and
/// [`KernelError::InvalidParameter`] if `out` is empty.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::pq::{top_k_with_table, Metric, CENTROIDS};
/// use engram_kernels::kernels::similarity::Match;
///
/// let mut table = vec![0.0; CENTROIDS];
/// table[1] = -2.0;
/// table[2] = f32::NAN;
/// let mut out = [Match::default(); 3];
/// let n = top_k_with_table(&table, 1, Metric::L2, &[2, 0, 1], &mut out)?;
/// assert_eq!(n, 2); // the NaN row is skipped
/// assert_eq!(out[..2], [Match { index: 2, score: -2.0 }, Match { index: 1, score: 0.0 }]);
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn top_k_with_table(
    table: &[f32],
    m: usize,
    metric: Metric,
    codes: &[u8],
    out: &mut [Match],
) -> Result<usize, KernelError> {
    scan_shape(table, m)?;
    rows(codes, m)?;
    positive("k", out.len())?;
    Ok(select(table, m, metric, codes, out))
}

/// The selection behind every top-k function; arguments are validated (`m > 0`, a table of
/// `m × 256`, whole rows of codes).
fn select(table: &[f32], m: usize, metric: Metric, codes: &[u8], out: &mut [Match]) -> usize {
    let token = dispatch::token();
    let mut heap = TopK::new(out);
    // Scores go through a small stack buffer so each block runs the scan kernel at full speed.
    const BLOCK: usize = 256;
    let mut buf = [0.0f32; BLOCK];
    for (b, block) in codes.chunks(BLOCK * m).enumerate() {
        let scores = &mut buf[..block.len() / m];
        scan_at(token, table, block, scores);
        for (j, &score) in scores.iter().enumerate() {
            heap.push(b * BLOCK + j, metric.key(score));
        }
    }
    let found = heap.finish();
    for hit in &mut out[..found] {
        hit.score = metric.key(hit.score);
    }
    found
}

/// `dsub`, or why `query`, `codebook` and `m` do not make a codebook.
fn table_shape(query: &[f32], codebook: &[f32], m: usize) -> Result<usize, KernelError> {
    if query.is_empty() {
        return Err(KernelError::EmptyQuery);
    }
    if m == 0 || !query.len().is_multiple_of(m) {
        return Err(KernelError::InvalidParameter {
            what: "m",
            value: m as f64,
            requirement: "at least 1 and divide query.len()",
        });
    }
    // m * 256 * dsub = query.len() * 256: overflows only for a query no slice can hold.
    expect_len(
        "codebook",
        query.len().saturating_mul(CENTROIDS),
        codebook.len(),
    )?;
    Ok(query.len() / m)
}

/// Checks what every scan needs: `m > 0` and a table of `m × 256` floats.
fn scan_shape(table: &[f32], m: usize) -> Result<(), KernelError> {
    positive("m", m)?;
    expect_len("table", m.saturating_mul(CENTROIDS), table.len())
}

/// The number of code rows, or why `codes` does not split into rows of `m` bytes (`m > 0`).
fn rows(codes: &[u8], m: usize) -> Result<usize, KernelError> {
    if codes.len().is_multiple_of(m) {
        Ok(codes.len() / m)
    } else {
        Err(KernelError::NotAMultiple {
            what: "codes",
            len: codes.len(),
            dim: m,
        })
    }
}

/// Validates the arguments of the query-taking top-k functions; returns the number of rows.
fn top_k_shape(
    query: &[f32],
    codebook: &[f32],
    m: usize,
    codes: &[u8],
    k: usize,
) -> Result<usize, KernelError> {
    table_shape(query, codebook, m)?;
    positive("k", k)?;
    rows(codes, m)
}

/// `Ok` unless `value` is 0.
fn positive(what: &'static str, value: usize) -> Result<(), KernelError> {
    if value == 0 {
        return Err(KernelError::InvalidParameter {
            what,
            value: 0.0,
            requirement: "at least 1",
        });
    }
    Ok(())
}

/// Runs the scan kernel for the token. Lengths are validated: `m > 0`,
/// `table.len() == m * 256`, `codes.len() == scores.len() * m`.
///
/// On x86 the automatic choice is the scalar-load kernel at every level: the gather kernels
/// measured 1.7x (AVX-512) and 2.1x (AVX2) slower on AMD EPYC (`cargo bench -p engram-bench
/// --bench pq`). They run when a level is [forced](dispatch::force), so tests and the benchmark
/// still compare every level; they give the same scores bit for bit.
fn scan_at(token: Token, table: &[f32], codes: &[u8], scores: &mut [f32]) {
    let (table, _) = table.as_chunks::<CENTROIDS>();
    match token.isa() {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512(t) if dispatch::is_forced() => x86::scan_avx512(t, table, codes, scores),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2(t) if dispatch::is_forced() => x86::scan_avx2(t, table, codes, scores),
        #[cfg(target_arch = "aarch64")]
        Isa::Neon(t) => neon::scan_neon(t, table, codes, scores),
        _ => kernel::scan_scalar(table, codes, scores),
    }
}
