//! Makes logical reuse visible to AddressSanitizer and valgrind.
//!
//! An arena chunk is one live allocation to ASan and valgrind, so a rewind that handed out memory
//! an older scope still uses would go unnoticed. With the right cfg every byte an arena does not
//! currently hand out is marked inaccessible: free space when a chunk is taken, space given back
//! by a free, a rewind or a reset. Allocation makes exactly the new block accessible again.
//!
//! * `--cfg engram_asan` (with `-Zsanitizer=address`, see `scripts/asan.sh`): ASan's manual
//!   poisoning.
//! * `--cfg engram_valgrind` (x86-64; see `scripts/valgrind-arena.sh`): memcheck client requests
//!   (`MAKE_MEM_NOACCESS`, `MAKE_MEM_DEFINED`), a few instructions that do nothing outside
//!   valgrind.
//!
//! Without either cfg both functions are empty and vanish.

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
    #[cfg(all(engram_valgrind, target_arch = "x86_64"))]
    if len > 0 {
        valgrind::request(valgrind::MAKE_MEM_NOACCESS, addr, len);
    }
    let _ = (addr, len);
}

/// Marks `[addr, addr + len)` as addressable again. For valgrind the bytes count as defined:
/// an arena with zero-on-reset hands out zeroed memory, and the raw arena does not know which
/// bytes those are, so it gives up memcheck's uninitialised-read check for arena blocks rather
/// than report reads of zeroes. What it keeps is the check that matters here: use of memory the
/// arena has taken back.
#[inline(always)]
pub(crate) fn unpoison(addr: *const u8, len: usize) {
    #[cfg(engram_asan)]
    if len > 0 {
        // SAFETY: as for `poison`.
        unsafe { __asan_unpoison_memory_region(addr, len) }
    }
    #[cfg(all(engram_valgrind, target_arch = "x86_64"))]
    if len > 0 {
        valgrind::request(valgrind::MAKE_MEM_DEFINED, addr, len);
    }
    let _ = (addr, len);
}

#[cfg(all(engram_valgrind, target_arch = "x86_64"))]
mod valgrind {
    /// Memcheck's request codes: `VG_USERREQ_TOOL_BASE('M', 'C')` plus the request's index.
    pub(super) const MAKE_MEM_NOACCESS: usize = 0x4D43_0000;
    pub(super) const MAKE_MEM_DEFINED: usize = 0x4D43_0002;

    /// valgrind's client request: a "special instruction preamble" that valgrind recognises, with
    /// `rax` pointing at the request and its arguments. On real hardware the four rotations
    /// (3 + 13 + 61 + 51 = 128 bits) leave `rdi` unchanged and `xchg rbx, rbx` does nothing.
    #[inline(always)]
    pub(super) fn request(code: usize, addr: *const u8, len: usize) {
        let args: [usize; 6] = [code, addr.addr(), len, 0, 0, 0];
        // SAFETY: the sequence reads `args` (live for the block) and changes no register it
        // does not declare; `rbx` is exchanged with itself.
        unsafe {
            core::arch::asm!(
                "rol rdi, 3",
                "rol rdi, 13",
                "rol rdi, 61",
                "rol rdi, 51",
                "xchg rbx, rbx",
                in("rax") args.as_ptr(),
                inout("rdx") 0usize => _,
                inout("rdi") 0usize => _,
                options(nostack, preserves_flags),
            );
        }
    }
}
