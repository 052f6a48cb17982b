//! Valid environment values are applied at first use, trimmed and in any case, with binary size
//! suffixes.

use engram_kernels::ArenaAlloc;
use engram_kernels::OverflowPolicy;
use engram_kernels::config;

#[test]
fn valid_environment_values_apply() {
    // SAFETY: this is the only test in the binary, so no other thread reads the environment.
    unsafe {
        std::env::set_var("ENGRAM_ARENA_SIZE", " 128K ");
        std::env::set_var("ENGRAM_ARENA_OVERFLOW", "Error");
        std::env::set_var("ENGRAM_ARENA_ZERO", "ON");
        std::env::set_var("ENGRAM_ARENA_POOL_RETAIN", "2 MiB");
    }
    let cfg = config::current();
    assert_eq!(
        (
            cfg.pool_size,
            cfg.overflow,
            cfg.zero_on_reset,
            cfg.pool_retain
        ),
        (131072, OverflowPolicy::Error, true, 2 << 20)
    );
    assert_eq!(engram_kernels::scratch::pool_retain(), 2 << 20);
    // A 4 MiB batch chunk is more than the pool keeps: it goes back to the system.
    engram_kernels::with_arena_sized(4 << 20, |s| *s.alloc(1u8));
    assert!(engram_kernels::scratch::pool_bytes() <= 2 << 20);
    let cap = engram_kernels::with_arena(|s| {
        assert!(s.try_alloc_slice_fill_copy(200_000, 0u8).is_err());
        s.stats().capacity
    });
    assert_eq!(cap, 131072);
}
