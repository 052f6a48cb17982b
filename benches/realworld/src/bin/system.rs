//! The workloads under `System` (glibc malloc).
#[global_allocator]
static ALLOC: std::alloc::System = std::alloc::System;

fn main() {
    engram_realworld::main_with(&|f| f(), false, &|| None);
}
