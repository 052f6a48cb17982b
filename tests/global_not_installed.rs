//! Without `GlobalArena` as the global allocator, `is_installed` says so and scopes still work
//! (they pass everything through).

use std::alloc::System;

#[global_allocator]
static ALLOC: System = System;

#[test]
fn is_installed_is_false_and_scopes_pass_through() {
    assert!(!engram_kernels::global::is_installed());
    let v = engram_kernels::with_global_arena(|| (0..100).map(|i| i * 2).collect::<Vec<u32>>());
    assert_eq!(v[99], 198);
    assert!(!engram_kernels::global::is_installed(), "cached answer");
}
