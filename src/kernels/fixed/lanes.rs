//! What the fixed-size operations need beyond the cosine kernel's [`Vector`]: broadcast, plain
//! addition and multiplication, and a store. Implemented here for the cosine kernel's own lane
//! types, so both kernels share one vocabulary per instruction set.

use crate::kernels::similarity::kernel::{Scalar8, Vector};

/// [`Vector`] plus the element-wise operations of `kernels::fixed`.
///
/// # Safety
///
/// As for [`Vector`]: every method may only run on a CPU with the type's instruction set, and
/// `store` needs its pointer valid for `LANES` writes.
pub(super) trait Lanes: Vector {
    /// Every lane `x`.
    unsafe fn splat(x: f32) -> Self;
    /// `a + b`, lane by lane.
    unsafe fn add(a: Self, b: Self) -> Self;
    /// `a · b`, lane by lane.
    unsafe fn mul(a: Self, b: Self) -> Self;
    /// Writes the `LANES` floats to `p` (any alignment).
    unsafe fn store(self, p: *mut f32);
}

impl Lanes for Scalar8 {
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self {
        Scalar8([x; 8])
    }

    #[inline(always)]
    unsafe fn add(a: Self, b: Self) -> Self {
        Scalar8(core::array::from_fn(|i| a.0[i] + b.0[i]))
    }

    #[inline(always)]
    unsafe fn mul(a: Self, b: Self) -> Self {
        Scalar8(core::array::from_fn(|i| a.0[i] * b.0[i]))
    }

    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: the caller guarantees 8 writable floats at `p`.
        unsafe { p.cast::<[f32; 8]>().write_unaligned(self.0) }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;

    use super::Lanes;
    use crate::kernels::similarity::x86::{Avx2, Avx512};

    // SAFETY (every method): register-only arithmetic or a store the caller vouches for; the CPU
    // runs AVX2 and FMA (the trait's contract).
    impl Lanes for Avx2 {
        #[inline(always)]
        unsafe fn splat(x: f32) -> Self {
            // SAFETY: register-only arithmetic; the CPU feature is the caller's guarantee.
            Avx2(unsafe { _mm256_set1_ps(x) })
        }

        #[inline(always)]
        unsafe fn add(a: Self, b: Self) -> Self {
            // SAFETY: register-only arithmetic; the CPU feature is the caller's guarantee.
            Avx2(unsafe { _mm256_add_ps(a.0, b.0) })
        }

        #[inline(always)]
        unsafe fn mul(a: Self, b: Self) -> Self {
            // SAFETY: register-only arithmetic; the CPU feature is the caller's guarantee.
            Avx2(unsafe { _mm256_mul_ps(a.0, b.0) })
        }

        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            // SAFETY: the caller guarantees 8 writable floats at `p` and the CPU feature.
            unsafe { _mm256_storeu_ps(p, self.0) }
        }
    }

    // SAFETY (every method): as for `Avx2`, with AVX-512F.
    impl Lanes for Avx512 {
        #[inline(always)]
        unsafe fn splat(x: f32) -> Self {
            // SAFETY: register-only arithmetic; the CPU feature is the caller's guarantee.
            Avx512(unsafe { _mm512_set1_ps(x) })
        }

        #[inline(always)]
        unsafe fn add(a: Self, b: Self) -> Self {
            // SAFETY: register-only arithmetic; the CPU feature is the caller's guarantee.
            Avx512(unsafe { _mm512_add_ps(a.0, b.0) })
        }

        #[inline(always)]
        unsafe fn mul(a: Self, b: Self) -> Self {
            // SAFETY: register-only arithmetic; the CPU feature is the caller's guarantee.
            Avx512(unsafe { _mm512_mul_ps(a.0, b.0) })
        }

        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            // SAFETY: the caller guarantees 16 writable floats at `p` and the CPU feature.
            unsafe { _mm512_storeu_ps(p, self.0) }
        }
    }
}

#[cfg(target_arch = "aarch64")]
mod neon {
    use core::arch::aarch64::*;

    use super::Lanes;
    use crate::kernels::similarity::neon::Neon;

    // SAFETY (every method): register-only arithmetic or a store the caller vouches for; the CPU
    // runs NEON (the trait's contract).
    impl Lanes for Neon {
        #[inline(always)]
        unsafe fn splat(x: f32) -> Self {
            // SAFETY: register-only arithmetic; the CPU feature is the caller's guarantee.
            Neon(unsafe { vdupq_n_f32(x) })
        }

        #[inline(always)]
        unsafe fn add(a: Self, b: Self) -> Self {
            // SAFETY: register-only arithmetic; the CPU feature is the caller's guarantee.
            Neon(unsafe { vaddq_f32(a.0, b.0) })
        }

        #[inline(always)]
        unsafe fn mul(a: Self, b: Self) -> Self {
            // SAFETY: register-only arithmetic; the CPU feature is the caller's guarantee.
            Neon(unsafe { vmulq_f32(a.0, b.0) })
        }

        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            // SAFETY: the caller guarantees 4 writable floats at `p` and the CPU feature.
            unsafe { vst1q_f32(p, self.0) }
        }
    }
}
