//! What a chunk carries when it leaves an arena for the process-wide pool (issue 15): scrubbed
//! when the arena zeroes, and counted against the arena's allocation limit while it holds it.
//!
//! The pool is shared by the whole process, so these tests live in their own binary and take a
//! lock: each starts from an empty pool and reads what arrives there.

use allocator_api2::alloc::{Allocator, Layout};
use engram_kernels::scratch::{pool_bytes, trim_pool};
use engram_kernels::{Arena, ArenaAlloc};
use std::sync::{Mutex, MutexGuard};

static POOL: Mutex<()> = Mutex::new(());

/// Exclusive use of an emptied pool.
fn empty_pool() -> MutexGuard<'static, ()> {
    let guard = POOL.lock().unwrap_or_else(|e| e.into_inner());
    trim_pool();
    guard
}

/// Allocates `len` bytes from a fresh, non-zeroing growable arena (its first chunk comes from
/// the pool: the best fit) and returns where the block lies and whether any byte is `poison`.
fn next_arena_sees(len: usize, poison: u8) -> (usize, bool) {
    let other = Arena::new();
    let l = Layout::from_size_align(len, 64).unwrap();
    let p = (&other).allocate(l).unwrap().cast::<u8>();
    // SAFETY: the block is `len` bytes of a chunk that held this test's (initialised) bytes
    // before: the test checks the address against the chunk it expects before relying on that.
    let bytes = unsafe { std::slice::from_raw_parts(p.as_ptr(), len) };
    (p.as_ptr().addr(), bytes.contains(&poison))
}

/// Miri interprets every byte written: the same tests on smaller chunks.
const BIG: usize = if cfg!(miri) { 16 << 10 } else { 3 << 20 };

/// `len` bytes from `arena`, all set to `byte`; returns the block's address.
fn fill(arena: &Arena, len: usize, byte: u8) -> usize {
    let block = arena.alloc_uninit_slice::<u8>(len);
    let p = block.as_mut_ptr().cast::<u8>();
    // SAFETY: `p` is valid for `len` bytes (the block just handed out).
    unsafe { p.write_bytes(byte, len) };
    p.addr()
}

/// A growable arena's reset keeps its largest chunk and frees the others (scrubbed first when it
/// zeroes): none of them reaches the pool, where another arena would receive it.
#[test]
fn a_growable_arena_reset_gives_nothing_to_the_pool() {
    let _pool = empty_pool();
    let mut arena = Arena::new();
    arena.set_zero_on_reset(true);
    fill(&arena, BIG, 0x5C);
    // A larger chunk: the one the reset keeps.
    let kept = fill(&arena, 2 * BIG, 0x5D);
    arena.reset();
    assert_eq!(pool_bytes(), 0);
    assert_eq!(
        fill(&arena, 8, 0x5E),
        kept,
        "the reset kept the larger chunk"
    );
    assert!(arena.capacity() >= 2 * BIG && arena.capacity() < 3 * BIG);
}

#[test]
fn a_zeroing_arena_scrubs_its_chunks_when_dropped() {
    let _pool = empty_pool();
    let mut arena = Arena::new();
    arena.set_zero_on_reset(true);
    let dirty = fill(&arena, BIG, 0x6C);
    drop(arena);
    let (at, seen) = next_arena_sees(BIG, 0x6C);
    assert_eq!(at, dirty);
    assert!(
        !seen,
        "a dropped zeroing arena's bytes reached another arena"
    );
}

#[test]
fn the_allocation_limit_counts_the_spare_chunks_an_arena_holds() {
    let _pool = empty_pool();
    let limit = if cfg!(miri) { 32 << 10 } else { 256 << 10 };
    let mut arena = Arena::new();
    arena.set_allocation_limit(Some(limit));
    arena.alloc(0u8);
    {
        // Grow up to the limit inside a scope: its chunks become spares when it ends.
        let scope = arena.scope();
        while scope.try_alloc_uninit_slice::<u8>(1024).is_ok() {}
        assert!(scope.capacity() > limit / 2);
    }
    // Larger than any spare (the largest is half the limit): served only if the arena gives
    // spares up to stay within the limit.
    let wide = arena.try_alloc_uninit_slice::<u8>(limit / 32 * 25);
    assert!(
        wide.is_ok(),
        "the limit leaves room once the spares are given up"
    );
    let before = pool_bytes();
    drop(arena);
    let held = pool_bytes() - before;
    assert!(
        held <= limit,
        "the arena held {held} bytes of chunks under a {limit}-byte limit"
    );
}
