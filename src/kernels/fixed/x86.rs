//! The x86_64 entry points of the fixed-size operations: one `#[target_feature]` function per
//! instruction set that runs any [`Op`] with that set's lanes.

use super::ops::Op;
use crate::kernels::dispatch::{Avx2Token, Avx512Token};
use crate::kernels::similarity::x86::{Avx2, Avx512};

pub(super) fn avx2<O: Op>(_: Avx2Token, op: O) -> O::Out {
    #[target_feature(enable = "avx2,fma")]
    fn run<O: Op>(op: O) -> O::Out {
        // SAFETY: this function runs with AVX2 and FMA enabled.
        unsafe { op.run::<Avx2>() }
    }
    // SAFETY: the token proves AVX2 and FMA were detected at run time.
    unsafe { run(op) }
}

pub(super) fn avx512<O: Op>(_: Avx512Token, op: O) -> O::Out {
    #[target_feature(enable = "avx512f")]
    fn run<O: Op>(op: O) -> O::Out {
        // SAFETY: this function runs with AVX-512F enabled.
        unsafe { op.run::<Avx512>() }
    }
    // SAFETY: the token proves AVX-512F was detected at run time.
    unsafe { run(op) }
}
