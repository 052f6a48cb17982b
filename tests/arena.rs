//! The seed's arena test categories, plus the hostile inputs that broke other bump allocators.
//! Small enough to run under Miri (`scripts/miri.sh`).

use allocator_api2::alloc::{Allocator, Layout};
use allocator_api2::vec::Vec as AVec;
use engram_kernels::Arena;
use engram_kernels::ArenaAlloc;
use std::ptr::NonNull;

fn addr<T: ?Sized>(r: &T) -> usize {
    (r as *const T).cast::<u8>() as usize
}

// ---- basic allocation ----

#[test]
fn basic_values_and_slices_are_distinct_and_hold_their_contents() {
    let arena = Arena::with_capacity(1024);
    let a = arena.alloc(1u64);
    let b = arena.alloc(2u64);
    let s = arena.alloc_slice_copy(&[3u16, 4, 5]);
    let t = arena.alloc_str("six");
    *a += 10;
    assert_eq!((*a, *b, &*s, &*t), (11, 2, &[3u16, 4, 5][..], "six"));
    assert_ne!(addr(a), addr(b));
    assert_eq!(arena.used(), 8 + 8 + 6 + 3);
}

#[test]
fn single_byte_and_zero_bytes() {
    let arena = Arena::with_capacity(16);
    let zero = (&arena).allocate(Layout::new::<()>()).unwrap();
    assert_eq!(zero.len(), 0);
    assert_eq!(arena.used(), 0);
    arena.alloc(7u8);
    assert_eq!(arena.used(), 1);
}

#[test]
fn many_allocations_fill_the_arena_in_order() {
    let arena = Arena::with_capacity(64);
    let ptrs: Vec<usize> = (0..8).map(|i| addr(arena.alloc(i as u64))).collect();
    assert!(ptrs.windows(2).all(|w| w[1] == w[0] + 8));
    assert_eq!(arena.remaining(), 0);
}

// ---- alignment ----

fn check_align<T: Default>(arena: &Arena) {
    arena.alloc(1u8); // knock the cursor off alignment
    let p = arena.alloc(T::default());
    assert_eq!(
        addr(p) % align_of::<T>(),
        0,
        "{}",
        std::any::type_name::<T>()
    );
}

#[test]
fn alignment_for_every_primitive_type() {
    let arena = Arena::with_capacity(4096);
    check_align::<u8>(&arena);
    check_align::<u16>(&arena);
    check_align::<u32>(&arena);
    check_align::<u64>(&arena);
    check_align::<u128>(&arena);
    check_align::<usize>(&arena);
    check_align::<i8>(&arena);
    check_align::<i16>(&arena);
    check_align::<i32>(&arena);
    check_align::<i64>(&arena);
    check_align::<i128>(&arena);
    check_align::<isize>(&arena);
    check_align::<f32>(&arena);
    check_align::<f64>(&arena);
    check_align::<bool>(&arena);
    check_align::<char>(&arena);
}

#[test]
fn alignments_up_to_4096_are_absolute_and_padding_is_counted() {
    let arena = Arena::with_capacity(64 << 10);
    for shift in 0..=12 {
        let align = 1usize << shift;
        arena.alloc(0u8);
        let before = arena.used();
        let p = (&arena)
            .allocate(Layout::from_size_align(3, align).unwrap())
            .unwrap();
        let a = p.cast::<u8>().as_ptr() as usize;
        assert_eq!(a % align, 0, "align {align}");
        assert!(arena.used() - before >= 3 && arena.used() - before < 3 + align);
    }
}

