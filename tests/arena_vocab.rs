//! The bumpalo vocabulary: `vec!`, `collect_in`, `into_bump_slice` / `into_bump_str`,
//! `alloc_slice_fill_default`, `allocated_bytes`, the prelude and a growable `Arena::new()`, on
//! `&Arena` and on the scratch handle.

use engram_kernels::allocator_api2::alloc::Global;
use engram_kernels::allocator_api2::vec::Vec;
use engram_kernels::collections::String;
use engram_kernels::prelude::*;
use std::cell::Cell;
use std::rc::Rc;

/// Counts its clones and drops; it owns no heap memory, so one left in an arena (whose values
/// are never dropped) leaks nothing that Miri would report.
struct Tracked<'c> {
    clones: &'c Cell<u32>,
    drops: &'c Cell<u32>,
}

impl Clone for Tracked<'_> {
    fn clone(&self) -> Self {
        self.clones.set(self.clones.get() + 1);
        Tracked {
            clones: self.clones,
            drops: self.drops,
        }
    }
}

impl Drop for Tracked<'_> {
    fn drop(&mut self) {
        self.drops.set(self.drops.get() + 1);
    }
}

/// An iterator that hides its length: `size_hint` is `(0, None)`.
fn no_hint<T>(items: impl IntoIterator<Item = T>) -> impl Iterator<Item = T> {
    let mut inner = items.into_iter();
    std::iter::from_fn(move || inner.next())
}

#[test]
fn vec_macro_lists_zero_one_and_many_elements() {
    let arena = Arena::new();
    let empty: Vec<u64, _> = engram_kernels::vec![in &arena];
    assert!(empty.is_empty());
    assert_eq!(empty.capacity(), 0);
    assert_eq!(arena.used(), 0);

    let one = engram_kernels::vec![in &arena; 42u16];
    assert_eq!(one, [42]);
    let many = engram_kernels::vec![in &arena; 1u32, 2, 3, 4, 5,];
    assert_eq!(many, [1, 2, 3, 4, 5]);
    assert_eq!(
        many.capacity(),
        5,
        "one reservation of exactly the listed count"
    );
}

#[test]
fn vec_macro_repeat_form_clones_and_counts() {
    let arena = Arena::new();
    let zeros = engram_kernels::vec![in &arena; 0u8; 1000];
    assert_eq!(zeros.len(), 1000);
    assert!(zeros.iter().all(|&b| b == 0));

    let none: Vec<u8, _> = engram_kernels::vec![in &arena; 7; 0];
    assert!(none.is_empty());

    // n - 1 clones and the element itself: the Rc count shows every value is alive once.
    let shared = Rc::new(5);
    let rcs = engram_kernels::vec![in &arena; Rc::clone(&shared); 3];
    assert_eq!(Rc::strong_count(&shared), 4);
    drop(rcs);
    assert_eq!(Rc::strong_count(&shared), 1);

    // With n = 0 the element is dropped, not leaked.
    let zero = engram_kernels::vec![in &arena; Rc::clone(&shared); 0];
    assert!(zero.is_empty());
    assert_eq!(Rc::strong_count(&shared), 1);
}

#[test]
fn vec_macro_evaluates_each_argument_once() {
    let calls = Cell::new(0);
    let next = || {
        calls.set(calls.get() + 1);
        calls.get()
    };
    let arena = Arena::new();
    let v = engram_kernels::vec![in &arena; next(); next() + 2];
    assert_eq!(calls.get(), 2);
    assert_eq!(v, [1, 1, 1, 1]);
}

#[test]
fn vec_macro_passes_other_input_to_the_standard_macro() {
    use engram_kernels::vec;
    let heap: std::vec::Vec<i32> = vec![1, 2, 3];
    let repeated: std::vec::Vec<char> = vec!['x'; 2];
    assert_eq!((heap, repeated), (std::vec![1, 2, 3], std::vec!['x', 'x']));
}

