//! The workloads under mimalloc.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    engram_realworld::main_with(&|f| f(), false, &|| None);
}
