//! The range's end: a request larger than what is left of the range (or than all of it) takes
//! no chunk from it, and a thread that finds no chunk at all counts its spills as "no chunk".
//! One test, one process: it carves the whole range (address space only: nothing is written).

use engram_kernels::global::{
    CHUNK_SIZE, DEFAULT_THREAD_CHUNK_CAP, GlobalStats, MAX_ARENA_REQUEST, MAX_CHUNKS,
    set_thread_chunk_cap,
};
use engram_kernels::{GlobalArena, with_global_arena};
use std::alloc::System;
use std::thread;

#[global_allocator]
static ALLOC: GlobalArena = GlobalArena::new(System);

/// On a new thread: `count` blocks of `size` bytes, all alive at once, in one scope; the
/// thread's statistics for it.
fn blocks_on_a_new_thread(count: usize, size: usize) -> GlobalStats {
    thread::spawn(move || {
        let before = ALLOC.thread_stats();
        with_global_arena(|| {
            let blocks: Vec<Box<[u8]>> = (0..count)
                .map(|i| vec![i as u8; size].into_boxed_slice())
                .collect();
            assert!(
                blocks
                    .iter()
                    .enumerate()
                    .all(|(i, b)| b[size - 1] == i as u8)
            );
        });
        ALLOC.thread_stats().since(&before)
    })
    .join()
    .unwrap()
}

/// `bytes` reserved in a scope with the per-thread cap lifted, so that only the range limits it.
fn reserve_uncapped(bytes: usize) -> Option<Vec<u8>> {
    set_thread_chunk_cap(usize::MAX);
    let v = with_global_arena(|| {
        let mut v = Vec::new();
        v.try_reserve_exact(bytes).is_ok().then_some(v)
    });
    set_thread_chunk_cap(DEFAULT_THREAD_CHUNK_CAP);
    v
}

#[test]
fn the_range_end_loses_no_chunk_and_names_its_spills() {
    with_global_arena(|| drop(vec![1u8; 10])); // the range is reserved now
    let carved = ALLOC.region().carved;
    assert!(carved < MAX_CHUNKS / 2);

    // Larger than the whole range, then larger than what is left of it: both leave the range
    // (whether the inner allocator grants that much address space does not matter here), and
    // neither may use up the chunks not carved yet.
    drop(reserve_uncapped((MAX_CHUNKS + 1) * CHUNK_SIZE));
    assert_eq!(
        ALLOC.region().carved,
        carved,
        "a request beyond the range carved chunks"
    );
    drop(reserve_uncapped((MAX_CHUNKS - carved + 1) * CHUNK_SIZE));
    assert_eq!(
        ALLOC.region().carved,
        carved,
        "a request beyond the rest carved chunks"
    );
    let d = blocks_on_a_new_thread(64, 64);
    assert_eq!((d.arena_allocs >= 64, d.spills), (true, 0), "{d:?}");

    // Now carve everything that is left, in one span (no page of it is touched).
    let rest = reserve_uncapped((MAX_CHUNKS - ALLOC.region().carved) * CHUNK_SIZE)
        .expect("exactly the rest of the range");
    assert_eq!(ALLOC.region().carved, MAX_CHUNKS);
    // A new thread uses up the few free chunks, then finds none: every later spill is for lack
    // of a chunk (it holds far fewer than the cap).
    let size = MAX_ARENA_REQUEST / 2;
    let d = blocks_on_a_new_thread(8 * CHUNK_SIZE / size, size);
    assert!(d.no_chunk_spills > 1, "{d:?}");
    assert_eq!(
        d.cap_spills, 0,
        "spills for lack of a chunk counted as cap spills: {d:?}"
    );

    // Freed, the span's chunks serve scopes again.
    drop(rest);
    let d = blocks_on_a_new_thread(8 * CHUNK_SIZE / size, size);
    assert_eq!(d.spills, 0, "{d:?}");
}
