//! The PQ "fast scan": codes packed in blocks of 64 rows, a distance table quantized to `u8`, and
//! integer sums that one SIMD table lookup per 64 codes computes; plus an exact top-k that
//! rescores, with the f32 table, only the rows the integer sums cannot rule out.
//!
//! Everything here is safe arithmetic: packing index math, quantization and its error bound, the
//! scalar reference kernel and the selection. The SIMD kernels live in the per-ISA files.

use super::{CENTROIDS, Metric, kernel::score_row};
use crate::kernels::KernelError;
use crate::kernels::dispatch::{self, Isa, Token};
use crate::kernels::similarity::Match;
use crate::kernels::similarity::select::TopK;
use crate::kernels::staging::stage;
use crate::scratch::with_arena;

/// Rows per packed block: one 64-byte cache line holds one sub-space's codes of a block.
pub const BLOCK_ROWS: usize = 64;

/// The largest `m` whose integer sums fit a `u16`: `257 × 255 = 65535`.
pub const MAX_QUANTIZED_M: usize = 257;

/// PQ codes re-laid for the fast scan: blocks of [`BLOCK_ROWS`] rows, sub-space major inside a
/// block (bytes `j·64 .. j·64 + 64` of a block are sub-space `j`'s codes of its 64 rows), the last
/// block padded with zero codes. Packing costs one pass over the codes and as much memory again
/// (rounded up to whole blocks); pack once, then scan any number of queries.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::pq::PackedCodes;
///
/// let codes = [1, 2, /* row 1 */ 3, 4, /* row 2 */ 5, 6];
/// let packed = PackedCodes::pack(&codes, 2)?;
/// assert_eq!((packed.len(), packed.m()), (3, 2));
/// assert_eq!(packed.code(2, 1), 6);
/// assert_eq!(packed.row(1).collect::<Vec<u8>>(), [3, 4]);
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
///
/// The bytes can also live elsewhere: [`pack_into`] packs into a buffer the caller owns (a C
/// array, a memory-mapped file), [`as_bytes`](Self::as_bytes) gives them out for storage, and
/// [`from_packed`](PackedCodes::from_packed) wraps packed bytes, borrowed or owned, without
/// copying them (`PackedCodes<&[u8]>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackedCodes<S = Vec<u8>> {
    n: usize,
    m: usize,
    data: S,
}

impl PackedCodes {
    /// Packs row-major codes (`m` bytes per row).
    ///
    /// # Errors
    ///
    /// [`KernelError::InvalidParameter`] if `m` is 0 or the packed size overflows `usize`;
    /// [`KernelError::NotAMultiple`] unless `codes.len()` is a multiple of `m`.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::kernels::pq::PackedCodes;
    ///
    /// assert!(PackedCodes::pack(&[1, 2, 3], 2).is_err());
    /// assert!(PackedCodes::pack(&[], 4)?.is_empty());
    /// # Ok::<(), engram_kernels::kernels::KernelError>(())
    /// ```
    pub fn pack(codes: &[u8], m: usize) -> Result<Self, KernelError> {
        super::positive("m", m)?;
        let n = super::rows(codes, m)?;
        let mut data = vec![0u8; checked_packed_len(n, m)?];
        scatter(codes, m, &mut data);
        Ok(PackedCodes { n, m, data })
    }
}

impl<S: AsRef<[u8]>> PackedCodes<S> {
    /// Wraps bytes packed by [`pack_into`] (or taken from [`as_bytes`](Self::as_bytes)) for
    /// `rows` rows of `m` codes, without copying them.
    ///
    /// # Errors
    ///
    /// [`KernelError::InvalidParameter`] if `m` is 0 or the packed size overflows `usize`;
    /// [`KernelError::LengthMismatch`] unless `data` holds exactly
    /// [`packed_len(rows, m)`](packed_len) bytes.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::kernels::pq::{pack_into, packed_len, PackedCodes};
    ///
    /// let codes = [7, 8, /* row 1 */ 9, 10];
    /// let mut buf = vec![0xAA; packed_len(2, 2).unwrap()];
    /// pack_into(&codes, 2, &mut buf)?;
    /// let view = PackedCodes::from_packed(&buf[..], 2, 2)?;
    /// assert_eq!(view, PackedCodes::pack(&codes, 2)?.as_view());
    /// assert!(PackedCodes::from_packed(&buf[1..], 2, 2).is_err());
    /// # Ok::<(), engram_kernels::kernels::KernelError>(())
    /// ```
    pub fn from_packed(data: S, rows: usize, m: usize) -> Result<Self, KernelError> {
        super::positive("m", m)?;
        let len = checked_packed_len(rows, m)?;
        crate::kernels::error::expect_len("packed", len, data.as_ref().len())?;
        Ok(PackedCodes { n: rows, m, data })
    }

