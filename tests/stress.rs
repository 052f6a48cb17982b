//! Stress over the owned and scratch arenas (see `stress_support` for the idea and the scale):
//! 32 threads, power-of-two sizes with rare large outliers, every block cookie-checked when it
//! is freed, resized, or its arena is reset, dropped or rewound around it.
//!
//! Blocks cross threads only where the API lets them: an [`Arena`] is `Send`, so whole arenas,
//! with their live blocks, move through the shared transfer buffer and are used, freed and
//! dropped on other threads; scratch blocks stay on their thread (the handle is neither `Send`
//! nor `Sync`), while the chunks under them come from and return to the process-wide pool that
//! every thread shares. Both tests run at once, so the pool sees both kinds of traffic.
//!
//! The long run (README), about 10 minutes:
//! `ENGRAM_STRESS_SECS=300 cargo test --release --test stress --test stress_global`.

#[path = "stress_support/mod.rs"]
mod support;

use allocator_api2::alloc::{AllocError, Allocator, Layout};
use engram_kernels::{Arena, Scratch, with_arena, with_arena_sized};
use std::ptr::NonNull;
use std::sync::Mutex;
use std::thread;
use support::{Rng, SLOTS, THREADS, check, cookie, fill, iters, rounds, words};

/// A live block: where it is, how many words, and its cookie.
struct Block {
    ptr: NonNull<u64>,
    words: usize,
    cookie: u64,
}

impl Block {
    fn layout(&self) -> Layout {
        Layout::array::<u64>(self.words).unwrap()
    }
    fn check(&self) {
        // SAFETY: a `Block` is live memory of its arena or scope, filled by `fill`.
        check(
            unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.words) },
            self.cookie,
        );
    }
}

/// Allocates a block of `n` words from `a` and fills it with its cookie.
fn new_block<A: Allocator>(a: A, n: usize, rng: &mut Rng) -> Result<Block, AllocError> {
    let ptr = a.allocate(Layout::array::<u64>(n).unwrap())?.cast::<u64>();
    let c = cookie(rng.next(), ptr.as_ptr().addr());
    // SAFETY: the block is fresh and `n` words long.
    fill(
        unsafe { std::slice::from_raw_parts_mut(ptr.as_ptr(), n) },
        c,
    );
    Ok(Block {
        ptr,
        words: n,
        cookie: c,
    })
}

/// Checks and frees `b`.
fn free_block<A: Allocator>(a: A, b: Block) {
    b.check();
    // SAFETY: `b` is a live block of `a` with this layout.
    unsafe { a.deallocate(b.ptr.cast(), b.layout()) };
}

/// Doubles or halves `b` through `a`: the kept words must arrive unchanged, wherever the block
/// lands; then the block gets the cookie of its new place.
fn resize_block<A: Allocator>(a: A, b: &mut Block, rng: &mut Rng) {
    let n = if rng.one_in(2) && b.words < 1 << 16 {
        b.words * 2
    } else {
        (b.words / 2).max(1)
    };
    let new = Layout::array::<u64>(n).unwrap();
    b.check();
    // SAFETY: `b` is a live block of `a` with its layout; `new` is larger or no larger, as the
    // method called requires.
    let moved = unsafe {
        if n >= b.words {
            a.grow(b.ptr.cast(), b.layout(), new)
        } else {
            a.shrink(b.ptr.cast(), b.layout(), new)
        }
    };
    let Ok(moved) = moved else { return }; // a fixed or limited arena may refuse to grow
    let ptr = moved.cast::<u64>();
    let kept = n.min(b.words);
    // SAFETY: the first `kept` words were carried over; the block is `n` words long.
    let all = unsafe { std::slice::from_raw_parts_mut(ptr.as_ptr(), n) };
    check(&all[..kept], b.cookie);
    b.cookie = cookie(rng.next(), ptr.as_ptr().addr());
    b.ptr = ptr;
    b.words = n;
    fill(all, b.cookie);
}

/// An arena and its live blocks: they move between threads together.
struct Owned {
    arena: Arena,
    blocks: Vec<Block>,
}

// SAFETY: `Arena` is `Send`, and the blocks are memory of that arena reached only through this
// bundle, so moving the bundle moves the only access path to them.
unsafe impl Send for Owned {}

impl Owned {
    fn new(rng: &mut Rng) -> Owned {
        let mut arena = match rng.below(3) {
            0 => Arena::with_capacity(4096 << rng.below(5)),
            1 => Arena::new(),
            _ => {
                let mut a = Arena::new();
                a.set_allocation_limit(Some(256 << 10));
                a
            }
        };
        arena.set_zero_on_reset(rng.one_in(2));
        Owned {
            arena,
            blocks: Vec::new(),
        }
    }

    fn check_all(&self) {
        self.blocks.iter().for_each(Block::check);
    }

