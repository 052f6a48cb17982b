//! The fixed-size operations, written once over [`Lanes`] and instantiated per instruction set
//! by the entry points (`x86.rs`, `neon.rs`, and the scalar path in `fixed.rs`).
//!
//! Each operation is a small struct implementing [`Op`]: the entry point of an instruction set is
//! one generic `#[target_feature]` function that runs any `Op`, so adding an operation adds no
//! unsafe entry point. The dimension is a const generic, so the element-wise loops unroll
//! completely and, for the usual sizes (multiples of 16), the tail code is compiled out; the
//! reductions of two or three sums (the cosine) keep a loop on purpose (see `sums`).

use super::lanes::Lanes;
use crate::kernels::similarity::kernel::{ROWS, dots};

/// Independent accumulators per sum. An FMA has about four cycles of latency and two issue per
/// cycle, so one chain uses an eighth of the machine; four sets of the cosine's three sums are 12
/// registers, within AVX2's 16.
const K: usize = 4;

/// Results per tile of the columnar dot product: 8 KiB, which stays in L1 while every column
/// group adds into it.
const COLUMN_TILE: usize = 2048;

/// Columns added per pass of the columnar dot product: each result vector is loaded and stored
/// once per eight fused multiply-adds.
const COLUMN_GROUP: usize = 8;

/// An operation of this module, for any lane type.
///
/// # Safety
///
/// Implementations write a valid `Self::Out` to `out` before `run` returns, unless `Self::Out` is
/// `()` (nothing to write): the entry points read it as initialized.
pub(super) unsafe trait Op {
    /// What the operation returns.
    type Out;
    /// Runs the operation with lanes `V`, writing the result to `out`, which the caller owns:
    /// returned by value from the `#[target_feature]` entry point, an array was built in that
    /// function's frame and copied out on the AVX2 path (3 KiB per 768 floats, about a third of
    /// a `scale` in cache).
    ///
    /// # Safety
    ///
    /// The CPU runs `V`'s instruction set; `out` is valid for a write of `Self::Out`.
    unsafe fn run<V: Lanes>(self, out: *mut Self::Out);
}

/// `[dot(a, b), dot(a, a), dot(b, b)]` over `D` floats, each only when asked (`AB`, `AA`, `BB`;
/// the others are 0), with [`K`] accumulators per sum.
///
/// # Safety
///
/// The CPU runs `V`'s instruction set; `a` and `b` are valid for `D` reads.
#[inline(always)]
unsafe fn sums<V: Lanes, const D: usize, const AB: bool, const AA: bool, const BB: bool>(
    a: *const f32,
    b: *const f32,
) -> [f32; 3] {
    #[inline(always)]
    unsafe fn step<V: Lanes, const AB: bool, const AA: bool, const BB: bool>(
        s: &mut [V; 3],
        x: V,
        y: V,
    ) {
        // SAFETY: register-only arithmetic on the caller's instruction set.
        unsafe {
            if AB {
                s[0] = V::mul_add(x, y, s[0]);
            }
            if AA {
                s[1] = V::mul_add(x, x, s[1]);
            }
            if BB {
                s[2] = V::mul_add(y, y, s[2]);
            }
        }
    }
    // SAFETY (whole body): the instruction set is the caller's; every load reads `[i, i + LANES)`
    // with `i + LANES <= D`, or the partial tail `[i, D)`.
    unsafe {
        let l = V::LANES;
        let mut acc = [[V::zero(); 3]; K];
        let mut i = 0;
        // One sum unrolls completely (12 blocks at D = 768). A loop's exit mispredicts once
        // per call and throws away the next call's loads, issued speculatively: over rows
        // streamed from DRAM that cost a tenth of the time (100k dots of 768 floats, 22.6 ms
        // as a loop, 20.0 ms unrolled). For two or three sums the bound is hidden from the
        // optimiser: fully unrolled, LLVM schedules the sums one after another and parks every
        // loaded vector on the stack in between (measured 2x slower); as a loop, each step keeps
        // its two loads in registers.
        let blocks = if (AB as u8) + (AA as u8) + (BB as u8) == 1 {
            D / (K * l)
        } else {
            core::hint::black_box(D / (K * l))
        };
        let full = blocks * (K * l);
        while i < full {
            for (k, s) in acc.iter_mut().enumerate() {
                let at = i + k * l;
                step::<V, AB, AA, BB>(s, V::load(a.add(at)), V::load(b.add(at)));
            }
            i += K * l;
        }
        while i + l <= D {
            step::<V, AB, AA, BB>(&mut acc[0], V::load(a.add(i)), V::load(b.add(i)));
            i += l;
        }
        if i < D {
            let (x, y) = (
                V::load_partial(a.add(i), D - i),
                V::load_partial(b.add(i), D - i),
            );
            step::<V, AB, AA, BB>(&mut acc[0], x, y);
        }
        core::array::from_fn(|s| {
            let pair = |p: usize, q: usize| V::add(acc[p][s], acc[q][s]);
            V::add(pair(0, 1), pair(2, 3)).reduce()
        })
    }
}

