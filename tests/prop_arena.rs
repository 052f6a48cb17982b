//! Property test: random allocate / grow / shrink / deallocate / scope-enter / scope-exit
//! sequences, on a plain `Arena` and on nested scratch scopes (allocating through outer handles
//! too). After every step, every live block must be aligned, in bounds, disjoint from the others,
//! and still hold what was written into it.

use allocator_api2::alloc::{Allocator, Layout};
use engram_kernels::ArenaAlloc;
use engram_kernels::{Arena, Scratch, with_arena};
use proptest::prelude::*;
use std::ptr::NonNull;

#[derive(Clone, Debug)]
enum Op {
    Alloc {
        size: usize,
        align_shift: u32,
        handle: usize,
    },
    Grow {
        which: usize,
        extra: usize,
        align_shift: u32,
    },
    Shrink {
        which: usize,
        keep_pct: usize,
    },
    Free {
        which: usize,
    },
    Enter,
    Exit,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..300, 0u32..8, any::<usize>())
            .prop_map(|(size, align_shift, handle)| Op::Alloc { size, align_shift, handle }),
        2 => (any::<usize>(), 1usize..400, 0u32..8)
            .prop_map(|(which, extra, align_shift)| Op::Grow { which, extra, align_shift }),
        1 => (any::<usize>(), 0usize..=100).prop_map(|(which, keep_pct)| Op::Shrink { which, keep_pct }),
        2 => any::<usize>().prop_map(|which| Op::Free { which }),
        1 => Just(Op::Enter),
        1 => Just(Op::Exit),
    ]
}

struct Block {
    ptr: NonNull<u8>,
    layout: Layout,
    fill: u8,
    /// Index of the handle (scope level) that allocated it.
    level: usize,
}

impl Block {
    fn bytes(&self) -> &[u8] {
        // SAFETY: the block is live and was filled with `layout.size()` bytes.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.layout.size()) }
    }
}

fn fill(ptr: NonNull<u8>, size: usize, from: usize, byte: u8) {
    // SAFETY: callers pass a live block of at least `size` bytes.
    unsafe { ptr.as_ptr().add(from).write_bytes(byte, size - from) };
}

fn check(blocks: &[Block], bounds: Option<(usize, usize)>) {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for b in blocks {
        let start = b.ptr.as_ptr() as usize;
        assert_eq!(start % b.layout.align(), 0, "misaligned block");
        let bytes = b.bytes();
        if cfg!(miri) {
            // Miri checks every access anyway; comparing the ends keeps the run short.
            assert!(
                bytes.first().is_none_or(|&x| x == b.fill),
                "block contents changed"
            );
            assert!(
                bytes.last().is_none_or(|&x| x == b.fill),
                "block contents changed"
            );
        } else {
            assert!(bytes.iter().all(|&x| x == b.fill), "block contents changed");
        }
        if b.layout.size() > 0 {
            if let Some((lo, hi)) = bounds {
                assert!(
                    start >= lo && start + b.layout.size() <= hi,
                    "block out of bounds"
                );
            }
            spans.push((start, start + b.layout.size()));
        }
    }
    spans.sort_unstable();
    assert!(spans.windows(2).all(|w| w[0].1 <= w[1].0), "blocks overlap");
}

/// Applies one allocator op through `handles[level]`; returns false for scope ops.
fn apply<A: Allocator>(op: &Op, handles: &[A], blocks: &mut Vec<Block>, next_fill: &mut u8) {
    let pick =
        |which: usize, blocks: &Vec<Block>| (!blocks.is_empty()).then(|| which % blocks.len());
    match *op {
        Op::Alloc {
            size,
            align_shift,
            handle,
        } => {
            let level = handle % handles.len();
            let layout = Layout::from_size_align(size, 1 << align_shift).unwrap();
            if let Ok(p) = handles[level].allocate(layout) {
                let ptr = p.cast::<u8>();
                *next_fill = next_fill.wrapping_add(1);
                fill(ptr, size, 0, *next_fill);
                blocks.push(Block {
                    ptr,
                    layout,
                    fill: *next_fill,
                    level,
                });
            }
        }
        Op::Grow {
            which,
            extra,
            align_shift,
        } => {
            let Some(i) = pick(which, blocks) else { return };
            let b = &blocks[i];
            let align = b.layout.align().max(1 << align_shift);
            let new = Layout::from_size_align(b.layout.size() + extra, align).unwrap();
            // SAFETY: the block is live, allocated by this handle with `b.layout`.
            if let Ok(p) = unsafe { handles[b.level].grow(b.ptr, b.layout, new) } {
                let ptr = p.cast::<u8>();
                fill(ptr, new.size(), b.layout.size(), b.fill);
                blocks[i].ptr = ptr;
                blocks[i].layout = new;
            }
        }
        Op::Shrink { which, keep_pct } => {
            let Some(i) = pick(which, blocks) else { return };
            let b = &blocks[i];
            let new = Layout::from_size_align(b.layout.size() * keep_pct / 100, b.layout.align())
                .unwrap();
            // SAFETY: the block is live, allocated by this handle with `b.layout`.
            if let Ok(p) = unsafe { handles[b.level].shrink(b.ptr, b.layout, new) } {
                blocks[i].ptr = p.cast();
                blocks[i].layout = new;
            }
        }
        Op::Free { which } => {
            let Some(i) = pick(which, blocks) else { return };
            let b = blocks.swap_remove(i);
            // SAFETY: the block is live, allocated by this handle with `b.layout`.
            unsafe { handles[b.level].deallocate(b.ptr, b.layout) };
        }
        Op::Enter | Op::Exit => {}
    }
}

