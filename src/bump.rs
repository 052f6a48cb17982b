//! Bump arithmetic on plain addresses: safe, dependency-free, and total.
//!
//! Every allocator in this crate (the [`Arena`](crate::Arena), the thread scratch arenas and the
//! global arenas) decides *where* a block goes with the functions in this module, and only then
//! turns the chosen address back into a pointer. Keeping the arithmetic apart from the pointer
//! handling means it can be tested exhaustively and fuzzed on its own: none of these functions can
//! overflow, wrap or panic, whatever `usize` values they are given. A request that cannot be
//! satisfied is `None`, and the caller's cursor is then left untouched.
//!
//! Addresses are absolute, so alignment is absolute too: a block aligned to 4096 here is aligned
//! to 4096 in memory, whatever the alignment of the buffer it lives in.

#![forbid(unsafe_code)]

/// A block chosen by [`bump_up`]: the half-open address range `[start, end)`.
///
/// `end` is also the new cursor after the allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Bump {
    /// First address of the block; a multiple of the requested alignment.
    pub(crate) start: usize,
    /// One past the last address of the block (`start + size`).
    pub(crate) end: usize,
}

/// Rounds `addr` up to a multiple of `align`, or `None` if that would pass `usize::MAX`.
///
/// `align` must be a power of two; any other value gives `None` rather than a wrong answer.
#[cfg_attr(not(test), allow(dead_code))] // the reference for the fast variants' tests
#[inline(always)]
pub(crate) const fn align_up(addr: usize, align: usize) -> Option<usize> {
    if !align.is_power_of_two() {
        return None;
    }
    let mask = align - 1;
    match addr.checked_add(mask) {
        Some(bumped) => Some(bumped & !mask),
        None => None,
    }
}

/// Whether `addr` is a multiple of `align` (a power of two).
#[inline(always)]
pub(crate) const fn is_aligned(addr: usize, align: usize) -> bool {
    align.is_power_of_two() && addr & (align - 1) == 0
}

/// [`bump_up`] for an alignment that is known to be a power of two (a [`Layout`]'s), without
/// checking it: the hot path of every arena. For any other `align` the answer is still inside
/// `[cursor, limit]` and never wraps; it is only not aligned.
///
/// [`Layout`]: core::alloc::Layout
#[inline(always)]
pub(crate) const fn bump_pow2(
    cursor: usize,
    limit: usize,
    size: usize,
    align: usize,
) -> Option<Bump> {
    let mask = align.wrapping_sub(1);
    let start = match cursor.checked_add(mask) {
        Some(s) => s & !mask,
        None => return None,
    };
    // `start >= cursor`, so `limit - start` cannot wrap once `start <= limit` is known.
    if start > limit || size > limit - start {
        return None;
    }
    Some(Bump {
        start,
        end: start + size,
    })
}

/// [`bump_up`] for the global allocator's fast path: both size and alignment are first bounded by
/// a small `max` (one `or` and one compare; larger `Layout`s go to the inner allocator anyway),
/// after which the padding is below `max` and only one overflow check remains. A
/// non-power-of-two alignment cannot occur (`Layout` forbids it); given one anyway, the block
/// still lies inside `[cursor, limit)`, just not aligned.
///
/// Places `size` bytes aligned to `align` in `[cursor, limit)`: `Some((start, end))`, or `None`
/// if it does not fit or `size | align > max` (`max` a power of two). Never wraps or panics.
#[inline(always)]
pub(crate) const fn bump_small(
    cursor: usize,
    limit: usize,
    size: usize,
    align: usize,
    max: usize,
) -> Option<(usize, usize)> {
    if size | align > max {
        return None;
    }
    // For a power-of-two `align <= max` the mask is `align - 1`; for the impossible `align == 0`
    // it is clipped to `max - 1`. Either way `pad < max`, so `pad + size < 2 × max` cannot
    // overflow.
    let pad = cursor.wrapping_neg() & align.wrapping_sub(1) & max.wrapping_sub(1);
    let Some(end) = cursor.checked_add(pad + size) else {
        return None;
    };
    if end > limit {
        return None;
    }
    Some((cursor + pad, end))
}

/// Places a block of `size` bytes aligned to `align` in the free space `[cursor, limit)`.
///
/// Returns `None`, without wrapping, when the block does not fit or the arithmetic would pass
/// `usize::MAX`. Cost: an add, a mask, an add and a compare.
#[cfg_attr(not(test), allow(dead_code))] // the reference for the fast variants' tests
#[inline(always)]
pub(crate) const fn bump_up(
    cursor: usize,
    limit: usize,
    size: usize,
    align: usize,
) -> Option<Bump> {
    let start = match align_up(cursor, align) {
        Some(s) => s,
        None => return None,
    };
    let end = match start.checked_add(size) {
        Some(e) => e,
        None => return None,
    };
    if end > limit {
        return None;
    }
    Some(Bump { start, end })
}