#[test]
fn alignment_larger_than_the_buffer_own_alignment() {
    // Buffers are 64-aligned; 8192 forces padding inside the buffer, or a clean refusal.
    let arena = Arena::with_capacity(3 * 8192);
    let layout = Layout::from_size_align(16, 8192).unwrap();
    let p = (&arena).allocate(layout).unwrap();
    assert_eq!(p.cast::<u8>().as_ptr() as usize % 8192, 0);
    // A 128-byte buffer is only 64-aligned, so it may or may not hold an 8192-aligned block:
    // predict which from its address, and check the arena agrees either way.
    let tiny = Arena::with_capacity(128);
    let first = tiny.alloc(0u8) as *const u8 as usize; // offset 0: the buffer's start
    let end = first + 128;
    let aligned = (first + 1).next_multiple_of(8192);
    match (&tiny).allocate(layout) {
        Ok(p) => {
            assert!(aligned + 16 <= end, "served outside the buffer");
            assert_eq!(p.cast::<u8>().as_ptr() as usize, aligned);
            assert_eq!(
                (tiny.used(), tiny.overflow_count()),
                (aligned + 16 - first, 0)
            );
        }
        Err(_) => {
            assert!(aligned + 16 > end, "refused although an aligned block fits");
            assert_eq!((tiny.used(), tiny.overflow_count()), (1, 1));
        }
    }
}

// ---- overflow ----

#[test]
fn overflow_is_refused_counted_and_leaves_the_offset_unchanged() {
    let arena = Arena::with_capacity(100);
    arena.alloc([0u8; 60]);
    assert!(arena.try_alloc([0u8; 41]).is_err());
    assert!(arena.try_alloc_slice_fill_copy(41, 0u8).is_err());
    // 40 bytes remain, but 64-alignment pads the start past them (buffers are 64-aligned).
    assert!(
        (&arena)
            .allocate(Layout::from_size_align(40, 64).unwrap())
            .is_err()
    );
    assert_eq!(arena.used(), 60);
    assert_eq!(arena.overflow_count(), 3);
    // The remaining 40 bytes are still usable.
    assert!(arena.try_alloc([0u8; 40]).is_ok());
}

#[test]
fn sizes_and_alignments_near_usize_max_never_wrap() {
    let arena = Arena::with_capacity(256);
    arena.alloc(0u8);
    for size in [
        usize::MAX,
        usize::MAX - 1,
        isize::MAX as usize,
        isize::MAX as usize - 63,
    ] {
        for align in [1usize, 8, 4096] {
            if let Ok(layout) = Layout::from_size_align(size, align) {
                assert!((&arena).allocate(layout).is_err());
            }
        }
    }
    let max_align = Layout::from_size_align(1, 1usize << (usize::BITS - 2)).unwrap();
    assert!((&arena).allocate(max_align).is_err());
    assert!(arena.try_alloc_uninit_slice::<u64>(usize::MAX / 8).is_err());
    assert_eq!(arena.used(), 1);
    assert!(Arena::try_with_capacity(usize::MAX).is_err());
    assert!(Arena::try_with_capacity(isize::MAX as usize).is_err());
}

#[test]
#[should_panic(expected = "arena refused 32 bytes aligned to 1: 16 of 16 bytes remain")]
fn panicking_helpers_say_what_was_asked_and_what_remained() {
    Arena::with_capacity(16).alloc([0u8; 32]);
}

#[test]
#[should_panic(expected = "capacity overflow")]
fn slice_length_overflow_panics_with_a_clear_message() {
    Arena::with_capacity(16).alloc_uninit_slice::<u64>(usize::MAX);
}

// ---- exact capacity ----

#[test]
fn allocation_at_exactly_the_remaining_capacity() {
    let arena = Arena::with_capacity(96);
    arena.alloc([0u8; 40]);
    let rest = arena.remaining();
    assert_eq!(rest, 56);
    let s = arena.alloc_slice_fill_copy(rest, 0xABu8);
    assert_eq!(s.len(), 56);
    assert_eq!((arena.remaining(), arena.utilization()), (0, 1.0));
    assert!(arena.try_alloc(0u8).is_err());
    // zero-size still works in a full arena
    assert!(arena.try_alloc(()).is_ok());
}

// ---- reset and reuse ----

#[test]
fn reset_hands_out_the_same_addresses_again() {
    let mut arena = Arena::with_capacity(256);
    let first: Vec<usize> = (0..4).map(|i| addr(arena.alloc([i as u8; 24]))).collect();
    arena.reset();
    assert_eq!(arena.used(), 0);
    let again: Vec<usize> = (0..4).map(|i| addr(arena.alloc([i as u8; 24]))).collect();
    assert_eq!(first, again);
}

