//! The crate's one lock type: [`parking_lot::Mutex`], except under Miri.
//!
//! `parking_lot_core`'s word lock turns integers back into pointers on its contended slow path,
//! which Miri's strict-provenance mode rejects. The registries that use this lock are not what the
//! Miri run checks, so under `cfg(miri)` it is std's `Mutex` behind the same small interface.

#[cfg(not(miri))]
pub(crate) use parking_lot::Mutex;

#[cfg(miri)]
pub(crate) struct Mutex<T>(std::sync::Mutex<T>);

#[cfg(miri)]
impl<T> Mutex<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(std::sync::Mutex::new(value))
    }

    /// Like `parking_lot`'s: no poisoning (a panic while holding it cannot leave the registries
    /// half-updated in a way that matters to a later reader).
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, T> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
