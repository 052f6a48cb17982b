//! The chunked core: growable arenas, allocation limits, scopes across chunks, scratch growth,
//! and the floor check. Runs under Miri (scripts/miri.sh), so sizes stay small where it matters.

use allocator_api2::alloc::{Allocator, Layout};
use allocator_api2::vec::Vec as AVec;
use engram_kernels::config::{self, ArenaConfig, OverflowPolicy};
use engram_kernels::{Arena, ArenaAlloc, thread_arena_stats, with_arena};

/// The overflow policy and zeroing are process-wide: tests that depend on them, or change them,
/// take this lock, so that one test's setting never leaks into another running in parallel.
static CONFIG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn on_fresh_thread<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let _config = CONFIG.lock().unwrap_or_else(|e| e.into_inner());
    std::thread::spawn(f).join().unwrap()
}

/// Work sizes: Miri interprets every byte written, so it runs the same tests on fewer elements.
const SCALE: usize = if cfg!(miri) { 1 } else { 10 };

/// Checks that no two of the given byte ranges overlap.
fn assert_disjoint(ranges: &mut [(usize, usize)]) {
    ranges.sort_unstable();
    for w in ranges.windows(2) {
        assert!(
            w[0].1 <= w[1].0,
            "blocks overlap: {:x?} and {:x?}",
            w[0],
            w[1]
        );
    }
}

#[test]
fn a_growable_arena_grows_past_its_first_chunk_and_keeps_every_block() {
    let arena = Arena::new();
    assert_eq!((arena.capacity(), arena.used()), (0, 0));
    let mut blocks = Vec::new();
    for i in 0..(30 * SCALE) as u32 {
        let b = arena.alloc_slice_fill_copy(100 + (i as usize % 7) * 30, i as u8);
        blocks.push(b);
    }
    assert!(arena.capacity() > 4096, "it grew: {}", arena.capacity());
    assert!(arena.used() <= arena.capacity());
    assert_eq!(arena.overflow_count(), 0, "growth is not an overflow");
    let mut ranges = Vec::new();
    for (i, b) in blocks.iter().enumerate() {
        assert!(b.iter().all(|&x| x == i as u8), "block {i} was overwritten");
        ranges.push((b.as_ptr() as usize, b.as_ptr() as usize + b.len()));
    }
    assert_disjoint(&mut ranges);
}

#[test]
fn a_request_larger_than_any_chunk_gets_its_own() {
    let arena = Arena::new();
    arena.alloc(1u8);
    let n = 10_000 * SCALE;
    let big = arena.alloc_slice_fill_copy(n, 7u16);
    assert!(big.iter().all(|&x| x == 7));
    assert!(arena.capacity() >= 2 * n);
    let aligned = (&arena)
        .allocate(Layout::from_size_align(64, 1 << 16).unwrap())
        .unwrap();
    assert_eq!(aligned.cast::<u8>().as_ptr() as usize % (1 << 16), 0);
}

#[test]
fn vec_and_hashmap_outgrow_the_first_chunk_without_aborting() {
    let arena = Arena::new();
    let mut v = AVec::new_in(&arena);
    let n = 2000 * SCALE as u64;
    for i in 0..n {
        v.push(i);
    }
    assert_eq!(v.iter().sum::<u64>(), n * (n - 1) / 2);
    let mut m = hashbrown::HashMap::new_in(&arena);
    let keys = 200 * SCALE as u32;
    for i in 0..keys {
        m.insert(i, i * 3);
    }
    assert!((0..keys).all(|i| m[&i] == i * 3));
}

#[test]
fn the_allocation_limit_refuses_cleanly() {
    let mut arena = Arena::new();
    arena.set_allocation_limit(Some(16 << 10));
    assert_eq!(arena.allocation_limit(), Some(16 << 10));
    let mut v: AVec<u8, &Arena> = AVec::new_in(&arena);
    assert!(v.try_reserve(8 << 10).is_ok());
    assert!(v.try_reserve(64 << 10).is_err(), "past the limit");
    assert!(arena.capacity() <= 16 << 10);
    assert!(arena.try_alloc([0u8; 32 << 10]).is_err());
    assert!(arena.overflow_count() >= 1);
    drop(v);
    arena.set_allocation_limit(None);
    assert!(
        arena.try_alloc([0u8; 32 << 10]).is_ok(),
        "no limit: it grows again"
    );
}