/// Engram's cosine from the three sums: 0 when either vector's squared norm is 0, otherwise
/// `dot / (|a| · |b|)` clamped to `[-1, 1]`. NaN in, NaN out (the clamp keeps NaN).
#[inline]
pub(super) fn cosine_from_sums(dot: f32, aa: f32, bb: f32) -> f32 {
    if aa == 0.0 || bb == 0.0 {
        return 0.0;
    }
    // In f64 the product of two f32 values is exact and cannot overflow, so one square root
    // serves both norms and the quotient rounds once to f32.
    let denom = (f64::from(aa) * f64::from(bb)).sqrt();
    (f64::from(dot) / denom).clamp(-1.0, 1.0) as f32
}

/// One batch score from `dot(q, c)`, `1 / |q|` and `dot(c, c)`: 0 for a zero candidate, as
/// [`cosine_from_sums`] otherwise (`inv_q` 0 for an infinite query norm gives 0 or NaN, as the
/// division would).
#[inline]
pub(super) fn batch_score(dot: f32, inv_q: f64, cc: f32) -> f32 {
    if cc == 0.0 {
        return 0.0;
    }
    (f64::from(dot) * inv_q / f64::from(cc).sqrt()).clamp(-1.0, 1.0) as f32
}

pub(super) struct Cosine<'a, const D: usize>(pub &'a [f32; D], pub &'a [f32; D]);

// SAFETY: `run` writes `out` on every path.
unsafe impl<const D: usize> Op for Cosine<'_, D> {
    type Out = f32;
    #[inline(always)]
    unsafe fn run<V: Lanes>(self, out: *mut f32) {
        // SAFETY: both arrays hold `D` floats; the instruction set is the caller's.
        let [d, aa, bb] =
            unsafe { sums::<V, D, true, true, true>(self.0.as_ptr(), self.1.as_ptr()) };
        // SAFETY: `out` is valid for a write (the caller's contract).
        unsafe { out.write(cosine_from_sums(d, aa, bb)) }
    }
}

pub(super) struct Dot<'a, const D: usize>(pub &'a [f32; D], pub &'a [f32; D]);

// SAFETY: `run` writes `out` on every path.
unsafe impl<const D: usize> Op for Dot<'_, D> {
    type Out = f32;
    #[inline(always)]
    unsafe fn run<V: Lanes>(self, out: *mut f32) {
        // SAFETY: both arrays hold `D` floats; the instruction set is the caller's; `out` is
        // valid for a write.
        unsafe { out.write(sums::<V, D, true, false, false>(self.0.as_ptr(), self.1.as_ptr())[0]) }
    }
}

/// `dot(v, v)`; the caller takes the square root.
pub(super) struct SumSquares<'a, const D: usize>(pub &'a [f32; D]);

// SAFETY: `run` writes `out` on every path.
unsafe impl<const D: usize> Op for SumSquares<'_, D> {
    type Out = f32;
    #[inline(always)]
    unsafe fn run<V: Lanes>(self, out: *mut f32) {
        let p = self.0.as_ptr();
        // SAFETY: the array holds `D` floats; the instruction set is the caller's; `out` is
        // valid for a write.
        unsafe { out.write(sums::<V, D, false, true, false>(p, p)[1]) }
    }
}

