//! Random allocate / grow / shrink / free / scope / reset sequences over a fixed arena, a
//! growable arena and the thread's scratch arena (nested scopes, outer handles), with every live
//! block's contents checked before each step and no two live blocks allowed to overlap.
#![no_main]

use allocator_api2::alloc::{Allocator, Layout};
use engram_kernels::{Arena, Scratch, with_arena};
use libfuzzer_sys::fuzz_target;
use std::ptr::NonNull;

struct Block {
    ptr: NonNull<u8>,
    layout: Layout,
    tag: u8,
    /// Which handle (scope level) allocated it; its blocks die when that level exits.
    level: usize,
}

struct Ops<'d> {
    data: &'d [u8],
    tag: u8,
}

impl Ops<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(b)
    }
    fn layout(&mut self) -> Option<Layout> {
        let size = match self.byte()? % 4 {
            0 => 0,
            1 => self.byte()? as usize,
            2 => self.byte()? as usize * 16,
            _ => self.byte()? as usize * 256,
        };
        let align = 1usize << (self.byte()? % 13);
        Layout::from_size_align(size, align).ok()
    }
    fn next_tag(&mut self) -> u8 {
        self.tag = self.tag.wrapping_add(1).max(1);
        self.tag
    }
}

fn fill(b: &Block) {
    // SAFETY: a live block is valid for `layout.size()` bytes.
    unsafe { b.ptr.as_ptr().write_bytes(b.tag, b.layout.size()) }
}

fn check(blocks: &[Block]) {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for b in blocks {
        assert_eq!(b.ptr.as_ptr() as usize % b.layout.align(), 0, "misaligned block");
        // SAFETY: a live block is valid for `layout.size()` bytes and was filled with its tag.
        let bytes = unsafe { std::slice::from_raw_parts(b.ptr.as_ptr(), b.layout.size()) };
        assert!(bytes.iter().all(|&x| x == b.tag), "a live block was overwritten");
        if b.layout.size() > 0 {
            ranges.push((b.ptr.as_ptr() as usize, b.ptr.as_ptr() as usize + b.layout.size()));
        }
    }
    ranges.sort_unstable();
    for w in ranges.windows(2) {
        assert!(w[0].1 <= w[1].0, "live blocks overlap");
    }
}

/// One step on `blocks` through `handles` (outermost first). Returns false to leave the level.
fn step<A: Allocator + Copy>(ops: &mut Ops, handles: &[A], blocks: &mut Vec<Block>) -> Option<bool> {
    check(blocks);
    let op = ops.byte()?;
    let level = (ops.byte()? as usize) % handles.len();
    let h = handles[level];
    match op % 6 {
        0 | 1 => {
            let layout = ops.layout()?;
            if let Ok(p) = h.allocate(layout) {
                let b = Block { ptr: p.cast(), layout, tag: ops.next_tag(), level };
                fill(&b);
                blocks.push(b);
            }
        }
        2 if !blocks.is_empty() => {
            let i = ops.byte()? as usize % blocks.len();
            let b = blocks.swap_remove(i);
            // SAFETY: `b` is live and was allocated by `handles[b.level]`, which shares the arena.
            unsafe { handles[b.level].deallocate(b.ptr, b.layout) };
        }
        3 | 4 if !blocks.is_empty() => {
            let i = ops.byte()? as usize % blocks.len();
            let new = ops.layout()?;
            let b = &mut blocks[i];
            let hb = handles[b.level];
            // SAFETY: `b` is live with this layout; grow needs new >= old, shrink new <= old.
            let r = unsafe {
                if new.size() >= b.layout.size() {
                    hb.grow(b.ptr, b.layout, new)
                } else {
                    hb.shrink(b.ptr, b.layout, new)
                }
            };
            if let Ok(p) = r {
                let keep = b.layout.size().min(new.size());
                // SAFETY: the new block is valid for `new.size()` bytes.
                let bytes = unsafe { std::slice::from_raw_parts(p.cast::<u8>().as_ptr(), keep) };
                assert!(bytes.iter().all(|&x| x == b.tag), "resize lost contents");
                b.ptr = p.cast();
                b.layout = new;
                fill(b);
            }
        }
        5 => return Some(false),
        _ => {}
    }
    Some(true)
}

fn scratch_level(ops: &mut Ops, handles: Vec<Scratch<'_>>, depth: usize) -> Option<()> {
    let mut blocks = Vec::new();
    loop {
        if ops.byte()? % 8 == 0 && depth < 6 {
            let top = *handles.last().unwrap();
            let mut done = None;
            top.scope(|inner| {
                let mut hs: Vec<Scratch<'_>> = handles.iter().copied().collect();
                hs.push(inner);
                done = scratch_level(ops, hs, depth + 1);
            });
            check(&blocks);
            done?;
        }
        if !step(ops, &handles, &mut blocks)? {
            check(&blocks);
            return Some(());
        }
    }
}

fn arena_run(ops: &mut Ops, mut arena: Arena) -> Option<()> {
    loop {
        let mut blocks = Vec::new();
        let mut n = 0;
        while step(ops, &[&arena], &mut blocks)? {
            n += 1;
            if n > 64 {
                break;
            }
        }
        check(&blocks);
        drop(blocks);
        if ops.byte()? % 2 == 0 {
            arena.reset();
        } else {
            let scope = arena.scope();
            let mut inner = Vec::new();
            while step(ops, &[&*scope], &mut inner)? {}
            check(&inner);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut ops = Ops { data, tag: 0 };
    let Some(kind) = ops.byte() else { return };
    match kind % 3 {
        0 => {
            let cap = ops.byte().unwrap_or(0) as usize * 256;
            let _ = arena_run(&mut ops, Arena::with_capacity(cap));
        }
        1 => {
            let mut a = Arena::new();
            if ops.byte().unwrap_or(0) % 2 == 0 {
                a.set_allocation_limit(Some(256 << 10));
            }
            let _ = arena_run(&mut ops, a);
        }
        _ => {
            with_arena(|s| {
                let _ = scratch_level(&mut ops, vec![s], 0);
            });
        }
    }
});