#[test]
fn vec_macro_works_with_scratch_and_global() {
    let sum = with_arena(|scratch| {
        let v = engram_kernels::vec![in scratch; 1u64, 2, 3];
        let w = engram_kernels::vec![in scratch; 10u64; 3];
        v.iter().chain(w.iter()).sum::<u64>()
    });
    assert_eq!(sum, 36);
    let g = engram_kernels::vec![in Global; "a", "b"];
    assert_eq!(g, ["a", "b"]);
}

#[test]
fn vec_macro_holds_zero_sized_values() {
    let arena = Arena::with_capacity(0);
    let units = engram_kernels::vec![in &arena; (); 10_000];
    assert_eq!(units.len(), 10_000);
    let listed = engram_kernels::vec![in &arena; (), ()];
    assert_eq!(listed.len(), 2);
    assert_eq!(arena.used(), 0, "zero-size values take no arena memory");
}

#[test]
fn collect_in_a_vec_with_and_without_a_size_hint() {
    let arena = Arena::new();
    let hinted: Vec<u32, _> = (0..100u32).collect_in(&arena);
    assert_eq!(no_hint(0..100u32).size_hint(), (0, None));
    let hidden: Vec<u32, _> = no_hint(0..100u32).collect_in(&arena);
    assert_eq!(hinted, hidden);
    assert_eq!(hidden.iter().sum::<u32>(), 4950);

    let empty: Vec<u32, _> = no_hint(std::iter::empty()).collect_in(&arena);
    assert!(empty.is_empty());
}

#[test]
fn collect_in_a_fixed_arena_grows_the_newest_block_in_place() {
    // 4000 bytes of u32 collected from an iterator that hides its length: doubling copies would
    // need more than the 4096 bytes, so this fits only if growth extends the block in place.
    let arena = Arena::with_capacity(4096);
    let v: Vec<u32, _> = no_hint(0..1000u32).collect_in(&arena);
    assert_eq!(v.len(), 1000);
    assert_eq!(v[999], 999);
    assert!(arena.used() <= 4096);
}

#[test]
fn collect_in_strings_from_chars_and_strs() {
    let arena = Arena::new();
    let upper: String<_> = "arena"
        .chars()
        .map(|c| c.to_ascii_uppercase())
        .collect_in(&arena);
    assert_eq!(upper, "ARENA");
    let chars = ['é', 'ß', '✓'];
    let by_ref: String<_> = chars.iter().collect_in(&arena);
    assert_eq!(by_ref, "éß✓");
    let joined: String<_> = no_hint(["to", " ", "be"]).collect_in(&arena);
    assert_eq!(joined, "to be");
    let empty: String<_> = std::iter::empty::<char>().collect_in(&arena);
    assert!(empty.is_empty());
}

#[test]
fn collect_in_option_and_result_stop_at_the_first_failure() {
    let arena = Arena::new();
    let pulled = Cell::new(0);
    let items = [Ok(1u8), Err("bad"), Ok(3)].into_iter().inspect(|_| {
        pulled.set(pulled.get() + 1);
    });
    let r: Result<Vec<u8, _>, &str> = items.collect_in(&arena);
    assert_eq!(r.unwrap_err(), "bad");
    assert_eq!(pulled.get(), 2, "nothing is pulled after the first Err");

    let ok: Result<Vec<u8, _>, &str> = [Ok(1u8), Ok(2)].into_iter().collect_in(&arena);
    assert_eq!(ok.unwrap(), [1, 2]);

    let some: Option<String<_>> = [Some('a'), Some('b')].into_iter().collect_in(&arena);
    assert_eq!(some.unwrap(), "ab");
    let none: Option<Vec<u8, _>> = [Some(1u8), None].into_iter().collect_in(&arena);
    assert!(none.is_none());
}

