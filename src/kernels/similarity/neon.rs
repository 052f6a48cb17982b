//! The aarch64 NEON vocabulary of the cosine kernel (`float32x4_t`) and its entry points
//! (compiled only on aarch64). The algorithm itself is in `kernel.rs`.

use core::arch::aarch64::*;

use super::Undefined;
use super::kernel::{Vector, batch, many};
use crate::kernels::dispatch::NeonToken;

#[derive(Clone, Copy)]
pub(in crate::kernels) struct Neon(pub(in crate::kernels) float32x4_t);

// SAFETY (every method): the trait's contract; the caller runs on a CPU with NEON.
impl Vector for Neon {
    const LANES: usize = 4;

    #[inline(always)]
    unsafe fn zero() -> Self {
        Neon(unsafe { vdupq_n_f32(0.0) })
    }

    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller guarantees `p` is valid for a full vector's reads (the trait's
        // contract) and the CPU feature (the impl's).
        Neon(unsafe { vld1q_f32(p) })
    }

    #[inline(always)]
    unsafe fn load_partial(p: *const f32, n: usize) -> Self {
        // Element by element: a `memcpy` call would make the accumulators spill.
        let mut buf = [0.0f32; 4];
        for (k, b) in buf.iter_mut().enumerate() {
            if k < n {
                // SAFETY: `k < n`, and the caller guarantees `p` is valid for `n` reads.
                *b = unsafe { p.add(k).read() };
            }
        }
        // SAFETY: `buf` is a local array of exactly one vector's floats.
        Neon(unsafe { vld1q_f32(buf.as_ptr()) })
    }

    #[inline(always)]
    unsafe fn mul_add(a: Self, b: Self, acc: Self) -> Self {
        // SAFETY: register-only arithmetic; the CPU feature is the caller's guarantee (the impl's
        // contract).
        Neon(unsafe { vfmaq_f32(acc.0, a.0, b.0) })
    }

    #[inline(always)]
    unsafe fn reduce(self) -> f32 {
        // SAFETY: register-only arithmetic; the CPU feature is the caller's guarantee (the impl's
        // contract).
        unsafe { vaddvq_f32(self.0) }
    }

    #[inline(always)]
    unsafe fn prefetch(_: *const f32) {
        // No stable prefetch intrinsic on aarch64; the hardware prefetcher follows the streams.
    }
}

pub(super) fn batch_neon<U: Undefined>(
    _: NeonToken,
    query: &[f32],
    candidates: &[f32],
    scores: &mut [f32],
) -> bool {
    #[target_feature(enable = "neon")]
    fn run<U: Undefined>(query: &[f32], candidates: &[f32], scores: &mut [f32]) -> bool {
        // SAFETY: this function runs with NEON enabled.
        unsafe { batch::<Neon, U>(query, candidates, scores) }
    }
    // SAFETY: the token proves NEON was detected at run time.
    unsafe { run::<U>(query, candidates, scores) }
}

pub(super) fn many_neon<U: Undefined>(
    _: NeonToken,
    queries: &[f32],
    dim: usize,
    candidates: &[f32],
    scores: &mut [f32],
) {
    #[target_feature(enable = "neon")]
    fn run<U: Undefined>(queries: &[f32], dim: usize, candidates: &[f32], scores: &mut [f32]) {
        // SAFETY: this function runs with NEON enabled. Eight queries by two rows plus two norms
        // is 18 accumulators of the 32 vector registers.
        unsafe { many::<Neon, 8, U>(queries, dim, candidates, scores) }
    }
    // SAFETY: the token proves NEON was detected at run time.
    unsafe { run::<U>(queries, dim, candidates, scores) }
}
