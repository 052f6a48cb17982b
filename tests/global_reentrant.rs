//! Re-entrant calls: an inner allocator that itself allocates through the global allocator (as
//! an allocator with a lazily allocated lock or table would), inside and outside scopes. The
//! arena's own path must never call the inner allocator recursively.

#[path = "global_support/mod.rs"]
mod support;

use engram_kernels::global::{CHUNK_SIZE, MAX_ARENA_REQUEST};
use engram_kernels::{GlobalArena, with_global_arena};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use support::scaled;

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    static MAX_DEPTH: Cell<u32> = const { Cell::new(0) };
    static REENTRIES: Cell<u64> = const { Cell::new(0) };
}

/// For requests of 1 KiB or more, allocates (and frees) a small vector through the *global*
/// allocator before serving the request: a re-entrant call back into `GlobalArena`.
struct Reentrant;

impl Reentrant {
    fn enter(size: usize) {
        let d = DEPTH.with(|d| {
            d.set(d.get() + 1);
            d.get()
        });
        MAX_DEPTH.with(|m| m.set(m.get().max(d)));
        if size >= 1024 && d == 1 {
            REENTRIES.with(|r| r.set(r.get() + 1));
            let v: Vec<u64> = (0..8).collect(); // re-enters GlobalArena
            assert_eq!(v.iter().sum::<u64>(), 28);
        }
    }
    fn leave() {
        DEPTH.with(|d| d.set(d.get() - 1));
    }
}

// SAFETY: every call is forwarded unchanged to `System`; the extra work only touches thread
// locals without destructors and makes balanced allocations of its own.
unsafe impl GlobalAlloc for Reentrant {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        Self::enter(l.size());
        // SAFETY: forwarded contract.
        let p = unsafe { System.alloc(l) };
        Self::leave();
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        Self::enter(0);
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(p, l) };
        Self::leave();
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        Self::enter(n);
        // SAFETY: forwarded contract.
        let q = unsafe { System.realloc(p, l, n) };
        Self::leave();
        q
    }
}

#[global_allocator]
static ALLOC: GlobalArena<Reentrant> = GlobalArena::new(Reentrant);

fn big_and_small(n: usize) -> u64 {
    let mut total = 0u64;
    for i in 0..n {
        let big = vec![i as u8; 2048 + i];
        let small = format!("{i}");
        total += u64::from(big[big.len() - 1]) + small.len() as u64;
    }
    total
}

#[test]
fn reentrant_inner_allocator_outside_a_scope() {
    let n = scaled(200, 10);
    let expect: u64 = (0..n)
        .map(|i| u64::from(i as u8) + i.to_string().len() as u64)
        .sum();
    assert_eq!(big_and_small(n), expect);
    assert!(REENTRIES.with(Cell::get) >= n as u64);
    // the inner allocator's own nested allocation is the only nesting: the arena adds none
    assert_eq!(MAX_DEPTH.with(Cell::get), 2);
}

#[test]
fn reentrant_inner_allocator_inside_a_scope() {
    let n = scaled(200, 10);
    let expect: u64 = (0..n)
        .map(|i| u64::from(i as u8) + i.to_string().len() as u64)
        .sum();
    let before = REENTRIES.with(Cell::get);
    assert_eq!(with_global_arena(|| big_and_small(n)), expect);
    assert_eq!(
        REENTRIES.with(Cell::get),
        before,
        "inside a scope nothing reaches the inner allocator"
    );
    // a large request gets a span of chunks: still nothing reaches the inner allocator
    let s = ALLOC.thread_stats();
    let big = with_global_arena(|| vec![1u8; MAX_ARENA_REQUEST + 1]);
    let d = ALLOC.thread_stats().since(&s);
    assert_eq!(REENTRIES.with(Cell::get), before);
    assert_eq!((d.spills, d.large_allocs), (0, 1), "{d:?}");
    assert!(big.iter().all(|&b| b == 1));
    // a spill (alignment beyond a chunk) re-enters from inside the scope: the nested
    // allocation goes to the arena
    let layout = Layout::from_size_align(4096, 2 * CHUNK_SIZE).unwrap();
    let s = ALLOC.thread_stats();
    let p = with_global_arena(|| {
        // SAFETY: a non-zero size.
        unsafe { std::alloc::alloc(layout) }
    });
    let d = ALLOC.thread_stats().since(&s);
    assert!(!p.is_null() && p.addr() % layout.align() == 0);
    assert_eq!(REENTRIES.with(Cell::get), before + 1);
    assert_eq!(d.spills, 1);
    assert!(
        d.arena_allocs >= 1,
        "the re-entrant allocation was served by the arena: {d:?}"
    );
    // SAFETY: allocated above with `layout`.
    unsafe { std::alloc::dealloc(p, layout) };
    assert!(MAX_DEPTH.with(Cell::get) <= 2);
}
