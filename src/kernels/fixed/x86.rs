//! The x86_64 entry points of the fixed-size operations: one `#[target_feature]` function per
//! instruction set that runs any [`Op`] with that set's lanes, writing its result to the caller's
//! `out`.

use core::mem::MaybeUninit;

use super::ops::Op;
use crate::kernels::dispatch::{Avx2Token, Avx512Token};
use crate::kernels::similarity::x86::{Avx2, Avx512};

pub(super) fn avx2<O: Op>(_: Avx2Token, op: O, out: &mut MaybeUninit<O::Out>) {
    #[target_feature(enable = "avx2,fma")]
    fn run<O: Op>(op: O, out: &mut MaybeUninit<O::Out>) {
        // SAFETY: this function runs with AVX2 and FMA enabled; `out` is valid for a write.
        unsafe { op.run::<Avx2>(out.as_mut_ptr()) }
    }
    // SAFETY: the token proves AVX2 and FMA were detected at run time.
    unsafe { run(op, out) }
}

pub(super) fn avx512<O: Op>(_: Avx512Token, op: O, out: &mut MaybeUninit<O::Out>) {
    #[target_feature(enable = "avx512f")]
    fn run<O: Op>(op: O, out: &mut MaybeUninit<O::Out>) {
        // SAFETY: this function runs with AVX-512F enabled; `out` is valid for a write.
        unsafe { op.run::<Avx512>(out.as_mut_ptr()) }
    }
    // SAFETY: the token proves AVX-512F was detected at run time.
    unsafe { run(op, out) }
}