#[test]
fn reset_keeps_the_largest_chunk_so_fill_and_reset_stops_growing() {
    let mut arena = Arena::new();
    let mut caps = Vec::new();
    let n = 200 * SCALE as u32;
    for round in 0..6 {
        for i in 0..n {
            arena.alloc(i + round);
        }
        arena.reset();
        caps.push(arena.capacity());
        assert_eq!(arena.used(), 0);
    }
    assert!(
        caps[0] >= 4 * n as usize,
        "the kept chunk holds a whole round: {caps:?}"
    );
    assert!(caps.windows(2).skip(1).all(|w| w[0] == w[1]), "{caps:?}");
    // The next round fits the kept chunk: no growth.
    for i in 0..n {
        arena.alloc(i);
    }
    assert_eq!(arena.capacity(), caps[5]);
}

#[test]
fn a_fixed_arena_never_grows_and_keeps_its_exact_capacity() {
    for cap in [0usize, 1, 100, 4096, 5000] {
        let arena = Arena::with_capacity(cap);
        assert_eq!(arena.capacity(), cap);
        assert!(arena.try_alloc_slice_fill_copy(cap + 1, 0u8).is_err());
        assert_eq!(arena.capacity(), cap);
    }
}

#[test]
fn scopes_rewind_across_chunks() {
    let mut arena = Arena::new();
    let keep: *const u8 = arena.alloc_slice_fill_copy(1000, 1u8).as_ptr();
    let used = arena.used();
    {
        let scope = arena.scope();
        for i in 0..20 * SCALE {
            scope.alloc_slice_fill_copy(500, i as u8);
        }
        assert!(scope.used() > 10_000 * SCALE);
    }
    assert_eq!(arena.used(), used, "the scope's chunks were rewound");
    // SAFETY: `keep` points at the arena's first block, which the scope did not touch.
    let first = unsafe { std::slice::from_raw_parts(keep, 1000) };
    assert!(first.iter().all(|&x| x == 1));
    // Space the scope used is handed out again.
    let again = arena.alloc_slice_fill_copy(500, 9u8);
    assert!(again.iter().all(|&x| x == 9));
}

#[test]
fn a_scratch_scope_grows_into_chunks_counted_as_overflow() {
    on_fresh_thread(|| {
        with_arena(|s| {
            let cap = s.stats().capacity;
            // Blocks of a sixteenth of the pool, 40 of them: 2.5 pools. Only their ends are
            // written (Miri interprets every byte), which is where an overlap would show.
            let mut blocks = Vec::new();
            for i in 0..40u32 {
                let b = s.alloc_uninit_slice::<u32>(cap / 64);
                b[0].write(i);
                b[b.len() - 1].write(i);
                blocks.push(b);
            }
            for (i, b) in blocks.iter().enumerate() {
                // SAFETY: both ends were written above.
                let ends = unsafe { (b[0].assume_init(), b[b.len() - 1].assume_init()) };
                assert_eq!(ends, (i as u32, i as u32), "block {i} was overwritten");
            }
            let st = s.stats();
            assert!(st.overflow_count > 0, "growth beyond the pool is overflow");
            assert_eq!(st.capacity, cap, "the pool's size is what the stats report");
        });
        let st = thread_arena_stats().unwrap();
        assert_eq!(st.used, 0);
        assert!(st.total_overflows > 0 && st.overflow_bytes > 0, "{st:?}");
    });
}

#[test]
fn under_error_the_pool_stays_strictly_bounded() {
    on_fresh_thread(|| {
        let prev = config::current();
        // Other tests in this binary run on their own threads with the default policy; the
        // policy is read per overflow, so this thread sets and restores it around one scope.
        config::set_overflow_policy(OverflowPolicy::Error);
        let r = with_arena(|s| {
            let cap = s.stats().capacity;
            let fits = s.try_alloc_uninit_slice::<u8>(cap / 2).is_ok();
            let refused = s.try_alloc_uninit_slice::<u8>(cap).is_err();
            (fits, refused, s.stats().capacity == cap)
        });
        config::set_overflow_policy(prev.overflow);
        assert_eq!(r, (true, true, true));
    });
}

