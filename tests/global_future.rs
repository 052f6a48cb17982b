//! `in_global_arena` with a hand-written executor (std only, so Miri runs it): a task polled on
//! one thread and finished on another, cancelled mid-flight, panicking in a poll, outliving the
//! thread whose arena holds its memory, and sending values to a long-lived thread.

#[path = "global_support/mod.rs"]
mod support;

use engram_kernels::global::{ArenaFutureExt, CHUNK_SIZE, in_global_arena};
use engram_kernels::{GlobalArena, with_arena, with_global_arena};
use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc;
use std::task::{Context, Poll, Waker};
use support::{Counting, inner_calls, scaled};

#[global_allocator]
static ALLOC: GlobalArena<Counting> = GlobalArena::new(Counting);

/// Pending once, then ready: a point where a real runtime could move the task.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

type Task<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Polls once; `Some` if that finished it.
fn poll_once<T>(task: &mut Task<T>) -> Option<T> {
    match task.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

/// Polls until ready.
fn finish<T>(mut task: Task<T>) -> T {
    loop {
        if let Some(v) = poll_once(&mut task) {
            return v;
        }
    }
}

/// A request handler: builds data in steps, yielding between them, and checks it at the end.
async fn handler(id: u64, steps: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for step in 0..steps {
        lines.push(format!("request {id} step {step}"));
        YieldNow(false).await;
    }
    for (step, line) in lines.iter().enumerate() {
        assert_eq!(*line, format!("request {id} step {step}"));
    }
    lines
}

fn first_block() -> usize {
    with_global_arena(|| Box::new(0u8).as_ref() as *const u8 as usize)
}

#[test]
fn a_task_polled_on_one_thread_finishes_on_another() {
    let mut task: Task<Vec<String>> = Box::pin(handler(1, 8).in_global_arena());
    let (on_a, task) = std::thread::spawn(move || {
        let before = ALLOC.thread_stats();
        assert!(poll_once(&mut task).is_none());
        (ALLOC.thread_stats().since(&before), task)
    })
    .join()
    .unwrap();
    assert!(
        on_a.arena_allocs >= 2,
        "the first poll allocated in A's arena: {on_a:?}"
    );
    let (lines, on_b) = std::thread::spawn(move || {
        let before = ALLOC.thread_stats();
        let lines = finish(task);
        (lines, ALLOC.thread_stats().since(&before))
    })
    .join()
    .unwrap();
    assert!(
        on_b.arena_allocs >= 2,
        "later polls allocated in B's arena: {on_b:?}"
    );
    assert_eq!(lines.len(), 8);
    assert_eq!(lines[7], "request 1 step 7");
    let calls = inner_calls();
    drop(lines); // A and B have exited: frees into their orphaned chunks
    assert_eq!(
        inner_calls(),
        calls,
        "no arena block went to the inner allocator"
    );
}

#[test]
fn a_task_cancelled_mid_flight_releases_its_memory() {
    std::thread::spawn(|| {
        let start = first_block();
        assert_eq!(
            start % CHUNK_SIZE,
            0,
            "a fresh thread starts at its chunk's start"
        );
        let mut task: Task<Vec<String>> = Box::pin(in_global_arena(handler(2, 50)));
        for _ in 0..10 {
            assert!(poll_once(&mut task).is_none());
        }
        // The task's strings live in this thread's chunk; dropping it (outside any scope) frees
        // them, and the next scope finds the chunk empty and starts over at its start.
        drop(task);
        assert_eq!(first_block(), start);
    })
    .join()
    .unwrap();
}

#[test]
fn a_panicking_poll_leaves_the_scope() {
    let task = async {
        let v = std::hint::black_box(vec![1u8; 100]);
        YieldNow(false).await;
        panic!("handler failed with {} bytes", v.len());
    };
    let mut task: Task<()> = Box::pin(task.in_global_arena());
    assert!(poll_once(&mut task).is_none());
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll_once(&mut task)));
    assert!(caught.is_err());
    drop(task);
    // Outside any scope again: an allocation goes to the inner allocator.
    let (calls, before) = (inner_calls(), ALLOC.thread_stats());
    let b = std::hint::black_box(Box::new(5u64));
    assert_eq!(ALLOC.thread_stats().since(&before).arena_allocs, 0);
    assert_eq!(inner_calls(), calls + 1);
    drop(b);
}

#[test]
fn results_outlive_the_threads_that_allocated_them() {
    let tasks: Vec<Task<Vec<String>>> = (0..scaled(8, 3) as u64)
        .map(|id| -> Task<Vec<String>> { Box::pin(handler(id, 4).in_global_arena()) })
        .collect();
    // Each task starts on its own short-lived thread and is finished on another.
    let halfway: Vec<Task<Vec<String>>> = tasks
        .into_iter()
        .map(|mut t| {
            std::thread::spawn(move || {
                assert!(poll_once(&mut t).is_none());
                t
            })
            .join()
            .unwrap()
        })
        .collect();
    let results: Vec<Vec<String>> = halfway
        .into_iter()
        .map(|t| std::thread::spawn(move || finish(t)).join().unwrap())
        .collect();
    for (id, lines) in results.iter().enumerate() {
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[3], format!("request {id} step 3"));
    }
}

#[test]
fn values_sent_to_a_long_lived_thread_stay_valid() {
    let (tx, rx) = mpsc::channel::<Vec<String>>();
    let background = std::thread::spawn(move || {
        let mut kept = Vec::new();
        while let Ok(v) = rx.recv() {
            kept.push(v);
        }
        // Checked long after the requests that built them finished.
        for (id, lines) in kept.iter().enumerate() {
            assert_eq!(lines[0], format!("request {id} step 0"));
        }
        kept.len()
    });
    for id in 0..scaled(20, 4) as u64 {
        let tx = tx.clone();
        let task: Task<()> = Box::pin(
            async move {
                let lines = handler(id, 2).await;
                tx.send(lines).unwrap();
            }
            .in_global_arena(),
        );
        finish(task);
    }
    drop(tx);
    assert_eq!(background.join().unwrap(), scaled(20, 4));
}

#[test]
fn scopes_nest_inside_a_polled_future() {
    let task = async {
        let outer = std::hint::black_box(vec![1u32; 10]);
        YieldNow(false).await;
        let inner = with_global_arena(|| vec![2u32; 10]);
        let scratch_sum = with_arena(|s| {
            use engram_kernels::ArenaAlloc;
            s.alloc_slice_copy(&[3u32; 10]).iter().sum::<u32>()
        });
        outer.iter().sum::<u32>() + inner.iter().sum::<u32>() + scratch_sum
    };
    let before = ALLOC.thread_stats();
    assert_eq!(finish(Box::pin(task.in_global_arena())), 60);
    assert!(ALLOC.thread_stats().since(&before).arena_allocs >= 2);
}