#[test]
fn collect_in_on_the_scratch_handle() {
    let (len, last) = with_arena(|scratch| {
        let v: Vec<usize, _> = no_hint(0..2_000).map(|i| i * 2).collect_in(scratch);
        let s: String<_> = no_hint("xyz".chars()).collect_in(scratch);
        (v.len(), s.chars().last())
    });
    assert_eq!((len, last), (2_000, Some('z')));
}

#[test]
fn collect_in_zero_sized_items() {
    let arena = Arena::with_capacity(0);
    let v: Vec<(), _> = no_hint(std::iter::repeat_n((), 500)).collect_in(&arena);
    assert_eq!(v.len(), 500);
}

#[cfg(feature = "hashbrown")]
#[test]
fn collect_in_hashbrown_maps_and_sets() {
    use hashbrown::{DefaultHashBuilder, HashMap, HashSet};
    let arena = Arena::new();
    let words = "a b a c b a";
    let map: HashMap<&str, usize, DefaultHashBuilder, _> = words
        .split(' ')
        .enumerate()
        .map(|(i, w)| (w, i))
        .collect_in(&arena);
    assert_eq!(map.len(), 3);
    assert_eq!(map["a"], 5, "a later value replaces an earlier one");
    let set: HashSet<&str, DefaultHashBuilder, _> = no_hint(words.split(' ')).collect_in(&arena);
    assert_eq!(set.len(), 3);
    assert!(set.contains("c"));
}

#[test]
fn a_vec_turned_into_a_slice_survives_further_allocations() {
    let arena = Arena::new();
    let mut v = Vec::new_in(&arena);
    v.extend(0..64u64);
    let slice: &[u64] = v.into_bump_slice();
    let before = slice.as_ptr();
    // Many more blocks, through growth into new chunks.
    for i in 0..200u64 {
        arena.alloc_slice_fill_copy(100, i);
        let _churn = engram_kernels::vec![in &arena; i; 10];
    }
    assert_eq!(slice.as_ptr(), before);
    assert!(slice.iter().copied().eq(0..64));
}

#[test]
fn into_bump_slice_gives_spare_capacity_back() {
    let arena = Arena::with_capacity(1024);
    let mut v: Vec<u8, _> = Vec::with_capacity_in(512, &arena);
    v.extend_from_slice(b"abc");
    let slice = v.into_bump_slice_mut();
    assert_eq!(slice, b"abc");
    assert_eq!(
        arena.used(),
        3,
        "the newest block shrinks in place to its length"
    );
    slice[0] = b'x';
    let next = arena.alloc(9u8);
    assert_eq!((&*slice, *next), (&b"xbc"[..], 9));
}

#[test]
fn into_bump_slice_of_empty_and_zero_sized() {
    let arena = Arena::with_capacity(64);
    let empty: &[u32] = Vec::new_in(&arena).into_bump_slice();
    assert!(empty.is_empty());
    let emptied: &[u32] = {
        let mut v = engram_kernels::vec![in &arena; 1u32, 2];
        v.clear();
        v.into_bump_slice()
    };
    assert!(emptied.is_empty());
    let units: &mut [()] = engram_kernels::vec![in &arena; (); 7].into_bump_slice_mut();
    assert_eq!(units.len(), 7);
    assert_eq!(arena.used(), 0, "an emptied vector gave its block back");
}

#[test]
fn into_bump_slice_never_drops_the_values() {
    let (clones, drops) = (Cell::new(0), Cell::new(0));
    let arena = Arena::new();
    let tracked = Tracked {
        clones: &clones,
        drops: &drops,
    };
    let slice = engram_kernels::vec![in &arena; tracked; 3].into_bump_slice();
    assert_eq!(slice.len(), 3);
    assert_eq!((clones.get(), drops.get()), (2, 0));
    drop(arena);
    assert_eq!(drops.get(), 0, "the arena never runs destructors");
}