fn run_arena(ops: &[Op]) {
    let mut arena = Arena::with_capacity(4096);
    // The first byte-aligned block of a fresh arena is its base.
    let base = arena.alloc(0u8) as *mut u8 as usize;
    arena.reset();
    let bounds = Some((base, base + arena.capacity()));
    let handles = [&arena];
    let mut blocks = Vec::new();
    let mut next_fill = 0;
    for op in ops {
        apply(op, &handles, &mut blocks, &mut next_fill);
        check(&blocks, bounds);
        assert!(arena.used() <= arena.capacity());
    }
}

/// Runs ops at one scope level; returns the ops left over when this level's `Exit` comes.
fn run_level<'o>(
    ops: &'o [Op],
    handles: Vec<Scratch<'_>>,
    blocks: &mut Vec<Block>,
    next_fill: &mut u8,
) -> &'o [Op] {
    let mut rest = ops;
    while let Some((op, tail)) = rest.split_first() {
        rest = tail;
        match op {
            Op::Exit if handles.len() > 1 => return rest,
            Op::Enter => {
                rest = with_arena(|inner| {
                    let mut inner_handles: Vec<Scratch<'_>> = handles.clone();
                    inner_handles.push(inner);
                    let level = inner_handles.len() - 1;
                    let left = run_level(rest, inner_handles, blocks, next_fill);
                    // The inner scope is about to close: its blocks die with it.
                    blocks.retain(|b| b.level < level);
                    left
                });
            }
            _ => apply(op, &handles, blocks, next_fill),
        }
        check(blocks, None);
    }
    rest
}

fn run_scratch(ops: &[Op]) {
    with_arena(|outermost| {
        let mut blocks = Vec::new();
        let mut next_fill = 0;
        run_level(ops, vec![outermost], &mut blocks, &mut next_fill);
        check(&blocks, None);
        for b in blocks.drain(..) {
            // SAFETY: the block is live, allocated by the outermost handle's state.
            unsafe { outermost.deallocate(b.ptr, b.layout) };
        }
    });
}

/// Miri is ~1000x slower: shorter sequences there; the native run covers the breadth.
const MAX_OPS: usize = if cfg!(miri) { 16 } else { 80 };

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A deterministic op sequence from a seed (xorshift), for Miri, where proptest's own machinery
/// is far too slow; it exercises the same interpreter as the property tests.
fn ops_from_seed(mut seed: u64, len: usize) -> Vec<Op> {
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed as usize
    };
    (0..len)
        .map(|_| match next() % 11 {
            0..=3 => Op::Alloc {
                size: next() % 300,
                align_shift: (next() % 8) as u32,
                handle: next(),
            },
            4 | 5 => Op::Grow {
                which: next(),
                extra: 1 + next() % 400,
                align_shift: (next() % 8) as u32,
            },
            6 => Op::Shrink {
                which: next(),
                keep_pct: next() % 101,
            },
            7 | 8 => Op::Free { which: next() },
            9 => Op::Enter,
            _ => Op::Exit,
        })
        .collect()
}

#[test]
fn seeded_sequences_on_arena_and_scratch() {
    let seeds: u64 = if cfg!(miri) { 6 } else { 500 };
    for seed in 1..=seeds {
        let ops = ops_from_seed(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15), MAX_OPS);
        run_arena(&ops);
        run_scratch(&ops);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    #[cfg_attr(miri, ignore = "proptest is too slow under Miri; see seeded_sequences_on_arena_and_scratch")]
    fn arena_blocks_stay_aligned_disjoint_in_bounds_and_intact(ops in prop::collection::vec(op(), 0..MAX_OPS)) {
        run_arena(&ops);
    }

    #[test]
    #[cfg_attr(miri, ignore = "proptest is too slow under Miri; see seeded_sequences_on_arena_and_scratch")]
    fn scratch_blocks_stay_aligned_disjoint_and_intact_across_scopes(ops in prop::collection::vec(op(), 0..MAX_OPS)) {
        run_scratch(&ops);
    }
}
