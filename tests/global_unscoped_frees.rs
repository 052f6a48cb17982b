//! Frees of arena blocks count in the process totals (`GlobalArena::stats`) whichever thread
//! makes them: one that has scopes of its own, and one that never entered a scope (it has no
//! exit hook that would publish its counters). One test: the totals are process-wide.

use engram_kernels::{GlobalArena, with_global_arena};
use std::alloc::System;
use std::thread;

#[global_allocator]
static ALLOC: GlobalArena = GlobalArena::new(System);

#[test]
fn frees_count_on_threads_with_and_without_scopes() {
    let v = with_global_arena(|| vec![1u8; 100]);
    let w = with_global_arena(|| vec![2u8; 100]);
    let s0 = ALLOC.stats();
    thread::spawn(move || drop(v)).join().unwrap(); // never enters a scope
    let s1 = ALLOC.stats();
    thread::spawn(move || {
        with_global_arena(|| ()); // has scopes: publishes at its exit
        drop(w);
    })
    .join()
    .unwrap();
    let s2 = ALLOC.stats();
    assert_eq!(
        s1.since(&s0).arena_frees,
        1,
        "the free on a thread without scopes"
    );
    assert_eq!(
        s2.since(&s1).arena_frees,
        1,
        "the free on a thread with scopes"
    );
}
