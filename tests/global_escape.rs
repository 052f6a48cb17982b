//! Values escaping a scope stay intact through many later scopes; the arena is reused only once
//! they are all gone.

#[path = "global_support/mod.rs"]
mod support;

use engram_kernels::global::ARENA_SIZE;
use engram_kernels::{GlobalArena, with_global_arena};
use support::{Counting, scaled};

#[global_allocator]
static ALLOC: GlobalArena<Counting> = GlobalArena::new(Counting);

fn expected(i: usize) -> String {
    format!("value-{i}-{}", "x".repeat(i % 50))
}

#[test]
fn escaped_values_survive_many_later_scopes() {
    // a fresh thread has a fresh slot: its first block sits at the slot start
    std::thread::spawn(|| {
        let slot_start = with_global_arena(|| (&*Box::new(0u64) as *const u64).addr());
        let n = scaled(3000, 120);
        let before = ALLOC.thread_stats();
        let mut kept = Vec::new(); // lives outside scopes (inner memory)
        for i in 0..n {
            let s = with_global_arena(|| {
                // garbage that dies in the scope, overwritten with a pattern
                let junk: Vec<Vec<u8>> =
                    (0..8).map(|j| vec![0x5A ^ j as u8; 100 + i % 64]).collect();
                std::hint::black_box(&junk);
                expected(i)
            });
            kept.push(s);
            if i % 97 == 0 {
                // check older values mid-way, while later scopes keep churning
                assert!(kept.iter().enumerate().all(|(k, s)| *s == expected(k)));
            }
        }
        let d = ALLOC.thread_stats().since(&before);
        assert!(kept.iter().enumerate().all(|(k, s)| *s == expected(k)));
        // the pinned slot filled up and later scopes spilled
        assert!(d.arena_bytes as usize > ARENA_SIZE / 2, "{d:?}");
        assert!(d.spills > 0, "{d:?}");
        drop(kept);
        // everything died: the next scope starts at the slot start again
        let again = with_global_arena(|| (&*Box::new(0u64) as *const u64).addr());
        assert_eq!(again, slot_start);
    })
    .join()
    .unwrap();
}

#[test]
fn a_scope_whose_allocations_all_died_rewinds() {
    std::thread::spawn(|| {
        let first = with_global_arena(|| {
            let v: Vec<String> = (0..100).map(|i| i.to_string()).collect();
            v.as_ptr().addr()
        });
        for _ in 0..scaled(100, 5) {
            let again = with_global_arena(|| {
                let v: Vec<String> = (0..100).map(|i| i.to_string()).collect();
                v.as_ptr().addr()
            });
            assert_eq!(again, first, "an all-dead scope must not leak arena space");
        }
    })
    .join()
    .unwrap();
}

#[test]
fn an_escaped_value_freed_outside_any_scope_unpins_the_slot() {
    std::thread::spawn(|| {
        let start = with_global_arena(|| (&*Box::new(0u8) as *const u8).addr());
        let escaped = with_global_arena(|| vec![3u16; 1000]);
        let pinned = with_global_arena(|| (&*Box::new(0u8) as *const u8).addr());
        assert!(pinned > start, "a live escaped value keeps its space");
        assert!(escaped.iter().all(|&x| x == 3));
        drop(escaped); // outside any scope
        let unpinned = with_global_arena(|| (&*Box::new(0u8) as *const u8).addr());
        assert_eq!(unpinned, start);
    })
    .join()
    .unwrap();
}