/// Where the cursor goes when the most recent block, `[start, start + old_size)`, is resized to
/// `new_size` bytes with alignment `new_align`, or `None` if it cannot be done in place.
///
/// In place means all of:
/// * the block is the most recent one: it ends exactly at `cursor`;
/// * it does not start below `floor` (the innermost live scope's checkpoint), so a rewind of that
///   scope can never release memory that an older scope still owns;
/// * `start` already satisfies `new_align`;
/// * the resized block ends at or before `limit`.
///
/// Works for growing and shrinking alike.
#[inline(always)]
pub(crate) const fn resize_last(
    start: usize,
    old_size: usize,
    new_size: usize,
    new_align: usize,
    cursor: usize,
    floor: usize,
    limit: usize,
) -> Option<usize> {
    let old_end = match start.checked_add(old_size) {
        Some(e) => e,
        None => return None,
    };
    if old_end != cursor || start < floor || !is_aligned(start, new_align) {
        return None;
    }
    match start.checked_add(new_size) {
        Some(end) if end <= limit => Some(end),
        _ => None,
    }
}

/// Where the cursor goes when the block `[start, start + size)` is freed: `Some(start)` if it is
/// the most recent block and not older than `floor`, otherwise `None` (the space stays used until
/// the scope or arena is reset).
#[inline(always)]
pub(crate) const fn release_last(
    start: usize,
    size: usize,
    cursor: usize,
    floor: usize,
) -> Option<usize> {
    match start.checked_add(size) {
        Some(end) if end == cursor && start >= floor => Some(start),
        _ => None,
    }
}

