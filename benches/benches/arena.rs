//! Arena-core allocation speed, side by side with its peers in one run (issue 2, "Performance").
//!
//! Every group's members run the same workload with the same per-iteration count and report
//! `Throughput::Elements`, so criterion's "elem/s" (or time / count) compares them directly:
//!
//! * `alloc16`: `N` 16-byte blocks per iteration, each written once and passed to `black_box`,
//!   then everything is released (reset, scope exit or `free`).
//! * `mixed`: the same with sizes cycling through a fixed pseudo-random table of 8..=256 bytes
//!   (alignment 8, so odd sizes make the next block pay alignment padding); the first 8 bytes of
//!   each block are written.
//! * `scope`: entering and leaving an (almost) empty scope; one element = one enter + exit.
//! * `hashmap`: 10,000 inserts into a `hashbrown::HashMap<u64, u64>` in each allocator.
//!
//! Run: `cargo bench -p engram-bench --bench arena -- --warm-up-time 1 --measurement-time 3`. Times are this
//! thread's CPU time (see `support/clock.rs`); `ENGRAM_BENCH_CLOCK=wall` measures wall time.

#[path = "support/clock.rs"]
mod clock;
#[path = "support/peers.rs"]
mod peers;

use allocator_api2::alloc::{Allocator, Layout};
use clock::BenchClock;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use engram_kernels::{Arena, ArenaAlloc, with_arena, with_arena_sized};
use peers::{HandBump, mixed_layouts};
use std::alloc::{GlobalAlloc, System};
use std::hint::black_box;
use std::ptr::NonNull;

/// Allocations per iteration in `alloc16` and `mixed`.
const N: usize = 1000;
/// Inserts per iteration in `hashmap`.
const INSERTS: u64 = 10_000;
/// Capacity of every pre-sized arena: room for `N` blocks of the largest mixed size.
const CAP: usize = 1 << 20;

type Group<'a> = BenchmarkGroup<'a, BenchClock>;

const L16: Layout = Layout::new::<[u8; 16]>();

/// Writes a block's first bytes once and hides the pointer from the optimiser.
#[inline(always)]
fn touch16(p: NonNull<u8>) {
    // SAFETY: every caller passes a fresh block of at least 16 bytes, aligned to 1.
    unsafe { p.cast::<[u8; 16]>().as_ptr().write([0; 16]) };
    black_box(p);
}

#[inline(always)]
fn touch8(p: NonNull<u8>, i: usize) {
    // SAFETY: every caller passes a fresh block of at least 8 bytes, aligned to 8.
    unsafe { p.cast::<u64>().as_ptr().write(i as u64) };
    black_box(p);
}

fn alloc16(c: &mut Criterion<BenchClock>) {
    let mut g = c.benchmark_group("alloc16");
    g.throughput(Throughput::Elements(N as u64));

    let mut arena = Arena::with_capacity(CAP);
    g.bench_function("arena_alloc", |b| {
        b.iter(|| {
            for _ in 0..N {
                black_box(arena.alloc([0u8; 16]));
            }
            arena.reset();
        })
    });
    g.bench_function("arena_allocate_layout", |b| {
        b.iter(|| {
            let a = &arena;
            for _ in 0..N {
                touch16(a.allocate(L16).unwrap().cast());
            }
            arena.reset();
        })
    });
    drop(arena);

    g.bench_function("with_arena_alloc", |b| {
        b.iter(|| {
            with_arena(|s| {
                for _ in 0..N {
                    black_box(s.alloc([0u8; 16]));
                }
            })
        })
    });
    g.bench_function("with_arena_allocate_layout", |b| {
        b.iter(|| {
            with_arena(|s| {
                for _ in 0..N {
                    touch16(s.allocate(L16).unwrap().cast());
                }
            })
        })
    });

    let mut bump = bumpalo::Bump::with_capacity(CAP);
    g.bench_function("bumpalo_alloc", |b| {
        b.iter(|| {
            for _ in 0..N {
                black_box(bump.alloc([0u8; 16]));
            }
            bump.reset();
        })
    });
    g.bench_function("bumpalo_alloc_layout", |b| {
        b.iter(|| {
            for _ in 0..N {
                touch16(bump.alloc_layout(L16));
            }
            bump.reset();
        })
    });
    drop(bump);

    let mut bs: bump_scope::Bump = bump_scope::Bump::with_size(CAP);
    g.bench_function("bump_scope_alloc", |b| {
        b.iter(|| {
            for _ in 0..N {
                black_box(bs.alloc([0u8; 16]).into_mut());
            }
            bs.reset();
        })
    });
    drop(bs);

    let mut hand = HandBump::with_capacity(CAP);
    g.bench_function("hand_bump", |b| {
        b.iter(|| {
            for _ in 0..N {
                touch16(hand.alloc(L16));
            }
            hand.reset();
        })
    });

    malloc_members(&mut g, &vec![L16; N], touch_all16);
    g.finish();
}

