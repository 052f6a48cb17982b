//! `mimalloc` as the global allocator, the allocator users would otherwise pick.

#[path = "global_common/workload.rs"]
mod workload;

use criterion::{Criterion, criterion_group};
use mimalloc::MiMalloc;

#[global_allocator]
static ALLOC: MiMalloc = MiMalloc;

fn bench(c: &mut Criterion) {
    c.bench_function("global/std_workload/mimalloc", |b| {
        b.iter(|| workload::std_workload(7))
    });
}

criterion_group!(benches, bench);
fn main() {
    if workload::fixed_iterations(&[("mimalloc", &|| workload::std_workload(7))]) {
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