/// `used / capacity` as a fraction in `[0, 1]`; `0.0` for a zero capacity, never NaN.
#[inline]
pub(crate) fn utilization(used: usize, capacity: usize) -> f64 {
    if capacity == 0 {
        0.0
    } else {
        (used.min(capacity) as f64) / (capacity as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EDGES: [usize; 12] = [
        0,
        1,
        7,
        8,
        4095,
        4096,
        usize::MAX / 2,
        usize::MAX / 2 + 1,
        usize::MAX - 4096,
        usize::MAX - 8,
        usize::MAX - 1,
        usize::MAX,
    ];

    #[test]
    fn align_up_matches_wide_arithmetic() {
        for &addr in &EDGES {
            for shift in 0..usize::BITS {
                let align = 1usize << shift;
                let wide = (addr as u128).div_ceil(align as u128) * align as u128;
                let expect = usize::try_from(wide).ok();
                assert_eq!(
                    align_up(addr, align),
                    expect,
                    "addr={addr:#x} align={align:#x}"
                );
            }
        }
    }

    #[test]
    fn non_power_of_two_alignments_are_refused() {
        for align in [0usize, 3, 6, 12, usize::MAX] {
            assert_eq!(align_up(64, align), None);
            assert!(!is_aligned(64, align));
            assert_eq!(bump_up(0, 1024, 8, align), None);
        }
    }

    #[test]
    fn bump_never_wraps_or_exceeds_limit() {
        for &cursor in &EDGES {
            for &limit in &EDGES {
                for &size in &EDGES {
                    for shift in [0u32, 3, 12, usize::BITS - 1] {
                        let align = 1usize << shift;
                        let got = bump_up(cursor, limit, size, align);
                        let start = (cursor as u128).div_ceil(align as u128) * align as u128;
                        let end = start + size as u128;
                        let fits = end <= limit as u128;
                        match got {
                            Some(b) => {
                                assert!(fits);
                                assert_eq!((b.start as u128, b.end as u128), (start, end));
                                assert!(b.start >= cursor && b.end <= limit);
                                assert!(is_aligned(b.start, align));
                            }
                            None => assert!(!fits, "{cursor:#x} {limit:#x} {size:#x} {align:#x}"),
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn bump_pow2_agrees_with_bump_up_for_powers_of_two() {
        for &cursor in &EDGES {
            for &limit in &EDGES {
                for &size in &EDGES {
                    for shift in 0..usize::BITS {
                        let align = 1usize << shift;
                        assert_eq!(
                            bump_pow2(cursor, limit, size, align),
                            bump_up(cursor, limit, size, align),
                            "{cursor:#x} {limit:#x} {size:#x} {align:#x}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn bump_pow2_stays_in_bounds_for_any_alignment() {
        for &cursor in &EDGES {
            for &limit in &EDGES {
                for &size in &EDGES {
                    for &align in &EDGES {
                        if let Some(b) = bump_pow2(cursor, limit, size, align) {
                            assert!(b.start >= cursor && b.end <= limit && b.start <= b.end);
                            assert_eq!(b.end - b.start, size);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn examples_from_the_docs() {
        assert_eq!(
            bump_up(0x1001, 0x1100, 16, 8),
            Some(Bump {
                start: 0x1008,
                end: 0x1018
            })
        );
        assert_eq!(bump_up(usize::MAX - 3, usize::MAX, 16, 8), None);
        assert_eq!(align_up(13, 8), Some(16));
        assert_eq!(align_up(5, 3), None);
        assert!(is_aligned(4096, 4096) && !is_aligned(4100, 8));
        assert_eq!(bump_up(1, 64, 0, 64), Some(Bump { start: 64, end: 64 }));
        assert_eq!(resize_last(100, 16, 32, 4, 116, 0, 200), Some(132));
        assert_eq!(resize_last(100, 16, 32, 4, 120, 0, 200), None);
        assert_eq!(resize_last(100, 16, 32, 4, 116, 110, 200), None);
        assert_eq!(release_last(100, 16, 116, 0), Some(100));
        assert_eq!(release_last(100, 16, 116, 101), None);
        assert_eq!(utilization(256, 1024), 0.25);
    }

    #[test]
    fn exact_fit_and_one_past() {
        assert_eq!(bump_up(10, 20, 10, 1), Some(Bump { start: 10, end: 20 }));
        assert_eq!(bump_up(10, 20, 11, 1), None);
        assert_eq!(bump_up(9, 20, 10, 2), Some(Bump { start: 10, end: 20 }));
        assert_eq!(bump_up(11, 20, 8, 2), Some(Bump { start: 12, end: 20 }));
        assert_eq!(bump_up(11, 20, 9, 2), None);
    }

    #[test]
    fn resize_last_rules() {
        // shrink in place
        assert_eq!(resize_last(64, 32, 8, 8, 96, 0, 128), Some(72));
        // grow exactly to the limit, then one past
        assert_eq!(resize_last(64, 32, 64, 8, 96, 0, 128), Some(128));
        assert_eq!(resize_last(64, 32, 65, 8, 96, 0, 128), None);
        // stricter alignment that the start does not meet
        assert_eq!(resize_last(72, 8, 16, 16, 80, 0, 128), None);
        // sizes near usize::MAX
        assert_eq!(resize_last(64, usize::MAX, 8, 8, 96, 0, 128), None);
        assert_eq!(resize_last(64, 32, usize::MAX, 8, 96, 0, usize::MAX), None);
        // floor equal to start is allowed
        assert_eq!(resize_last(64, 32, 48, 8, 96, 64, 128), Some(112));
    }

    #[test]
    fn release_last_rules() {
        assert_eq!(release_last(0, 0, 0, 0), Some(0));
        assert_eq!(release_last(usize::MAX, 1, 0, 0), None);
        assert_eq!(release_last(8, 8, 16, 8), Some(8));
        assert_eq!(release_last(8, 8, 16, 9), None);
    }

    #[test]
    fn utilization_is_bounded() {
        assert_eq!(utilization(0, 10), 0.0);
        assert_eq!(utilization(10, 10), 1.0);
        assert_eq!(utilization(11, 10), 1.0);
        assert_eq!(utilization(usize::MAX, 0), 0.0);
    }

    // ---- bump_small ----

    #[test]
    fn agrees_with_bump_up_on_small_power_of_two_requests() {
        let max = 1 << 18;
        for cursor in [0usize, 1, 7, 4095, 4096, 0x7f00_0000_0001, usize::MAX - 100] {
            for limit in [
                cursor,
                cursor.saturating_add(64),
                cursor.saturating_add(1 << 20),
            ] {
                for size in [0usize, 1, 24, 4096, max, max + 1] {
                    for shift in 0..20 {
                        let align = 1usize << shift;
                        let expect = if size | align > max {
                            None
                        } else {
                            bump_up(cursor, limit, size, align).map(|b| (b.start, b.end))
                        };
                        assert_eq!(
                            bump_small(cursor, limit, size, align, max),
                            expect,
                            "{cursor:#x} {limit:#x} {size} {align}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn hostile_inputs_stay_inside_the_free_space() {
        let max = 1 << 18;
        for (cursor, limit, size, align) in [
            (100usize, 200usize, 10usize, 0usize), // zero alignment
            (1, 200, 10, 0),
            (100, 200, 10, 3), // not a power of two
            (100, 200, 10, 6),
            (usize::MAX - 5, usize::MAX, 4, 8), // near the top of the address space
            (usize::MAX, usize::MAX, 0, 1),
            (0, usize::MAX, usize::MAX, 1),
            (50, 10, 1, 1), // cursor past limit
        ] {
            if let Some((start, end)) = bump_small(cursor, limit, size, align, max) {
                assert!(cursor <= start && start <= end && end <= limit);
                assert_eq!(end - start, size);
            }
        }
    }
}
