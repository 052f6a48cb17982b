//! Every typed helper of `ArenaAlloc`, on both handles (`&Arena` and a scratch handle), with
//! content checks; the refusal paths of the `try_` forms on a full fixed arena. Runs under Miri.

use engram_kernels::{Arena, ArenaAlloc, with_arena};
use std::cell::Cell;

/// `Clone` but not `Copy`, and owning no heap memory: values in an arena are never dropped, so a
/// clone that allocated (a `String`) would leak, and Miri would report it.
#[derive(Clone, Debug, PartialEq)]
struct Tag(u32, &'static str);

/// Exercises the whole family on one handle and checks every block's contents afterwards, so a
/// later allocation that overwrote an earlier block would show.
fn exercise<'a, H: ArenaAlloc<'a>>(h: H) {
    let v = h.alloc(7u64);
    let w = h.alloc_with(|| [3u16; 5]);
    let copy = h.alloc_slice_copy(&[1u32, 2, 3]);
    let names = [Tag(1, "a"), Tag(2, "bc")];
    let cloned = h.alloc_slice_clone(&names);
    let filled = h.alloc_slice_fill_copy(4, 9u8);
    let with = h.alloc_slice_fill_with(5, |i| i * i);
    let iter = h.alloc_slice_fill_iter((0..6u32).map(|i| u64::from(i) + 100));
    let s = h.alloc_str("engram");
    let f = h.alloc_fmt(format_args!("{}-{:03}", "node", 7));
    let uninit = h.alloc_uninit_slice::<u32>(3);
    for (i, x) in uninit.iter_mut().enumerate() {
        x.write(i as u32 * 10);
    }
    assert_eq!(*v, 7);
    assert_eq!(*w, [3; 5]);
    assert_eq!(copy, &[1, 2, 3]);
    assert_eq!(cloned, &names);
    assert_eq!(filled, &[9; 4]);
    assert_eq!(with, &[0, 1, 4, 9, 16]);
    assert_eq!(iter, &[100, 101, 102, 103, 104, 105]);
    assert_eq!(s, "engram");
    assert_eq!(f, "node-007");
    // SAFETY: every element was written above.
    assert_eq!(unsafe { uninit[2].assume_init() }, 20);
    assert_eq!(*h.try_alloc(1u8).unwrap(), 1);
    assert_eq!(*h.try_alloc_with(|| 2u8).unwrap(), 2);
    assert_eq!(h.try_alloc_str("x").unwrap(), "x");
    assert_eq!(h.try_alloc_fmt(format_args!("{}", 42)).unwrap(), "42");
    assert_eq!(
        h.try_alloc_slice_clone(&names[1..]).unwrap()[0],
        Tag(2, "bc")
    );
    assert_eq!(h.try_alloc_slice_fill_iter([5u8, 6]).unwrap(), &[5, 6]);
    // Empty requests of every kind succeed.
    assert!(h.alloc_slice_copy::<u64>(&[]).is_empty());
    assert_eq!(h.alloc_str(""), "");
    assert_eq!(h.alloc_fmt(format_args!("")), "");
    let _: &mut () = h.alloc(());
}

#[test]
fn every_helper_on_a_fixed_arena() {
    let arena = Arena::with_capacity(4096);
    exercise(&arena);
}

#[test]
fn every_helper_on_a_growable_arena() {
    let arena = Arena::new();
    exercise(&arena);
    // Long formatted text grows in place across chunk boundaries.
    let long = arena.alloc_fmt(format_args!("{:>10000}", "end"));
    assert_eq!(long.len(), 10_000);
    assert!(long.ends_with("end"));
}

#[test]
fn every_helper_on_a_scratch_handle_and_a_nested_one() {
    with_arena(|s| {
        exercise(s);
        s.scope(|inner| exercise(inner));
    });
}

#[test]
fn try_forms_refuse_on_a_full_fixed_arena_and_leave_it_usable() {
    let arena = Arena::with_capacity(16);
    let calls = Cell::new(0);
    assert!(
        arena
            .try_alloc_with(|| {
                calls.set(calls.get() + 1);
                [0u8; 32]
            })
            .is_err()
    );
    assert_eq!(
        calls.get(),
        0,
        "the closure does not run when the block is refused"
    );
    assert!(arena.try_alloc_str("seventeen bytes!!").is_err());
    assert!(arena.try_alloc_fmt(format_args!("{:>20}", 1)).is_err());
    assert!(
        arena
            .try_alloc_slice_clone(&[String::new(), String::new()])
            .is_err()
    );
    assert!(arena.try_alloc_slice_fill_iter(0..5u32).is_err());
    assert_eq!(arena.used(), 0, "refusals leave nothing behind");
    assert_eq!(arena.alloc_fmt(format_args!("{}", 12345)), "12345");
}

#[test]
#[should_panic(expected = "fewer items")]
fn an_iterator_that_lies_about_its_length_panics() {
    struct Liar(u8);
    impl Iterator for Liar {
        type Item = u8;
        fn next(&mut self) -> Option<u8> {
            self.0 = self.0.checked_sub(1)?;
            Some(self.0)
        }
    }
    impl ExactSizeIterator for Liar {
        fn len(&self) -> usize {
            10
        }
    }
    let arena = Arena::with_capacity(64);
    arena.alloc_slice_fill_iter(Liar(3));
}

#[test]
#[should_panic(expected = "formatting trait")]
fn a_failing_display_impl_panics_like_format() {
    struct Broken;
    impl std::fmt::Display for Broken {
        fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            Err(std::fmt::Error)
        }
    }
    let arena = Arena::with_capacity(64);
    arena.alloc_fmt(format_args!("{}", Broken));
}

#[test]
#[should_panic(expected = "arena refused")]
fn the_panicking_form_says_what_was_refused() {
    let arena = Arena::with_capacity(8);
    arena.alloc_str("more than eight bytes");
}
