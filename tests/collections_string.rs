//! `collections::String` and `format_in!` on every allocator the crate hands out (`&Arena`, a
//! `with_arena` handle, a `with_arena_sized` handle) and on `Global`; refusals from a full
//! arena; spills through an outer scratch handle. Runs under Miri (`scripts/miri.sh`).

use allocator_api2::alloc::{Allocator, Global};
use allocator_api2::collections::TryReserveErrorKind;
use engram_kernels::collections::String;
use engram_kernels::{Arena, format_in, try_format_in, with_arena, with_arena_sized};
use std::fmt::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The same checks on any allocator.
fn exercise<A: Allocator + Clone>(a: A) {
    let mut s = String::new_in(a.clone());
    assert!(s.is_empty());
    assert_eq!((s.len(), s.capacity()), (0, 0));
    s.push_str("grüß");
    s.push(' ');
    s.push('🦀');
    assert_eq!(s.as_str(), "grüß 🦀");
    assert_eq!(s.len(), "grüß 🦀".len());
    assert!(s.capacity() >= s.len());
    assert_eq!(s.chars().count(), 6); // str methods through Deref
    assert_eq!(s.pop(), Some('🦀'));
    assert_eq!(s.pop(), Some(' '));
    s.truncate(4); // "gr" and the two bytes of "ü"
    assert_eq!(s, "grü");
    s.truncate(100); // longer than the text: nothing happens
    assert_eq!(s, "grü");
    s.as_mut_str().make_ascii_uppercase();
    assert_eq!(s, "GRü");
    let cap = s.capacity();
    s.clear();
    assert!(s.is_empty());
    assert_eq!(s.capacity(), cap);

    let (word, quoted) = ("node", "q\"");
    write!(s, "{word}-{:03}|{:>5}|{quoted:?}", 7, "ab").unwrap();
    assert_eq!(s, r#"node-007|   ab|"q\"""#);

    let n = 42;
    let f = format_in!(a.clone(), "n={n} hex={n:#x} {}", 1.5);
    assert_eq!(f, "n=42 hex=0x2a 1.5");
    assert_eq!(format_in!(a.clone(), "literal only"), "literal only");
    assert_eq!(try_format_in!(a.clone(), "{}", 'x').unwrap(), "x");
    assert_eq!(format!("[{f:>20}]"), "[   n=42 hex=0x2a 1.5]"); // Display honours padding
    assert_eq!(
        format!("{:?}", String::from_str_in("a\nb", a.clone())),
        r#""a\nb""#
    );

    let mut e = String::with_capacity_in(4, a.clone());
    assert!(e.capacity() >= 4);
    e.extend(['a', 'b']);
    e.extend(["cd", "", "é"]);
    e.extend(&['!']);
    assert_eq!(e, "abcdé!");
    let c = e.clone();
    assert_eq!(c, e);
    e.push('?');
    assert_ne!(c, e);
    assert_eq!(c, "abcdé!");
}

#[test]
fn works_on_a_fixed_arena() {
    let arena = Arena::with_capacity(8 << 10);
    exercise(&arena);
}

#[test]
fn works_on_scratch_handles() {
    with_arena(|s| exercise(s));
    with_arena_sized(2 << 20, |s| exercise(s));
}

#[test]
fn works_on_global() {
    exercise(Global);
}

#[test]
fn grows_in_place_in_an_arena() {
    // Pushing one byte at a time grows the most recent block in place: nothing is left behind.
    let arena = Arena::with_capacity(4096);
    let mut s = String::new_in(&arena);
    for i in 0..1000 {
        s.push(char::from(b'a' + (i % 26) as u8));
    }
    assert_eq!(s.len(), 1000);
    assert_eq!(arena.used(), s.capacity());
    assert!(
        s.bytes()
            .enumerate()
            .all(|(i, b)| b == b'a' + (i % 26) as u8)
    );
}

#[test]
fn compares_with_every_string_type_and_works_as_a_map_key() {
    let arena = Arena::with_capacity(64 << 10);
    let a = String::from_str_in("key", &arena);
    let g = String::from_str_in("key", Global);
    // Both directions, with each of the other string types.
    let std_key = std::string::String::from("key");
    assert!(a == g);
    assert!(g == a);
    assert!(a == "key");
    assert!("key" == a);
    assert!(a == *"key");
    assert!(*"key" == a);
    assert!(a == std_key);
    assert!(std_key == a);
    assert!(a != "kez");
    assert!(String::from_str_in("abc", Global) < String::from_str_in("abd", Global));
    let mut sorted = [
        String::from_str_in("b", Global),
        String::from_str_in("a", Global),
    ];
    sorted.sort();
    assert_eq!(sorted[0], "a");

    let mut map = hashbrown::HashMap::new_in(&arena);
    for word in ["to", "be", "or", "not", "to", "be"] {
        *map.entry(String::from_str_in(word, &arena)).or_insert(0) += 1;
    }
    assert_eq!(map.get("to"), Some(&2)); // looked up by &str: Hash and Eq agree with str's
    assert_eq!(map.get("not"), Some(&1));
    assert_eq!(map.get("xyz"), None);
    let as_ref: &str = a.as_ref();
    let bytes: &[u8] = a.as_ref();
    assert_eq!((as_ref, bytes), ("key", &b"key"[..]));
    assert_eq!(
        String::from_str_in("hi", Global).into_bytes().as_slice(),
        b"hi"
    );
}

#[test]
fn leak_lives_as_long_as_the_arena_borrow() {
    let mut arena = Arena::with_capacity(1024);
    let names: Vec<&str> = (0..4)
        .map(|i| &*format_in!(&arena, "name-{i}").leak())
        .collect();
    assert_eq!(names, ["name-0", "name-1", "name-2", "name-3"]);
    assert!(arena.used() >= 24);
    arena.reset();
    assert_eq!(arena.used(), 0);
}

fn panic_message(r: Result<(), Box<dyn std::any::Any + Send>>) -> std::string::String {
    let p = r.expect_err("should have panicked");
    p.downcast_ref::<std::string::String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn a_full_arena_refuses_cleanly() {
    let arena = Arena::with_capacity(16);
    let mut s = String::new_in(&arena);
    s.push_str("0123456789");
    // try_ forms: an error, and the text is unchanged.
    let e = s.try_push_str("this will not fit").unwrap_err();
    assert!(matches!(e.kind(), TryReserveErrorKind::AllocError { .. }));
    assert_eq!(s, "0123456789");
    assert!(s.try_reserve(1 << 20).is_err());
    assert!(matches!(
        s.try_reserve(usize::MAX).unwrap_err().kind(),
        TryReserveErrorKind::CapacityOverflow
    ));
    // fmt::Write reports the refusal as fmt::Error.
    assert!(write!(s, "{:>40}", "x").is_err());
    assert!(s.starts_with("0123456789"));
    // The panicking forms say what happened.
    let msg = panic_message(catch_unwind(AssertUnwindSafe(|| {
        s.push_str(&"x".repeat(64))
    })));
    assert!(msg.contains("refused") && msg.contains("try_"), "{msg}");
    let msg = panic_message(catch_unwind(AssertUnwindSafe(|| {
        let _ = format_in!(&arena, "{}", "y".repeat(64));
    })));
    assert!(msg.contains("refused"), "{msg}");
    assert!(try_format_in!(&arena, "{}", "y".repeat(64)).is_err());
    let msg = panic_message(catch_unwind(AssertUnwindSafe(|| {
        let _ = String::with_capacity_in(usize::MAX, &arena);
    })));
    assert!(msg.contains("capacity overflow"), "{msg}");
    // Zero capacity: an empty string needs nothing, a char needs a block.
    let empty = Arena::with_capacity(0);
    let mut z = String::new_in(&empty);
    z.push_str("");
    assert_eq!(z.capacity(), 0);
    assert!(z.try_push('x').is_err());
    assert!(try_format_in!(&empty, "").unwrap().is_empty());
}

#[test]
fn a_display_error_is_not_mistaken_for_a_refusal() {
    struct Broken;
    impl std::fmt::Display for Broken {
        fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            Err(std::fmt::Error)
        }
    }
    let msg = panic_message(catch_unwind(|| {
        let _ = try_format_in!(Global, "{}", Broken);
    }));
    assert!(msg.contains("formatting trait implementation"), "{msg}");
}

#[test]
#[should_panic(expected = "char boundary")]
fn truncate_inside_a_char_panics() {
    let mut s = String::from_str_in("ü", Global);
    s.truncate(1);
}

#[test]
fn spills_through_an_outer_handle_keep_their_text() {
    // While an inner scope is live, an outer handle cannot bump the arena: its string's growth
    // is served from the heap (Fallback policy), and must keep every byte.
    with_arena(|outer| {
        let mut s = String::new_in(outer);
        s.push_str("outer:");
        outer.scope(|inner| {
            let t = format_in!(inner, "{}", "inner text");
            for i in 0..200 {
                write!(s, "{i},").unwrap(); // grows outside the arena, repeatedly
            }
            assert_eq!(t, "inner text");
        });
        assert!(
            outer.stats().overflow_count >= 1,
            "the growth did take the overflow path"
        );
        assert!(s.starts_with("outer:0,1,2,"));
        assert!(s.ends_with(",198,199,"));
        let expected: std::string::String = (0..200).map(|i| format!("{i},")).collect();
        assert_eq!(&s[6..], expected);
        s.push_str("after");
        assert!(s.ends_with("199,after"));
    });
}
