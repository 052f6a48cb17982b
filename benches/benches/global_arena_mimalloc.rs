//! `GlobalArena<MiMalloc>`: the arena over mimalloc, so code outside scopes gets mimalloc's speed.

#[path = "global_common/workload.rs"]
mod workload;

use criterion::{Criterion, criterion_group};
use engram_kernels::{GlobalArena, with_global_arena};
use mimalloc::MiMalloc;

#[global_allocator]
static ALLOC: GlobalArena<MiMalloc> = GlobalArena::new(MiMalloc);

fn bench(c: &mut Criterion) {
    c.bench_function("global/std_workload/arena_mimalloc_outside", |b| {
        b.iter(|| workload::std_workload(7))
    });
    c.bench_function("global/std_workload/arena_mimalloc_inside", |b| {
        b.iter(|| with_global_arena(|| workload::std_workload(7)))
    });
}

criterion_group!(benches, bench);
fn main() {
    if workload::fixed_iterations(&[
        ("arena_mimalloc_outside", &|| workload::std_workload(7)),
        ("arena_mimalloc_inside", &|| {
            with_global_arena(|| workload::std_workload(7))
        }),
    ]) {
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
