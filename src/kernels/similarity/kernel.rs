//! The cosine kernel, written once over a small vector trait ([`Vector`]) and instantiated per
//! instruction set by `#[target_feature]` entry points (`x86.rs`, `neon.rs`, and [`Scalar8`]
//! here), after memchr's `vector.rs`.
//!
//! One routine, [`dots`], does all the streaming: `Q` queries against `R` candidate rows, one
//! vector accumulator per (query, row) pair and one per row for `dot(c, c)`, fed chunk by chunk in
//! the same order whatever `Q` and `R` are. Every pair's sum therefore sees the same additions in
//! the same order on a given instruction set, so the many-query kernel gives the single-query
//! scores bit for bit.
//!
//! The single-query loop splits the candidates into [`ROWS`] contiguous parts and scores one row
//! of each part at a time: four independent accumulator pairs, and four *sequential* read
//! streams that the hardware prefetchers follow. Measured on Zen 5 (AVX2, 100k candidates), this
//! beats both interleaving four adjacent rows (the streams then share pages, and rows shorter
//! than a page never train the prefetcher: 1.5× slower at d = 384) and one row at a time (one
//! stream, 1.2–1.4× slower), and it reads faster than a single-stream sum of the same bytes.
//! Reductions and the division are out of the streaming loop (one reciprocal magnitude per
//! vector, two multiplications per score). The many-query loop runs a block of queries against
//! two rows, so each candidate chunk loaded feeds `2 · QB` fused multiply-adds; it works on
//! tiles that stay in L2 for every query block, and prefetches the next tile meanwhile.

use super::Undefined;

/// A SIMD register of `f32` lanes and the few operations the kernel needs.
///
/// # Safety
///
/// Every method may only run on a CPU with the type's instruction set (the entry points hold a
/// detection token), and `load`/`load_partial` need their pointer valid for the lanes they read.
pub(in crate::kernels) trait Vector: Copy {
    /// Lanes per register.
    const LANES: usize;
    /// All lanes 0.
    unsafe fn zero() -> Self;
    /// `LANES` floats from `p` (any alignment).
    unsafe fn load(p: *const f32) -> Self;
    /// The first `n < LANES` floats from `p`, other lanes 0; reads nothing past `p + n`.
    unsafe fn load_partial(p: *const f32, n: usize) -> Self;
    /// `acc + a · b`, fused where the instruction set has FMA.
    unsafe fn mul_add(a: Self, b: Self, acc: Self) -> Self;
    /// The sum of the lanes, in a fixed order.
    unsafe fn reduce(self) -> f32;
    /// A hint to fetch the cache line at `p` into L2; never faults, whatever `p` is.
    unsafe fn prefetch(p: *const f32);
}

/// Rows in flight in the single-query loop, one from each of as many contiguous parts.
pub(in crate::kernels) const ROWS: usize = 4;
/// Rows in flight per query block in the many-query loop.
const MANY_ROWS: usize = 2;
/// Candidate bytes per tile of the many-query loop: a tile is streamed from memory once and then
/// re-read from L2 by every query block.
const TILE_BYTES: usize = 192 * 1024;
/// The most rows in a tile (bounds the stack array of row magnitudes).
const TILE_MAX_ROWS: usize = 256;
/// Floats per 64-byte cache line.
const LINE_FLOATS: usize = 16;
/// Queries whose magnitudes sit on the stack at once; more queries stream the candidates again.
const SUPER_QUERIES: usize = 64;

/// `dot(q_j, c_r)` for `Q` queries and `R` rows, row `r` starting at `rows + r · stride`, and
/// `dot(c_r, c_r)` when `NORMS`.
///
/// # Safety
///
/// The CPU runs `V`'s instruction set; each `qs[j]` is valid for `dim` reads and
/// `rows + r · stride` for `dim` reads for every `r < R`; `dim > 0`.
#[inline(always)]
pub(in crate::kernels) unsafe fn dots<
    V: Vector,
    const Q: usize,
    const R: usize,
    const NORMS: bool,
