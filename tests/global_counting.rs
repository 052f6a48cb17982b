//! Inside a scope, std code makes no inner-allocator calls; outside, everything passes through.
//! Also: alignment, zeroing of reused memory, and the last block's free/grow/shrink in place.

#[path = "global_support/mod.rs"]
mod support;

use engram_kernels::global::{CHUNK_SIZE, GlobalStats};
use engram_kernels::{GlobalArena, with_global_arena};
use std::alloc::{Layout, alloc, dealloc};
use std::collections::{BTreeMap, HashMap};
use support::{Counting, inner_calls, scaled};

#[global_allocator]
static ALLOC: GlobalArena<Counting> = GlobalArena::new(Counting);

fn stats() -> GlobalStats {
    ALLOC.thread_stats()
}

/// Some ordinary std code: returns a digest that does not depend on where memory came from.
fn std_workload(n: usize) -> (usize, String, u64) {
    let mut v: Vec<u64> = Vec::new();
    for i in 0..n as u64 {
        v.push(i * i);
    }
    let mut m: HashMap<String, usize> = HashMap::new();
    for i in 0..n {
        *m.entry(format!("k{}", i % 37)).or_insert(0) += i;
    }
    let mut b = BTreeMap::new();
    for (k, val) in &m {
        b.insert(k.clone(), *val);
    }
    let mut s = String::new();
    for (k, val) in b.iter().take(5) {
        s.push_str(&format!("{k}={val};"));
    }
    let boxed: Box<[u64]> = v.into_boxed_slice();
    (m.len(), s, boxed.iter().sum())
}

#[test]
fn std_collections_inside_a_scope_make_no_inner_calls() {
    let n = scaled(2000, 50);
    let expected = std_workload(n); // outside: the reference result
    let before = (inner_calls(), stats());
    let got = with_global_arena(|| {
        let r = std_workload(n);
        let s = format!("{:?}", r);
        assert!(!s.is_empty());
        r
    });
    let calls = inner_calls() - before.0;
    let d = stats().since(&before.1);
    // the escaped result's strings are freed outside the scope: by address, into the arena
    assert_eq!(got, expected);
    drop(got);
    assert_eq!(calls, 0, "inner allocator called inside the scope");
    assert!(d.arena_allocs > n as u64 / 10, "{d:?}");
    assert_eq!((d.spills, d.spill_bytes), (0, 0), "{d:?}");
    assert_eq!(
        inner_calls() - before.0,
        0,
        "arena blocks freed outside a scope reached inner"
    );
}

#[test]
fn outside_a_scope_everything_passes_through() {
    let before = (inner_calls(), stats());
    let r = std_workload(scaled(500, 20));
    assert_eq!(r.0, 37.min(scaled(500, 20)));
    let d = stats().since(&before.1);
    assert!(inner_calls() - before.0 > 0);
    assert_eq!(d.arena_allocs, 0);
    assert_eq!(
        d,
        GlobalStats::default(),
        "outside scopes nothing is counted"
    );
}

#[test]
fn large_requests_get_a_span_of_whole_chunks_and_give_it_back() {
    let before = (inner_calls(), stats());
    let v = with_global_arena(|| vec![7u8; 3 * CHUNK_SIZE + 1]);
    let d = stats().since(&before.1);
    assert_eq!(
        (d.spills, d.large_allocs, d.large_bytes, d.arena_allocs),
        (0, 1, 3 * CHUNK_SIZE as u64 + 1, 1),
        "{d:?}"
    );
    assert_eq!(
        inner_calls(),
        before.0,
        "nothing reached the inner allocator"
    );
    assert_eq!(v.as_ptr().addr() % CHUNK_SIZE, 0, "a span starts a chunk");
    assert!(v.iter().all(|&b| b == 7));
    drop(v);
    assert_eq!(stats().since(&before.1).arena_frees, 1);
}

#[test]
fn requests_that_do_not_fit_spill_to_inner() {
    // Alignment beyond a chunk is the one request no arena memory serves.
    let layout = Layout::from_size_align(64, 2 * CHUNK_SIZE).unwrap();
    let before = (inner_calls(), stats());
    // SAFETY: a non-zero size.
    let p = with_global_arena(|| unsafe { std::alloc::alloc(layout) });
    let d = stats().since(&before.1);
    assert!(!p.is_null() && p.addr() % layout.align() == 0);
    assert_eq!(
        (d.spills, d.spill_bytes, d.arena_allocs),
        (1, 64, 0),
        "{d:?}"
    );
    assert_eq!(inner_calls() - before.0, 1);
    // SAFETY: allocated above with `layout`.
    unsafe { std::alloc::dealloc(p, layout) };
    assert_eq!(
        inner_calls() - before.0,
        2,
        "a spilled block goes back to inner"
    );
}

