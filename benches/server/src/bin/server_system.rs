//! The server under this binary's global allocator (see the crate docs).
#[global_allocator]
static ALLOC: std::alloc::System = std::alloc::System;

fn main() {
    engram_server_bench::server_main(false);
}