    /// The number of rows.
    ///
    /// # Example
    ///
    /// ```
    /// # use engram_kernels::kernels::pq::PackedCodes;
    /// assert_eq!(PackedCodes::pack(&[0; 6], 3)?.len(), 2);
    /// # Ok::<(), engram_kernels::kernels::KernelError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether there are no rows.
    ///
    /// # Example
    ///
    /// ```
    /// # use engram_kernels::kernels::pq::PackedCodes;
    /// assert!(!PackedCodes::pack(&[0; 6], 3)?.is_empty());
    /// # Ok::<(), engram_kernels::kernels::KernelError>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Codes per row (sub-spaces).
    ///
    /// # Example
    ///
    /// ```
    /// # use engram_kernels::kernels::pq::PackedCodes;
    /// assert_eq!(PackedCodes::pack(&[0; 6], 3)?.m(), 3);
    /// # Ok::<(), engram_kernels::kernels::KernelError>(())
    /// ```
    pub fn m(&self) -> usize {
        self.m
    }

    /// The packed bytes, [`packed_len(len(), m())`](packed_len) of them: what
    /// [`from_packed`](PackedCodes::from_packed) takes back.
    ///
    /// # Panics
    ///
    /// If `S`'s `as_ref` no longer returns as many bytes as [`from_packed`](Self::from_packed)
    /// checked (a storage type whose contents change length behind a shared reference). Every
    /// read of the codes goes through here, so such storage panics instead of scoring rows that
    /// are not there.
    ///
    /// # Example
    ///
    /// ```
    /// # use engram_kernels::kernels::pq::PackedCodes;
    /// let packed = PackedCodes::pack(&[1, 2], 2)?;
    /// assert_eq!(packed.as_bytes().len(), 128);
    /// assert_eq!((packed.as_bytes()[0], packed.as_bytes()[64]), (1, 2));
    /// # Ok::<(), engram_kernels::kernels::KernelError>(())
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        let bytes = self.data.as_ref();
        // The length was checked at construction, so it fits `usize`.
        let want = packed_len(self.n, self.m).unwrap_or(usize::MAX);
        assert!(
            bytes.len() == want,
            "PackedCodes storage changed length: {} bytes, {want} expected",
            bytes.len()
        );
        bytes
    }

    /// A borrowed view of the same rows.
    ///
    /// # Panics
    ///
    /// As [`as_bytes`](Self::as_bytes).
    ///
    /// # Example
    ///
    /// ```
    /// # use engram_kernels::kernels::pq::PackedCodes;
    /// let packed = PackedCodes::pack(&[1, 2], 2)?;
    /// assert_eq!(packed.as_view().code(0, 1), 2);
    /// # Ok::<(), engram_kernels::kernels::KernelError>(())
    /// ```
    pub fn as_view(&self) -> PackedCodes<&[u8]> {
        PackedCodes {
            n: self.n,
            m: self.m,
            data: self.as_bytes(),
        }
    }

    /// Row `i`'s code in sub-space `j`.
    ///
    /// # Panics
    ///
    /// If `i >= len()` or `j >= m()`.
    ///
    /// # Example
    ///
    /// ```
    /// # use engram_kernels::kernels::pq::PackedCodes;
    /// let packed = PackedCodes::pack(&[7, 8, 9], 3)?;
    /// assert_eq!(packed.code(0, 2), 9);
    /// # Ok::<(), engram_kernels::kernels::KernelError>(())
    /// ```
    pub fn code(&self, i: usize, j: usize) -> u8 {
        assert!(i < self.n && j < self.m, "code ({i}, {j}) out of range");
        self.as_bytes()[packed_index(self.m, i, j)]
    }

    /// Row `i`'s codes in order of the sub-space.
    ///
    /// # Panics
    ///
    /// If `i >= len()`.
    ///
    /// # Example
    ///
    /// ```
    /// # use engram_kernels::kernels::pq::PackedCodes;
    /// let packed = PackedCodes::pack(&[7, 8, 9], 3)?;
    /// assert_eq!(packed.row(0).collect::<Vec<_>>(), [7, 8, 9]);
    /// # Ok::<(), engram_kernels::kernels::KernelError>(())
    /// ```
    pub fn row(&self, i: usize) -> impl Iterator<Item = u8> + '_ {
        assert!(i < self.n, "row {i} out of range");
        let bytes = self.as_bytes();
        (0..self.m).map(move |j| bytes[packed_index(self.m, i, j)])
    }

    /// The blocks, `64 × m` bytes each.
    fn blocks(&self) -> core::slice::ChunksExact<'_, u8> {
        self.as_bytes().chunks_exact(BLOCK_ROWS * self.m)
    }
}

