//! The chunk pool's retention: the idle bytes it keeps stay within `scratch::pool_retain()`
//! whatever gives chunks back (a growable arena's reset or drop, a batch scope, a scratch scope's
//! overflow, a thread's exit), and the memory handed out around it keeps its contents.
//!
//! The pool and the retention are process-wide, so these tests live in their own binary and take
//! a lock.

use allocator_api2::vec::Vec as ArenaVec;
use engram_kernels::scratch::{
    pool_bytes, pool_retain, set_pool_retain, trim_pool, with_arena_sized,
};
use engram_kernels::{Arena, ArenaAlloc, ArenaConfig, config, with_arena};
use std::sync::{Mutex, MutexGuard};

static POOL: Mutex<()> = Mutex::new(());

/// Exclusive use of an emptied pool with retention `bytes`; the default comes back on drop.
struct Retention(#[allow(dead_code)] MutexGuard<'static, ()>);

impl Retention {
    fn set(bytes: usize) -> Self {
        let guard = POOL.lock().unwrap_or_else(|e| e.into_inner());
        set_pool_retain(bytes);
        trim_pool();
        Retention(guard)
    }
}

impl Drop for Retention {
    fn drop(&mut self) {
        set_pool_retain(ArenaConfig::DEFAULT_POOL_RETAIN);
    }
}

/// Miri interprets every byte: smaller rounds there.
const ROUND: usize = if cfg!(miri) { 20_000 } else { 400_000 };
const ROUNDS: usize = if cfg!(miri) { 3 } else { 8 };

/// A fill-and-reset round as a user writes it: a growing `Vec` interleaved with small blocks,
/// each checked once the round is over.
fn round(arena: &Arena, salt: u64) {
    let mut v = ArenaVec::new_in(arena);
    let mut small = Vec::new();
    for i in 0..ROUND as u64 / 16 {
        v.push(i ^ salt);
        if i % 8 == 0 {
            small.push(arena.alloc([i, salt]));
        }
    }
    assert!(v.iter().enumerate().all(|(i, &x)| x == i as u64 ^ salt));
    assert!(
        small
            .iter()
            .enumerate()
            .all(|(k, b)| **b == [k as u64 * 8, salt])
    );
}

#[test]
fn the_default_retention_is_the_documented_one() {
    let _lock = POOL.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(pool_retain(), ArenaConfig::DEFAULT_POOL_RETAIN);
    assert_eq!(config::current().pool_retain, pool_retain());
}

#[test]
fn a_growable_arena_in_a_fill_and_reset_loop_leaves_nothing_idle() {
    let _r = Retention::set(ArenaConfig::DEFAULT_POOL_RETAIN);
    let mut arena = Arena::new();
    let mut kept = Vec::new();
    for r in 0..ROUNDS {
        round(&arena, r as u64);
        arena.reset();
        // The reset keeps the largest chunk and frees the rest: nothing reaches the pool.
        assert_eq!(pool_bytes(), 0, "round {r}");
        kept.push(arena.capacity());
    }
    // One chunk, at most twice a round's high-water mark, and it stops growing.
    let last = *kept.last().unwrap();
    assert!(
        last <= 4 * ROUND,
        "kept {last} bytes for {ROUND}-byte rounds"
    );
    assert_eq!(kept[ROUNDS - 2], last, "the kept chunk stopped growing");
    drop(arena);
    assert!(pool_bytes() <= pool_retain());
}

#[test]
fn the_pool_never_holds_more_than_the_retention() {
    let cap = if cfg!(miri) { 64 << 10 } else { 1 << 20 };
    let _r = Retention::set(cap);
    for r in 0..ROUNDS {
        // A dropped growable arena gives every chunk it held to the pool.
        let arena = Arena::new();
        round(&arena, r as u64);
        drop(arena);
        assert!(pool_bytes() <= cap, "{} > {cap}", pool_bytes());
        // A batch larger than the retention: its chunk goes back to the system.
        let n = with_arena_sized(2 * cap, |s| s.alloc_slice_fill_copy(2 * cap, 7u8).len());
        assert_eq!(n, 2 * cap);
        assert!(pool_bytes() <= cap);
    }
}

#[test]
fn a_batch_within_the_retention_reuses_its_chunk() {
    let _r = Retention::set(ArenaConfig::DEFAULT_POOL_RETAIN);
    let bytes = if cfg!(miri) { 1 << 20 } else { 4 << 20 };
    let at = |fill: u8| {
        with_arena_sized(bytes, |s| {
            let b = s.alloc_slice_fill_copy(4096, fill);
            assert!(b.iter().all(|&x| x == fill));
            b.as_ptr().addr()
        })
    };
    let first = at(1);
    assert!(pool_bytes() >= bytes, "the chunk stayed pooled");
    assert_eq!(at(2), first, "the next batch took the pooled chunk");
}

#[test]
fn lowering_the_retention_trims_at_once() {
    let _r = Retention::set(ArenaConfig::DEFAULT_POOL_RETAIN);
    with_arena_sized(4 << 20, |s| *s.alloc(0u8));
    assert!(pool_bytes() >= 4 << 20);
    set_pool_retain(1 << 20);
    assert!(pool_bytes() <= 1 << 20);
    set_pool_retain(0);
    assert_eq!(pool_bytes(), 0);
}

/// More than a default thread arena (1 MiB) holds.
const OVERFLOWING: usize = if cfg!(miri) {
    (1 << 20) + 4096
} else {
    3 << 20
};

#[test]
fn a_thread_exit_gives_back_within_the_retention() {
    let cap = 256 << 10;
    let _r = Retention::set(cap);
    std::thread::spawn(move || {
        // The thread arena (1 MiB) overflows into further chunks under the default policy.
        with_arena(|s| {
            let big = s.alloc_slice_fill_copy(OVERFLOWING, 9u8);
            assert!(big.iter().all(|&x| x == 9));
        });
        assert!(pool_bytes() <= cap);
    })
    .join()
    .unwrap();
    // The thread's arena left with the thread; the pool kept no more than the retention.
    assert!(pool_bytes() <= cap);
}