#[test]
fn reset_clears_overflows_but_keeps_the_high_water_mark() {
    let mut arena = Arena::with_capacity(64);
    arena.alloc([0u8; 50]);
    assert!(arena.try_alloc([0u8; 50]).is_err());
    arena.reset();
    assert_eq!((arena.overflow_count(), arena.high_water_mark()), (0, 50));
}

#[test]
fn zero_on_reset_clears_only_what_was_used() {
    let mut arena = Arena::with_capacity(64);
    arena.set_zero_on_reset(true);
    arena.alloc_slice_fill_copy(10, 0xFFu8);
    arena.reset();
    let bytes = arena.alloc_uninit_slice::<u8>(10);
    // SAFETY: the reset zeroed the 10 bytes used before it.
    assert!(bytes.iter().all(|b| unsafe { b.assume_init() } == 0));
}

// ---- utilization and high-water mark ----

#[test]
fn utilization_and_high_water_mark_track_use() {
    let mut arena = Arena::with_capacity(200);
    assert_eq!((arena.utilization(), arena.high_water_mark()), (0.0, 0));
    arena.alloc([0u8; 50]);
    assert_eq!(arena.utilization(), 0.25);
    {
        let v: AVec<u8, &Arena> = AVec::with_capacity_in(100, &arena);
        assert_eq!(v.capacity(), 100);
        assert_eq!(arena.high_water_mark(), 150);
    } // freed: it was the last block
    assert_eq!((arena.used(), arena.high_water_mark()), (50, 150));
    arena.reset();
    arena.alloc([0u8; 10]);
    let s = arena.stats();
    assert_eq!((s.used, s.high_water_mark, s.capacity), (10, 150, 200));
}

// ---- zero capacity ----

#[test]
fn zero_capacity_arena_refuses_everything_but_zero_size() {
    let arena = Arena::with_capacity(0);
    assert_eq!((arena.capacity(), arena.utilization()), (0, 0.0));
    assert!(arena.try_alloc(1u8).is_err());
    for align in [1usize, 2, 64, 4096] {
        let p = (&arena)
            .allocate(Layout::from_size_align(0, align).unwrap())
            .unwrap();
        assert_eq!(p.cast::<u8>().as_ptr() as usize % align, 0);
    }
    let unit: &mut () = arena.alloc(());
    *unit = ();
    assert_eq!(arena.used(), 0);
    assert_eq!(arena.overflow_count(), 1);
}

#[test]
fn zero_size_blocks_from_many_threads_touch_no_shared_state() {
    // Under Miri this also proves there is no write to a shared static (it would be a race).
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let arena = Arena::with_capacity(0);
                for _ in 0..8 {
                    let z = arena.alloc([0u64; 0]);
                    assert!(z.is_empty());
                }
                let fresh = Arena::with_capacity(32);
                fresh.alloc(());
                assert_eq!(fresh.used(), 0);
            });
        }
    });
}

// ---- the Allocator trait ----

#[test]
fn freeing_the_most_recent_block_reclaims_it_and_older_frees_do_not() {
    let arena = Arena::with_capacity(256);
    let l = Layout::from_size_align(32, 8).unwrap();
    let a = (&arena).allocate(l).unwrap().cast::<u8>();
    let b = (&arena).allocate(l).unwrap().cast::<u8>();
    // SAFETY: `a` is live and from this arena; it is not the most recent block.
    unsafe { (&arena).deallocate(a, l) };
    assert_eq!(arena.used(), 64);
    // SAFETY: `b` is live and the most recent block.
    unsafe { (&arena).deallocate(b, l) };
    assert_eq!(arena.used(), 32);
}