/// Bytes that `rows` rows of `m` codes take packed: `⌈rows / 64⌉ · 64 · m` (whole blocks);
/// `None` if that overflows `usize`.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::pq::packed_len;
///
/// assert_eq!(packed_len(0, 96), Some(0));
/// assert_eq!(packed_len(65, 96), Some(2 * 64 * 96));
/// assert_eq!(packed_len(usize::MAX, 2), None);
/// ```
pub fn packed_len(rows: usize, m: usize) -> Option<usize> {
    rows.div_ceil(BLOCK_ROWS)
        .checked_mul(BLOCK_ROWS)?
        .checked_mul(m)
}

/// [`packed_len`] as a kernel error.
fn checked_packed_len(rows: usize, m: usize) -> Result<usize, KernelError> {
    packed_len(rows, m).ok_or(KernelError::InvalidParameter {
        what: "rows",
        value: rows as f64,
        requirement: "a packed size that fits usize",
    })
}

/// Packs row-major codes (`m` bytes per row) into `out`, a buffer the caller owns, padding the
/// last block with zero codes; wrap it with [`PackedCodes::from_packed`] to scan it. Returns the
/// number of rows.
///
/// # Errors
///
/// [`KernelError::InvalidParameter`] if `m` is 0; [`KernelError::NotAMultiple`] unless
/// `codes.len()` is a multiple of `m`; [`KernelError::LengthMismatch`] unless `out` holds exactly
/// [`packed_len(rows, m)`](packed_len) bytes. `out` is untouched on any error.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::pq::{pack_into, packed_len};
///
/// let mut out = vec![0xFF; packed_len(1, 2).unwrap()];
/// assert_eq!(pack_into(&[3, 4], 2, &mut out)?, 1);
/// assert_eq!((out[0], out[1], out[64]), (3, 0, 4));
/// assert!(pack_into(&[3, 4], 2, &mut out[..10]).is_err());
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn pack_into(codes: &[u8], m: usize, out: &mut [u8]) -> Result<usize, KernelError> {
    super::positive("m", m)?;
    let n = super::rows(codes, m)?;
    crate::kernels::error::expect_len("packed", checked_packed_len(n, m)?, out.len())?;
    out.fill(0);
    scatter(codes, m, out);
    Ok(n)
}

/// Writes row-major `codes` into zeroed packed `out` (lengths checked).
fn scatter(codes: &[u8], m: usize, out: &mut [u8]) {
    for (i, row) in codes.chunks_exact(m).enumerate() {
        for (j, &c) in row.iter().enumerate() {
            out[packed_index(m, i, j)] = c;
        }
    }
}

/// Where row `i`'s code of sub-space `j` sits in a packed buffer of `m` codes per row.
pub(super) fn packed_index(m: usize, i: usize, j: usize) -> usize {
    (i / BLOCK_ROWS) * BLOCK_ROWS * m + j * BLOCK_ROWS + i % BLOCK_ROWS
}

/// A distance table quantized to `u8`: `table[j][c] ≈ min_j + scale · q[j][c]`, with one offset
/// `min_j` per sub-space (its smallest entry) and one scale shared by all sub-spaces,
/// `scale = max_j (max_j − min_j) / 255`, so a row's integer sum `Σ_j q[j][c_j]` estimates its
/// score as `offset() + scale() · sum`.
///
/// # Error bound
///
/// For every row, `|scan score − (offset + scale · sum)| ≤ bound()`, where the exact f32 score is
/// [`scan`](super::scan)'s and
/// `bound = (Σ_j max_c |table[j][c] − (min_j + scale · q[j][c])| + m · ε · Σ_j max_c |table[j][c]|)
/// · (1 + 10⁻⁹) + 10⁻¹² · Σ_j max_c |table[j][c]|`: the first sum is the rounding to `u8` (each
/// term at most `scale / 2`, so at most `m · scale / 2`), the second bounds the f32 rounding of
/// the scan's `m − 1` adds (`ε = f32::EPSILON`), the factor and the last term cover the f64
/// arithmetic of the estimate. The tests check the bound on random and adversarial tables.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::pq::{QuantizedTable, CENTROIDS};
///
/// let table: Vec<f32> = (0..2 * CENTROIDS).map(|i| (i % CENTROIDS) as f32 / 10.0).collect();
/// let qt = QuantizedTable::new(&table, 2)?;
/// assert_eq!(qt.codes(1)[255], 255);
/// assert!((qt.estimate(510) - 51.0).abs() <= qt.bound());
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedTable {
    q: Vec<u8>,
    quant: Quant,
}

/// The numbers of a quantization, beside its `u8` entries.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Quant {
    m: usize,
    offset: f64,
    scale: f64,
    bound: f64,
}

