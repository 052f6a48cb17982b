//! The crate's one lock type, and the thread-local switch that keeps the crate's own bookkeeping
//! out of a user's global-arena scope.
//!
//! [`Mutex`] is [`parking_lot::Mutex`] natively and std's `Mutex` under Miri (`parking_lot_core`'s
//! word lock turns integers back into pointers on its contended slow path, which Miri's
//! strict-provenance mode rejects).
//!
//! While a thread holds, or waits for, one of these locks, [`routing_suspended`] is true on that
//! thread and the global arena passes its allocations through to the inner allocator. That matters
//! on the contended path: `parking_lot_core` allocates its process-wide, never-freed hash table
//! (and grows it) the first time a thread parks. Made inside a user's `with_global_arena` scope,
//! that allocation would land in the thread's arena chunk and pin it for the life of the process.
//! The counter lives here, the lowest layer, so the global allocator can read it without any lower
//! layer importing the global allocator.

use core::cell::Cell;
use core::ops::{Deref, DerefMut};

thread_local! {
    // const, no destructor: readable from the allocator path at any time, even during teardown.
    static SUSPEND: Cell<usize> = const { Cell::new(0) };
}

/// Whether global-arena routing is suspended on this thread (it holds or awaits a crate lock).
#[inline(always)]
pub(crate) fn routing_suspended() -> bool {
    SUSPEND.with(Cell::get) != 0
}

/// Suspends global-arena routing on this thread until dropped. Nests.
pub(crate) struct Suspend(());

impl Suspend {
    pub(crate) fn new() -> Self {
        SUSPEND.with(|s| s.set(s.get() + 1));
        Suspend(())
    }
}

impl Drop for Suspend {
    fn drop(&mut self) {
        SUSPEND.with(|s| s.set(s.get() - 1));
    }
}

#[cfg(not(miri))]
type Inner<T> = parking_lot::Mutex<T>;
#[cfg(not(miri))]
type InnerGuard<'a, T> = parking_lot::MutexGuard<'a, T>;
#[cfg(miri)]
type Inner<T> = std::sync::Mutex<T>;
#[cfg(miri)]
type InnerGuard<'a, T> = std::sync::MutexGuard<'a, T>;

/// A mutex whose acquisition and hold never allocate in a global-arena scope.
pub(crate) struct Mutex<T>(Inner<T>);

/// Guard of [`Mutex`]: unlocks first, then resumes global-arena routing.
pub(crate) struct MutexGuard<'a, T> {
    // Field order is drop order: the lock is released before routing resumes.
    guard: InnerGuard<'a, T>,
    _suspend: Suspend,
}

impl<T> Mutex<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(Inner::new(value))
    }

    /// Locks, suspending global-arena routing first (a contended acquisition may allocate).
    /// Like `parking_lot`'s: no poisoning (a panic while holding it cannot leave the registries
    /// half-updated in a way that matters to a later reader).
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        let suspend = Suspend::new();
        #[cfg(not(miri))]
        let guard = self.0.lock();
        #[cfg(miri)]
        let guard = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        MutexGuard {
            guard,
            _suspend: suspend,
        }
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holding_a_lock_suspends_routing_and_nests() {
        static A: Mutex<u32> = Mutex::new(1);
        static B: Mutex<u32> = Mutex::new(2);
        assert!(!routing_suspended());
        {
            let a = A.lock();
            assert!(routing_suspended());
            {
                let mut b = B.lock();
                *b += *a;
                assert!(routing_suspended());
            }
            assert!(routing_suspended(), "still holding A");
        }
        assert!(!routing_suspended());
        assert_eq!(*B.lock(), 3);
    }
}
