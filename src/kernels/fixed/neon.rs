//! The aarch64 entry point of the fixed-size operations: a `#[target_feature]` function that
//! runs any [`Op`] with NEON lanes.

use super::ops::Op;
use crate::kernels::dispatch::NeonToken;
use crate::kernels::similarity::neon::Neon;

pub(super) fn neon<O: Op>(_: NeonToken, op: O) -> O::Out {
    #[target_feature(enable = "neon")]
    fn run<O: Op>(op: O) -> O::Out {
        // SAFETY: this function runs with NEON enabled.
        unsafe { op.run::<Neon>() }
    }
    // SAFETY: the token proves NEON was detected at run time.
    unsafe { run(op) }
}