>(
    qs: &[*const f32; Q],
    rows: *const f32,
    stride: usize,
    dim: usize,
) -> ([[f32; R]; Q], [f32; R]) {
    // SAFETY (whole body): the caller's contract covers the instruction set; every load below
    // reads `[i, i + LANES)` or the partial tail `[i, dim)` of a query or of row `r < R`.
    unsafe {
        let mut dot = [[V::zero(); R]; Q];
        let mut norm = [V::zero(); R];
        let mut i = 0;
        while i + V::LANES <= dim {
            let mut c = [V::zero(); R];
            for r in 0..R {
                c[r] = V::load(rows.add(r * stride + i));
                if NORMS {
                    norm[r] = V::mul_add(c[r], c[r], norm[r]);
                }
            }
            for j in 0..Q {
                let q = V::load(qs[j].add(i));
                for r in 0..R {
                    dot[j][r] = V::mul_add(q, c[r], dot[j][r]);
                }
            }
            i += V::LANES;
        }
        if i < dim {
            let n = dim - i;
            let mut c = [V::zero(); R];
            for r in 0..R {
                c[r] = V::load_partial(rows.add(r * stride + i), n);
                if NORMS {
                    norm[r] = V::mul_add(c[r], c[r], norm[r]);
                }
            }
            for j in 0..Q {
                let q = V::load_partial(qs[j].add(i), n);
                for r in 0..R {
                    dot[j][r] = V::mul_add(q, c[r], dot[j][r]);
                }
            }
        }
        let mut d = [[0.0; R]; Q];
        let mut nn = [0.0; R];
        for r in 0..R {
            if NORMS {
                nn[r] = norm[r].reduce();
            }
            for j in 0..Q {
                d[j][r] = dot[j][r].reduce();
            }
        }
        (d, nn)
    }
}

/// `1 / mag(v)` from `dot(v, v)`, in f64; 0 when `mag(v)` is 0 (the sum is NaN,
/// infinite or below `1e-30`), which marks every score with `v` undefined.
#[inline(always)]
pub(super) fn inv_magnitude(sum_sq: f32) -> f64 {
    if sum_sq.is_finite() && sum_sq >= 1e-30 {
        1.0 / f64::from(sum_sq).sqrt()
    } else {
        0.0
    }
}

/// The score from `dot(q, c)`, `1 / mag(q)` and `1 / mag(c)`; `U` says what an undefined score
/// is. The reciprocals are taken once per vector, so a score costs two multiplications; in f64
/// their rounding (about 2⁻⁵²) cannot reach the f32 result except on a rounding tie.
#[inline(always)]
fn finish<U: Undefined>(dot: f32, inv_q: f64, inv_c: f64) -> f32 {
    if inv_q == 0.0 || inv_c == 0.0 || !dot.is_finite() {
        return U::VALUE;
    }
    // The clamp catches rounding past +-1.
    (f64::from(dot) * inv_q * inv_c).clamp(-1.0, 1.0) as f32
}

/// `dot(v, v)` computed by the kernel's own loop, so both kernels agree on `1 / mag(v)` bit for
/// bit.
///
/// # Safety
///
/// The CPU runs `V`'s instruction set; `v` is not empty.
#[inline(always)]
unsafe fn sum_of_squares<V: Vector>(v: &[f32]) -> f32 {
    // SAFETY: `v` is valid for `v.len()` reads, and as a "row" it is one row of that length.
    let (_, n) = unsafe { dots::<V, 0, 1, true>(&[], v.as_ptr(), 0, v.len()) };
    n[0]
}