/// Scores of one query against rows: `scores[i] = batch_score(dot(q, row i), inv_q, ·)`.
///
/// The same loop as the similarity kernel's: the rows split into [`ROWS`] contiguous parts
/// scored one row of each at a time, so four accumulator pairs and four sequential streams.
pub(super) struct CosineBatch<'a, const D: usize> {
    pub query: &'a [f32; D],
    /// `1 / |query|`, not 0 (a zero query is answered before dispatch).
    pub inv_q: f64,
    pub rows: &'a [[f32; D]],
    pub scores: &'a mut [f32],
}

// SAFETY: `Out` is `()`, a zero-sized type: there is nothing to write.
unsafe impl<const D: usize> Op for CosineBatch<'_, D> {
    type Out = ();
    #[inline(always)]
    unsafe fn run<V: Lanes>(self, _: *mut ()) {
        let n = self.rows.len();
        assert_eq!(n, self.scores.len());
        let qs = [self.query.as_ptr()];
        let base = self.rows.as_ptr().cast::<f32>();
        let part = n / ROWS;
        // `D` hidden from the optimiser, as in `sums`: the streaming loop stays a loop.
        let dim = core::hint::black_box(D);
        for row in 0..part {
            // SAFETY: row `row + r · part` (r < ROWS) is below `n` and starts `D` floats apart
            // from its neighbour part's, `part · D` floats on; the instruction set is the caller's.
            let (d, cc) =
                unsafe { dots::<V, 1, ROWS, true>(&qs, base.add(row * D), part * D, dim) };
            for r in 0..ROWS {
                self.scores[r * part + row] = batch_score(d[0][r], self.inv_q, cc[r]);
            }
        }
        for row in ROWS * part..n {
            // SAFETY: row `row < n` holds `D` floats.
            let (d, cc) = unsafe { dots::<V, 1, 1, true>(&qs, base.add(row * D), 0, dim) };
            self.scores[row] = batch_score(d[0][0], self.inv_q, cc[0]);
        }
    }
}

/// `out[i] = f(a[i], b[i])` over `D` floats, `t` for a tail shorter than a vector.
///
/// # Safety
///
/// The CPU runs `V`'s instruction set; `a` and `b` are valid for `D` reads, `out` for `D` writes.
#[inline(always)]
unsafe fn map<V: Lanes, const D: usize>(
    a: *const f32,
    b: *const f32,
    out: *mut f32,
    f: impl Fn(V, V) -> V,
    t: impl Fn(f32, f32) -> f32,
) {
    // SAFETY: every access is inside `[0, D)` of the three pointers (the caller's contract).
    unsafe {
        let l = V::LANES;
        let mut i = 0;
        while i + l <= D {
            f(V::load(a.add(i)), V::load(b.add(i))).store(out.add(i));
            i += l;
        }
        while i < D {
            *out.add(i) = t(*a.add(i), *b.add(i));
            i += 1;
        }
    }
}

pub(super) struct Add<'a, const D: usize>(pub &'a [f32; D], pub &'a [f32; D]);

// SAFETY: `run` writes `out` on every path.
unsafe impl<const D: usize> Op for Add<'_, D> {
    type Out = [f32; D];
    #[inline(always)]
    unsafe fn run<V: Lanes>(self, out: *mut [f32; D]) {
        // SAFETY: `map` writes all `D` floats of `out` (valid for them: the caller's contract);
        // the inputs hold `D`.
        unsafe {
            let add = |x, y| V::add(x, y);
            map::<V, D>(self.0.as_ptr(), self.1.as_ptr(), out.cast(), add, |x, y| {
                x + y
            });
        }
    }
}

pub(super) struct Scale<'a, const D: usize>(pub &'a [f32; D], pub f32);

