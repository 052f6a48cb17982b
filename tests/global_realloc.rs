//! `realloc` across the arena/inner boundary in both directions, plus a random operation soup
//! that checks every block's contents.

#[path = "global_support/mod.rs"]
mod support;

use engram_kernels::global::CHUNK_SIZE;
use engram_kernels::{GlobalArena, with_global_arena};
use std::alloc::{Layout, alloc, dealloc, realloc};
use support::{Counting, Rng, inner_calls, scaled};

#[global_allocator]
static ALLOC: GlobalArena<Counting> = GlobalArena::new(Counting);

#[test]
fn an_inner_block_grown_inside_a_scope_moves_into_the_arena() {
    let mut v: Vec<u32> = Vec::with_capacity(4);
    v.extend(0..4);
    let (calls, before) = (inner_calls(), ALLOC.thread_stats());
    with_global_arena(|| v.extend(4..1000));
    let (d, moved_calls) = (ALLOC.thread_stats().since(&before), inner_calls() - calls);
    assert_eq!(v, (0..1000).collect::<Vec<_>>());
    assert_eq!((d.arena_allocs, d.spills), (1, 0), "{d:?}");
    assert_eq!(moved_calls, 1, "only the old inner block was freed");
    let calls_before_drop = inner_calls();
    drop(v);
    assert_eq!(
        inner_calls(),
        calls_before_drop,
        "the moved block is arena memory now"
    );
}

#[test]
fn an_inner_block_shrunk_inside_a_scope_stays_inner() {
    let mut v: Vec<u8> = vec![9; 1000];
    let (calls, before) = (inner_calls(), ALLOC.thread_stats());
    with_global_arena(|| {
        v.truncate(10);
        v.shrink_to_fit();
    });
    let (d, shrink_calls) = (ALLOC.thread_stats().since(&before), inner_calls() - calls);
    assert_eq!(v, [9u8; 10]);
    assert_eq!(d.arena_allocs, 0);
    assert_eq!(shrink_calls, 1);
}

#[test]
fn an_arena_block_grown_past_a_quarter_chunk_moves_into_a_span() {
    let before = ALLOC.thread_stats();
    let calls = inner_calls();
    let v = with_global_arena(|| {
        let mut v: Vec<u8> = (0..=255).collect();
        v.resize(CHUNK_SIZE + 4096, 0xCD); // grows in place up to the chunk end, then moves
        v
    });
    let d = ALLOC.thread_stats().since(&before);
    assert_eq!((d.spills, d.large_allocs), (0, 1), "{d:?}");
    assert_eq!(inner_calls(), calls);
    assert_eq!(v.as_ptr().addr() % CHUNK_SIZE, 0);
    assert!(v[..256].iter().enumerate().all(|(i, &b)| b == i as u8));
    assert!(v[256..].iter().all(|&b| b == 0xCD));
}

#[test]
fn a_large_block_grows_in_place_within_its_span_and_into_free_chunks_after_it() {
    with_global_arena(|| {
        let mut v: Vec<u8> = Vec::with_capacity(CHUNK_SIZE / 2 + 1);
        v.resize(CHUNK_SIZE / 2 + 1, 1);
        let at = v.as_ptr();
        let before = ALLOC.thread_stats();
        v.reserve_exact(CHUNK_SIZE - v.len()); // still one chunk: the same block
        assert_eq!(v.as_ptr(), at);
        v.resize(CHUNK_SIZE, 2);
        let moved = ALLOC.thread_stats().since(&before).large_allocs;
        assert_eq!(moved, 0, "grew within the span's chunk");
        // Growing past the span either takes the chunks after it (same address) or moves the
        // block to a new span; either way the contents survive and nothing spills.
        v.reserve_exact(3 * CHUNK_SIZE);
        v.resize(4 * CHUNK_SIZE, 3);
        let d = ALLOC.thread_stats().since(&before);
        assert_eq!(d.spills, 0, "{d:?}");
        assert_eq!(v.as_ptr().addr() % CHUNK_SIZE, 0);
        assert!(v[..CHUNK_SIZE / 2 + 1].iter().all(|&b| b == 1));
        assert!(v[CHUNK_SIZE / 2 + 1..CHUNK_SIZE].iter().all(|&b| b == 2));
        assert!(v[CHUNK_SIZE..].iter().all(|&b| b == 3));
    });
}

#[test]
fn an_arena_block_grown_outside_a_scope_moves_to_inner() {
    let mut v = with_global_arena(|| (0..64u64).collect::<Vec<_>>());
    let (calls, before) = (inner_calls(), ALLOC.thread_stats());
    v.extend(64..5000);
    let d = ALLOC.thread_stats().since(&before);
    assert_eq!(v, (0..5000).collect::<Vec<_>>());
    assert_eq!((d.arena_allocs, d.arena_frees), (0, 1), "{d:?}");
    assert!(inner_calls() - calls >= 1);
}

#[test]
fn an_arena_block_shrunk_outside_a_scope_stays_put() {
    let mut v = with_global_arena(|| (0..64u64).collect::<Vec<_>>());
    let p = v.as_ptr();
    let calls = inner_calls();
    v.truncate(3);
    v.shrink_to_fit();
    assert_eq!((v.as_ptr(), v.as_slice()), (p, &[0u64, 1, 2][..]));
    assert_eq!(inner_calls(), calls);
}