/// One query against row-major candidates: `scores[i] = cos(query, row i)`. Returns whether the
/// query's sum of squares is finite, which proves every component finite (the squares are never
/// negative, so a NaN or an infinity cannot cancel out): callers skip their own scan of the query
/// then, which would cost more than scoring one candidate.
///
/// # Safety
///
/// The CPU runs `V`'s instruction set.
#[inline(always)]
pub(super) unsafe fn batch<V: Vector, U: Undefined>(
    query: &[f32],
    candidates: &[f32],
    scores: &mut [f32],
) -> bool {
    let dim = query.len();
    assert!(dim > 0 && Some(candidates.len()) == scores.len().checked_mul(dim));
    // SAFETY: instruction set by the caller's contract; `query` is not empty.
    let sum_sq = unsafe { sum_of_squares::<V>(query) };
    let inv_q = inv_magnitude(sum_sq);
    if inv_q == 0.0 {
        scores.fill(U::VALUE);
        return sum_sq.is_finite();
    }
    let qs = [query.as_ptr()];
    let n = scores.len();
    let part = n / ROWS;
    let rows = candidates.as_ptr();
    for row in 0..part {
        // SAFETY: row `row + r · part` of `n` (r < ROWS, row < part) starts at
        // `(row + r · part) · dim`, and `candidates` holds `n · dim` floats (the assert above).
        let (d, nn) =
            unsafe { dots::<V, 1, ROWS, true>(&qs, rows.add(row * dim), part * dim, dim) };
        for r in 0..ROWS {
            scores[r * part + row] = finish::<U>(d[0][r], inv_q, inv_magnitude(nn[r]));
        }
    }
    for (row, s) in scores.iter_mut().enumerate().skip(ROWS * part) {
        // SAFETY: row `row < n` holds `dim` floats.
        let (d, nn) = unsafe { dots::<V, 1, 1, true>(&qs, rows.add(row * dim), 0, dim) };
        *s = finish::<U>(d[0][0], inv_q, inv_magnitude(nn[0]));
    }
    true
}