// SAFETY: `run` writes `out` on every path.
unsafe impl<const D: usize> Op for Scale<'_, D> {
    type Out = [f32; D];
    #[inline(always)]
    unsafe fn run<V: Lanes>(self, out: *mut [f32; D]) {
        let s = self.1;
        let p = self.0.as_ptr();
        // SAFETY: `map` writes all `D` floats of `out` (valid for them: the caller's contract);
        // the input holds `D`.
        unsafe {
            let sv = V::splat(s);
            map::<V, D>(p, p, out.cast(), |x, _| V::mul(x, sv), |x, _| x * s);
        }
    }
}

/// `out = inv · Σ_j weights[j] · vectors[j]` over the first `min` of both lengths, each output
/// vector summed in registers across all the inputs (vectors in order) before one store.
pub(super) struct WeightedSum<'a, const D: usize> {
    pub vectors: &'a [&'a [f32; D]],
    pub weights: &'a [f32],
    pub inv: f32,
}

// SAFETY: `run` writes `out` on every path.
unsafe impl<const D: usize> Op for WeightedSum<'_, D> {
    type Out = [f32; D];
    #[inline(always)]
    unsafe fn run<V: Lanes>(self, out: *mut [f32; D]) {
        let n = self.vectors.len().min(self.weights.len());
        let (vectors, weights) = (&self.vectors[..n], &self.weights[..n]);
        let o = out.cast::<f32>();
        let l = V::LANES;
        // SAFETY: every load reads `[i, i + LANES)` of a `D`-float input with `i + LANES <= D`,
        // every store writes that range of `out` (valid for `D` floats: the caller's contract),
        // and the tail loop fills `[i, D)`: all of `out` is written. The instruction set is the
        // caller's.
        unsafe {
            let inv = V::splat(self.inv);
            let mut i = 0;
            while i + K * l <= D {
                let mut acc = [V::zero(); K];
                for (v, &w) in vectors.iter().zip(weights) {
                    let (p, w) = (v.as_ptr(), V::splat(w));
                    for (k, a) in acc.iter_mut().enumerate() {
                        *a = V::mul_add(V::load(p.add(i + k * l)), w, *a);
                    }
                }
                for (k, a) in acc.iter().enumerate() {
                    V::mul(*a, inv).store(o.add(i + k * l));
                }
                i += K * l;
            }
            while i + l <= D {
                let mut acc = V::zero();
                for (v, &w) in vectors.iter().zip(weights) {
                    acc = V::mul_add(V::load(v.as_ptr().add(i)), V::splat(w), acc);
                }
                V::mul(acc, inv).store(o.add(i));
                i += l;
            }
            for e in i..D {
                let s: f32 = vectors.iter().zip(weights).map(|(v, &w)| v[e] * w).sum();
                *o.add(e) = s * self.inv;
            }
        }
    }
}

/// `acc[i] += column[i] · scalar` for `i < min(len)`.
pub(super) struct FmaAccumulate<'a> {
    pub column: &'a [f32],
    pub scalar: f32,
    pub acc: &'a mut [f32],
}

// SAFETY: `Out` is `()`, a zero-sized type: there is nothing to write.
unsafe impl Op for FmaAccumulate<'_> {
    type Out = ();
    #[inline(always)]
    unsafe fn run<V: Lanes>(self, _: *mut ()) {
        let n = self.column.len().min(self.acc.len());
        let (c, a) = (self.column.as_ptr(), self.acc.as_mut_ptr());
        let l = V::LANES;
        // SAFETY: every access is inside `[0, n)` of both slices; the instruction set is the
        // caller's.
        unsafe {
            let s = V::splat(self.scalar);
            let mut i = 0;
            while i + K * l <= n {
                for k in 0..K {
                    let at = i + k * l;
                    V::mul_add(V::load(c.add(at)), s, V::load(a.add(at))).store(a.add(at));
                }
                i += K * l;
            }
            while i + l <= n {
                V::mul_add(V::load(c.add(i)), s, V::load(a.add(i))).store(a.add(i));
                i += l;
            }
            for e in i..n {
                *a.add(e) += *c.add(e) * self.scalar;
            }
        }
    }
}

pub(super) struct Sum<'a>(pub &'a [f32]);