#[test]
fn zeroing_configured_later_reaches_an_existing_thread_arena() {
    on_fresh_thread(|| {
        with_arena(|s| {
            s.alloc_slice_fill_copy(64, 0xFFu8);
        });
        let before = config::current();
        config::configure(ArenaConfig {
            zero_on_reset: true,
            ..before
        })
        .unwrap();
        with_arena(|s| {
            s.alloc_slice_fill_copy(64, 0xEEu8);
        });
        let seen = with_arena(|s| {
            let b = s.alloc_uninit_slice::<u8>(64);
            // SAFETY: zero-on-reset zeroed the bytes used in the previous cycle.
            b.iter().map(|x| unsafe { x.assume_init() }).max().unwrap()
        });
        config::configure(before).unwrap();
        assert_eq!(seen, 0);
    });
}

/// An outer handle grows the block that was the most recent one before an inner scope opened,
/// before the inner scope allocates anything. Growing it in place would move the cursor above
/// the inner floor, and the inner scope's exit would then release the grown tail; the floor
/// check in `bump::resize_last` is what refuses that.
#[test]
fn an_outer_grow_before_any_inner_allocation_never_grows_in_place() {
    on_fresh_thread(|| {
        with_arena(|outer| {
            let mut v = AVec::with_capacity_in(4, outer);
            v.extend([1u64, 2, 3, 4]);
            outer.scope(|inner| {
                v.extend(5u64..=16);
                let x = inner.alloc_slice_fill_copy(16, 0xAAAA_AAAA_AAAA_AAAAu64);
                assert!(x.iter().all(|&y| y == 0xAAAA_AAAA_AAAA_AAAA));
            });
            let y = outer.alloc_slice_fill_copy(32, 0x5555_5555_5555_5555u64);
            assert!(y.iter().all(|&z| z == 0x5555_5555_5555_5555));
            assert_eq!(v.as_slice(), (1u64..=16).collect::<Vec<_>>().as_slice());
        });
    });
}

#[test]
fn batch_chunks_return_to_the_pool_and_are_reused() {
    use engram_kernels::scratch::{pool_bytes, with_arena_sized};
    let a = with_arena_sized(3 << 20, |s| s.alloc(1u8) as *mut u8 as usize);
    assert!(pool_bytes() >= 3 << 20);
    let b = with_arena_sized(3 << 20, |s| s.alloc(1u8) as *mut u8 as usize);
    assert_ne!(a, 0);
    assert_ne!(b, 0);
}

/// Found by the `arena_ops` fuzz target: a spilled block (here, from an outer handle while an
/// inner scope is live) shrunk to a smaller alignment must move, because where a spill's header
/// sits depends on the block's alignment; keeping it in place made the later free read a wrong
/// header.
#[test]
fn a_spilled_block_shrunk_to_a_smaller_alignment_is_freed_correctly() {
    on_fresh_thread(|| {
        with_arena(|outer| {
            outer.scope(|_inner| {
                let big = Layout::from_size_align(256, 4096).unwrap();
                let p = outer.allocate(big).unwrap().cast::<u8>();
                // SAFETY: fresh 256-byte block.
                unsafe { p.as_ptr().write_bytes(7, 256) };
                let small = Layout::from_size_align(100, 1).unwrap();
                // SAFETY: `p` is live with layout `big`; `small` is no larger.
                let q = unsafe { outer.shrink(p, big, small) }.unwrap().cast::<u8>();
                // SAFETY: `q` is valid for 100 bytes, copied from `p`.
                let kept = unsafe { std::slice::from_raw_parts(q.as_ptr(), 100) };
                assert!(kept.iter().all(|&b| b == 7));
                // SAFETY: `q` is live with layout `small`.
                unsafe { outer.deallocate(q, small) };
            });
        });
    });
}

