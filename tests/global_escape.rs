//! Values escaping a scope stay intact through many later scopes; a chunk they pin is left
//! behind (orphaned) instead of making later scopes spill, and reused once they are all gone.

#[path = "global_support/mod.rs"]
mod support;

use engram_kernels::global::CHUNK_SIZE;
use engram_kernels::{GlobalArena, with_global_arena};
use support::{Counting, inner_calls, scaled};

#[global_allocator]
static ALLOC: GlobalArena<Counting> = GlobalArena::new(Counting);

fn expected(i: usize) -> String {
    format!("value-{i}-{}", "x".repeat(i % 50))
}

/// Address of a fresh one-byte box made in a scope of its own: at a chunk start iff the
/// thread's current chunk rewound to empty.
fn first_block() -> usize {
    with_global_arena(|| (&*Box::new(0u8) as *const u8).addr())
}

#[test]
fn escaped_values_survive_many_later_scopes_without_spilling() {
    std::thread::spawn(|| {
        assert_eq!(
            first_block() % CHUNK_SIZE,
            0,
            "a fresh thread starts at a chunk start"
        );
        let n = scaled(3000, 120);
        let before = ALLOC.thread_stats();
        let mut kept = Vec::with_capacity(n); // lives outside scopes (inner memory)
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
                assert!(kept.iter().enumerate().all(|(k, s)| *s == expected(k)));
            }
        }
        let d = ALLOC.thread_stats().since(&before);
        assert!(kept.iter().enumerate().all(|(k, s)| *s == expected(k)));
        // pinned chunks filled up; the thread moved on to fresh ones instead of spilling
        assert_eq!(d.spills, 0, "{d:?}");
        assert!(d.arena_bytes as usize > CHUNK_SIZE, "{d:?}");
        assert!(d.chunks_taken >= 1 && d.chunks_orphaned >= 1, "{d:?}");
        drop(kept);
        // everything died: the next scope starts at a chunk start again
        assert_eq!(first_block() % CHUNK_SIZE, 0);
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
fn an_escaped_value_freed_outside_any_scope_unpins_the_chunk() {
    std::thread::spawn(|| {
        let start = first_block();
        let escaped = with_global_arena(|| vec![3u16; 1000]);
        let pinned = first_block();
        assert!(pinned > start, "a live escaped value keeps its space");
        assert!(escaped.iter().all(|&x| x == 3));
        drop(escaped); // outside any scope
        assert_eq!(first_block(), start);
    })
    .join()
    .unwrap();
}

/// The second scenario: 200 scopes, each allocating well over a chunk, while one value
/// that escaped the first of them lives on. Under 1% of the calls reach the inner allocator.
#[test]
fn two_hundred_scopes_while_one_escaped_value_lives() {
    std::thread::spawn(|| {
        let escaped = with_global_arena(|| format!("escaped {}", 42));
        let scopes = scaled(200, 3);
        // 64-byte boxes: each scope needs well over one chunk (1 MiB natively, 64 KiB under Miri)
        let per_scope = scaled(40_000, 3_000);
        let before = ALLOC.thread_stats();
        let calls = inner_calls();
        for s in 0..scopes as u64 {
            let sum = with_global_arena(|| {
                let mut kept: Option<Box<(u64, [u64; 7])>> = None;
                let mut sum = 0;
                for i in 0..per_scope as u64 {
                    let b = Box::new((s + i, [i; 7]));
                    sum += b.0 + b.1[6];
                    // every other box outlives the next allocation, so its space is not given
                    // back at once and the scope walks through more than a chunk
                    if i % 2 == 0 {
                        drop(kept.replace(b));
                    }
                }
                sum
            });
            let n = per_scope as u64;
            assert_eq!(sum, s * n + n * (n - 1));
        }
        let d = ALLOC.thread_stats().since(&before);
        let inner = inner_calls() - calls;
        assert!(
            inner * 100 < d.arena_allocs,
            "{inner} inner calls of {} allocations: {d:?}",
            d.arena_allocs
        );
        assert_eq!(escaped, "escaped 42");
    })
    .join()
    .unwrap();
}
