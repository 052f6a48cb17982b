//! `GlobalArena<System>` as the global allocator: the workload outside any scope (pure
//! pass-through) and inside `with_global_arena`.

#[path = "global_common/workload.rs"]
mod workload;

use criterion::{Criterion, criterion_group};
use engram_kernels::{GlobalArena, with_global_arena};
use std::alloc::System;

#[global_allocator]
static ALLOC: GlobalArena = GlobalArena::new(System);

fn bench(c: &mut Criterion) {
    c.bench_function("global/std_workload/arena_outside", |b| {
        b.iter(|| workload::std_workload(7))
    });
    c.bench_function("global/std_workload/arena_inside", |b| {
        b.iter(|| with_global_arena(|| workload::std_workload(7)))
    });
}

criterion_group!(benches, bench);
fn main() {
    if workload::fixed_iterations(&[
        ("arena_outside", &|| workload::std_workload(7)),
        ("arena_inside", &|| {
            with_global_arena(|| workload::std_workload(7))
        }),
    ]) {
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