#[test]
fn grow_and_shrink_in_place_for_the_most_recent_block() {
    let arena = Arena::with_capacity(256);
    let small = Layout::from_size_align(16, 8).unwrap();
    let big = Layout::from_size_align(64, 8).unwrap();
    let p = (&arena).allocate(small).unwrap().cast::<u8>();
    // SAFETY: `p` is live with layout `small`; then with `big`.
    let grown = unsafe { (&arena).grow(p, small, big) }.unwrap();
    assert_eq!((grown.cast::<u8>(), grown.len(), arena.used()), (p, 64, 64));
    // SAFETY: as above.
    let shrunk = unsafe { (&arena).shrink(p, big, small) }.unwrap();
    assert_eq!((shrunk.cast::<u8>(), arena.used()), (p, 16));
}

#[test]
fn growing_an_older_block_moves_it_and_never_overwrites_the_younger_one() {
    let arena = Arena::with_capacity(256);
    let l8 = Layout::from_size_align(8, 8).unwrap();
    let l32 = Layout::from_size_align(32, 8).unwrap();
    let old = (&arena).allocate(l8).unwrap().cast::<u8>();
    // SAFETY: fresh 8-byte block.
    unsafe { old.as_ptr().copy_from_nonoverlapping([1u8; 8].as_ptr(), 8) };
    let young = arena.alloc(0xEEEE_EEEE_EEEE_EEEEu64);
    // SAFETY: `old` is live with layout `l8`.
    let moved = unsafe { (&arena).grow(old, l8, l32) }.unwrap().cast::<u8>();
    assert_ne!(moved, old);
    assert_eq!(*young, 0xEEEE_EEEE_EEEE_EEEE);
    // SAFETY: `moved` holds 32 bytes, the first 8 copied from `old`.
    assert_eq!(
        unsafe { std::slice::from_raw_parts(moved.as_ptr(), 8) },
        &[1u8; 8]
    );
}

#[test]
fn grow_at_the_end_of_the_buffer_copies_only_the_old_bytes() {
    // The classic bug copies `new.size()` bytes and reads past the buffer; Miri would catch it.
    let arena = Arena::with_capacity(64);
    let l = Layout::from_size_align(16, 8).unwrap();
    let first = (&arena).allocate(l).unwrap().cast::<u8>();
    let _pin = arena.alloc([0u8; 16]);
    let last = (&arena)
        .allocate(Layout::from_size_align(32, 8).unwrap())
        .unwrap();
    assert_eq!(arena.remaining(), 0);
    let _ = last;
    // `first` is not the most recent block and the arena is full: the move fails cleanly.
    // SAFETY: `first` is live with layout `l`.
    assert!(unsafe { (&arena).grow(first, l, Layout::from_size_align(48, 8).unwrap()) }.is_err());
    let big = Arena::with_capacity(4096);
    let near_end = Layout::from_size_align(8, 8).unwrap();
    let p = (&big).allocate(near_end).unwrap().cast::<u8>();
    big.alloc([0u8; 8]);
    // SAFETY: `p` is live with layout `near_end`; the arena has room to move it.
    let q = unsafe { (&big).grow(p, near_end, Layout::from_size_align(4000, 8).unwrap()) };
    assert!(q.is_ok());
}

#[test]
fn shrink_to_a_stricter_alignment_moves_when_needed() {
    let arena = Arena::with_capacity(1024);
    arena.alloc(0u8);
    let l = Layout::from_size_align(64, 1).unwrap();
    let p = (&arena).allocate(l).unwrap().cast::<u8>();
    assert_eq!(p.as_ptr() as usize % 2, 1);
    // SAFETY: `p` is live with layout `l`.
    let q = unsafe { (&arena).shrink(p, l, Layout::from_size_align(16, 64).unwrap()) }.unwrap();
    assert_eq!(q.cast::<u8>().as_ptr() as usize % 64, 0);
}

#[test]
fn allocate_zeroed_and_grow_zeroed_give_zeros_even_on_reused_memory() {
    let mut arena = Arena::with_capacity(256);
    arena.alloc_slice_fill_copy(128, 0xFFu8);
    arena.reset();
    let l = Layout::from_size_align(32, 8).unwrap();
    let p = (&arena).allocate_zeroed(l).unwrap();
    // SAFETY: 32 initialised bytes.
    assert!(unsafe { p.as_ref() }.iter().all(|&b| b == 0));
    let big = Layout::from_size_align(96, 8).unwrap();
    // SAFETY: `p` is live with layout `l`.
    let g = unsafe { (&arena).grow_zeroed(p.cast(), l, big) }.unwrap();
    // SAFETY: 96 initialised bytes.
    assert!(unsafe { g.as_ref() }.iter().all(|&b| b == 0));
}