fn touch_all16(p: NonNull<u8>, _: usize) {
    touch16(p)
}

/// glibc (`System` on Linux) in two shapes: `N` live blocks freed afterwards, as an arena holds
/// them, and each block freed at once (tcache's best case).
fn malloc_members(g: &mut Group<'_>, layouts: &[Layout], touch: fn(NonNull<u8>, usize)) {
    let mut live: Vec<(*mut u8, Layout)> = Vec::with_capacity(layouts.len());
    g.bench_function("glibc_malloc_then_free_all", |b| {
        b.iter(|| {
            for (i, &l) in layouts.iter().enumerate() {
                // SAFETY: every layout here has a non-zero size.
                let p = unsafe { System.alloc(l) };
                touch(NonNull::new(p).expect("out of memory"), i);
                live.push((p, l));
            }
            for (p, l) in live.drain(..) {
                // SAFETY: `p` was allocated just above by `System` with `l`, and freed once.
                unsafe { System.dealloc(p, l) };
            }
        })
    });
    g.bench_function("glibc_malloc_free_pairs", |b| {
        b.iter(|| {
            for (i, &l) in layouts.iter().enumerate() {
                // SAFETY: as above.
                let p = unsafe { System.alloc(l) };
                touch(NonNull::new(p).expect("out of memory"), i);
                // SAFETY: as above.
                unsafe { System.dealloc(p, l) };
            }
        })
    });
}

fn mixed(c: &mut Criterion<BenchClock>) {
    let layouts = mixed_layouts(N);
    let mut g = c.benchmark_group("mixed");
    g.throughput(Throughput::Elements(N as u64));

    let mut arena = Arena::with_capacity(CAP);
    g.bench_function("arena_allocate_layout", |b| {
        b.iter(|| {
            let a = &arena;
            for (i, &l) in layouts.iter().enumerate() {
                touch8(a.allocate(l).unwrap().cast(), i);
            }
            arena.reset();
        })
    });
    drop(arena);

    g.bench_function("with_arena_allocate_layout", |b| {
        b.iter(|| {
            with_arena(|s| {
                for (i, &l) in layouts.iter().enumerate() {
                    touch8(s.allocate(l).unwrap().cast(), i);
                }
            })
        })
    });

    let mut bump = bumpalo::Bump::with_capacity(CAP);
    g.bench_function("bumpalo_alloc_layout", |b| {
        b.iter(|| {
            for (i, &l) in layouts.iter().enumerate() {
                touch8(bump.alloc_layout(l), i);
            }
            bump.reset();
        })
    });
    drop(bump);

    let mut bs: bump_scope::Bump = bump_scope::Bump::with_size(CAP);
    g.bench_function("bump_scope_allocate_layout", |b| {
        use bump_scope::traits::BumpAllocatorTyped;
        b.iter(|| {
            for (i, &l) in layouts.iter().enumerate() {
                touch8(bs.allocate_layout(l), i);
            }
            bs.reset();
        })
    });
    drop(bs);

    let mut hand = HandBump::with_capacity(CAP);
    g.bench_function("hand_bump", |b| {
        b.iter(|| {
            for (i, &l) in layouts.iter().enumerate() {
                touch8(hand.alloc(l), i);
            }
            hand.reset();
        })
    });

    malloc_members(&mut g, &layouts, touch8);
    g.finish();
}

