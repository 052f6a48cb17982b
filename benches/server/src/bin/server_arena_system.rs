//! The server under this binary's global allocator (see the crate docs).
#[global_allocator]
static ALLOC: engram_kernels::GlobalArena = engram_kernels::GlobalArena::new(std::alloc::System);

fn main() {
    engram_server_bench::server_main(true);
}
