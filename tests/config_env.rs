//! Environment configuration: garbage values never panic; size and zeroing keep their defaults,
//! and an unrecognised overflow policy becomes the bounded `Error` policy rather than the
//! unbounded default. The environment is read once per process, so this binary has a single
//! test that sets it before first use.

use engram_kernels::ArenaAlloc;
use engram_kernels::config::{self, ArenaConfig};
use engram_kernels::{OverflowPolicy, with_arena};

#[test]
fn garbage_environment_keeps_defaults_but_never_runs_unbounded() {
    // SAFETY: this is the only test in the binary, so no other thread reads the environment.
    unsafe {
        std::env::set_var("ENGRAM_ARENA_SIZE", "4096"); // below the 64 KiB minimum
        std::env::set_var("ENGRAM_ARENA_OVERFLOW", "explode");
        std::env::set_var("ENGRAM_ARENA_ZERO", "maybe");
        std::env::set_var("ENGRAM_ARENA_POOL_RETAIN", "lots"); // not a size: the default stands
    }
    assert_eq!(
        config::current(),
        ArenaConfig {
            overflow: OverflowPolicy::Error,
            ..ArenaConfig::default()
        }
    );
    let (n, refused) = with_arena(|s| {
        assert_eq!(s.stats().capacity, ArenaConfig::default().pool_size);
        let n = s.alloc_slice_fill_copy(10, 1u8).len();
        // Bounded: a request larger than the pool is refused, not served from the heap.
        (n, s.try_alloc_slice_fill_copy(2 << 20, 0u8).is_err())
    });
    assert_eq!(n, 10);
    assert!(refused);
    // Valid values set later are not re-read: the configuration was fixed at first use.
    // SAFETY: as above.
    unsafe { std::env::set_var("ENGRAM_ARENA_SIZE", "131072") };
    assert_eq!(
        config::current().pool_size,
        ArenaConfig::default().pool_size
    );
}