#[test]
fn into_bump_str_survives_further_allocations() {
    let arena = Arena::new();
    let mut names = Vec::new_in(&arena);
    for i in 0..200 {
        let s: &str = format_in!(&arena, "node-{i:04}").into_bump_str();
        names.push(s);
    }
    let names = names.into_bump_slice();
    assert_eq!(names[0], "node-0000");
    assert_eq!(names[199], "node-0199");
    assert!(
        names
            .iter()
            .enumerate()
            .all(|(i, n)| *n == format!("node-{i:04}"))
    );

    let loud = String::from_str_in("quiet", &arena).into_bump_str_mut();
    loud.make_ascii_uppercase();
    assert_eq!(loud, "QUIET");
}

#[test]
fn into_bump_on_the_scratch_handle() {
    let total = with_arena(|scratch| {
        let evens: &[u32] = no_hint(0..50u32)
            .filter(|n| n % 2 == 0)
            .collect_in::<Vec<_, _>>(scratch)
            .into_bump_slice();
        let label: &str = format_in!(scratch, "{} evens", evens.len()).into_bump_str();
        scratch.alloc_slice_fill_copy(10_000, 0u8); // more allocations after both
        assert_eq!(label, "25 evens");
        evens.iter().sum::<u32>()
    });
    assert_eq!(total, 600);
}

#[test]
fn into_bump_in_an_arena_scope() {
    let mut arena = Arena::new();
    arena.alloc(1u8);
    let used = arena.used();
    {
        let scope = arena.scope();
        let s: &[u16] = engram_kernels::vec![in &*scope; 7u16; 100].into_bump_slice();
        assert_eq!(s.iter().map(|&x| u32::from(x)).sum::<u32>(), 700);
    }
    assert_eq!(arena.used(), used, "the scope released the slice's block");
}

#[test]
fn alloc_slice_fill_default_on_both_handles() {
    let arena = Arena::new();
    let words: &mut [std::string::String] = arena.alloc_slice_fill_default(3);
    words[1].push_str("mid");
    assert_eq!(words, ["", "mid", ""]);
    drop(std::mem::take(&mut words[1])); // the arena would never free its heap buffer
    let none: &mut [u64] = arena.alloc_slice_fill_default(0);
    assert!(none.is_empty());
    let units: &mut [()] = arena.alloc_slice_fill_default(10);
    assert_eq!(units.len(), 10);
    with_arena(|scratch| {
        let grid = scratch.alloc_slice_fill_default::<[f32; 4]>(8);
        assert!(grid.iter().all(|row| *row == [0.0; 4]));
        assert_eq!(
            scratch.try_alloc_slice_fill_default::<u8>(5).unwrap(),
            &[0; 5]
        );
    });
}

#[test]
fn alloc_slice_fill_clone_clones_the_value_each_time() {
    let (clones, drops) = (Cell::new(0), Cell::new(0));
    let arena = Arena::new();
    let original = Tracked {
        clones: &clones,
        drops: &drops,
    };
    let copies = arena.alloc_slice_fill_clone(3, &original);
    assert_eq!(copies.len(), 3);
    assert_eq!((clones.get(), drops.get()), (3, 0));
    drop(original);
    assert_eq!(drops.get(), 1, "only the original is dropped");
    with_arena(|scratch| {
        let rows = scratch.alloc_slice_fill_clone(2, &std::vec![1u8, 2]);
        rows[0].push(3);
        assert_eq!(rows, [std::vec![1, 2, 3], std::vec![1, 2]]);
        rows.iter_mut().for_each(|row| drop(std::mem::take(row)));
        assert!(
            scratch
                .try_alloc_slice_fill_clone(0, &'x')
                .unwrap()
                .is_empty()
        );
    });
    let small = Arena::with_capacity(8);
    assert!(small.try_alloc_slice_fill_clone(3, &0u32).is_err());
}

