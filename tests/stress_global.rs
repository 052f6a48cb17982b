//! Stress over `GlobalArena` as the process's global allocator (see `stress_support` for the
//! idea and the scale): 32 threads enter and leave `with_global_arena` scopes at random, nested,
//! allocate power-of-two blocks with rare large outliers (some past `MAX_ARENA_REQUEST`, served
//! by the inner allocator), and pass blocks through a shared transfer buffer to be freed on
//! other threads: after the scope that allocated them, and after the thread that allocated them
//! has exited. Every block is cookie-checked when it is freed or resized.
//!
//! The long run (README), about 10 minutes:
//! `ENGRAM_STRESS_SECS=300 cargo test --release --test stress --test stress_global`.

#[path = "stress_support/mod.rs"]
mod support;

use engram_kernels::{GlobalArena, with_global_arena};
use std::alloc::System;
use std::sync::Mutex;
use std::thread;
use support::{Rng, SLOTS, THREADS, check, cookie, fill, iters, rounds, words};

#[global_allocator]
static ALLOC: GlobalArena = GlobalArena::new(System);

/// A heap block filled with its cookie: a `Vec` of exactly its length (`Vec`, not `Box<[u64]>`:
/// under Miri's Stacked Borrows a `Box` retags its pointer to the box's size, and a realloc that
/// grows in place and hands back that same pointer then reads as out of bounds. Natively the
/// allocator sees the same calls either way.)
struct Block {
    data: Vec<u64>,
    cookie: u64,
}

impl Block {
    fn new(n: usize, rng: &mut Rng) -> Block {
        let mut data = vec![0u64; n];
        let c = cookie(rng.next(), data.as_ptr().addr());
        fill(&mut data, c);
        Block { data, cookie: c }
    }

    fn check(&self) {
        check(&self.data, self.cookie);
    }

    /// Doubles or halves the block (a `realloc`); the kept words must arrive unchanged.
    fn resize(&mut self, rng: &mut Rng) {
        self.check();
        let old = self.data.len();
        let n = if rng.one_in(2) && old < 1 << 16 {
            old * 2
        } else {
            (old / 2).max(1)
        };
        let v = &mut self.data;
        v.resize(n, 0);
        v.shrink_to_fit();
        check(&v[..old.min(n)], self.cookie);
        self.cookie = cookie(rng.next(), v.as_ptr().addr());
        fill(v, self.cookie);
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        self.check();
    }
}

static TRANSFER: Mutex<Vec<Option<Block>>> = Mutex::new(Vec::new());

/// Swaps `b` into a random slot of the transfer buffer; whatever was there is returned, to be
/// kept or freed by this thread.
fn exchange(b: Block, rng: &mut Rng) -> Option<Block> {
    let slot = rng.below(SLOTS as u64) as usize;
    TRANSFER.lock().unwrap()[slot].replace(b)
}

/// Random operations until the budget runs out or, in a scope, at random: allocate, free,
/// resize, exchange, and enter a nested scope. Blocks outlive the scope that allocated them.
/// `in_scope` counts the blocks allocated inside a scope.
fn work(mine: &mut Vec<Block>, rng: &mut Rng, budget: &mut usize, depth: u32, in_scope: &mut u64) {
    while *budget > 0 {
        *budget -= 1;
        match rng.below(16) {
            0..=5 => {
                mine.push(Block::new(words(rng), rng));
                *in_scope += u64::from(depth > 0);
            }
            6..=7 if !mine.is_empty() => {
                let i = rng.below(mine.len() as u64) as usize;
                drop(mine.swap_remove(i));
            }
            8 if !mine.is_empty() => {
                let i = rng.below(mine.len() as u64) as usize;
                mine[i].resize(rng);
            }
            9 | 10 if !mine.is_empty() => {
                let i = rng.below(mine.len() as u64) as usize;
                if let Some(got) = exchange(mine.swap_remove(i), rng) {
                    got.check();
                    mine.push(got);
                }
            }
            11 | 12 if depth < 3 => {
                with_global_arena(|| work(mine, rng, budget, depth + 1, in_scope))
            }
            13 if depth > 0 && rng.one_in(2) => return,
            14 if mine.len() > 64 => mine.truncate(16),
            _ => {}
        }
    }
}

fn worker(seed: u64) {
    let mut rng = Rng::new(seed);
    let mut mine = Vec::new();
    let mut budget = iters();
    let mut in_scope = 0;
    let before = ALLOC.thread_stats();
    while budget > 0 {
        work(&mut mine, &mut rng, &mut budget, 0, &mut in_scope);
    }
    let d = ALLOC.thread_stats().since(&before);
    // Every block allocated in a scope went to the arena, or was spilled and counted.
    assert!(
        d.arena_allocs + d.spills >= in_scope,
        "{in_scope} blocks allocated in scopes, but {d:?}"
    );
    // What is left goes to other threads, to be freed after this one has exited.
    for b in mine {
        drop(exchange(b, &mut rng));
    }
}

#[test]
fn blocks_move_between_threads_and_outlive_their_scopes_and_threads() {
    let in_use = ALLOC.chunks_in_use();
    rounds(|round| {
        TRANSFER.lock().unwrap().resize_with(SLOTS, || None);
        // Two waves: the second frees, on live threads, blocks the first left behind.
        for wave in 0..2u64 {
            let hs: Vec<_> = (0..THREADS as u64)
                .map(|t| thread::spawn(move || worker(round << 32 | wave << 16 | t)))
                .collect();
            for h in hs {
                h.join().unwrap();
            }
        }
        let left: Vec<Block> = TRANSFER.lock().unwrap().drain(..).flatten().collect();
        drop(left);
        assert!(ALLOC.region().healthy());
        assert_eq!(
            ALLOC.chunks_in_use(),
            in_use,
            "every block is freed and every worker has exited: no chunk may stay in use"
        );
    });
}
