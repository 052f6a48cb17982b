//! The Engram graph-memory kernels: batch cosine similarity, exponential decay, spreading
//! activation, fixed-size embedding operations and product-quantization scans. Their scratch
//! comes from the thread's arena ([`with_arena`](crate::with_arena)).
//!
//! What each kernel computes (the submodules give the details, precision and examples):
//!
//! * [`similarity`]: cosine scores of a query against row-major candidates (candidate `i` is
//!   `candidates[i*d..(i+1)*d]`). `mag(v) = sqrt(dot(v, v))`, taken as 0 when `dot(v, v)` is NaN,
//!   infinite or below `1e-30`; a query or candidate of magnitude 0 scores 0, and so does a
//!   candidate with any NaN or infinite component; other scores are `dot(q, c) / (mag(q) ·
//!   mag(c))`, clamped to `[-1, 1]`. Top-k returns the best `k` first, equal scores by lower
//!   index, and skips the candidates whose score is undefined (forced to 0 above).
//! * [`decay`]: `s ← s · exp(−age / τ)`, ages in whole seconds, `τ` an e-folding time (one day at
//!   the C ABI; a half-life converts as `τ = half_life / ln 2`). Age 0 leaves `s` bit for bit;
//!   NaN and ±∞ pass through; very large ages give exactly 0. The C exports round as the Engram
//!   engine does: the factor in f64, rounded once to f32, then one f32 multiply.
//! * [`fixed`]: the Engram engine's `compute` operations on fixed-size embeddings `&[f32; D]`
//!   (cosine, batch cosine, dot, norm, add, scale, weighted average, ...) with that engine's
//!   rules, which differ from [`similarity`]'s: a vector of norm exactly 0 scores 0, a NaN gives
//!   NaN, and scores are clamped to `[-1, 1]`.
//! * [`spread`]: iterated spreading activation. Each iteration snapshots the activations, adds
//!   `cur[src] · w` to every edge's target in edge order (targets `≥ N` are skipped, sources keep
//!   their own activation), and divides every node by the maximum if that exceeds 1 (maximum over
//!   the nodes, from 0, ignoring NaN; nothing else is clamped). The legacy edge list gives edge `e`
//!   to node `e / ceil(E/N)`; `N`, `E` or the iteration count 0 returns at once.
//!
//! Every SIMD path agrees with a scalar reference. When a kernel's scratch does not fit the
//! thread's pool it follows the [`OverflowPolicy`](crate::OverflowPolicy): served from the heap
//! and counted by default, never silently skipped.

pub mod decay;
pub mod dispatch;
mod error;
pub mod fixed;
pub mod pq;
pub mod similarity;
pub mod spread;
pub mod staging;

pub use error::{GraphError, KernelError};