/// Issue 15: an `Arena::scope()` that grew into a new chunk must leave the floor where it was, so
/// that the last block after it can still be freed and resized in place.
#[test]
fn after_a_scope_that_grew_the_last_block_is_freed_and_resized_in_place() {
    let mut arena = Arena::new();
    arena.alloc_slice_fill_copy(64, 1u8);
    {
        let scope = arena.scope();
        scope.alloc_slice_fill_copy(8 << 10, 2u8);
        assert!(
            scope.capacity() > 8 << 10,
            "the scope grew into a new chunk"
        );
    }
    assert_eq!(arena.used(), 64);
    let handle = &arena;
    let l64 = Layout::from_size_align(64, 8).unwrap();
    let p = handle.allocate(l64).unwrap().cast::<u8>();
    assert_eq!(arena.used(), 128);
    // SAFETY: `p` is the arena's last block, allocated for `l64`.
    unsafe { handle.deallocate(p, l64) };
    assert_eq!(arena.used(), 64, "the last block was freed in place");

    let p = handle.allocate(l64).unwrap().cast::<u8>();
    // SAFETY: `p` is fresh and valid for 64 bytes.
    unsafe { p.as_ptr().write_bytes(3, 64) };
    let l256 = Layout::from_size_align(256, 8).unwrap();
    // SAFETY: `p` is live with layout `l64`, and `l256` is larger.
    let q = unsafe { handle.grow(p, l64, l256) }.unwrap().cast::<u8>();
    assert_eq!(q, p, "the last block grew in place");
    assert_eq!(arena.used(), 64 + 256);
    // SAFETY: the first 64 bytes were copied (here: kept) from `p`.
    assert!(
        unsafe { std::slice::from_raw_parts(q.as_ptr(), 64) }
            .iter()
            .all(|&b| b == 3)
    );
    // SAFETY: `q` is live with layout `l256`; `l64` is smaller.
    let r = unsafe { handle.shrink(q, l256, l64) }.unwrap().cast::<u8>();
    assert_eq!((r, arena.used()), (p, 128), "and shrank in place");
}

/// An inner scope that frees and resizes its own blocks, directly after an outer block, works
/// in place and never touches the outer block; the outer handle's own free and resize of that
/// block while the inner scope is live leave it intact too.
#[test]
fn an_inner_scope_frees_and_resizes_after_an_outer_block_without_touching_it() {
    on_fresh_thread(|| {
        with_arena(|outer| {
            let mut keep = AVec::with_capacity_in(8, outer);
            keep.extend((0u64..8).map(|i| i * 0x0101_0101_0101_0101));
            let mut last = AVec::with_capacity_in(4, outer);
            last.extend([0xC0FFEEu64; 4]);
            let outer_used = outer.stats().used;
            outer.scope(|inner| {
                let at_floor = inner.stats().used;
                assert_eq!(at_floor, outer_used);
                // The outer handle cannot give back or grow in place what the inner scope is
                // about to hand out: its last block stays, or moves.
                last.shrink_to(2);
                last.truncate(2);
                last.extend([0xBEEFu64; 30]);
                drop(last);
                let l = Layout::from_size_align(48, 8).unwrap();
                for round in 0..4u8 {
                    let p = inner.allocate(l).unwrap().cast::<u8>();
                    // SAFETY: fresh block of 48 bytes.
                    unsafe { p.as_ptr().write_bytes(round, 48) };
                    let big = Layout::from_size_align(480, 8).unwrap();
                    // SAFETY: `p` is live with layout `l`, the inner scope's last block.
                    let q = unsafe { inner.grow(p, l, big) }.unwrap().cast::<u8>();
                    assert_eq!(q, p, "the inner scope's last block grows in place");
                    // SAFETY: `q` is valid for 480 bytes.
                    unsafe { q.as_ptr().add(48).write_bytes(!round, 432) };
                    // SAFETY: `q` is live with layout `big`; `l` is smaller.
                    let r = unsafe { inner.shrink(q, big, l) }.unwrap().cast::<u8>();
                    // SAFETY: `r` kept the first 48 bytes.
                    let kept = unsafe { std::slice::from_raw_parts(r.as_ptr(), 48) };
                    assert!(kept.iter().all(|&b| b == round));
                    // SAFETY: `r` is live with layout `l`.
                    unsafe { inner.deallocate(r, l) };
                    assert!(inner.stats().used <= at_floor + 48 * 4);
                }
                let expected: Vec<u64> = (0u64..8).map(|i| i * 0x0101_0101_0101_0101).collect();
                assert_eq!(keep.as_slice(), expected.as_slice());
            });
            // Whatever the outer scope allocates next lands beyond its live block.
            let after = outer.alloc_slice_fill_copy(64, u64::MAX);
            assert!(after.iter().all(|&x| x == u64::MAX));
            let expected: Vec<u64> = (0u64..8).map(|i| i * 0x0101_0101_0101_0101).collect();
            assert_eq!(keep.as_slice(), expected.as_slice());
        });
    });
}