/// Many queries against row-major candidates: `scores[j * n + i] = cos(query j, row i)`.
///
/// Candidates are taken a tile at a time (about [`TILE_BYTES`]); every block of `QB` queries runs
/// over the tile while it sits in L2, so each row comes from memory once per [`SUPER_QUERIES`]
/// queries. A last block with fewer than `QB` queries repeats its last query in the spare slots
/// and discards those sums.
///
/// # Safety
///
/// The CPU runs `V`'s instruction set.
#[inline(always)]
pub(super) unsafe fn many<V: Vector, const QB: usize, U: Undefined>(
    queries: &[f32],
    dim: usize,
    candidates: &[f32],
    scores: &mut [f32],
) {
    assert!(dim > 0 && queries.len().is_multiple_of(dim) && candidates.len().is_multiple_of(dim));
    let (nq, n) = (queries.len() / dim, candidates.len() / dim);
    assert!(Some(scores.len()) == nq.checked_mul(n));
    if n == 0 {
        return;
    }
    let tile = (TILE_BYTES / (dim * 4)).clamp(MANY_ROWS, TILE_MAX_ROWS) / MANY_ROWS * MANY_ROWS;
    let mut inv_qs = [0.0f64; SUPER_QUERIES];
    for q0 in (0..nq).step_by(SUPER_QUERIES) {
        let sq = (nq - q0).min(SUPER_QUERIES);
        for (j, inv_q) in inv_qs[..sq].iter_mut().enumerate() {
            let q = &queries[(q0 + j) * dim..(q0 + j + 1) * dim];
            // SAFETY: instruction set by the caller's contract; `q` has `dim > 0` floats.
            *inv_q = inv_magnitude(unsafe { sum_of_squares::<V>(q) });
        }
        // 1 / mag of each row of the tile, from the first query block's pass.
        let mut inv_c = [0.0f64; TILE_MAX_ROWS];
        for t0 in (0..n).step_by(tile) {
            let rows_here = (n - t0).min(tile);
            // While the later query blocks work from L2, the next tile is fetched: a share of its
            // lines after each row pair, so the first block of the next tile finds it in L2.
            let next = (t0 + tile).min(n) * dim..(t0 + tile + tile).min(n) * dim;
            let mut fetch = next.start;
            let passes = sq.div_ceil(QB).saturating_sub(1) * rows_here.div_ceil(MANY_ROWS);
            let per_pass = (next.len().div_ceil(LINE_FLOATS)).div_ceil(passes.max(1)) * LINE_FLOATS;
            for b0 in (0..sq).step_by(QB) {
                let live = (sq - b0).min(QB);
                // Spare slots repeat the block's last query; their sums are never stored.
                // Opaque to the optimiser: under fat LTO it otherwise recomputes the clamped
                // pointers inside the streaming loop (measured 1.5x slower) instead of keeping them.
                let qs: [*const f32; QB] = core::hint::black_box(core::array::from_fn(|j| {
                    queries[(q0 + b0 + j.min(live - 1)) * dim..].as_ptr()
                }));
                let first = b0 == 0;
                let mut r = 0;
                while r < rows_here {
                    let width = (rows_here - r).min(MANY_ROWS);
                    let row_ptr = candidates[(t0 + r) * dim..].as_ptr();
                    let mut d = [[0.0f32; MANY_ROWS]; QB];
                    // SAFETY: `width` rows of `dim` floats remain at `row_ptr` (r < rows_here,
                    // t0 + rows_here <= n) and each query pointer starts a whole query.
                    unsafe {
                        match (width == MANY_ROWS, first) {
                            (true, true) => {
                                let (dd, nn) =
                                    dots::<V, QB, MANY_ROWS, true>(&qs, row_ptr, dim, dim);
                                d = dd;
                                for k in 0..MANY_ROWS {
                                    inv_c[r + k] = inv_magnitude(nn[k]);
                                }
                            }
                            (true, false) => {
                                d = dots::<V, QB, MANY_ROWS, false>(&qs, row_ptr, dim, dim).0;
                            }
                            (false, true) => {
                                let (dd, nn) = dots::<V, QB, 1, true>(&qs, row_ptr, dim, dim);
                                for j in 0..QB {
                                    d[j][0] = dd[j][0];
                                }
                                inv_c[r] = inv_magnitude(nn[0]);
                            }
                            (false, false) => {
                                let dd = dots::<V, QB, 1, false>(&qs, row_ptr, dim, dim).0;
                                for j in 0..QB {
                                    d[j][0] = dd[j][0];
                                }
                            }
                        }
                    }
                    if !first {
                        let stop = (fetch + per_pass).min(next.end);
                        while fetch < stop {
                            // SAFETY: a prefetch never faults; the address is inside `candidates`.
                            unsafe { V::prefetch(candidates.as_ptr().wrapping_add(fetch)) };
                            fetch += LINE_FLOATS;
                        }
                    }
                    for (j, dj) in d[..live].iter().enumerate() {
                        let out = &mut scores[(q0 + b0 + j) * n + t0 + r..][..width];
                        for (k, s) in out.iter_mut().enumerate() {
                            *s = finish::<U>(dj[k], inv_qs[b0 + j], inv_c[r + k]);
                        }
                    }
                    r += width;
                }
            }
        }
    }
}

/// The portable path: eight lanes in an array, which the compiler keeps in the target's baseline
/// vector registers (SSE2 on x86_64). No fused multiply-add: without FMA hardware it would be a
/// library call.
#[derive(Clone, Copy)]
pub(in crate::kernels) struct Scalar8(pub(in crate::kernels) [f32; 8]);

impl Vector for Scalar8 {
    const LANES: usize = 8;

