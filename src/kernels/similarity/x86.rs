//! x86_64 vocabularies of the cosine kernel: AVX2+FMA (`__m256`) and AVX-512F (`__m512`), and
//! their entry points. The algorithm itself is in `kernel.rs`.

use core::arch::x86_64::*;

use super::Undefined;
use super::kernel::{Vector, batch, many};
use crate::kernels::dispatch::{Avx2Token, Avx512Token};

#[derive(Clone, Copy)]
pub(in crate::kernels) struct Avx2(pub(in crate::kernels) __m256);

// SAFETY (every method): the trait's contract; the caller runs on a CPU with AVX2 and FMA.
impl Vector for Avx2 {
    const LANES: usize = 8;

    #[inline(always)]
    unsafe fn zero() -> Self {
        Avx2(unsafe { _mm256_setzero_ps() })
    }

    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller guarantees `p` is valid for a full vector's reads (the trait's
        // contract) and the CPU feature (the impl's).
        Avx2(unsafe { _mm256_loadu_ps(p) })
    }

    #[inline(always)]
    unsafe fn load_partial(p: *const f32, n: usize) -> Self {
        // Element by element rather than `vmaskmovps` (valgrind checks this path) or `memcpy`
        // (a call would make every accumulator live across it spill to the stack).
        let mut buf = [0.0f32; 8];
        for (k, b) in buf.iter_mut().enumerate() {
            if k < n {
                // SAFETY: `k < n`, and the caller guarantees `p` is valid for `n` reads.
                *b = unsafe { p.add(k).read() };
            }
        }
        // SAFETY: `buf` is a local array of exactly one vector's floats.
        Avx2(unsafe { _mm256_loadu_ps(buf.as_ptr()) })
    }

    #[inline(always)]
    unsafe fn mul_add(a: Self, b: Self, acc: Self) -> Self {
        // SAFETY: register-only arithmetic; the CPU feature is the caller's guarantee (the impl's
        // contract).
        Avx2(unsafe { _mm256_fmadd_ps(a.0, b.0, acc.0) })
    }

    #[inline(always)]
    unsafe fn reduce(self) -> f32 {
        // SAFETY: register-only arithmetic; the CPU feature is the caller's guarantee (the impl's
        // contract).
        unsafe {
            let v = self.0;
            let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0b01));
            _mm_cvtss_f32(s)
        }
    }

    #[inline(always)]
    unsafe fn prefetch(p: *const f32) {
        // Into L2 (T1): the many-query kernel fetches its next tile while it works from L2.
        // SAFETY: a prefetch never faults, whatever the address; the CPU feature is the caller's
        // guarantee.
        unsafe { _mm_prefetch::<_MM_HINT_T1>(p.cast()) }
    }
}

#[derive(Clone, Copy)]
pub(in crate::kernels) struct Avx512(pub(in crate::kernels) __m512);

// SAFETY (every method): the trait's contract; the caller runs on a CPU with AVX-512F.
impl Vector for Avx512 {
    const LANES: usize = 16;

    #[inline(always)]
    unsafe fn zero() -> Self {
        Avx512(unsafe { _mm512_setzero_ps() })
    }

    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller guarantees `p` is valid for a full vector's reads (the trait's
        // contract) and the CPU feature (the impl's).
        Avx512(unsafe { _mm512_loadu_ps(p) })
    }

    #[inline(always)]
    unsafe fn load_partial(p: *const f32, n: usize) -> Self {
        let mask: __mmask16 = (1u16 << n) - 1;
        // Masked-off lanes are neither read nor able to fault (AVX-512 fault suppression).
        // SAFETY: masked-off lanes are neither read nor able to fault, and the caller guarantees
        // `p` is valid for `n` reads.
        Avx512(unsafe { _mm512_maskz_loadu_ps(mask, p) })
    }

    #[inline(always)]
    unsafe fn mul_add(a: Self, b: Self, acc: Self) -> Self {
        // SAFETY: register-only arithmetic; the CPU feature is the caller's guarantee (the impl's
        // contract).
        Avx512(unsafe { _mm512_fmadd_ps(a.0, b.0, acc.0) })
    }

    #[inline(always)]
    unsafe fn reduce(self) -> f32 {
        // SAFETY: register-only arithmetic; the CPU feature is the caller's guarantee (the impl's
        // contract).
        unsafe { _mm512_reduce_add_ps(self.0) }
    }

    #[inline(always)]
    unsafe fn prefetch(p: *const f32) {
        // SAFETY: a prefetch never faults, whatever the address; the CPU feature is the caller's
        // guarantee.
        unsafe { _mm_prefetch::<_MM_HINT_T1>(p.cast()) }
    }
}

pub(super) fn batch_avx2<U: Undefined>(
    _: Avx2Token,
    query: &[f32],
    candidates: &[f32],
    scores: &mut [f32],
) -> bool {
    #[target_feature(enable = "avx2,fma")]
    fn run<U: Undefined>(query: &[f32], candidates: &[f32], scores: &mut [f32]) -> bool {
        // SAFETY: this function runs with AVX2 and FMA enabled.
        unsafe { batch::<Avx2, U>(query, candidates, scores) }
    }
    // SAFETY: the token proves AVX2 and FMA were detected at run time.
    unsafe { run::<U>(query, candidates, scores) }
}

pub(super) fn batch_avx512<U: Undefined>(
    _: Avx512Token,
    query: &[f32],
    candidates: &[f32],
    scores: &mut [f32],
) -> bool {
    #[target_feature(enable = "avx512f")]
    fn run<U: Undefined>(query: &[f32], candidates: &[f32], scores: &mut [f32]) -> bool {
        // SAFETY: this function runs with AVX-512F enabled.
        unsafe { batch::<Avx512, U>(query, candidates, scores) }
    }
    // SAFETY: the token proves AVX-512F was detected at run time.
    unsafe { run::<U>(query, candidates, scores) }
}

pub(super) fn many_avx2<U: Undefined>(
    _: Avx2Token,
    queries: &[f32],
    dim: usize,
    candidates: &[f32],
    scores: &mut [f32],
) {
    #[target_feature(enable = "avx2,fma")]
    fn run<U: Undefined>(queries: &[f32], dim: usize, candidates: &[f32], scores: &mut [f32]) {
        // SAFETY: this function runs with AVX2 and FMA enabled. Four queries by two rows plus
        // two norms is 10 accumulators of the 16 ymm registers.
        unsafe { many::<Avx2, 4, U>(queries, dim, candidates, scores) }
    }
    // SAFETY: the token proves AVX2 and FMA were detected at run time.
    unsafe { run::<U>(queries, dim, candidates, scores) }
}

pub(super) fn many_avx512<U: Undefined>(
    _: Avx512Token,
    queries: &[f32],
    dim: usize,
    candidates: &[f32],
    scores: &mut [f32],
) {
    #[target_feature(enable = "avx512f")]
    fn run<U: Undefined>(queries: &[f32], dim: usize, candidates: &[f32], scores: &mut [f32]) {
        // Four queries by two rows, as at AVX2: eight queries (18 accumulators) fit the 32 zmm
        // registers but measured 1.2-1.6x slower than AVX2 (16 x 768 x 10,000 on AMD EPYC);
        // four are level with it.
        // SAFETY: this function runs with AVX-512F enabled.
        unsafe { many::<Avx512, 4, U>(queries, dim, candidates, scores) }
    }
    // SAFETY: the token proves AVX-512F was detected at run time.
    unsafe { run::<U>(queries, dim, candidates, scores) }
}