#[test]
fn try_alloc_slice_fill_default_refuses_cleanly() {
    let arena = Arena::with_capacity(16);
    assert!(arena.try_alloc_slice_fill_default::<u64>(3).is_err());
    assert!(
        arena
            .try_alloc_slice_fill_default::<u64>(usize::MAX)
            .is_err()
    );
    assert_eq!(arena.used(), 0);
    assert_eq!(
        arena.try_alloc_slice_fill_default::<u64>(2).unwrap(),
        &[0, 0]
    );
}

#[test]
#[should_panic(expected = "refused")]
fn alloc_slice_fill_default_panics_when_refused() {
    let arena = Arena::with_capacity(8);
    arena.alloc_slice_fill_default::<u32>(3);
}

#[test]
fn new_and_default_are_growable() {
    for arena in [Arena::new(), Arena::default()] {
        assert_eq!((arena.capacity(), arena.allocated_bytes()), (0, 0));
        let big = arena.alloc_slice_fill_copy(16 << 10, 1u8); // beyond the 4 KiB first chunk
        assert_eq!(big.len(), 16 << 10);
        assert!(arena.capacity() >= 16 << 10);
        assert_eq!(arena.overflow_count(), 0);
    }
}

#[test]
fn allocated_bytes_counts_chunks_held_not_bytes_used() {
    let mut arena = Arena::new();
    arena.alloc(1u8);
    assert!(arena.allocated_bytes() >= arena.used());
    assert_eq!(arena.allocated_bytes(), arena.capacity());
    // More than the current chunk has left, whatever size the pool gave it.
    let need = arena.remaining() + (64 << 10);
    {
        let scope = arena.scope();
        scope.alloc_slice_fill_copy(need, 0u8);
        assert_eq!(scope.allocated_bytes(), scope.capacity());
    }
    // The scope's chunk is kept as a spare: held (and limited), not part of the capacity.
    assert!(
        arena.allocated_bytes() >= arena.capacity() + need,
        "held {} bytes, capacity {}",
        arena.allocated_bytes(),
        arena.capacity()
    );
    arena.reset();
    assert_eq!(arena.allocated_bytes(), arena.capacity());

    let fixed = Arena::with_capacity(100);
    assert_eq!(fixed.allocated_bytes(), 100);
}

#[test]
fn allocated_bytes_stays_under_the_allocation_limit() {
    let mut arena = Arena::new();
    arena.set_allocation_limit(Some(32 << 10));
    let mut total = 0usize;
    while let Ok(block) = arena.try_alloc_slice_fill_copy(1000, 0u8) {
        total += block.len();
    }
    assert!(total > 0);
    assert!(arena.allocated_bytes() <= 32 << 10);
    assert!(arena.allocated_bytes() >= total);
}

#[test]
fn growable_with_capacity_starts_with_its_chunk_and_grows_past_it() {
    let mut arena = Arena::growable_with_capacity(8 << 10);
    assert_eq!(arena.capacity(), 8 << 10);
    // The first chunk serves its bytes without growth...
    let first = arena.alloc_slice_fill_copy(8 << 10, 7u8);
    assert_eq!(arena.capacity(), 8 << 10);
    assert_eq!(arena.used(), 8 << 10);
    // ...and the arena grows past it instead of refusing, leaving the first bytes intact.
    let more = arena.alloc_slice_fill_copy(20 << 10, 9u8);
    assert!(arena.capacity() >= 28 << 10, "{}", arena.capacity());
    assert!(first.iter().all(|&b| b == 7) && more.iter().all(|&b| b == 9));
    arena.reset();
    assert_eq!(arena.used(), 0);
    assert!(arena.capacity() >= 20 << 10, "the largest chunk is kept");

    assert_eq!(Arena::growable_with_capacity(0).capacity(), 0);
    assert!(Arena::try_growable_with_capacity(usize::MAX).is_err());
    assert!(Arena::try_growable_with_capacity(isize::MAX as usize + 1).is_err());
}