// SAFETY: `run` writes `out` on every path.
unsafe impl Op for Sum<'_> {
    type Out = f32;
    #[inline(always)]
    unsafe fn run<V: Lanes>(self, out: *mut f32) {
        let (p, n, l) = (self.0.as_ptr(), self.0.len(), V::LANES);
        // SAFETY: every load reads inside `[0, n)`; the instruction set is the caller's; `out` is
        // valid for a write.
        unsafe {
            let mut acc = [V::zero(); K];
            let mut i = 0;
            while i + K * l <= n {
                for (k, a) in acc.iter_mut().enumerate() {
                    *a = V::add(*a, V::load(p.add(i + k * l)));
                }
                i += K * l;
            }
            while i + l <= n {
                acc[0] = V::add(acc[0], V::load(p.add(i)));
                i += l;
            }
            if i < n {
                acc[0] = V::add(acc[0], V::load_partial(p.add(i), n - i));
            }
            out.write(V::add(V::add(acc[0], acc[1]), V::add(acc[2], acc[3])).reduce());
        }
    }
}

/// `results[i] = Σ_d query[d] · columns[d][i]`, dimensions in order, over the first `min(D,
/// columns)` columns; column `d` reaches only `i < columns[d].len()`.
pub(super) struct DotColumnar<'a, const D: usize> {
    pub query: &'a [f32; D],
    pub columns: &'a [&'a [f32]],
    pub results: &'a mut [f32],
}

/// `res[i] += Σ_c cols[c][i] · qs[c]` (columns in order) for `i` in `[start, end)`.
///
/// # Safety
///
/// The CPU runs `V`'s instruction set; every `cols[c]` and `res` are valid for `[start, end)`.
#[inline(always)]
unsafe fn add_columns<V: Lanes, const G: usize>(
    cols: &[*const f32; G],
    qs: &[f32; G],
    res: *mut f32,
    start: usize,
    end: usize,
) {
    // SAFETY: every access is inside `[start, end)`, the caller's range.
    unsafe {
        let q: [V; G] = core::array::from_fn(|c| V::splat(qs[c]));
        let mut i = start;
        while i + V::LANES <= end {
            let mut r = V::load(res.add(i));
            for c in 0..G {
                r = V::mul_add(V::load(cols[c].add(i)), q[c], r);
            }
            r.store(res.add(i));
            i += V::LANES;
        }
        for e in i..end {
            let mut r = *res.add(e);
            for c in 0..G {
                r += *cols[c].add(e) * qs[c];
            }
            *res.add(e) = r;
        }
    }
}

// SAFETY: `Out` is `()`, a zero-sized type: there is nothing to write.
unsafe impl<const D: usize> Op for DotColumnar<'_, D> {
    type Out = ();
    #[inline(always)]
    unsafe fn run<V: Lanes>(self, _: *mut ()) {
        let m = self.results.len();
        self.results.fill(0.0);
        let res = self.results.as_mut_ptr();
        let cols = &self.columns[..self.columns.len().min(D)];
        for t0 in (0..m).step_by(COLUMN_TILE) {
            let t1 = (t0 + COLUMN_TILE).min(m);
            for (g, group) in cols.chunks(COLUMN_GROUP).enumerate() {
                let d0 = g * COLUMN_GROUP;
                if group.len() == COLUMN_GROUP && group.iter().all(|c| c.len() >= t1) {
                    let ptrs = core::array::from_fn(|c| group[c].as_ptr());
                    let qs = core::array::from_fn(|c| self.query[d0 + c]);
                    // SAFETY: every column of the group holds at least `t1` floats, `results`
                    // holds `m >= t1`; the instruction set is the caller's.
                    unsafe { add_columns::<V, COLUMN_GROUP>(&ptrs, &qs, res, t0, t1) };
                } else {
                    for (c, col) in group.iter().enumerate() {
                        let end = col.len().min(t1);
                        if end > t0 {
                            // SAFETY: `end` is within this column and within `results`.
                            unsafe {
                                add_columns::<V, 1>(
                                    &[col.as_ptr()],
                                    &[self.query[d0 + c]],
                                    res,
                                    t0,
                                    end,
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
