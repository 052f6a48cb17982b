//! The crate's own locks never allocate in a user's global scope: a thread whose first contended
//! acquisition of the batch pool or metrics registry happens inside `with_global_arena` (where
//! `parking_lot_core` allocates its never-freed hash table) still rewinds to an empty chunk after
//! every later scope, and no chunk stays owned once all threads have exited.

#[path = "global_support/mod.rs"]
mod support;

use engram_kernels::ArenaAlloc;
use engram_kernels::global::CHUNK_SIZE;
use engram_kernels::{GlobalArena, with_arena, with_arena_sized, with_global_arena};
use std::sync::{Arc, Barrier};
use std::thread;
use support::{Counting, scaled};

#[global_allocator]
static ALLOC: GlobalArena<Counting> = GlobalArena::new(Counting);

/// Address of a fresh box made in a scope of its own: at a chunk start iff the thread's current
/// chunk rewound to empty.
fn first_block() -> usize {
    with_global_arena(|| (&*Box::new(0u8) as *const u8).addr())
}

#[test]
fn first_contended_crate_locks_inside_a_scope_pin_nothing() {
    let baseline = ALLOC.chunks_in_use();
    let threads = scaled(32, 3);
    let rounds = scaled(1000, 3);
    let barrier = Arc::new(Barrier::new(threads));
    let hs: Vec<_> = (0..threads)
        .map(|t| {
            let barrier = barrier.clone();
            thread::spawn(move || {
                // Every thread's first use of the batch pool and the metrics registry, all at once
                // and inside a global scope: contended, so threads park for the first time here.
                with_global_arena(|| {
                    barrier.wait();
                    for r in 0..rounds {
                        with_arena_sized(64 << 10, |s| {
                            s.alloc_slice_fill_copy(1024, (t + r) as u64);
                        });
                        with_arena(|s| {
                            s.alloc(r as u32);
                        });
                    }
                });
                for k in 0..scaled(50, 4) {
                    let at = first_block();
                    assert_eq!(at % CHUNK_SIZE, 0, "thread {t}, scope {k}: chunk pinned");
                    with_global_arena(|| {
                        let v: Vec<String> = (0..100).map(|i| format!("{t}.{i}")).collect();
                        with_arena_sized(64 << 10, |s| {
                            s.alloc_slice_fill_copy(256, v.len());
                        });
                        assert_eq!(v[99], format!("{t}.99"));
                    });
                }
                assert_eq!(first_block() % CHUNK_SIZE, 0);
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(ALLOC.chunks_in_use(), baseline, "a chunk stayed owned");
}
