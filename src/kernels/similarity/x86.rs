//! x86_64 AVX2+FMA and AVX-512F paths of the cosine kernel.
//!
//! Four independent vector accumulators per sum hide the FMA latency; each loaded candidate vector
//! feeds both `dot(q, c)` and `dot(c, c)`, so a candidate is read exactly once.

use core::arch::x86_64::*;

use super::batch_with;

#[target_feature(enable = "avx512f")]
pub(super) fn batch_avx512(query: &[f32], candidates: &[f32], scores: &mut [f32]) {
    batch_with(query, candidates, scores, |q, c| pair_avx512(q, c));
}

#[target_feature(enable = "avx2,fma")]
pub(super) fn batch_avx2(query: &[f32], candidates: &[f32], scores: &mut [f32]) {
    batch_with(query, candidates, scores, |q, c| pair_avx2(q, c));
}

/// `(dot(q, c), dot(c, c))` over `min(q.len(), c.len())` elements.
#[inline]
#[target_feature(enable = "avx512f")]
fn pair_avx512(q: &[f32], c: &[f32]) -> (f32, f32) {
    let n = q.len().min(c.len());
    let (qp, cp) = (q.as_ptr(), c.as_ptr());
    let (mut d0, mut d1, mut d2, mut d3) = (
        _mm512_setzero_ps(),
        _mm512_setzero_ps(),
        _mm512_setzero_ps(),
        _mm512_setzero_ps(),
    );
    let (mut n0, mut n1, mut n2, mut n3) = (
        _mm512_setzero_ps(),
        _mm512_setzero_ps(),
        _mm512_setzero_ps(),
        _mm512_setzero_ps(),
    );
    let mut i = 0;
    while i + 64 <= n {
        // SAFETY: i + 64 <= n <= both lengths, so the four 16-lane loads stay inside both slices.
        let (c0, c1, c2, c3, q0, q1, q2, q3) = unsafe {
            (
                _mm512_loadu_ps(cp.add(i)),
                _mm512_loadu_ps(cp.add(i + 16)),
                _mm512_loadu_ps(cp.add(i + 32)),
                _mm512_loadu_ps(cp.add(i + 48)),
                _mm512_loadu_ps(qp.add(i)),
                _mm512_loadu_ps(qp.add(i + 16)),
                _mm512_loadu_ps(qp.add(i + 32)),
                _mm512_loadu_ps(qp.add(i + 48)),
            )
        };
        d0 = _mm512_fmadd_ps(q0, c0, d0);
        d1 = _mm512_fmadd_ps(q1, c1, d1);
        d2 = _mm512_fmadd_ps(q2, c2, d2);
        d3 = _mm512_fmadd_ps(q3, c3, d3);
        n0 = _mm512_fmadd_ps(c0, c0, n0);
        n1 = _mm512_fmadd_ps(c1, c1, n1);
        n2 = _mm512_fmadd_ps(c2, c2, n2);
        n3 = _mm512_fmadd_ps(c3, c3, n3);
        i += 64;
    }
    while i + 16 <= n {
        // SAFETY: i + 16 <= n, so both 16-lane loads are in bounds.
        let (cv, qv) = unsafe { (_mm512_loadu_ps(cp.add(i)), _mm512_loadu_ps(qp.add(i))) };
        d0 = _mm512_fmadd_ps(qv, cv, d0);
        n0 = _mm512_fmadd_ps(cv, cv, n0);
        i += 16;
    }
    if i < n {
        let mask: __mmask16 = (1u16 << (n - i)) - 1;
        // SAFETY: the mask enables lanes i..n only, which are in bounds; masked-off lanes are
        // neither read nor able to fault (AVX-512 fault suppression).
        let (cv, qv) = unsafe {
            (
                _mm512_maskz_loadu_ps(mask, cp.add(i)),
                _mm512_maskz_loadu_ps(mask, qp.add(i)),
            )
        };
        d1 = _mm512_fmadd_ps(qv, cv, d1);
        n1 = _mm512_fmadd_ps(cv, cv, n1);
    }
    let dot = _mm512_add_ps(_mm512_add_ps(d0, d1), _mm512_add_ps(d2, d3));
    let cc = _mm512_add_ps(_mm512_add_ps(n0, n1), _mm512_add_ps(n2, n3));
    (_mm512_reduce_add_ps(dot), _mm512_reduce_add_ps(cc))
}

/// `(dot(q, c), dot(c, c))` over `min(q.len(), c.len())` elements.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn pair_avx2(q: &[f32], c: &[f32]) -> (f32, f32) {
    let n = q.len().min(c.len());
    let (qp, cp) = (q.as_ptr(), c.as_ptr());
    let (mut d0, mut d1, mut d2, mut d3) = (
        _mm256_setzero_ps(),
        _mm256_setzero_ps(),
        _mm256_setzero_ps(),
        _mm256_setzero_ps(),
    );
    let (mut n0, mut n1, mut n2, mut n3) = (
        _mm256_setzero_ps(),
        _mm256_setzero_ps(),
        _mm256_setzero_ps(),
        _mm256_setzero_ps(),
    );
    let mut i = 0;
    while i + 32 <= n {
        // SAFETY: i + 32 <= n <= both lengths, so the four 8-lane loads stay inside both slices.
        let (c0, c1, c2, c3, q0, q1, q2, q3) = unsafe {
            (
                _mm256_loadu_ps(cp.add(i)),
                _mm256_loadu_ps(cp.add(i + 8)),
                _mm256_loadu_ps(cp.add(i + 16)),
                _mm256_loadu_ps(cp.add(i + 24)),
                _mm256_loadu_ps(qp.add(i)),
                _mm256_loadu_ps(qp.add(i + 8)),
                _mm256_loadu_ps(qp.add(i + 16)),
                _mm256_loadu_ps(qp.add(i + 24)),
            )
        };
        d0 = _mm256_fmadd_ps(q0, c0, d0);
        d1 = _mm256_fmadd_ps(q1, c1, d1);
        d2 = _mm256_fmadd_ps(q2, c2, d2);
        d3 = _mm256_fmadd_ps(q3, c3, d3);
        n0 = _mm256_fmadd_ps(c0, c0, n0);
        n1 = _mm256_fmadd_ps(c1, c1, n1);
        n2 = _mm256_fmadd_ps(c2, c2, n2);
        n3 = _mm256_fmadd_ps(c3, c3, n3);
        i += 32;
    }
    while i + 8 <= n {
        // SAFETY: i + 8 <= n, so both 8-lane loads are in bounds.
        let (cv, qv) = unsafe { (_mm256_loadu_ps(cp.add(i)), _mm256_loadu_ps(qp.add(i))) };
        d0 = _mm256_fmadd_ps(qv, cv, d0);
        n0 = _mm256_fmadd_ps(cv, cv, n0);
        i += 8;
    }
    let dot = _mm256_add_ps(_mm256_add_ps(d0, d1), _mm256_add_ps(d2, d3));
    let cc = _mm256_add_ps(_mm256_add_ps(n0, n1), _mm256_add_ps(n2, n3));
    let (mut dot, mut cc) = (hsum256(dot), hsum256(cc));
    // The tail (< 8 elements) in scalar code: masked AVX2 loads would trip up valgrind.
    for (&a, &b) in q[i..n].iter().zip(&c[i..n]) {
        dot += a * b;
        cc += b * b;
    }
    (dot, cc)
}

#[inline]
#[target_feature(enable = "avx2")]
fn hsum256(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0b01));
    _mm_cvtss_f32(s)
}
