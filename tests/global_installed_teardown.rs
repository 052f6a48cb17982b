//! `is_installed` first asked during a thread's teardown, after the arena's exit hook has run:
//! a scope cannot become active then, so the answer may not be cached as "not installed".
//! Meaningful in release builds: debug builds ask (and cache) at the first scope entry already,
//! so CI runs this file with `--release` too.

use engram_kernels::global::is_installed;
use engram_kernels::{GlobalArena, with_global_arena};
use std::alloc::System;
use std::sync::atomic::{AtomicU8, Ordering};

#[global_allocator]
static ALLOC: GlobalArena = GlobalArena::new(System);

/// 0: not asked; 1: answered `false`; 2: answered `true`.
static IN_TEARDOWN: AtomicU8 = AtomicU8::new(0);

struct AsksLate;

impl Drop for AsksLate {
    fn drop(&mut self) {
        IN_TEARDOWN.store(1 + u8::from(is_installed()), Ordering::SeqCst);
    }
}

thread_local! {
    static ASKS_LATE: AsksLate = const { AsksLate };
}

#[test]
fn an_answer_from_thread_teardown_is_not_cached() {
    std::thread::spawn(|| {
        // Registered before the arena's exit hook, so its destructor runs after the hook.
        ASKS_LATE.with(|_| ());
        with_global_arena(|| drop(vec![1u8; 10]));
    })
    .join()
    .unwrap();
    assert_ne!(IN_TEARDOWN.load(Ordering::SeqCst), 0, "the destructor ran");
    assert!(is_installed(), "GlobalArena is the global allocator");
}