impl Quant {
    /// The integer slack: rows whose sums differ by more than this are ordered by their sums.
    fn int_slack(self) -> u32 {
        if self.scale == 0.0 {
            return u32::MAX;
        }
        // ceil and one more: the f64 division may round down.
        ((2.0 * self.bound / self.scale).ceil() as u32).saturating_add(1)
    }
}

impl QuantizedTable {
    /// Quantizes an `m × 256` distance table (from [`build_table`](super::build_table)).
    ///
    /// # Errors
    ///
    /// * [`KernelError::InvalidParameter`] if `m` is 0 or above [`MAX_QUANTIZED_M`] (the integer
    ///   sums would not fit a `u16`), or if `Σ_j max_c |table[j][c]|` exceeds `f32::MAX / 4`
    ///   (the bound assumes the f32 scan does not overflow);
    /// * [`KernelError::LengthMismatch`] unless `table.len() == m * 256`;
    /// * [`KernelError::NotFinite`] if an entry is NaN or infinite: such scores are not near
    ///   any estimate. [`top_k_packed`] falls back to an exact scan then.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::kernels::pq::{QuantizedTable, CENTROIDS};
    ///
    /// let flat = QuantizedTable::new(&[3.0; CENTROIDS], 1)?;
    /// assert_eq!((flat.scale(), flat.offset()), (0.0, 3.0));
    /// assert!(flat.bound() < 1e-6); // only the f32 rounding of the exact scan
    /// let mut bad = vec![0.0; CENTROIDS];
    /// bad[7] = f32::NAN;
    /// assert!(QuantizedTable::new(&bad, 1).is_err());
    /// # Ok::<(), engram_kernels::kernels::KernelError>(())
    /// ```
    pub fn new(table: &[f32], m: usize) -> Result<Self, KernelError> {
        quant_shape(table, m)?;
        let mut q = vec![0u8; table.len()];
        let quant = quantize(table, &mut q)?;
        Ok(QuantizedTable { q, quant })
    }

    /// Sub-spaces.
    ///
    /// # Example
    ///
    /// ```
    /// # use engram_kernels::kernels::pq::{QuantizedTable, CENTROIDS};
    /// assert_eq!(QuantizedTable::new(&[0.0; 2 * CENTROIDS], 2)?.m(), 2);
    /// # Ok::<(), engram_kernels::kernels::KernelError>(())
    /// ```
    pub fn m(&self) -> usize {
        self.quant.m
    }

    /// Sub-space `j`'s 256 quantized entries.
    ///
    /// # Panics
    ///
    /// If `j >= m()`.
    ///
    /// # Example
    ///
    /// ```
    /// # use engram_kernels::kernels::pq::{QuantizedTable, CENTROIDS};
    /// let table: Vec<f32> = (0..CENTROIDS).map(|c| c as f32).collect();
    /// assert_eq!(QuantizedTable::new(&table, 1)?.codes(0)[9], 9);
    /// # Ok::<(), engram_kernels::kernels::KernelError>(())
    /// ```
    pub fn codes(&self, j: usize) -> &[u8; CENTROIDS] {
        &self.q.as_chunks::<CENTROIDS>().0[j]
    }

    /// `Σ_j min_j`, the estimate of a row whose integer sum is 0.
    ///
    /// # Example
    ///
    /// ```
    /// # use engram_kernels::kernels::pq::{QuantizedTable, CENTROIDS};
    /// assert_eq!(QuantizedTable::new(&[2.0; 2 * CENTROIDS], 2)?.offset(), 4.0);
    /// # Ok::<(), engram_kernels::kernels::KernelError>(())
    /// ```
    pub fn offset(&self) -> f64 {
        self.quant.offset
    }

    /// The shared scale (0 when every sub-space's entries are all equal).
    ///
    /// # Example
    ///
    /// ```
    /// # use engram_kernels::kernels::pq::{QuantizedTable, CENTROIDS};
    /// let table: Vec<f32> = (0..CENTROIDS).map(|c| 2.0 * c as f32).collect();
    /// assert_eq!(QuantizedTable::new(&table, 1)?.scale(), 2.0);
    /// # Ok::<(), engram_kernels::kernels::KernelError>(())
    /// ```
    pub fn scale(&self) -> f64 {
        self.quant.scale
    }

    /// The error bound of [`estimate`](Self::estimate) (see the type's docs).
    ///
    /// # Example
    ///
    /// ```
    /// # use engram_kernels::kernels::pq::{QuantizedTable, CENTROIDS};
    /// let table: Vec<f32> = (0..CENTROIDS).map(|c| c as f32).collect();
    /// assert!(QuantizedTable::new(&table, 1)?.bound() < 1e-3);
    /// # Ok::<(), engram_kernels::kernels::KernelError>(())
    /// ```
    pub fn bound(&self) -> f64 {
        self.quant.bound
    }

