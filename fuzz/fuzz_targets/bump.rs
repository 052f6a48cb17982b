//! The bump arithmetic against 128-bit reference arithmetic, for any `usize` inputs.
#![no_main]

#[allow(dead_code)]
#[path = "../../src/bump.rs"]
mod bump;

use libfuzzer_sys::fuzz_target;

fn words(data: &[u8]) -> impl Iterator<Item = usize> + '_ {
    data.chunks_exact(8)
        .map(|c| usize::from_le_bytes(c.try_into().unwrap()))
}

fuzz_target!(|data: &[u8]| {
    let mut w = words(data);
    let (Some(cursor), Some(limit), Some(size), Some(a), Some(floor), Some(new_size)) =
        (w.next(), w.next(), w.next(), w.next(), w.next(), w.next())
    else {
        return;
    };
    let align = 1usize << (a % usize::BITS as usize);
    // bump_up and bump_pow2: exact, aligned, in bounds, never wrapping.
    let start = (cursor as u128).div_ceil(align as u128) * align as u128;
    let end = start + size as u128;
    let expect = (end <= limit as u128).then_some((start as usize, end as usize));
    let got = bump::bump_up(cursor, limit, size, align).map(|b| (b.start, b.end));
    assert_eq!(got, expect);
    assert_eq!(bump::bump_pow2(cursor, limit, size, align).map(|b| (b.start, b.end)), expect);
    if let Some(b) = bump::bump_pow2(cursor, limit, size, a) {
        assert!(b.start >= cursor && b.end <= limit && b.end - b.start == size);
    }
    // bump_small: bump_up for small requests, and never outside the free space for any input.
    let max = 1usize << 18;
    let small = bump::bump_small(cursor, limit, size, align, max);
    assert_eq!(small, if size | align > max { None } else { expect });
    if let Some((s, e)) = bump::bump_small(cursor, limit, size, a, max) {
        assert!(s >= cursor && e <= limit && e - s == size);
    }
    // resize_last: only the most recent block, never below the floor, never past the limit.
    let old_end = cursor as u128 + size as u128;
    if let Some(c) = bump::resize_last(cursor, size, new_size, align, old_end as usize, floor, limit) {
        assert!(old_end <= usize::MAX as u128 && cursor >= floor);
        assert_eq!(c as u128, cursor as u128 + new_size as u128);
        assert!(c <= limit && cursor % align == 0);
    }
    if let Some(c) = bump::release_last(cursor, size, limit, floor) {
        assert!(c == cursor && cursor >= floor && cursor as u128 + size as u128 == limit as u128);
    }
});
