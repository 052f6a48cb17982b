//! The aarch64 entry point of the fixed-size operations: a `#[target_feature]` function that
//! runs any [`Op`] with NEON lanes, writing its result to the caller's `out`.

use core::mem::MaybeUninit;

use super::ops::Op;
use crate::kernels::dispatch::NeonToken;
use crate::kernels::similarity::neon::Neon;

pub(super) fn neon<O: Op>(_: NeonToken, op: O, out: &mut MaybeUninit<O::Out>) {
    #[target_feature(enable = "neon")]
    fn run<O: Op>(op: O, out: &mut MaybeUninit<O::Out>) {
        // SAFETY: this function runs with NEON enabled; `out` is valid for a write.
        unsafe { op.run::<Neon>(out.as_mut_ptr()) }
    }
    // SAFETY: the token proves NEON was detected at run time.
    unsafe { run(op, out) }
}
