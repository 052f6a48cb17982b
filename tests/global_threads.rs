//! Frees on other threads, threads exiting while their arena memory lives on elsewhere, many
//! threads × many scopes, hundreds of threads at once, hundreds of short-lived threads leaving
//! values behind, and thread-local destructors that allocate and free during teardown.

#[path = "global_support/mod.rs"]
mod support;

use engram_kernels::global::CHUNK_SIZE;
use engram_kernels::{GlobalArena, with_global_arena};
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::mpsc::channel;
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use support::{Counting, inner_calls, scaled};

#[global_allocator]
static ALLOC: GlobalArena<Counting> = GlobalArena::new(Counting);

/// These tests count chunks in use, so they must not overlap each other.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Overwrites freshly allocated arena memory with a pattern, on fresh threads, so that any
/// premature reuse of a live block shows up as corruption.
fn churn(threads: usize, scopes: usize) {
    let hs: Vec<_> = (0..threads)
        .map(|_| {
            thread::spawn(move || {
                for _ in 0..scopes {
                    with_global_arena(|| {
                        let v = vec![0x77u8; 8192];
                        std::hint::black_box(&v);
                    });
                }
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
}

#[test]
fn blocks_freed_on_another_thread() {
    let _g = serial();
    let (tx, rx) = channel::<Vec<String>>();
    let consumer = thread::spawn(move || {
        let mut n = 0;
        for batch in rx {
            for (i, s) in batch.iter().enumerate() {
                assert_eq!(*s, format!("item {i}"));
            }
            n += batch.len();
        } // each batch, arena memory of the producer, is freed here
        n
    });
    let producer = thread::spawn(move || {
        for _ in 0..scaled(200, 6) {
            let batch =
                with_global_arena(|| (0..50).map(|i| format!("item {i}")).collect::<Vec<_>>());
            tx.send(batch).unwrap();
        }
        ALLOC.thread_stats()
    });
    let produced = producer.join().unwrap();
    assert_eq!(consumer.join().unwrap(), scaled(200, 6) * 50);
    assert!(
        produced.arena_allocs >= (scaled(200, 6) * 51) as u64,
        "{produced:?}"
    );
}

#[test]
fn a_thread_exits_while_its_arena_memory_lives_elsewhere() {
    let _g = serial();
    let baseline = ALLOC.chunks_in_use();
    let n = scaled(500, 20);
    let vals = thread::spawn(move || {
        with_global_arena(|| (0..n).map(|i| format!("v{i}")).collect::<Vec<_>>())
    })
    .join()
    .unwrap();
    // the exited thread's chunk is orphaned, not free: nobody may bump into it
    assert_eq!(ALLOC.chunks_in_use(), baseline + 1);
    churn(4, scaled(50, 3));
    assert!(vals.iter().enumerate().all(|(i, s)| *s == format!("v{i}")));
    let mut vals = vals;
    vals.truncate(n / 2); // frees from here, the non-owner
    churn(2, scaled(20, 2));
    assert!(vals.iter().enumerate().all(|(i, s)| *s == format!("v{i}")));
    assert_eq!(ALLOC.chunks_in_use(), baseline + 1);
    drop(vals); // the last block: the chunk becomes free
    assert_eq!(ALLOC.chunks_in_use(), baseline);
}

#[test]
fn eight_threads_hundreds_of_scopes() {
    let _g = serial();
    let baseline = ALLOC.chunks_in_use();
    let threads = scaled(8, 3);
    let scopes = scaled(400, 8);
    // each thread sends some values to the next one, which checks and frees them
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..threads)
        .map(|_| channel::<(usize, usize, String)>())
        .unzip();
    let hs: Vec<_> = rxs
        .into_iter()
        .enumerate()
        .map(|(t, rx)| {
            let tx = txs[(t + 1) % threads].clone();
            thread::spawn(move || {
                let mut received = 0;
                for s in 0..scopes {
                    let (sum, msg) = with_global_arena(|| {
                        let mut m: HashMap<String, Vec<usize>> = HashMap::new();
                        for i in 0..64 {
                            m.entry(format!("k{}", i % 13)).or_default().push(i * s);
                        }
                        let sum: usize = m.values().flatten().sum();
                        (sum, format!("t{t}s{s}"))
                    });
                    assert_eq!(sum, s * (0..64).sum::<usize>());
                    if s % 10 == 0 {
                        tx.send((t, s, msg)).unwrap();
                    }
                    while let Ok((from, at, m)) = rx.try_recv() {
                        assert_eq!(m, format!("t{from}s{at}"));
                        received += 1;
                    }
                }
                drop(tx);
                (rx, received)
            })
        })
        .collect();
    drop(txs);
    let mut total = 0;
    let mut rxs = Vec::new();
    for h in hs {
        let (rx, received) = h.join().unwrap();
        total += received;
        rxs.push(rx);
    }
    for rx in &rxs {
        total += rx
            .try_iter()
            .inspect(|(from, at, m)| assert_eq!(*m, format!("t{from}s{at}")))
            .count();
    }
    assert_eq!(total, threads * scopes.div_ceil(10));
    drop(rxs);
    assert_eq!(ALLOC.chunks_in_use(), baseline, "every chunk came back");
}

#[test]
fn hundreds_of_threads_in_scopes_at_once_all_get_chunks() {
    let _g = serial();
    let baseline = ALLOC.chunks_in_use();
    let n = scaled(300, 6);
    let barrier = Arc::new(Barrier::new(n));
    let hs: Vec<_> = (0..n)
        .map(|t| {
            let barrier = barrier.clone();
            thread::Builder::new()
                .stack_size(64 << 10)
                .spawn(move || {
                    let before = ALLOC.thread_stats();
                    let s = with_global_arena(|| {
                        barrier.wait(); // every thread is inside a scope at once
                        format!("thread {t}")
                    });
                    assert_eq!(s, format!("thread {t}"));
                    ALLOC.thread_stats().since(&before)
                })
                .unwrap()
        })
        .collect();
    for h in hs {
        let d = h.join().unwrap();
        assert!(d.arena_allocs >= 1 && d.spills == 0, "{d:?}");
    }
    assert_eq!(ALLOC.chunks_in_use(), baseline);
}

/// The third scenario: 400 short-lived threads each leave one value (allocated in a
/// scope) behind in a global cache. A fresh thread's scope then still stays in the arena, and
/// every cached value is intact.
#[test]
fn a_fresh_threads_scope_after_400_threads_left_values_in_a_cache() {
    let _g = serial();
    static CACHE: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());
    let threads = scaled(400, 12);
    for t in 0..threads {
        thread::spawn(move || {
            let v = with_global_arena(|| {
                let scratch: Vec<String> = (0..50).map(|i| format!("{t}/{i}")).collect();
                format!("cached by {t}: {}", scratch[49])
            });
            CACHE.lock().unwrap().push((t, v));
        })
        .join()
        .unwrap();
    }
    let d = thread::spawn(|| {
        let before = ALLOC.thread_stats();
        let calls = inner_calls();
        let n = with_global_arena(|| {
            let v: Vec<Box<[u64; 4]>> = (0..scaled(100_000, 2_000) as u64)
                .map(|i| Box::new([i; 4]))
                .collect();
            v.iter().map(|b| b[3]).sum::<u64>()
        });
        let k = scaled(100_000, 2_000) as u64;
        assert_eq!(n, k * (k - 1) / 2);
        (ALLOC.thread_stats().since(&before), inner_calls() - calls)
    })
    .join()
    .unwrap();
    let (d, inner) = d;
    assert!(inner * 100 < d.arena_allocs, "{inner} inner calls: {d:?}");
    let cache = std::mem::take(&mut *CACHE.lock().unwrap());
    assert_eq!(cache.len(), threads);
    for (t, v) in &cache {
        assert_eq!(*v, format!("cached by {t}: {t}/49"));
    }
    let before = ALLOC.chunks_in_use();
    drop(cache); // the orphans' last blocks: their chunks become free
    assert!(ALLOC.chunks_in_use() < before);
}

thread_local! {
    /// Allocates in a global scope and frees an arena value from its destructor, which runs
    /// during thread teardown, possibly after the arena's own exit hook.
    static LATE: Late = const { Late(Cell::new(None)) };
}

struct Late(Cell<Option<Vec<String>>>);

impl Drop for Late {
    fn drop(&mut self) {
        let kept = self.0.take().expect("set before exit");
        assert!(
            kept.iter()
                .enumerate()
                .all(|(i, s)| *s == format!("late {i}"))
        );
        // a scope during teardown: it may pass through, but must not fail or corrupt anything
        let more = with_global_arena(|| (0..100).map(|i| i.to_string()).collect::<Vec<_>>());
        assert_eq!(more[99], "99");
        drop(kept);
    }
}

#[test]
fn thread_local_destructors_allocate_and_free_during_teardown() {
    let _g = serial();
    let baseline = ALLOC.chunks_in_use();
    let hs: Vec<_> = (0..scaled(16, 3))
        .map(|t| {
            thread::spawn(move || {
                // registered before or after the arena's exit hook, alternately
                if t % 2 == 0 {
                    LATE.with(|l| l.0.set(Some(Vec::new())));
                }
                let kept = with_global_arena(|| (0..64).map(|i| format!("late {i}")).collect());
                LATE.with(|l| l.0.set(Some(kept)));
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    churn(2, scaled(10, 2));
    assert_eq!(ALLOC.chunks_in_use(), baseline, "a teardown leaked a chunk");
}

#[test]
fn chunks_are_aligned_to_their_size() {
    let _g = serial();
    let addr = thread::spawn(|| with_global_arena(|| (&*Box::new(1u8) as *const u8).addr()))
        .join()
        .unwrap();
    assert_eq!(addr % CHUNK_SIZE, 0);
}
