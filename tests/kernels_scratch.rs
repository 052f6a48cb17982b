//! The kernels' use of scratch and the heap: no heap allocation when scratch fits, one reset per
//! top-k call, the fallback spill, and `ScratchExhausted` under the Error policy.
//!
//! Its own binary: it changes the process-wide arena configuration and installs a counting global
//! allocator, so its tests hold one lock and run one at a time.

use engram_kernels::kernels::KernelError;
use engram_kernels::kernels::decay::Decay;
use engram_kernels::kernels::similarity::{
    Match, cosine_similarity_batch, top_k, top_k_into, top_k_into_parts, top_k_many,
    top_k_many_into_parts,
};
use engram_kernels::{ArenaConfig, OverflowPolicy, config, metrics};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Mutex;

/// Counts heap allocations per thread, so the test harness's own threads cannot disturb a count.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_one() {
    // try_with: no panic during thread teardown; a const-initialised Cell never allocates.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every method forwards to System with the caller's arguments unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap allocations made by this thread while running `f`.
fn allocations_in<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let r = f();
    (r, ALLOCATIONS.with(Cell::get) - before)
}

static LOCK: Mutex<()> = Mutex::new(());

fn data(n: usize, dim: usize) -> (Vec<f32>, Vec<f32>) {
    let q = (0..dim).map(|i| ((i * 31 % 17) as f32) - 8.0).collect();
    let c = (0..n * dim)
        .map(|i| ((i * 7919 % 101) as f32) * 0.01 - 0.5)
        .collect();
    (q, c)
}

/// Runs `f` on a fresh thread with `cfg` in force, restoring the default afterwards.
fn with_config<R: Send>(cfg: ArenaConfig, f: impl FnOnce() -> R + Send) -> R {
    config::configure(cfg).unwrap();
    let r = std::thread::scope(|s| s.spawn(f).join());
    config::configure(ArenaConfig::default()).unwrap();
    r.unwrap()
}

#[test]
fn hot_paths_do_not_touch_the_heap() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (q, c) = data(1000, 100);
    let mut scores = vec![0.0f32; 1000];
    let mut strengths = vec![1.0f32; 4096];
    let ages: Vec<u64> = (0..4096).map(|i| i * 1000).collect();
    let mut out = [Match::default(); 16];
    // Warm up: the thread's arena (and dispatch) are created on first use.
    let _ = top_k(&q, &c, 16).unwrap();

    let ((), n) = allocations_in(|| {
        cosine_similarity_batch(&q, &c, &mut scores).unwrap();
        Decay::ENGRAM_DEFAULT.apply(&mut strengths, &ages).unwrap();
        assert_eq!(top_k_into(&q, &c, &mut out).unwrap(), 16);
    });
    assert_eq!(n, 0, "heap allocations on the hot paths");

    // top_k allocates its result and nothing else: the heap lives in scratch.
    let (best, n) = allocations_in(|| top_k(&q, &c, 16).unwrap());
    assert_eq!(n, 1, "top_k should allocate only its result");
    assert_eq!(best, out);
}

#[test]
fn top_k_records_one_reset_and_its_peak() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (q, c) = data(3000, 8);
    std::thread::scope(|s| {
        s.spawn(|| {
            let before = metrics::snapshot();
            let best = top_k(&q, &c, 1000).unwrap();
            assert_eq!(best.len(), 1000);
            let after = metrics::snapshot();
            assert_eq!(after.total_resets - before.total_resets, 1);
            assert_eq!(after.total_overflows, before.total_overflows);
            assert!(after.max_high_water_mark >= 1000 * size_of::<Match>());
        });
    });
}

