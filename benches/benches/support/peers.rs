//! Bench-only baselines: the tightest hand-written bump allocator, and the fixed size table of the
//! `mixed` workload.

use allocator_api2::alloc::Layout;
use std::ptr::NonNull;

/// The floor any bump allocator can reach: a local buffer, an absolute cursor, an align-up and
/// a bounds check, nothing else (no statistics, no overflow policy, no `Cell`s).
pub struct HandBump {
    buf: Vec<u8>,
    cursor: usize,
    end: usize,
}

impl HandBump {
    pub fn with_capacity(bytes: usize) -> Self {
        let mut buf = vec![0u8; bytes];
        let start = buf.as_mut_ptr().addr();
        Self {
            buf,
            cursor: start,
            end: start + bytes,
        }
    }

    /// A block for `layout`; panics when the buffer is full (the benches never fill it).
    #[inline(always)]
    pub fn alloc(&mut self, layout: Layout) -> NonNull<u8> {
        let mask = layout.align() - 1;
        let start = (self.cursor + mask) & !mask;
        let end = start + layout.size();
        assert!(end <= self.end, "HandBump is full");
        self.cursor = end;
        // SAFETY: `[start, end)` lies inside `buf` (checked above), so the pointer, which keeps
        // the buffer's provenance, is in bounds and non-null.
        unsafe { NonNull::new_unchecked(self.buf.as_mut_ptr().with_addr(start)) }
    }

    pub fn reset(&mut self) {
        self.cursor = self.buf.as_mut_ptr().addr();
    }
}

/// `n` layouts of 8..=256 bytes, alignment 8, from a fixed xorshift sequence: the same table for
/// every member of the `mixed` group and every run.
pub fn mixed_layouts(n: usize) -> Vec<Layout> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let size = 8 + (x % 249) as usize;
            Layout::from_size_align(size, 8).expect("small sizes are valid")
        })
        .collect()
}