#[test]
fn page_aligned_blocks_keep_alignment_across_the_boundary() {
    for align in [16usize, 4096, 8192] {
        let layout = Layout::from_size_align(100, align).unwrap();
        // arena → (grown outside) inner → (grown inside) arena
        // SAFETY: non-zero sizes, same alignment throughout, each pointer used with its layout.
        unsafe {
            let p = with_global_arena(|| alloc(layout));
            assert!(!p.is_null() && p.addr().is_multiple_of(align));
            p.write_bytes(1, 100);
            let q = realloc(p, layout, 3000);
            assert!(!q.is_null() && q.addr().is_multiple_of(align));
            assert!((0..100).all(|i| *q.add(i) == 1));
            q.add(100).write_bytes(2, 2900);
            let l2 = Layout::from_size_align(3000, align).unwrap();
            let r = with_global_arena(|| realloc(q, l2, 6000));
            assert!(!r.is_null() && r.addr().is_multiple_of(align));
            assert!((0..100).all(|i| *r.add(i) == 1) && (100..3000).all(|i| *r.add(i) == 2));
            dealloc(r, Layout::from_size_align(6000, align).unwrap());
        }
    }
}

/// Random allocations, reallocations and frees, some inside scopes and some outside, each block
/// filled with a byte derived from its id and checked before every resize and free.
#[test]
fn random_operations_keep_every_block_intact() {
    struct Block {
        ptr: *mut u8,
        size: usize,
        align: usize,
        tag: u8,
    }
    fn check(b: &Block) {
        // SAFETY: `b.ptr` is live and valid for `b.size` bytes.
        let s = unsafe { std::slice::from_raw_parts(b.ptr, b.size) };
        assert!(s.iter().all(|&x| x == b.tag), "block corrupted");
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut live: Vec<Block> = Vec::new();
    let steps = scaled(20_000, 400);
    let in_scope = |rng: &mut Rng, live: &mut Vec<Block>| {
        for _ in 0..rng.below(40) {
            match rng.below(4) {
                0 | 1 => {
                    let max = if rng.below(10) == 0 { 20_000 } else { 200 };
                    let size = 1 + rng.below(max) as usize;
                    let align = 1 << rng.below(7);
                    let layout = Layout::from_size_align(size, align).unwrap();
                    // SAFETY: non-zero size.
                    let ptr = unsafe { alloc(layout) };
                    assert!(!ptr.is_null() && ptr.addr().is_multiple_of(align));
                    let tag = rng.next() as u8;
                    // SAFETY: fresh block of `size` bytes.
                    unsafe { ptr.write_bytes(tag, size) };
                    live.push(Block {
                        ptr,
                        size,
                        align,
                        tag,
                    });
                }
                2 if !live.is_empty() => {
                    let i = rng.below(live.len() as u64) as usize;
                    let b = &mut live[i];
                    check(b);
                    let new = 1 + rng.below(2 * b.size as u64 + 64) as usize;
                    // SAFETY: `b` is live with this layout; `new` is non-zero.
                    let p = unsafe {
                        realloc(
                            b.ptr,
                            Layout::from_size_align(b.size, b.align).unwrap(),
                            new,
                        )
                    };
                    assert!(!p.is_null() && p.addr().is_multiple_of(b.align));
                    // SAFETY: `p` is valid for `new` bytes, the first min(old, new) preserved.
                    unsafe {
                        let keep = b.size.min(new);
                        assert!(
                            std::slice::from_raw_parts(p, keep)
                                .iter()
                                .all(|&x| x == b.tag)
                        );
                        p.write_bytes(b.tag, new);
                    }
                    b.ptr = p;
                    b.size = new;
                }
                _ if !live.is_empty() => {
                    let i = rng.below(live.len() as u64) as usize;
                    let b = live.swap_remove(i);
                    check(&b);
                    // SAFETY: `b` is live with this layout, freed once.
                    unsafe { dealloc(b.ptr, Layout::from_size_align(b.size, b.align).unwrap()) };
                }
                _ => {}
            }
        }
    };
    let mut done = 0;
    while done < steps {
        if rng.below(2) == 0 {
            with_global_arena(|| in_scope(&mut rng, &mut live));
        } else {
            in_scope(&mut rng, &mut live);
        }
        done += 40;
    }
    for b in live.drain(..) {
        check(&b);
        // SAFETY: as above.
        unsafe { dealloc(b.ptr, Layout::from_size_align(b.size, b.align).unwrap()) };
    }
}

#[test]
fn a_boxed_slice_turned_into_a_vec_grows_in_place() {
    // The caller's pointer carries a tag for the boxed slice's size only; the grown block must
    // come back with one for the new size (Miri's Stacked Borrows checks this).
    with_global_arena(|| {
        let boxed: Box<[u8]> = vec![7u8; 16].into_boxed_slice();
        let mut v = boxed.into_vec();
        let at = v.as_ptr();
        v.resize(64, 9);
        assert_eq!(v.as_ptr(), at, "the most recent block grows in place");
        assert!(v[..16].iter().all(|&b| b == 7) && v[16..].iter().all(|&b| b == 9));
    });
}