    /// The score estimate of a row whose integer sum is `sum`: `offset + scale · sum`.
    ///
    /// # Example
    ///
    /// ```
    /// # use engram_kernels::kernels::pq::{QuantizedTable, CENTROIDS};
    /// let table: Vec<f32> = (0..CENTROIDS).map(|c| c as f32 + 1.0).collect();
    /// assert_eq!(QuantizedTable::new(&table, 1)?.estimate(4), 5.0);
    /// # Ok::<(), engram_kernels::kernels::KernelError>(())
    /// ```
    pub fn estimate(&self, sum: u16) -> f64 {
        self.quant.offset + self.quant.scale * f64::from(sum)
    }
}

/// Checks `m` (1 ..= [`MAX_QUANTIZED_M`]) and the table's length.
fn quant_shape(table: &[f32], m: usize) -> Result<(), KernelError> {
    quant_m(m)?;
    crate::kernels::error::expect_len("table", m * CENTROIDS, table.len())
}

/// `Ok` if `m` is 1 ..= [`MAX_QUANTIZED_M`].
fn quant_m(m: usize) -> Result<(), KernelError> {
    if m == 0 || m > MAX_QUANTIZED_M {
        return Err(KernelError::InvalidParameter {
            what: "m",
            value: m as f64,
            requirement: "between 1 and 257 for u16 sums",
        });
    }
    Ok(())
}

/// Quantizes `table` (`m × 256`, checked) into `q`; see [`QuantizedTable`].
pub(super) fn quantize(table: &[f32], q: &mut [u8]) -> Result<Quant, KernelError> {
    if let Some((index, &value)) = table.iter().enumerate().find(|(_, t)| !t.is_finite()) {
        return Err(KernelError::NotFinite {
            what: "table",
            index,
            value,
        });
    }
    let m = table.len() / CENTROIDS;
    let (subs, _) = table.as_chunks::<CENTROIDS>();
    let range = |t: &[f32; CENTROIDS]| {
        let lo = t.iter().fold(f64::INFINITY, |a, &x| a.min(f64::from(x)));
        let hi = t
            .iter()
            .fold(f64::NEG_INFINITY, |a, &x| a.max(f64::from(x)));
        (lo, hi)
    };
    let mut widest = 0.0f64;
    let mut magnitude = 0.0f64;
    let mut offset = 0.0f64;
    for t in subs {
        let (lo, hi) = range(t);
        widest = widest.max(hi - lo);
        magnitude += lo.abs().max(hi.abs());
        offset += lo;
    }
    if magnitude > f64::from(f32::MAX) / 4.0 {
        return Err(KernelError::InvalidParameter {
            what: "table magnitude",
            value: magnitude,
            requirement: "at most f32::MAX / 4 summed over the sub-spaces",
        });
    }
    let scale = widest / 255.0;
    let mut rounding = 0.0f64;
    for (t, q) in subs.iter().zip(q.as_chunks_mut::<CENTROIDS>().0) {
        let (lo, _) = range(t);
        let mut worst = 0.0f64;
        for (&x, q) in t.iter().zip(q.iter_mut()) {
            let level = if scale == 0.0 {
                0.0
            } else {
                ((f64::from(x) - lo) / scale).round().clamp(0.0, 255.0)
            };
            *q = level as u8;
            worst = worst.max((f64::from(x) - (lo + scale * level)).abs());
        }
        rounding += worst;
    }
    let scan = m as f64 * f64::from(f32::EPSILON) * magnitude;
    let bound = (rounding + scan) * (1.0 + 1e-9) + 1e-12 * magnitude;
    Ok(Quant {
        m,
        offset,
        scale,
        bound,
    })
}

/// Integer sums of the packed rows under a quantized table: `sums[i] = Σ_j q[j][code(i, j)]`,
/// the same on every SIMD level (AVX-512 with VBMI, AVX2 (also AVX-512 without VBMI), NEON,
/// scalar).
/// `qt.estimate(sums[i])` is then within `qt.bound()` of row `i`'s exact score.
///
/// # Errors
///
/// [`KernelError::LengthMismatch`] unless `qt.m() == packed.m()` and
/// `sums.len() == packed.len()`; `sums` is untouched then.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::pq::{scan_quantized, PackedCodes, QuantizedTable, CENTROIDS};
///
/// let table: Vec<f32> = (0..2 * CENTROIDS).map(|i| (i % CENTROIDS) as f32).collect();
/// let qt = QuantizedTable::new(&table, 2)?;
/// let packed = PackedCodes::pack(&[1, 2, /* */ 255, 255], 2)?;
/// let mut sums = [0u16; 2];
/// scan_quantized(&qt, &packed, &mut sums)?;
/// assert_eq!(sums, [3, 510]);
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn scan_quantized<S: AsRef<[u8]>>(
    qt: &QuantizedTable,
    packed: &PackedCodes<S>,
    sums: &mut [u16],
) -> Result<(), KernelError> {
    crate::kernels::error::expect_len("quantized table m", packed.m, qt.m())?;
    crate::kernels::error::expect_len("sums", packed.n, sums.len())?;
    let token = dispatch::token();
    let q = qt.q.as_chunks::<CENTROIDS>().0;
    let mut buf = [0u16; BLOCK_ROWS];
    for (block, out) in packed.blocks().zip(sums.chunks_mut(BLOCK_ROWS)) {
        scan_block_at(token, q, block, &mut buf);
        out.copy_from_slice(&buf[..out.len()]);
    }
    Ok(())
}

