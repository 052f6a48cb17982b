//! The Engram graph-memory kernels: batch cosine similarity, exponential decay, spreading
//! activation and product-quantization scans. Their scratch comes from the thread's arena ([`with_arena`](crate::with_arena)).
//!
//! The behaviour follows `spec/kernels.md`; every SIMD path agrees with a scalar reference.

pub mod decay;
pub mod dispatch;
mod error;
pub mod pq;
pub mod similarity;
pub mod spread;
pub mod staging;

pub use error::{GraphError, KernelError};
