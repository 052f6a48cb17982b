//! `in_global_arena` on tokio's multi-thread, work-stealing runtime: many concurrent tasks each
//! checking their own data while they migrate between workers, cancellation mid-request, values
//! handed to a long-lived task, and values outliving the runtime's threads.

use engram_kernels::GlobalArena;
use engram_kernels::global::ArenaFutureExt;
use std::alloc::System;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;

#[global_allocator]
static ALLOC: GlobalArena = GlobalArena::new(System);

fn runtime(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_time()
        .build()
        .unwrap()
}

/// A request: parses a body into a map, yields between steps (where the runtime may move the
/// task), checks everything it built, and returns a reply and the threads it ran on.
async fn request(id: usize, steps: usize) -> (String, Vec<std::thread::ThreadId>) {
    let mut threads = vec![std::thread::current().id()];
    let mut fields: HashMap<String, Vec<usize>> = HashMap::new();
    for step in 0..steps {
        fields
            .entry(format!("field{}", step % 7))
            .or_default()
            .extend((0..step).map(|k| k * id));
        tokio::task::yield_now().await;
        let here = std::thread::current().id();
        if threads.last() != Some(&here) {
            threads.push(here);
        }
    }
    for (name, values) in &fields {
        let f: usize = name["field".len()..].parse().unwrap();
        let expect: Vec<usize> = (0..steps)
            .filter(|s| s % 7 == f)
            .flat_map(|s| (0..s).map(move |k| k * id))
            .collect();
        assert_eq!(*values, expect, "request {id}, {name}");
    }
    (format!("request {id}: {} fields", fields.len()), threads)
}

#[test]
fn concurrent_tasks_keep_their_data_while_they_migrate() {
    let rt = runtime(4);
    let mut migrated = 0;
    for _round in 0..5 {
        let replies = rt.block_on(async {
            let handles: Vec<_> = (0..400)
                .map(|id| tokio::spawn(request(id, 20).in_global_arena()))
                .collect();
            let mut out = Vec::new();
            for h in handles {
                out.push(h.await.unwrap());
            }
            out
        });
        for (id, (reply, threads)) in replies.iter().enumerate() {
            assert_eq!(*reply, format!("request {id}: 7 fields"));
            migrated += usize::from(threads.len() > 1);
        }
        if migrated > 0 {
            break;
        }
    }
    assert!(
        migrated > 0,
        "no task ever changed threads: the test proved nothing"
    );
    let s = ALLOC.stats();
    assert!(s.arena_allocs > 0 && s.spills == 0, "{s:?}");
}

#[test]
fn cancelled_requests_leave_the_others_intact() {
    let rt = runtime(2);
    rt.block_on(async {
        let slow: Vec<_> = (0..50)
            .map(|id| {
                tokio::spawn(
                    async move {
                        let (reply, _) = request(id, 5).await;
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        reply
                    }
                    .in_global_arena(),
                )
            })
            .collect();
        let fast: Vec<_> = (0..50)
            .map(|id| tokio::spawn(request(id, 30).in_global_arena()))
            .collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
        for h in &slow {
            h.abort(); // dropped mid-flight, on whichever worker
        }
        for h in slow {
            assert!(h.await.unwrap_err().is_cancelled());
        }
        for (id, h) in fast.into_iter().enumerate() {
            assert_eq!(h.await.unwrap().0, format!("request {id}: 7 fields"));
        }
        let timed_out =
            tokio::time::timeout(Duration::from_millis(5), std::future::pending::<()>());
        assert!(timed_out.in_global_arena().await.is_err());
    });
}

#[test]
fn values_sent_to_a_background_task_and_past_the_runtime_stay_valid() {
    let rt = runtime(2);
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, String)>();
    let kept = rt.block_on(async move {
        // A long-lived task outside any arena scope keeps what requests send it.
        let keeper = tokio::spawn(async move {
            let mut kept = Vec::new();
            while let Some(v) = rx.recv().await {
                kept.push(v);
            }
            kept
        });
        let requests: Vec<_> = (0..200)
            .map(|id| {
                let tx = tx.clone();
                tokio::spawn(
                    async move {
                        let (reply, _) = request(id, 8).await;
                        tx.send((id, reply)).unwrap();
                    }
                    .in_global_arena(),
                )
            })
            .collect();
        drop(tx);
        for r in requests {
            r.await.unwrap();
        }
        keeper.await.unwrap()
    });
    // The runtime and its worker threads are gone; the values they allocated are not.
    drop(rt);
    assert_eq!(kept.len(), 200);
    for (id, reply) in &kept {
        assert_eq!(*reply, format!("request {id}: 7 fields"));
    }
}