/// One block's 64 sums at the token's level. `block` holds `64 × q.len()` codes, `q.len() <= 257`.
#[inline]
fn scan_block_at(token: Token, q: &[[u8; CENTROIDS]], block: &[u8], out: &mut [u16; BLOCK_ROWS]) {
    match token.isa() {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512(t) => match t.vbmi() {
            Some(v) => super::x86::scan_block_vbmi(v, q, block, out),
            None => super::x86::scan_block_avx2(t.avx2(), q, block, out),
        },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2(t) => super::x86::scan_block_avx2(t, q, block, out),
        #[cfg(target_arch = "aarch64")]
        Isa::Neon(t) => super::neon::scan_block_neon(t, q, block, out),
        _ => scan_block_scalar(q, block, out),
    }
}

/// The reference: one block's sums with scalar loads, sub-space by sub-space.
pub(super) fn scan_block_scalar(q: &[[u8; CENTROIDS]], block: &[u8], out: &mut [u16; BLOCK_ROWS]) {
    out.fill(0);
    for (t, codes) in q.iter().zip(block.chunks_exact(BLOCK_ROWS)) {
        for (s, &c) in out.iter_mut().zip(codes) {
            // At most 257 × 255 = 65535: no overflow.
            *s += u16::from(t[usize::from(c)]);
        }
    }
}

/// The `k` nearest packed rows to `query`, exactly as [`top_k`](super::top_k) ranks the unpacked
/// codes (same indices, scores bit for bit, order and ties): a quantized scan, then every row
/// whose estimate could still reach the k best is rescored with the f32 table in sub-space order.
/// The f32 and quantized tables, a histogram of the sums and the heap live in the thread's
/// scratch arena. If the table is not finite or too large to quantize (see
/// [`QuantizedTable::new`]), every row is rescored.
///
/// # Errors
///
/// As for [`top_k`](super::top_k), with `m` checked against `packed.m()`
/// ([`KernelError::LengthMismatch`]) and at most [`MAX_QUANTIZED_M`].
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::pq::{self, Metric, PackedCodes, CENTROIDS};
///
/// let codebook: Vec<f32> = (0..CENTROIDS).map(|c| c as f32).collect(); // m = 1, dsub = 1
/// let codes = [9, 2, 7, 255];
/// let packed = PackedCodes::pack(&codes, 1)?;
/// let fast = pq::top_k_packed(&[8.0], &codebook, 1, Metric::L2, &packed, 2)?;
/// assert_eq!(fast, pq::top_k(&[8.0], &codebook, 1, Metric::L2, &codes, 2)?);
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn top_k_packed<S: AsRef<[u8]>>(
    query: &[f32],
    codebook: &[f32],
    m: usize,
    metric: Metric,
    packed: &PackedCodes<S>,
    k: usize,
) -> Result<Vec<Match>, KernelError> {
    super::table_shape(query, codebook, m)?;
    super::positive("k", k)?;
    quant_m(m)?;
    crate::kernels::error::expect_len("packed m", m, packed.m)?;
    with_arena(|scratch| {
        let table = stage(scratch, m * CENTROIDS, |_| 0.0f32)?;
        super::build_table(query, codebook, m, metric, table)?;
        let heap = stage(scratch, k.min(packed.n), |_| Match::default())?;
        let found = with_table(scratch, table, metric, packed.as_view(), heap)?;
        Ok(heap[..found].to_vec())
    })
}

