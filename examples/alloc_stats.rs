//! Allocation statistics of three workloads under four allocator modes: plain `System`,
//! `GlobalArena` outside a scope, inside `with_global_arena`, and an explicit `with_arena`
//! scratch allocator. `System` is wrapped in `stats_alloc` to count what reaches it.
//!
//! ```text
//! cargo run --release --example alloc_stats [REPS]
//! ```

#[path = "common/alloc_table.rs"]
mod alloc_table;

fn main() {
    let reps = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    alloc_table::print_table(reps);
}