#[test]
fn large_alignments_are_honoured() {
    let before = (inner_calls(), stats());
    with_global_arena(|| {
        for shift in 0..=16 {
            let align = 1usize << shift;
            let layout = Layout::from_size_align(24, align).unwrap();
            // SAFETY: non-zero size; freed below with the same layout.
            let p = unsafe { alloc(layout) };
            assert!(!p.is_null());
            assert_eq!(p.addr() % align, 0, "align {align}");
            // SAFETY: `p` is valid for 24 bytes.
            unsafe {
                p.write_bytes(0xA5, 24);
                assert_eq!(*p.add(23), 0xA5);
                dealloc(p, layout);
            }
        }
    });
    let d = stats().since(&before.1);
    // every alignment up to a chunk is arena memory: bumped, or a span above a quarter chunk
    assert_eq!((d.arena_allocs, d.spills), (17, 0), "{d:?}");
    assert_eq!(inner_calls(), before.0);
}

#[test]
fn zeroed_allocations_are_zero_on_reused_memory() {
    with_global_arena(|| {
        for round in 0..scaled(50, 5) {
            let dirty = vec![0xFFu8; 4096 + round];
            std::hint::black_box(&dirty);
            drop(dirty); // last block: its space is reused right away
            let clean = vec![0u8; 4096 + round];
            assert!(clean.iter().all(|&b| b == 0));
        }
    });
}

#[test]
fn freeing_the_most_recent_block_gives_its_space_back() {
    with_global_arena(|| {
        let older = Box::new(1u64); // keeps the slot from rewinding entirely
        let a = Box::new([1u64; 16]);
        let a_addr = (&*a as *const [u64; 16]).addr();
        drop(a);
        let b = Box::new([2u64; 16]);
        assert_eq!((&*b as *const [u64; 16]).addr(), a_addr);
        assert_eq!((*older, b[15]), (1, 2));
    });
}

#[test]
fn the_last_block_grows_and_shrinks_in_place_in_the_right_direction() {
    with_global_arena(|| {
        let _older = Box::new(0u8);
        let mut v: Vec<u8> = Vec::with_capacity(16);
        v.extend(0..16u8);
        let p = v.as_ptr();
        v.reserve_exact(1000); // grow in place
        assert_eq!(v.as_ptr(), p, "the last block grows in place");
        let cap = v.capacity();
        v.extend((16..cap).map(|i| i as u8));
        // a block allocated now must not overlap the grown one
        let w = vec![0xEEu8; 256];
        assert!(
            v.iter().enumerate().all(|(i, &b)| b == i as u8),
            "grow did not reserve its space"
        );
        drop(w);
        v.truncate(8);
        v.shrink_to_fit(); // shrink in place
        assert_eq!(v.as_ptr(), p);
        assert_eq!(v, (0..8u8).collect::<Vec<_>>());
        let next = Box::new(0u8);
        assert_eq!(
            (&*next as *const u8).addr(),
            p.addr() + 8,
            "shrink gave the tail back"
        );
    });
}

#[test]
fn growing_an_older_block_copies_it() {
    with_global_arena(|| {
        let mut a: Vec<u32> = (0..16).collect();
        let b: Vec<u32> = (100..116).collect();
        let pa = a.as_ptr();
        a.extend(16..4000);
        assert_ne!(a.as_ptr(), pa, "a is not the last block: it must move");
        assert_eq!(a, (0..4000).collect::<Vec<_>>());
        assert_eq!(b, (100..116).collect::<Vec<_>>());
    });
}

#[test]
fn nested_scopes_join_the_outer_one() {
    let before = (inner_calls(), stats());
    let s = with_global_arena(|| {
        let inner = with_global_arena(|| format!("{}", 42));
        let after_inner = String::from("still arena");
        format!("{inner}{after_inner}")
    });
    assert_eq!(s, "42still arena");
    assert_eq!(inner_calls() - before.0, 0);
    let outside = String::from("passes through");
    assert_eq!(inner_calls() - before.0, 1, "{outside}");
}

#[test]
fn a_panic_inside_a_scope_leaves_it() {
    let r = std::panic::catch_unwind(|| with_global_arena(|| panic!("boom {}", 1)));
    assert!(r.is_err());
    drop(r); // the payload was allocated in the arena
    let (before, calls) = (stats(), inner_calls());
    let v = vec![1u8; 10];
    assert_eq!(
        inner_calls() - calls,
        1,
        "still inside the scope after a panic"
    );
    assert_eq!(stats().since(&before).arena_allocs, 0);
    drop(v);
}

#[test]
fn is_installed_sees_the_global_allocator() {
    assert!(engram_kernels::global::is_installed());
    assert!(engram_kernels::global::is_installed(), "cached answer");
}