fn scope(c: &mut Criterion<BenchClock>) {
    let mut g = c.benchmark_group("scope");
    g.throughput(Throughput::Elements(1));
    // The thread arena exists before the first measurement, as it does after a thread's first
    // kernel call.
    with_arena(|s| {
        black_box(s.alloc(0u8));
    });

    g.bench_function("with_arena_empty", |b| {
        b.iter(|| {
            with_arena(|s| {
                black_box(s);
            })
        })
    });
    g.bench_function("with_arena_one_alloc16", |b| {
        b.iter(|| with_arena(|s| black_box(s.alloc([0u8; 16])).len()))
    });
    g.bench_function("nested_with_arena_empty", |b| {
        with_arena(|_outer| {
            b.iter(|| {
                with_arena(|s| {
                    black_box(s);
                })
            })
        })
    });
    g.bench_function("nested_scratch_scope_empty", |b| {
        with_arena(|outer| {
            b.iter(|| {
                outer.scope(|s| {
                    black_box(s);
                })
            })
        })
    });
    g.bench_function("nested_scratch_scope_one_alloc16", |b| {
        with_arena(|outer| b.iter(|| outer.scope(|s| black_box(s.alloc([0u8; 16])).len())))
    });
    g.bench_function("with_arena_sized_1mib_empty", |b| {
        b.iter(|| {
            with_arena_sized(1 << 20, |s| {
                black_box(s);
            })
        })
    });

    let mut arena = Arena::with_capacity(CAP);
    g.bench_function("arena_scope_empty", |b| {
        b.iter(|| {
            let s = arena.scope();
            black_box(&*s);
        })
    });
    drop(arena);

    let mut bs: bump_scope::Bump = bump_scope::Bump::with_size(CAP);
    g.bench_function("bump_scope_scoped_empty", |b| {
        b.iter(|| {
            bs.scoped(|s| {
                black_box(&*s);
            })
        })
    });
    g.bench_function("bump_scope_scoped_one_alloc16", |b| {
        b.iter(|| bs.scoped(|s| black_box(s.alloc([0u8; 16]).into_mut()).len()))
    });
    g.finish();
}

/// Allocations in `loop32k`: the exact loop users write, one scope, 32k `allocate` calls.
const LOOP: usize = 32 * 1024;

/// The loop: `s.allocate(layout)` 32k times inside one scope, each block written once.
/// Run it under `--profile bench-lto` too: fat LTO changes this loop's code completely.
fn loop32k(c: &mut Criterion<BenchClock>) {
    let mut g = c.benchmark_group("loop32k");
    g.throughput(Throughput::Elements(LOOP as u64));
    g.bench_function("with_arena_allocate", |b| {
        b.iter(|| {
            with_arena(|s| {
                for _ in 0..LOOP {
                    touch16(s.allocate(L16).unwrap().cast());
                }
            })
        })
    });
    let mut arena = Arena::with_capacity(LOOP * 16);
    g.bench_function("arena_fixed_allocate", |b| {
        b.iter(|| {
            let a = &arena;
            for _ in 0..LOOP {
                touch16(a.allocate(L16).unwrap().cast());
            }
            arena.reset();
        })
    });
    drop(arena);
    let mut grow = Arena::new();
    g.bench_function("arena_growable_allocate", |b| {
        b.iter(|| {
            let a = &grow;
            for _ in 0..LOOP {
                touch16(a.allocate(L16).unwrap().cast());
            }
            grow.reset();
        })
    });
    drop(grow);
    let mut bump = bumpalo::Bump::with_capacity(LOOP * 16);
    g.bench_function("bumpalo_allocate", |b| {
        b.iter(|| {
            let a = &bump;
            for _ in 0..LOOP {
                touch16(
                    allocator_api2::alloc::Allocator::allocate(&a, L16)
                        .unwrap()
                        .cast(),
                );
            }
            bump.reset();
        })
    });
    drop(bump);
    let mut bs: bump_scope::Bump = bump_scope::Bump::with_size(LOOP * 16);
    g.bench_function("bump_scope_allocate_layout", |b| {
        use bump_scope::traits::BumpAllocatorTyped;
        b.iter(|| {
            for _ in 0..LOOP {
                touch16(bs.allocate_layout(L16));
            }
            bs.reset();
        })
    });
    drop(bs);
    malloc_members(&mut g, &vec![L16; LOOP], touch_all16);
    g.finish();
}

/// Elements pushed in `vec8mb`: 8 MB of `u64`.
const PUSHES: u64 = 1 << 20;

