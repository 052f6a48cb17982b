//! Process-wide metrics. They are global, so this binary has a single test.

use engram_kernels::ArenaAlloc;
use engram_kernels::metrics::{self, ScratchMetrics};
use engram_kernels::{with_arena, with_arena_sized};

#[test]
fn outermost_exits_record_resets_overflows_and_peaks() {
    metrics::reset();
    assert_eq!(metrics::snapshot(), ScratchMetrics::default());

    with_arena(|s| {
        s.alloc([0u8; 12]);
        with_arena(|inner| {
            let _ = inner.alloc([0u8; 100]);
        }); // nested: no reset recorded
    });
    with_arena(|s| {
        let _ = s.alloc([0u8; 12]);
    });
    let m = metrics::snapshot();
    assert_eq!(m.total_resets, 2);
    assert_eq!(m.total_overflows, 0);
    assert_eq!(m.max_high_water_mark, 112);

    // Overflows are counted per cycle; the peak counts the arena only (spills live elsewhere).
    with_arena(|s| {
        s.alloc_uninit_slice::<u8>(2 << 20);
        s.alloc_uninit_slice::<u8>(2 << 20);
    });
    let m = metrics::snapshot();
    assert_eq!((m.total_resets, m.total_overflows), (3, 2));

    // Batch scopes record too, and other threads' cycles are summed, also after they exit.
    with_arena_sized(4 << 20, |s| {
        let _ = s.alloc_uninit_slice::<u8>(3 << 20);
    });
    let threads: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(|| {
                for _ in 0..10 {
                    with_arena(|s| {
                        let _ = s.alloc(0u64);
                    })
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let m = metrics::snapshot();
    assert_eq!(m.total_resets, 3 + 1 + 80);
    assert_eq!(m.max_high_water_mark, 3 << 20);

    // A reset hides everything recorded before it, live threads and exited ones alike.
    metrics::reset();
    assert_eq!(metrics::snapshot(), ScratchMetrics::default());
    with_arena(|s| {
        let _ = s.alloc(0u32);
    });
    assert_eq!(
        metrics::snapshot(),
        ScratchMetrics {
            total_resets: 1,
            total_overflows: 0,
            max_high_water_mark: 4
        }
    );
}
