//! `System` as the global allocator: the baseline for `global_arena` (run them alternately with
//! `scripts/bench-global.sh`: one binary per global allocator).

#[path = "global_common/workload.rs"]
mod workload;

use criterion::{Criterion, criterion_group};
use std::alloc::System;

#[global_allocator]
static ALLOC: System = System;

fn bench(c: &mut Criterion) {
    c.bench_function("global/std_workload/system", |b| {
        b.iter(|| workload::std_workload(7))
    });
}

criterion_group!(benches, bench);
fn main() {
    if workload::fixed_iterations(&[("system", &|| workload::std_workload(7))]) {
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