/// A growable arena filled with 8 MB of `Vec<u64>` pushes, against bumpalo's and bump-scope's
/// growable bumps: warm (reset each round, keeping the largest chunk) and cold (a new allocator
/// each round).
fn vec8mb(c: &mut Criterion<BenchClock>) {
    let mut g = c.benchmark_group("vec8mb");
    g.throughput(Throughput::Elements(PUSHES));
    let mut arena = Arena::new();
    g.bench_function("arena_growable_warm", |b| {
        b.iter(|| {
            let mut v = allocator_api2::vec::Vec::new_in(&arena);
            for i in 0..PUSHES {
                v.push(i);
            }
            black_box(v.as_slice());
            drop(v);
            arena.reset();
        })
    });
    drop(arena);
    let mut bump = bumpalo::Bump::new();
    g.bench_function("bumpalo_warm", |b| {
        b.iter(|| {
            let mut v = allocator_api2::vec::Vec::new_in(&bump);
            for i in 0..PUSHES {
                v.push(i);
            }
            black_box(v.as_slice());
            drop(v);
            bump.reset();
        })
    });
    drop(bump);
    let mut bs: bump_scope::Bump = bump_scope::Bump::new();
    g.bench_function("bump_scope_warm", |b| {
        b.iter(|| {
            let mut v = bump_scope::BumpVec::new_in(&bs);
            for i in 0..PUSHES {
                v.push(i);
            }
            black_box(v.as_slice());
            drop(v);
            bs.reset();
        })
    });
    drop(bs);
    g.bench_function("arena_growable_cold", |b| {
        b.iter(|| {
            let arena = Arena::new();
            let mut v = allocator_api2::vec::Vec::new_in(&arena);
            for i in 0..PUSHES {
                v.push(i);
            }
            black_box(v.as_slice());
        })
    });
    g.bench_function("bumpalo_cold", |b| {
        b.iter(|| {
            let bump = bumpalo::Bump::new();
            let mut v = allocator_api2::vec::Vec::new_in(&bump);
            for i in 0..PUSHES {
                v.push(i);
            }
            black_box(v.as_slice());
        })
    });
    g.bench_function("bump_scope_cold", |b| {
        b.iter(|| {
            let bs: bump_scope::Bump = bump_scope::Bump::new();
            let mut v = bump_scope::BumpVec::new_in(&bs);
            for i in 0..PUSHES {
                v.push(i);
            }
            black_box(v.as_slice());
        })
    });
    g.finish();
}

/// Keys spread over the whole `u64` range, the same for every member.
#[inline(always)]
fn key(i: u64) -> u64 {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

fn hashmap(c: &mut Criterion<BenchClock>) {
    let mut g = c.benchmark_group("hashmap");
    g.throughput(Throughput::Elements(INSERTS));
    g.sample_size(30);

    report_scratch_overflows();

    g.bench_function("with_arena_default_pool", |b| {
        b.iter(|| {
            with_arena(|s| {
                let mut m = hashbrown::HashMap::new_in(s);
                for i in 0..INSERTS {
                    m.insert(key(i), i);
                }
                black_box(m.len())
            })
        })
    });
    g.bench_function("with_arena_sized_8mib", |b| {
        b.iter(|| {
            with_arena_sized(8 << 20, |s| {
                let mut m = hashbrown::HashMap::new_in(s);
                for i in 0..INSERTS {
                    m.insert(key(i), i);
                }
                black_box(m.len())
            })
        })
    });

    let mut arena = Arena::with_capacity(8 << 20);
    g.bench_function("arena", |b| {
        b.iter(|| {
            {
                let mut m = hashbrown::HashMap::new_in(&arena);
                for i in 0..INSERTS {
                    m.insert(key(i), i);
                }
                black_box(m.len());
            }
            arena.reset();
        })
    });
    drop(arena);

    let mut bump = bumpalo::Bump::with_capacity(8 << 20);
    g.bench_function("bumpalo", |b| {
        b.iter(|| {
            {
                let mut m = hashbrown::HashMap::new_in(&bump);
                for i in 0..INSERTS {
                    m.insert(key(i), i);
                }
                black_box(m.len());
            }
            bump.reset();
        })
    });
    drop(bump);

    g.bench_function("global_allocator", |b| {
        b.iter(|| {
            let mut m = hashbrown::HashMap::new();
            for i in 0..INSERTS {
                m.insert(key(i), i);
            }
            black_box(m.len())
        })
    });
    g.finish();
}

/// Says once how much of the default 1 MiB pool the 10,000-insert map needs, and whether any
/// of it spilled to the heap (an overflow), so the `hashmap` figures can be read correctly.
fn report_scratch_overflows() {
    for (name, sized) in [("default pool", None), ("8 MiB batch", Some(8 << 20))] {
        let run = |s: engram_kernels::Scratch<'_>| {
            let mut m = hashbrown::HashMap::new_in(s);
            for i in 0..INSERTS {
                m.insert(key(i), i);
            }
            let st = s.stats();
            (st.used, st.capacity, st.overflow_count)
        };
        let (used, cap, overflows) = match sized {
            None => with_arena(run),
            Some(bytes) => with_arena_sized(bytes, run),
        };
        eprintln!(
            "hashmap/{name}: {used} of {cap} bytes used after {INSERTS} inserts, {overflows} overflows"
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(BenchClock::from_env());
    targets = alloc16, mixed, loop32k, vec8mb, scope, hashmap
}
criterion_main!(benches);
