//! Bench-only baselines: the tightest hand-written bump allocator, and the fixed size table of the
//! `mixed` workload.

use allocator_api2::alloc::Layout;
use std::ptr::NonNull;

/// The floor any bump allocator can reach: a local buffer, an offset, an align-up and a bounds
/// check, nothing else (no statistics, no overflow policy, no `Cell`s).
pub struct HandBump {
    buf: Vec<u8>,
    offset: usize,
}

impl HandBump {
    pub fn with_capacity(bytes: usize) -> Self {
        Self {
            buf: vec![0; bytes],
            offset: 0,
        }
    }

    /// A block for `layout`; panics when the buffer is full (the benches never fill it).
    #[inline(always)]
    pub fn alloc(&mut self, layout: Layout) -> NonNull<u8> {
        let base = self.buf.as_mut_ptr();
        let mask = layout.align() - 1;
        let start = ((base.addr() + self.offset + mask) & !mask) - base.addr();
        let end = start + layout.size();
        assert!(end <= self.buf.len(), "HandBump is full");
        self.offset = end;
        // SAFETY: `start <= end <= buf.len()`, so the pointer stays inside the buffer.
        unsafe { NonNull::new_unchecked(base.add(start)) }
    }

    pub fn reset(&mut self) {
        self.offset = 0;
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
