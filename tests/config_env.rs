//! Environment configuration: garbage values keep the defaults and never panic. The environment
//! is read once per process, so this binary has a single test that sets it before first use.

use engram_kernels::ArenaAlloc;
use engram_kernels::config::{self, ArenaConfig};

#[test]
fn garbage_environment_keeps_defaults_and_the_arena_works() {
    // SAFETY: this is the only test in the binary, so no other thread reads the environment.
    unsafe {
        std::env::set_var("ENGRAM_ARENA_SIZE", "4096"); // below the 64 KiB minimum
        std::env::set_var("ENGRAM_ARENA_OVERFLOW", "explode");
        std::env::set_var("ENGRAM_ARENA_ZERO", "maybe");
    }
    assert_eq!(config::current(), ArenaConfig::default());
    let n = engram_kernels::with_arena(|s| {
        assert_eq!(s.stats().capacity, ArenaConfig::default().pool_size);
        s.alloc_slice_fill_copy(10, 1u8).len()
    });
    assert_eq!(n, 10);
    // Valid values set later are not re-read: the configuration was fixed at first use.
    // SAFETY: as above.
    unsafe { std::env::set_var("ENGRAM_ARENA_SIZE", "131072") };
    assert_eq!(
        config::current().pool_size,
        ArenaConfig::default().pool_size
    );
}