#[test]
fn allocator_api2_vec_and_hashbrown_map_live_in_an_arena() {
    let arena = Arena::with_capacity(256 << 10);
    let mut v = AVec::new_in(&arena);
    for i in 0..1000u32 {
        v.push(i);
    }
    let mut m = hashbrown::HashMap::new_in(&arena);
    for i in 0..1000u64 {
        m.insert(i, i * i);
    }
    assert_eq!(v.iter().map(|&x| x as u64).sum::<u64>(), 499_500);
    assert_eq!((m.len(), m[&999]), (1000, 998_001));
    assert!(arena.used() > 1000 * 4);
    assert_eq!(arena.overflow_count(), 0);
}

// ---- scopes on a plain arena ----

#[test]
fn arena_scope_releases_only_its_own_blocks() {
    let mut arena = Arena::with_capacity(512);
    let keep = addr(arena.alloc(1u64));
    {
        let mut outer = arena.scope();
        outer.alloc([0u8; 100]);
        {
            let inner = outer.scope();
            inner.alloc([0u8; 100]);
            assert_eq!(inner.used(), 208);
        }
        assert_eq!(outer.used(), 108);
    }
    assert_eq!(arena.used(), 8);
    assert_eq!(
        addr(arena.alloc(0u64)),
        keep + 8,
        "the scope's space is handed out again"
    );
}

#[test]
fn forgetting_a_scope_guard_leaks_but_never_rewinds_wrongly() {
    let mut arena = Arena::with_capacity(512);
    arena.alloc(0u64);
    let guard = arena.scope();
    guard.alloc([0u8; 40]);
    std::mem::forget(guard);
    assert_eq!(
        arena.used(),
        48,
        "the forgotten scope's blocks stay until a reset"
    );
    let later = arena.alloc(5u32);
    assert_eq!(*later, 5);
    arena.reset();
    assert_eq!(arena.used(), 0);
}

#[test]
fn scope_of_a_reset_arena_does_not_move_the_cursor_up() {
    let mut arena = Arena::with_capacity(64);
    let mut scope = arena.scope();
    scope.alloc([0u8; 32]);
    {
        let inner = scope.scope();
        inner.alloc([0u8; 8]);
    }
    drop(scope);
    assert_eq!(arena.used(), 0);
}

#[test]
fn arena_moves_to_another_thread_with_its_contents() {
    let arena = Arena::with_capacity(64);
    let n = addr(arena.alloc(9u32));
    let used = std::thread::spawn(move || {
        arena.alloc(1u32);
        arena.used()
    })
    .join()
    .unwrap();
    assert_eq!(used, 8);
    assert_ne!(n, 0);
}

#[test]
fn raw_pointers_from_the_allocator_are_aligned_and_in_bounds() {
    let arena = Arena::with_capacity(4096);
    let mut blocks: Vec<(NonNull<[u8]>, usize)> = Vec::new();
    for (i, size) in [1usize, 3, 8, 17, 64, 100, 255]
        .iter()
        .cycle()
        .take(30)
        .enumerate()
    {
        let align = 1 << (i % 7);
        let l = Layout::from_size_align(*size, align).unwrap();
        if let Ok(p) = (&arena).allocate(l) {
            assert_eq!(p.cast::<u8>().as_ptr() as usize % align, 0);
            blocks.push((p, *size));
        }
    }
    blocks.sort_by_key(|(p, _)| p.cast::<u8>().as_ptr() as usize);
    for w in blocks.windows(2) {
        let end = w[0].0.cast::<u8>().as_ptr() as usize + w[0].1;
        assert!(
            end <= w[1].0.cast::<u8>().as_ptr() as usize,
            "blocks overlap"
        );
    }
}
