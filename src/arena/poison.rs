//! Makes logical reuse visible to AddressSanitizer.
//!
//! An arena chunk is one live allocation to ASan, so a rewind that handed out memory an older
//! scope still uses would go unnoticed. With `--cfg engram_asan` (set together with
//! `-Zsanitizer=address`, see `scripts/asan.sh`) every byte an arena does not currently hand out
//! is poisoned: free space when a chunk is taken, space given back by a free, a rewind or a
//! reset. Allocation unpoisons exactly the block it returns. Without the cfg both functions are
//! empty and vanish.

#[cfg(engram_asan)]
unsafe extern "C" {
    fn __asan_poison_memory_region(addr: *const u8, size: usize);
    fn __asan_unpoison_memory_region(addr: *const u8, size: usize);
}

/// Marks `[addr, addr + len)` as not addressable.
#[inline(always)]
pub(crate) fn poison(addr: *const u8, len: usize) {
    #[cfg(engram_asan)]
    if len > 0 {
        // SAFETY: the ASan runtime only records the range in its shadow memory; callers pass
        // ranges inside a chunk they own.
        unsafe { __asan_poison_memory_region(addr, len) }
    }
    let _ = (addr, len);
}

/// Marks `[addr, addr + len)` as addressable again.
#[inline(always)]
pub(crate) fn unpoison(addr: *const u8, len: usize) {
    #[cfg(engram_asan)]
    if len > 0 {
        // SAFETY: as for `poison`.
        unsafe { __asan_unpoison_memory_region(addr, len) }
    }
    let _ = (addr, len);
}
