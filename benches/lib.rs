//! Benchmarks of `engram-kernels` against its peers. The code lives in `benches/`; this library
//! is empty and exists only so that the package has a target of its own.
