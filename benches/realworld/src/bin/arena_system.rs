//! The workloads under `GlobalArena<System>`, outside or inside a scope per iteration.
use engram_kernels::{GlobalArena, with_global_arena};

#[global_allocator]
static ALLOC: GlobalArena = GlobalArena::new(std::alloc::System);

fn main() {
    engram_realworld::main_with(&|f| with_global_arena(f), true, &|| {
        let r = ALLOC.region();
        Some((r.resident_bytes >> 10, r.huge_page_bytes >> 10))
    });
    if std::env::var_os("REALWORLD_STATS").is_some() {
        eprintln!("{:?}", ALLOC.thread_stats());
    }
}
