//! The workloads under `GlobalArena<MiMalloc>`, outside or inside a scope per iteration.
use engram_kernels::{GlobalArena, with_global_arena};
use mimalloc::MiMalloc;

#[global_allocator]
static ALLOC: GlobalArena<MiMalloc> = GlobalArena::new(MiMalloc);

fn main() {
    engram_realworld::main_with(&|f| with_global_arena(f), true, &|| {
        let r = ALLOC.region();
        Some((r.resident_bytes >> 10, r.huge_page_bytes >> 10))
    });
    if std::env::var_os("REALWORLD_STATS").is_some() {
        eprintln!("{:?}", ALLOC.thread_stats());
    }
}