    /// One random operation on this arena.
    fn step(&mut self, rng: &mut Rng) {
        let a = &self.arena;
        match rng.below(16) {
            0..=6 => {
                if let Ok(b) = new_block(a, words(rng), rng) {
                    self.blocks.push(b);
                }
            }
            7..=9 if !self.blocks.is_empty() => {
                // The most recent block usually (given back in place), any other sometimes.
                let i = if rng.one_in(2) {
                    self.blocks.len() - 1
                } else {
                    rng.below(self.blocks.len() as u64) as usize
                };
                free_block(a, self.blocks.swap_remove(i));
            }
            10 | 11 if !self.blocks.is_empty() => {
                let i = rng.below(self.blocks.len() as u64) as usize;
                resize_block(a, &mut self.blocks[i], rng);
            }
            12 => {
                // A scope: its blocks die with it; the blocks from before must survive it.
                let scope = self.arena.scope();
                let inner: Vec<Block> = (0..rng.below(8))
                    .filter_map(|_| new_block(&*scope, words(rng), rng).ok())
                    .collect();
                inner.iter().for_each(Block::check);
                drop(scope);
                self.check_all();
            }
            13 if self.blocks.len() > 32 || rng.one_in(8) => {
                self.check_all();
                self.blocks.clear();
                self.arena.reset();
            }
            _ => {}
        }
    }
}

/// The shared transfer buffer: a thread swaps one of its arenas with a random slot.
static TRANSFER: Mutex<Vec<Option<Owned>>> = Mutex::new(Vec::new());

fn arena_worker(seed: u64) -> usize {
    let mut rng = Rng::new(seed);
    let mut mine: Vec<Owned> = Vec::new();
    let mut checked = 0;
    for _ in 0..iters() {
        if mine.is_empty() || (mine.len() < 4 && rng.one_in(16)) {
            mine.push(Owned::new(&mut rng));
        }
        let i = rng.below(mine.len() as u64) as usize;
        mine[i].step(&mut rng);
        if rng.one_in(8) {
            // Hand the arena over, live blocks and all, and maybe receive another thread's.
            let slot = rng.below(SLOTS as u64) as usize;
            let given = mine.swap_remove(i);
            let got = TRANSFER.lock().unwrap()[slot].replace(given);
            if let Some(got) = got {
                got.check_all();
                checked += got.blocks.len();
                mine.push(got);
            }
        } else if rng.one_in(64) {
            let gone = mine.swap_remove(i);
            gone.check_all();
            checked += gone.blocks.len();
        }
    }
    for o in &mine {
        o.check_all();
        checked += o.blocks.len();
    }
    checked
}

#[test]
fn arenas_move_between_threads_with_their_blocks() {
    rounds(|round| {
        TRANSFER.lock().unwrap().resize_with(SLOTS, || None);
        let hs: Vec<_> = (0..THREADS as u64)
            .map(|t| thread::spawn(move || arena_worker(round << 32 | t)))
            .collect();
        let checked: usize = hs.into_iter().map(|h| h.join().unwrap()).sum();
        // Arenas left in the buffer outlived the threads that used them: check, then drop here.
        let left: Vec<Owned> = TRANSFER.lock().unwrap().drain(..).flatten().collect();
        for o in &left {
            o.check_all();
        }
        assert!(checked > 0, "no block was ever checked");
    });
}

/// Random work in one scratch scope: blocks freed, resized, and nested scopes (and now and then
/// a batch scope) opened around them; every block of this scope is checked after each nested
/// scope returns and before this one ends.
fn scratch_work(s: Scratch<'_>, rng: &mut Rng, budget: &mut usize, depth: u32) {
    let mut mine: Vec<Block> = Vec::new();
    while *budget > 0 {
        *budget -= 1;
        match rng.below(16) {
            0..=6 => {
                mine.push(new_block(s, words(rng), rng).expect("Fallback serves every request"))
            }
            7..=8 if !mine.is_empty() => {
                let i = rng.below(mine.len() as u64) as usize;
                free_block(s, mine.swap_remove(i));
            }
            9..=10 if !mine.is_empty() => {
                let i = rng.below(mine.len() as u64) as usize;
                resize_block(s, &mut mine[i], rng);
            }
            11 | 12 if depth < 4 => {
                s.scope(|inner| scratch_work(inner, rng, budget, depth + 1));
                mine.iter().for_each(Block::check);
            }
            13 if depth < 2 && rng.one_in(4) => {
                let bytes = 64 << 10 << rng.below(6);
                with_arena_sized(bytes, |b| scratch_work(b, rng, budget, depth + 1));
                mine.iter().for_each(Block::check);
            }
            14 => {
                // Blocks from the outer handle while an inner scope is live: spilled, freed
                // when this scope ends, never overlapping the inner scope's.
                s.scope(|inner| {
                    let o = new_block(s, words(rng), rng).unwrap();
                    let i = new_block(inner, words(rng), rng).unwrap();
                    o.check();
                    i.check();
                    mine.push(o);
                });
            }
            15 if depth > 0 && rng.one_in(4) => break,
            _ => {}
        }
    }
    mine.iter().for_each(Block::check);
}

#[test]
fn scratch_scopes_on_every_thread_share_the_chunk_pool() {
    rounds(|round| {
        let hs: Vec<_> = (0..THREADS as u64)
            .map(|t| {
                thread::spawn(move || {
                    let mut rng = Rng::new(round << 32 | t | 1 << 31);
                    let mut budget = iters();
                    while budget > 0 {
                        with_arena(|s| scratch_work(s, &mut rng, &mut budget, 0));
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    });
}