/// Like [`top_k_packed`] with a prebuilt f32 table, writing to `out` (`k = out.len()`, as
/// [`top_k_with_table`](super::top_k_with_table) does). The quantized table and the histogram
/// live in scratch. Returns how many matches were written.
///
/// # Errors
///
/// * [`KernelError::InvalidParameter`] if `m` is 0 or above [`MAX_QUANTIZED_M`], or `out` is
///   empty;
/// * [`KernelError::LengthMismatch`] unless `table.len() == m * 256` and `packed.m() == m`;
/// * [`KernelError::ScratchExhausted`] as for [`top_k`](super::top_k).
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::pq::{top_k_packed_with_table, Metric, PackedCodes, CENTROIDS};
/// use engram_kernels::kernels::similarity::Match;
///
/// let table: Vec<f32> = (0..CENTROIDS).map(|c| c as f32).collect();
/// let packed = PackedCodes::pack(&[5, 1, 3], 1)?;
/// let mut out = [Match::default(); 2];
/// assert_eq!(top_k_packed_with_table(&table, 1, Metric::InnerProduct, &packed, &mut out)?, 2);
/// assert_eq!((out[0].index, out[1].index), (0, 2));
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn top_k_packed_with_table<S: AsRef<[u8]>>(
    table: &[f32],
    m: usize,
    metric: Metric,
    packed: &PackedCodes<S>,
    out: &mut [Match],
) -> Result<usize, KernelError> {
    quant_shape(table, m)?;
    crate::kernels::error::expect_len("packed m", m, packed.m)?;
    super::positive("k", out.len())?;
    with_arena(|scratch| with_table(scratch, table, metric, packed.as_view(), out))
}

/// Like [`top_k_packed`] with `k = indices.len()`, writing each match's row index to `indices`
/// and its score to `scores` (two arrays, as a C caller holds them), without allocating: tables,
/// histogram and heap live in scratch. Returns how many matches were written, nearest first;
/// both outputs beyond that count are untouched.
///
/// # Errors
///
/// As for [`top_k_packed`]; [`KernelError::LengthMismatch`] unless
/// `scores.len() == indices.len()`. The outputs are untouched on any error.
///
/// # Example
///
/// ```
/// use engram_kernels::kernels::pq::{top_k_packed_into_parts, Metric, PackedCodes, CENTROIDS};
///
/// let codebook: Vec<f32> = (0..CENTROIDS).map(|c| c as f32).collect(); // m = 1, dsub = 1
/// let packed = PackedCodes::pack(&[0, 3, 2], 1)?;
/// let (mut indices, mut scores) = ([0usize; 2], [0.0f32; 2]);
/// let n = top_k_packed_into_parts(&[2.0], &codebook, 1, Metric::L2, &packed, &mut indices,
///                                 &mut scores)?;
/// assert_eq!((n, indices, scores), (2, [2, 1], [0.0, 1.0]));
/// # Ok::<(), engram_kernels::kernels::KernelError>(())
/// ```
pub fn top_k_packed_into_parts<S: AsRef<[u8]>>(
    query: &[f32],
    codebook: &[f32],
    m: usize,
    metric: Metric,
    packed: &PackedCodes<S>,
    indices: &mut [usize],
    scores: &mut [f32],
) -> Result<usize, KernelError> {
    crate::kernels::error::expect_len("scores", indices.len(), scores.len())?;
    super::table_shape(query, codebook, m)?;
    super::positive("k", indices.len())?;
    quant_m(m)?;
    crate::kernels::error::expect_len("packed m", m, packed.m)?;
    with_arena(|scratch| {
        let table = stage(scratch, m * CENTROIDS, |_| 0.0f32)?;
        super::build_table(query, codebook, m, metric, table)?;
        let heap = stage(scratch, indices.len().min(packed.n), |_| Match::default())?;
        let found = with_table(scratch, table, metric, packed.as_view(), heap)?;
        for ((hit, i), s) in heap[..found].iter().zip(indices).zip(scores) {
            (*i, *s) = (hit.index, hit.score);
        }
        Ok(found)
    })
}

/// Quantizes `table` into scratch and selects; arguments validated.
fn with_table(
    scratch: crate::scratch::Scratch<'_>,
    table: &[f32],
    metric: Metric,
    packed: PackedCodes<&[u8]>,
    out: &mut [Match],
) -> Result<usize, KernelError> {
    let q = stage(scratch, table.len(), |_| 0u8)?;
    let quant = quantize(table, q).ok();
    let hist = match quant {
        Some(_) => stage(scratch, packed.m * 255 + 1, |_| 0u32)?,
        None => &mut [][..],
    };
    Ok(select_packed(table, q, quant, metric, &packed, hist, out))
}

