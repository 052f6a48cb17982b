//! Bump arithmetic for the global allocator's fast path: safe, total, and shorter than
//! [`crate::bump::bump_up`] because it serves only small requests.
//!
//! `bump_up` accepts any size and alignment, so it checks that the alignment is a power of two
//! and guards two additions against overflow. Here both size and alignment are first bounded by a
//! small `max` (one `or` and one compare: `Layout` sizes and alignments above it go to the inner
//! allocator anyway), after which the padding is below `max` and only one overflow check remains.
//! A non-power-of-two alignment cannot occur (`Layout` forbids it); given one anyway, the block
//! still lies inside `[cursor, limit)`, just not aligned, so a caller can never hand out memory
//! outside its free space.

/// Places `size` bytes aligned to `align` in `[cursor, limit)`: `Some((start, end))`, or `None`
/// if it does not fit or `size | align > max` (`max` a power of two). Never wraps or panics.
#[inline(always)]
pub const fn bump_small(
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

#[cfg(test)]
mod tests {
    use super::bump_small;
    use crate::bump::bump_up;

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
