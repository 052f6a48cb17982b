//! Frees on other threads, threads exiting while their arena memory lives on elsewhere, many
//! threads × many scopes, and more threads than arena slots.

#[path = "global_support/mod.rs"]
mod support;

use engram_kernels::global::MAX_ARENAS;
use engram_kernels::{GlobalArena, with_global_arena};
use std::collections::HashMap;
use std::sync::mpsc::channel;
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use support::{Counting, scaled};

#[global_allocator]
static ALLOC: GlobalArena<Counting> = GlobalArena::new(Counting);

/// These tests count slots in use, so they must not overlap each other.
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
    let baseline = ALLOC.arenas_in_use();
    let n = scaled(500, 20);
    let vals = thread::spawn(move || {
        with_global_arena(|| (0..n).map(|i| format!("v{i}")).collect::<Vec<_>>())
    })
    .join()
    .unwrap();
    // the exited thread's slot is orphaned, not free: nobody may bump into it
    assert_eq!(ALLOC.arenas_in_use(), baseline + 1);
    churn(4, scaled(50, 3));
    assert!(vals.iter().enumerate().all(|(i, s)| *s == format!("v{i}")));
    let mut vals = vals;
    vals.truncate(n / 2); // frees from here, the non-owner
    churn(2, scaled(20, 2));
    assert!(vals.iter().enumerate().all(|(i, s)| *s == format!("v{i}")));
    assert_eq!(ALLOC.arenas_in_use(), baseline + 1);
    drop(vals); // the last block: the slot becomes free
    assert_eq!(ALLOC.arenas_in_use(), baseline);
}

#[test]
fn eight_threads_hundreds_of_scopes() {
    let _g = serial();
    let baseline = ALLOC.arenas_in_use();
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
    assert_eq!(ALLOC.arenas_in_use(), baseline, "every slot came back");
}

#[test]
fn more_threads_than_slots_pass_through() {
    let _g = serial();
    let baseline = ALLOC.arenas_in_use();
    let n = MAX_ARENAS + 4;
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
                    ALLOC.thread_stats().since(&before).arena_allocs > 0
                })
                .unwrap()
        })
        .collect();
    let served = hs
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|&b| b)
        .count();
    assert!(
        served <= MAX_ARENAS - baseline,
        "{served} threads got a slot"
    );
    assert!(served >= 1);
    assert_eq!(ALLOC.arenas_in_use(), baseline);
}