#[test]
fn big_heaps_spill_under_fallback_and_fail_under_error() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let k = 6000; // 6000 * 16 bytes do not fit a 64 KiB pool
    let (q, c) = data(k + 100, 4);
    let mut want = vec![Match::default(); k];
    assert_eq!(top_k_into(&q, &c, &mut want).unwrap(), k);

    let small = |overflow| ArenaConfig {
        pool_size: ArenaConfig::MIN_POOL_SIZE,
        overflow,
        zero_on_reset: false,
        ..ArenaConfig::default()
    };
    with_config(small(OverflowPolicy::Fallback), || {
        let before = metrics::snapshot();
        assert_eq!(
            top_k(&q, &c, k).unwrap(),
            want,
            "the spill computes the right result"
        );
        let after = metrics::snapshot();
        assert!(
            after.total_overflows > before.total_overflows,
            "the spill is counted"
        );
        assert_eq!(after.total_resets - before.total_resets, 1);
    });
    with_config(small(OverflowPolicy::Error), || {
        let e = top_k(&q, &c, k).unwrap_err();
        assert_eq!(
            e,
            KernelError::ScratchExhausted {
                requested: k * size_of::<Match>()
            }
        );
        assert_eq!(
            e.to_string(),
            "scratch arena refused 96000 bytes under the Error overflow policy; \
             raise ENGRAM_ARENA_SIZE or use the Fallback policy"
        );
        // Small requests still fit, and the scratch-free forms never fail.
        assert_eq!(top_k(&q, &c, 10).unwrap(), want[..10]);
        let mut out = vec![Match::default(); k];
        assert_eq!(top_k_into(&q, &c, &mut out).unwrap(), k);
        assert_eq!(out, want);
    });
}

/// The split-output entries give what `top_k` and `top_k_many` give, leave the outputs alone on
/// any error, and report a refused heap with its byte size.
#[test]
fn top_k_parts_match_top_k_and_leave_outputs_alone_on_error() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (k, dim) = (7, 4);
    let (q, c) = data(50, dim);
    let want = top_k(&q, &c, k).unwrap();
    let (mut idx, mut sc) = (vec![usize::MAX; k], vec![-9.0f32; k]);
    let n = top_k_into_parts(&q, &c, &mut idx, &mut sc).unwrap();
    assert_eq!(n, want.len());
    let got: Vec<Match> = (0..n)
        .map(|i| Match {
            index: idx[i],
            score: sc[i],
        })
        .collect();
    assert_eq!(got, want);

    let queries: Vec<f32> = q.iter().chain(c[..dim].iter()).copied().collect();
    let want_many = top_k_many(&queries, dim, &c, k).unwrap();
    let (mut idx, mut sc, mut counts) = (vec![0usize; 2 * k], vec![0.0f32; 2 * k], [0usize; 2]);
    top_k_many_into_parts(&queries, dim, &c, k, &mut idx, &mut sc, &mut counts).unwrap();
    for (j, best) in want_many.iter().enumerate() {
        assert_eq!(counts[j], best.len());
        for (i, m) in best.iter().enumerate() {
            assert_eq!((idx[j * k + i], sc[j * k + i]), (m.index, m.score));
        }
    }

    let (mut idx, mut sc) = ([5usize; 3], [5.0f32; 2]);
    assert!(matches!(
        top_k_into_parts(&q, &c, &mut idx, &mut sc),
        Err(KernelError::LengthMismatch { what: "scores", .. })
    ));
    assert_eq!((idx, sc), ([5; 3], [5.0; 2]), "untouched");

    let k = 6000; // 6000 * 16 bytes do not fit a 64 KiB pool
    let (q, c) = data(k + 100, 4);
    let small = ArenaConfig {
        pool_size: ArenaConfig::MIN_POOL_SIZE,
        overflow: OverflowPolicy::Error,
        zero_on_reset: false,
        ..ArenaConfig::default()
    };
    with_config(small, || {
        let (mut idx, mut sc) = (vec![1usize; k], vec![1.0f32; k]);
        assert_eq!(
            top_k_into_parts(&q, &c, &mut idx, &mut sc),
            Err(KernelError::ScratchExhausted {
                requested: k * size_of::<Match>()
            })
        );
        assert!(idx.iter().all(|&i| i == 1) && sc.iter().all(|&s| s == 1.0));
    });
}