/// The selection behind [`top_k_packed_with_table`]: arguments validated, `hist` holds
/// `m · 255 + 1` zeros when `quant` is `Some`.
///
/// Rows are ranked by a key that is smaller for nearer rows (the sum for L2, `m · 255 − sum` for
/// the inner product). `limit` follows the k-th smallest key seen so far, through the histogram
/// of keys; it only falls as rows come in. A row is rescored exactly when its key is at most
/// `limit + slack`. A row skipped that way has a score worse than at least k rows already seen
/// (its lower bound is above their upper bounds), so it cannot be in the result; the heap then
/// sees a superset of the true top k, and ranks it as [`top_k`](super::top_k) does.
fn select_packed(
    table: &[f32],
    q: &[u8],
    quant: Option<Quant>,
    metric: Metric,
    packed: &PackedCodes<&[u8]>,
    hist: &mut [u32],
    out: &mut [Match],
) -> usize {
    let token = dispatch::token();
    let k = out.len();
    let mut heap = TopK::new(out);
    let (table, _) = table.as_chunks::<CENTROIDS>();
    let (q, _) = q.as_chunks::<CENTROIDS>();
    let top = (packed.m * 255) as u32;
    let slack = quant.map_or(u32::MAX, Quant::int_slack);
    let mut limit = top;
    // Rows with a key <= limit seen so far.
    let mut kept = 0usize;
    let mut sums = [0u16; BLOCK_ROWS];
    for (b, block) in packed.blocks().enumerate() {
        let rows = (packed.n - b * BLOCK_ROWS).min(BLOCK_ROWS);
        if quant.is_some() {
            scan_block_at(token, q, block, &mut sums);
        }
        for (r, &sum) in sums[..rows].iter().enumerate() {
            if quant.is_some() {
                let key = match metric {
                    Metric::L2 => u32::from(sum),
                    Metric::InnerProduct => top - u32::from(sum),
                };
                if key > limit.saturating_add(slack) {
                    continue;
                }
                hist[key as usize] += 1;
                if key <= limit {
                    kept += 1;
                    // Lower the limit while k rows remain at or below the one under it.
                    while limit > 0 && kept - hist[limit as usize] as usize >= k {
                        kept -= hist[limit as usize] as usize;
                        limit -= 1;
                    }
                }
            }
            let score = rescore(table, block, r);
            heap.push(b * BLOCK_ROWS + r, metric.key(score));
        }
    }
    let found = heap.finish();
    for hit in &mut out[..found] {
        hit.score = metric.key(hit.score);
    }
    found
}

/// Row `r` of a packed block scored exactly, as [`score_row`] scores an unpacked row.
fn rescore(table: &[[f32; CENTROIDS]], block: &[u8], r: usize) -> f32 {
    let mut row = [0u8; MAX_QUANTIZED_M];
    for (c, codes) in row.iter_mut().zip(block.chunks_exact(BLOCK_ROWS)) {
        *c = codes[r];
    }
    score_row(table, &row[..table.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Storage that hands out one byte fewer once told to: a perverse `AsRef`.
    struct Shrinking(Vec<u8>, core::cell::Cell<bool>);

    impl AsRef<[u8]> for Shrinking {
        fn as_ref(&self) -> &[u8] {
            let n = self.0.len() - usize::from(self.1.get());
            &self.0[..n]
        }
    }

    #[test]
    #[should_panic(expected = "PackedCodes storage changed length: 127 bytes, 128 expected")]
    fn storage_that_changes_length_panics_on_read() {
        let bytes = PackedCodes::pack(&[1, 2], 2).unwrap().as_bytes().to_vec();
        let packed =
            PackedCodes::from_packed(Shrinking(bytes, core::cell::Cell::new(false)), 1, 2).unwrap();
        assert_eq!(packed.code(0, 1), 2);
        packed.data.1.set(true);
        let _ = packed.as_view();
    }

    #[test]
    fn packed_index_lays_blocks_subspace_major() {
        assert_eq!(packed_index(3, 0, 0), 0);
        assert_eq!(packed_index(3, 1, 0), 1);
        assert_eq!(packed_index(3, 0, 1), 64);
        assert_eq!(packed_index(3, 63, 2), 2 * 64 + 63);
        assert_eq!(packed_index(3, 64, 0), 3 * 64);
        assert_eq!(packed_index(3, 130, 1), 2 * 192 + 64 + 2);
    }

    #[test]
    fn histogram_limit_tracks_the_kth_key() {
        // Every row is quantized to its own key; with k = 2 only rows near the two best are
        // rescored, and the result is still the exact top 2.
        let table: Vec<f32> = (0..CENTROIDS).map(|c| c as f32).collect();
        let codes: Vec<u8> = (0..200u32).map(|i| (i * 37 % 256) as u8).collect();
        let packed = PackedCodes::pack(&codes, 1).unwrap();
        let mut q = vec![0u8; CENTROIDS];
        let quant = quantize(&table, &mut q).unwrap();
        let mut hist = vec![0u32; 256];
        let mut out = [Match::default(); 2];
        let found = select_packed(
            &table,
            &q,
            Some(quant),
            Metric::L2,
            &packed.as_view(),
            &mut hist,
            &mut out,
        );
        assert_eq!(found, 2);
        let mut want: Vec<(u8, usize)> = codes.iter().copied().zip(0..).collect();
        want.sort();
        assert_eq!((out[0].index, out[1].index), (want[0].1, want[1].1));
        // Fewer rows reached the histogram than there are rows: the filter skipped some.
        assert!(hist.iter().sum::<u32>() < 200);
    }
}
