//! A global-arena scope that follows a future: [`in_global_arena`] enters a scope around every
//! poll, on whichever thread polls, so an `async` request handler allocates in the polling
//! thread's arena although it spans `.await`s and may resume on another thread.
//!
//! Why this is sound with no help from the runtime: the global allocator routes every free by
//! address, whichever thread makes it and whether or not a scope is active there. A value the
//! task allocated on thread A and frees after resuming on thread B is a remote free into A's
//! chunk; a value still alive when A exits leaves A's chunk orphaned until it dies. Nothing here
//! is `unsafe` beyond the pin projection.

use core::future::{Future, IntoFuture};
use core::pin::Pin;
use core::task::{Context, Poll};

/// Wraps `future` so that each of its polls runs inside [`with_global_arena`](super::with_global_arena):
/// every allocation it makes while being polled goes to the polling thread's global arena. Works
/// with any executor (it needs only `core::future`), nests with `with_global_arena` and
/// [`with_arena`](crate::scratch::with_arena), and stays correct when the task moves between
/// threads, is dropped mid-flight, panics, or outlives the thread that allocated its memory.
///
/// Dropping the wrapper drops the inner future outside any scope; its frees are routed by address
/// as always.
///
/// # Example
///
/// ```
/// use engram_kernels::GlobalArena;
/// use engram_kernels::global::in_global_arena;
/// use std::alloc::System;
///
/// #[global_allocator]
/// static ALLOC: GlobalArena = GlobalArena::new(System);
///
/// async fn handle(body: String) -> String {
///     let words: Vec<&str> = body.split(' ').collect(); // in the arena
///     format!("{} words", words.len()) // escapes the scope: still valid
/// }
///
/// // Any executor will do; a trivial one that polls until ready:
/// fn block_on<F: std::future::Future>(f: F) -> F::Output {
///     use std::task::{Context, Poll, Waker};
///     let mut f = std::pin::pin!(f);
///     let mut cx = Context::from_waker(Waker::noop());
///     loop {
///         if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
///             return v;
///         }
///     }
/// }
///
/// let before = ALLOC.thread_stats();
/// let reply = block_on(in_global_arena(handle("a b c".to_string())));
/// assert_eq!(reply, "3 words");
/// assert!(ALLOC.thread_stats().since(&before).arena_allocs >= 2);
/// ```
pub fn in_global_arena<F: IntoFuture>(future: F) -> InGlobalArena<F::IntoFuture> {
    InGlobalArena {
        inner: future.into_future(),
    }
}

/// `future.in_global_arena()`: the method form of [`in_global_arena`].
///
/// # Example
///
/// ```
/// use engram_kernels::global::ArenaFutureExt;
///
/// let wrapped = async { vec![1, 2, 3].len() }.in_global_arena();
/// # drop(wrapped);
/// ```
pub trait ArenaFutureExt: IntoFuture + Sized {
    /// See [`in_global_arena`].
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::global::ArenaFutureExt;
    ///
    /// let _handler = async { String::from("reply") }.in_global_arena();
    /// ```
    fn in_global_arena(self) -> InGlobalArena<Self::IntoFuture> {
        in_global_arena(self)
    }
}

impl<F: IntoFuture> ArenaFutureExt for F {}

/// The future returned by [`in_global_arena`].
///
/// # Example
///
/// ```
/// use engram_kernels::global::{InGlobalArena, in_global_arena};
///
/// let f: InGlobalArena<_> = in_global_arena(async { 1 + 1 });
/// # drop(f);
/// ```
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct InGlobalArena<F> {
    inner: F,
}

impl<F> InGlobalArena<F> {
    /// The wrapped future.
    ///
    /// # Example
    ///
    /// ```
    /// use engram_kernels::global::in_global_arena;
    ///
    /// let f = in_global_arena(std::future::ready(7));
    /// let inner: std::future::Ready<i32> = f.into_inner();
    /// # drop(inner);
    /// ```
    pub fn into_inner(self) -> F {
        self.inner
    }
}

impl<F: Future> Future for InGlobalArena<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: structural pinning of `inner`: it is never moved out of a pinned wrapper (the
        // only move, `into_inner`, takes the wrapper by value, which a pinned one cannot give),
        // and the wrapper has no `Drop` impl. It is `Unpin` exactly when `F` is.
        let inner = unsafe { self.map_unchecked_mut(|s| &mut s.inner) };
        super::with_global_arena(|| inner.poll(cx))
    }
}
