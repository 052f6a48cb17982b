//! Overflow policies of the thread scratch arenas. The policy is process-wide, so this binary
//! has a single test that walks through the policies in order.

use engram_kernels::ArenaAlloc;
use engram_kernels::config::{self, ArenaConfig, OverflowPolicy};
use engram_kernels::{thread_arena_stats, with_arena, with_arena_sized};
use std::panic::{AssertUnwindSafe, catch_unwind};

fn panic_message(e: Box<dyn std::any::Any + Send>) -> String {
    e.downcast_ref::<String>().cloned().unwrap_or_default()
}

#[test]
fn each_policy_does_what_it_says() {
    let pool = ArenaConfig::MIN_POOL_SIZE;
    config::configure(ArenaConfig {
        pool_size: pool,
        ..ArenaConfig::default()
    })
    .unwrap();

    // Fallback (the default): served from the heap, counted, correct.
    with_arena(|s| {
        let big = s.alloc_slice_fill_copy(pool * 2, 7u8);
        assert!(big.iter().all(|&b| b == 7));
        assert_eq!(s.stats().overflow_count, 1);
        assert_eq!(s.stats().capacity, pool);
    });

    // Error: refused, counted, the cursor untouched; non-try helpers panic with the reason.
    config::set_overflow_policy(OverflowPolicy::Error);
    with_arena(|s| {
        s.alloc([0u8; 16]);
        assert!(s.try_alloc_slice_fill_copy(pool, 0u8).is_err());
        assert_eq!((s.stats().used, s.stats().overflow_count), (16, 1));
        // An outer handle during an inner scope is refused too, rather than bumping the arena.
        with_arena(|_inner| assert!(s.try_alloc(1u8).is_err()));
    });
    let e = catch_unwind(|| {
        with_arena(|s| {
            let _ = s.alloc_slice_fill_copy(pool + 1, 0u8);
        })
    });
    let msg = panic_message(e.unwrap_err());
    assert!(msg.contains("scratch arena overflow"), "{msg}");
    assert!(
        msg.contains(&format!("requested {} bytes", pool + 1)),
        "{msg}"
    );
    assert!(msg.contains("ENGRAM_ARENA_SIZE"), "{msg}");
    assert_eq!(
        thread_arena_stats().unwrap().used,
        0,
        "the panicking scope was rewound"
    );

    // Batch scopes follow the policy too.
    with_arena_sized(1 << 20, |s| {
        assert!(s.try_alloc_slice_fill_copy(4 << 20, 0u8).is_err());
    });

    // Panic: the allocation itself panics with what was asked, what remained and what to do.
    config::set_overflow_policy(OverflowPolicy::Panic);
    let e = catch_unwind(AssertUnwindSafe(|| {
        with_arena(|s| {
            s.alloc([0u8; 100]);
            let mut v = allocator_api2::vec::Vec::<u8, _>::new_in(s);
            v.reserve(pool);
        })
    }));
    let msg = panic_message(e.unwrap_err());
    assert!(msg.contains(&format!("requested {pool} bytes")), "{msg}");
    assert!(
        msg.contains(&format!("only {} of {pool} bytes remain", pool - 100)),
        "{msg}"
    );
    assert!(msg.contains("OverflowPolicy::Fallback"), "{msg}");

    // Pool size is fixed per thread at creation: a new thread sees the new size.
    config::configure(ArenaConfig {
        pool_size: 2 * pool,
        ..config::current()
    })
    .unwrap();
    assert_eq!(thread_arena_stats().unwrap().capacity, pool);
    let other = std::thread::spawn(|| with_arena(|s| s.stats().capacity))
        .join()
        .unwrap();
    assert_eq!(other, 2 * pool);

    // Zeroing on reset, for arenas created after it is configured.
    config::configure(ArenaConfig {
        zero_on_reset: true,
        overflow: OverflowPolicy::Fallback,
        ..config::current()
    })
    .unwrap();
    std::thread::spawn(|| {
        with_arena(|s| {
            let _ = s.alloc_slice_fill_copy(64, 0xFFu8);
        });
        with_arena(|s| {
            let bytes = s.alloc_uninit_slice::<u8>(64);
            // SAFETY: the previous scope's exit zeroed these bytes.
            assert!(bytes.iter().all(|b| unsafe { b.assume_init() } == 0));
        });
    })
    .join()
    .unwrap();
}
