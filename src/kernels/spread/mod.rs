//! Spreading activation over a weighted directed graph.
//!
//! Three entry points share one per-edge operation, `act[t] += cur[src] * w`, always applied in
//! edge order with no fused multiply-add, so every form is bit-for-bit reproducible:
//!
//! * [`spread`]: the iterated spread below, on a validated [`CsrGraph`] (the recommended API);
//! * [`spread_legacy`]: the same iteration on the Zig implementation's edge list, where edge `e`
//!   belongs to node `e / ceil(E/N)` (kept for the `engram_spread_activation` C export);
//! * [`spread_frontier`]: a sparse, hop-by-hop variant from seed nodes, with per-hop decay, an
//!   activation threshold and a hop limit ([`FrontierParams`]).
//!
//! One iteration of [`spread`] and [`spread_legacy`]:
//!
//! 1. `cur ← act`, a snapshot taken in the thread's scratch arena (4·N bytes);
//! 2. for every edge `src → t` with weight `w`, in edge order: `act[t] += cur[src] * w`;
//! 3. `m ←` the maximum of `act`, starting from 0 and ignoring NaN; if `m > 1`, every node is
//!    divided by `m`. Nothing else is clamped; negative values are allowed.
//!
//! Each call is one [`with_arena`](crate::with_arena) scope. When the snapshot does not fit the
//! pool it spills to the heap under the default
//! [`OverflowPolicy::Fallback`](crate::OverflowPolicy::Fallback) (and the overflow is counted); under
//! [`OverflowPolicy::Error`](crate::OverflowPolicy::Error) the call returns
//! [`KernelError::ScratchExhausted`](super::KernelError::ScratchExhausted) and leaves the
//! activations untouched; under [`OverflowPolicy::Panic`](crate::OverflowPolicy::Panic) the
//! scratch arena panics with a message naming the request.
//!
//! # Example
//!
//! ```
//! use engram_kernels::kernels::spread::{CsrGraph, spread};
//!
//! // 0 → 1 (w = .5), 0 → 2 (w = .3)
//! let offsets = [0, 2, 2, 2];
//! let graph = CsrGraph::new(&offsets, &[1, 2], &[0.5, 0.3])?;
//! let mut act = [1.0, 0.0, 0.0];
//! spread(&graph, &mut act, 1)?;
//! assert_eq!(act, [1.0, 0.5, 0.3]);
//! # Ok::<(), engram_kernels::kernels::KernelError>(())
//! ```

mod csr;
mod frontier;
mod iterate;
mod legacy;

pub use csr::CsrGraph;
pub use frontier::{FrontierParams, FrontierSummary, spread_frontier};
pub use iterate::spread;
pub use legacy::spread_legacy;
