//! Reuse inside a scope (dead blocks of the current chunk serve later requests), spans of whole
//! chunks for large requests, and the range's huge-page report. Every test checks contents: a
//! reused block that overlapped a live one would corrupt a pattern that is checked afterwards.

#[path = "global_support/mod.rs"]
mod support;

use engram_kernels::global::{CHUNK_SIZE, MAX_ARENA_REQUEST, ThpMode};
use engram_kernels::{GlobalArena, with_global_arena};
use support::{Counting, Rng, inner_calls, scaled};

#[global_allocator]
static ALLOC: GlobalArena<Counting> = GlobalArena::new(Counting);

/// A block filled with a pattern derived from its id.
struct Tagged {
    id: u64,
    bytes: Vec<u8>,
}

impl Tagged {
    fn new(id: u64, len: usize) -> Tagged {
        let bytes = (0..len).map(|i| pattern(id, i)).collect();
        Tagged { id, bytes }
    }

    fn check(&self) {
        for (i, &b) in self.bytes.iter().enumerate() {
            assert_eq!(
                b,
                pattern(self.id, i),
                "block {} byte {i} overwritten",
                self.id
            );
        }
    }
}

fn pattern(id: u64, i: usize) -> u8 {
    (id.wrapping_mul(31) as usize ^ i.wrapping_mul(7)) as u8
}

#[test]
fn buffers_left_behind_by_growth_serve_later_requests() {
    let before = ALLOC.thread_stats();
    let (a, b, c) = with_global_arena(|| {
        // Two vectors growing in turn: neither is the most recent block when it grows, so
        // each growth leaves its old buffer behind.
        let mut a: Vec<u64> = Vec::new();
        let mut b: Vec<u64> = Vec::new();
        for i in 0..scaled(4096, 512) as u64 {
            a.push(i);
            b.push(!i);
        }
        // A request the size of an abandoned buffer is served from it.
        let c = vec![0xC3u8; 1024];
        (a, b, c)
    });
    let d = ALLOC.thread_stats().since(&before);
    assert!(d.reused_allocs >= 1, "{d:?}");
    assert!(d.reused_bytes >= 1024, "{d:?}");
    assert!(a.iter().enumerate().all(|(i, &x)| x == i as u64));
    assert!(b.iter().enumerate().all(|(i, &x)| x == !(i as u64)));
    assert!(c.iter().all(|&x| x == 0xC3));
}

#[test]
fn reused_blocks_never_overlap_live_ones() {
    let mut rng = Rng(0x5EED);
    with_global_arena(|| {
        let mut live: Vec<Tagged> = Vec::new();
        for id in 0..scaled(4000, 120) as u64 {
            // Miri checks every byte: smaller blocks there, the same size classes in play.
            let len = match rng.below(10) {
                0 => scaled(4096, 1024) + rng.below(scaled(8192, 1024) as u64) as usize,
                1..=4 => 256 + rng.below(scaled(2048, 512) as u64) as usize,
                _ => 1 + rng.below(300) as usize,
            };
            live.push(Tagged::new(id, len));
            // Free a random older block most of the time: it goes to a bin (or rewinds the
            // cursor when it happens to be the most recent).
            if live.len() > 8 && rng.below(3) != 0 {
                let victim = rng.below(live.len() as u64) as usize;
                live.swap_remove(victim).check();
            }
        }
        for t in &live {
            t.check();
        }
    });
    let s = ALLOC.thread_stats();
    assert!(s.reused_allocs > 0, "the test exercised no reuse: {s:?}");
}

#[test]
fn reuse_survives_escapes_and_later_scopes() {
    // A block escapes while dead blocks sit in the bins; later scopes reuse them and the
    // escaped block stays intact.
    let escaped = with_global_arena(|| {
        let mut keep = Tagged::new(1, 300);
        let mut grow = Vec::<u8>::new();
        for i in 0..5000u32 {
            grow.push(i as u8);
            if i % 700 == 0 {
                keep = Tagged::new(u64::from(i), 300 + i as usize / 10);
            }
        }
        keep
    });
    for round in 0..scaled(20, 3) {
        with_global_arena(|| {
            let blocks: Vec<Tagged> = (0..50)
                .map(|k| Tagged::new(k + round as u64, 512))
                .collect();
            escaped.check();
            blocks.iter().for_each(Tagged::check);
        });
    }
    escaped.check();
}

#[test]
fn a_span_is_handed_back_whole_and_taken_again_by_the_next_scope() {
    let calls = inner_calls();
    let first = with_global_arena(|| {
        let v = vec![0x11u8; 2 * CHUNK_SIZE + 5];
        let at = v.as_ptr().addr();
        assert!(v.iter().all(|&b| b == 0x11));
        at
    });
    let before = ALLOC.thread_stats();
    let second = with_global_arena(|| {
        let v = vec![0x22u8; 2 * CHUNK_SIZE + 5];
        assert!(v.iter().all(|&b| b == 0x22));
        v.as_ptr().addr()
    });
    let d = ALLOC.thread_stats().since(&before);
    assert_eq!((d.large_allocs, d.spills), (1, 0), "{d:?}");
    assert_eq!(
        inner_calls(),
        calls,
        "spans never reach the inner allocator"
    );
    assert_eq!(first % CHUNK_SIZE, 0);
    assert_eq!(second % CHUNK_SIZE, 0);
}

#[test]
fn spans_freed_on_another_thread_return_to_the_pool() {
    let v = with_global_arena(|| vec![0x5Au8; MAX_ARENA_REQUEST * 3]);
    let at = v.as_ptr().addr();
    std::thread::spawn(move || {
        assert!(v.iter().all(|&b| b == 0x5A));
        drop(v);
    })
    .join()
    .unwrap();
    // The span's chunk is free again: a scope can take it (or another free run) and write it.
    let w = with_global_arena(|| vec![0xA5u8; MAX_ARENA_REQUEST * 3]);
    assert!(w.iter().all(|&b| b == 0xA5));
    assert_eq!(at % CHUNK_SIZE, 0);
}

#[test]
#[cfg_attr(miri, ignore = "no /proc under Miri")]
fn the_region_reports_what_is_resident_and_on_huge_pages() {
    let v = with_global_arena(|| vec![1u8; 4 * CHUNK_SIZE]);
    let r = ALLOC.region();
    assert!(r.reserved && !r.refused, "{r:?}");
    if cfg!(target_os = "linux") {
        assert!(r.resident_bytes >= 4 * CHUNK_SIZE, "{r:?}");
    }
    assert!(r.huge_page_bytes <= r.resident_bytes, "{r:?}");
    assert!((0.0..=1.0).contains(&r.huge_page_share()));
    if r.thp == ThpMode::Never {
        assert_eq!(r.huge_page_bytes, 0, "{r:?}");
    }
    drop(v);
}

#[test]
fn a_rewound_chunk_forgets_its_dead_blocks() {
    // Two scopes on a fresh thread: the first leaves a dead block in a bin and then nothing
    // alive, so its exit rewinds the chunk; the second bumps over that memory and then makes a
    // request the old block would have fitted. It must not get the old block back.
    std::thread::spawn(|| {
        with_global_arena(|| {
            let a = Tagged::new(1, 400);
            let b = Tagged::new(2, 400);
            drop(a); // not the most recent block: into a bin
            drop(b);
        });
        with_global_arena(|| {
            let c = Tagged::new(3, 4000); // over where `a` was
            let d = Tagged::new(4, 256); // what a block in `a`'s size class serves
            let e = Tagged::new(5, 400);
            c.check();
            d.check();
            e.check();
        });
    })
    .join()
    .unwrap();
}
