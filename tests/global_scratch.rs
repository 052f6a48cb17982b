//! Global-arena scopes and `with_arena` scratch scopes nest both ways without interfering: the
//! scratch arena's rewinds never touch global-arena memory and vice versa.

#[path = "global_support/mod.rs"]
mod support;

use allocator_api2::vec::Vec as AVec;
use engram_kernels::ArenaAlloc;
use engram_kernels::{GlobalArena, with_arena, with_arena_sized, with_global_arena};
use support::{Counting, inner_calls, scaled};

#[global_allocator]
static ALLOC: GlobalArena<Counting> = GlobalArena::new(Counting);

#[test]
fn scratch_scopes_inside_a_global_scope() {
    with_arena(|_| ()); // create this thread's scratch arena first (one System allocation)
    let calls = inner_calls();
    let (words, total) = with_global_arena(|| {
        let mut words: Vec<String> = Vec::new(); // global arena
        let mut total = 0u64;
        for round in 0..scaled(50, 4) {
            let t = with_arena(|s| {
                let xs = s.alloc_slice_fill_with(256, |i| (i + round) as u64); // scratch
                words.push(format!("round {round}")); // global arena, interleaved
                let inner = with_arena(|s2| s2.alloc_slice_copy(&xs[..16]).iter().sum::<u64>());
                xs.iter().sum::<u64>() + inner
            });
            total += t;
        }
        (words, total)
    });
    assert_eq!(inner_calls(), calls, "nothing reached the inner allocator");
    let expect: u64 = (0..scaled(50, 4) as u64)
        .map(|r| (0..256).map(|i| i + r).sum::<u64>() + (0..16).map(|i| i + r).sum::<u64>())
        .sum();
    assert_eq!(total, expect);
    assert!(
        words
            .iter()
            .enumerate()
            .all(|(i, w)| *w == format!("round {i}"))
    );
}

#[test]
fn a_global_scope_inside_a_scratch_scope() {
    let out = with_arena(|s| {
        let mut scratch_vec = AVec::new_in(s);
        let mut kept = Vec::new();
        for i in 0..scaled(100, 5) {
            scratch_vec.push(i as u32);
            let g = with_global_arena(|| {
                let tmp: Vec<String> = (0..10).map(|j| format!("{i}.{j}")).collect();
                tmp.join(",")
            });
            kept.push(g); // kept is outside the global scope: inner memory; g is arena memory
        }
        let sum: u32 = scratch_vec.iter().sum();
        (sum, kept)
    });
    let n = scaled(100, 5);
    assert_eq!(out.0, (0..n as u32).sum());
    for (i, s) in out.1.iter().enumerate() {
        let expect: Vec<String> = (0..10).map(|j| format!("{i}.{j}")).collect();
        assert_eq!(*s, expect.join(","));
    }
}

#[test]
fn a_sized_batch_arena_inside_a_global_scope() {
    let r = with_global_arena(|| {
        with_arena_sized(4 << 20, |s| {
            let big = s.alloc_slice_fill_copy(scaled(1 << 19, 1 << 10), 3u64);
            let label = format!("{} items", big.len()); // global arena
            (big.iter().sum::<u64>(), label)
        })
    });
    let n = scaled(1 << 19, 1 << 10);
    assert_eq!(r, (3 * n as u64, format!("{n} items")));
}

#[test]
#[cfg_attr(
    miri,
    ignore = "under Miri, std's thread-locals are themselves heap-allocated at first access, \
              which pins the global arena when that first access is inside a global scope"
)]
fn scratch_bookkeeping_first_touched_in_a_global_scope_does_not_pin_the_global_arena() {
    // The scratch metrics registration and the batch pool's list are created on this thread's
    // first scratch scopes. If they came from the global allocator, they would land in this
    // thread's global arena and keep it from ever rewinding.
    std::thread::spawn(|| {
        with_global_arena(|| {
            with_arena(|s| {
                s.alloc(1u8);
            });
            with_arena_sized(1 << 20, |s| {
                s.alloc(1u8);
            });
        });
        let before = ALLOC.thread_stats();
        for _ in 0..scaled(64, 24) {
            with_global_arena(|| {
                // Freed out of order: only a scope exit with nothing alive can reclaim `a`.
                let a = vec![7u8; 64 << 10];
                let b = vec![9u8; 64 << 10];
                assert_eq!((a[1000], b[1000]), (7, 9));
                drop(a);
                drop(b);
            });
        }
        let after = ALLOC.thread_stats();
        assert_eq!(
            after.spills, before.spills,
            "the global arena was pinned and filled up"
        );
        assert!(after.arena_allocs > before.arena_allocs);
    })
    .join()
    .unwrap();
}