    #[inline(always)]
    unsafe fn zero() -> Self {
        Scalar8([0.0; 8])
    }

    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller guarantees 8 readable floats at `p`.
        Scalar8(unsafe { p.cast::<[f32; 8]>().read_unaligned() })
    }

    #[inline(always)]
    unsafe fn load_partial(p: *const f32, n: usize) -> Self {
        let mut v = [0.0; 8];
        for (k, x) in v.iter_mut().enumerate() {
            if k < n {
                // SAFETY: the caller guarantees `n` readable floats at `p`.
                *x = unsafe { p.add(k).read() };
            }
        }
        Scalar8(v)
    }

    #[inline(always)]
    unsafe fn mul_add(a: Self, b: Self, acc: Self) -> Self {
        Scalar8(core::array::from_fn(|i| acc.0[i] + a.0[i] * b.0[i]))
    }

    #[inline(always)]
    unsafe fn reduce(self) -> f32 {
        let v = self.0;
        ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]))
    }

    #[inline(always)]
    unsafe fn prefetch(_: *const f32) {}
}

/// The scalar entry points: no instruction-set requirement, so no token.
pub(super) fn batch_scalar<U: Undefined>(
    query: &[f32],
    candidates: &[f32],
    scores: &mut [f32],
) -> bool {
    // SAFETY: `Scalar8` uses no instruction beyond the target's baseline.
    unsafe { batch::<Scalar8, U>(query, candidates, scores) }
}

pub(super) fn many_scalar<U: Undefined>(
    queries: &[f32],
    dim: usize,
    candidates: &[f32],
    scores: &mut [f32],
) {
    // SAFETY: `Scalar8` uses no instruction beyond the target's baseline.
    unsafe { many::<Scalar8, 4, U>(queries, dim, candidates, scores) }
}

#[cfg(test)]
mod tests {
    use super::super::{Nan, Zero};
    use super::*;

    /// The scalar kernels on odd shapes (partial tails, a row remainder, spare query slots,
    /// several tiles): no out-of-bounds access (run under Miri too), and many == single per
    /// query bit for bit.
    #[test]
    fn scalar_many_matches_scalar_single_on_odd_shapes() {
        for (nq, dim, n) in [(1, 1, 1), (3, 7, 5), (5, 9, 3), (6, 13, 2)] {
            let q: Vec<f32> = (0..nq * dim).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
            let c: Vec<f32> = (0..n * dim).map(|i| ((i * 5) % 13) as f32 - 6.0).collect();
            let mut many = vec![0.0f32; nq * n];
            many_scalar::<Zero>(&q, dim, &c, &mut many);
            for (j, qj) in q.chunks_exact(dim).enumerate() {
                let mut one = vec![0.0f32; n];
                batch_scalar::<Zero>(qj, &c, &mut one);
                assert_eq!(
                    one,
                    many[j * n..(j + 1) * n],
                    "nq={nq} dim={dim} n={n} q={j}"
                );
            }
        }
        // A zero row is undefined: 0 for the public scores, NaN inside top-k.
        let mut s = [9.0f32; 2];
        batch_scalar::<Nan>(&[1.0, 2.0], &[0.0, 0.0, 1.0, 2.0], &mut s);
        assert!(s[0].is_nan() && s[1] == 1.0);
        batch_scalar::<Zero>(&[1.0, 2.0], &[0.0, 0.0, 1.0, 2.0], &mut s);
        assert_eq!(s, [0.0, 1.0]);
    }

    #[test]
    fn tiles_cover_every_row() {
        // dim 1: tiles of 256 rows, so 600 rows take three tiles, the last one partial.
        let (dim, n) = (1, 600);
        let q = [1.0f32, -1.0, 2.0];
        let c: Vec<f32> = (0..n)
            .map(|i| if i % 3 == 0 { -1.0 } else { 1.0 })
            .collect();
        let mut s = vec![0.0f32; 3 * n];
        many_scalar::<Zero>(&q, dim, &c, &mut s);
        for (i, &x) in c.iter().enumerate() {
            assert_eq!(s[i], x);
            assert_eq!(s[n + i], -x);
            assert_eq!(s[2 * n + i], x);
        }
    }
}
