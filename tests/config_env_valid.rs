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
    }
    let cfg = config::current();
    assert_eq!(
        (cfg.pool_size, cfg.overflow, cfg.zero_on_reset),
        (131072, OverflowPolicy::Error, true)
    );
    let cap = engram_kernels::with_arena(|s| {
        assert!(s.try_alloc_slice_fill_copy(200_000, 0u8).is_err());
        s.stats().capacity
    });
    assert_eq!(cap, 131072);
}
