//! The store's reader-writer lock: the standard library's, behind the
//! guard-returning calls the store makes. A contended acquire spins briefly
//! and then waits in the kernel; a lock that yields the thread
//! (`sched_yield`) before it waits gave the core away about once per batch
//! push on two cores (see BENCHMARKS.md). A panic while the lock is held
//! does not make it unusable: the store goes on with what it holds.

use std::sync::{PoisonError, RwLockReadGuard, RwLockWriteGuard};

#[derive(Debug, Default)]
pub(super) struct RwLock<T>(std::sync::RwLock<T>);

impl<T> RwLock<T> {
    pub(super) fn new(value: T) -> Self {
        RwLock(std::sync::RwLock::new(value))
    }

    pub(super) fn read(&self) -> RwLockReadGuard<'_, T> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }
}
