//! The change-log interface: how the store hands every change to what makes
//! it durable (the local journal in `server::persist`; a networked log would
//! be another implementation) without knowing where or how.
//!
//! The protocol keeps the log's order the store's order and lets concurrent
//! requests share one sync:
//! 1. a push is encoded before the store takes its lock
//!    ([`ChangeLog::encode`]); the other changes are small and known only
//!    under the lock, so they are encoded there;
//!    and the log may make room for it there ([`ChangeLog::make_room`]);
//! 2. the record is appended while the store holds its write lock
//!    ([`ChangeLog::append`], which must not block), before the store applies
//!    the change: a log that cannot take the record (no room reserved for
//!    it, a log that stopped) refuses it, and the store then changes nothing,
//!    so nothing is ever visible that the log did not take;
//! 3. once the lock is released, the request waits until the log reports
//!    every change appended so far durable ([`Store::durable`]), and only
//!    then is it answered.

use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::watch;

use crate::grouping::GroupingKey;
use crate::server::store::{Mode, PreparedPush, Store};

/// One change the store applies, as the log is handed it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Change<'a> {
    /// A push that passed every check, applied at `at`.
    Push {
        push: &'a PreparedPush,
        mode: Mode,
        at: SystemTime,
    },
    /// The groups that a delete, a clean-up or expiry removed, as one change.
    Delete(&'a [&'a GroupingKey]),
    /// Every group removed.
    Wipe,
    /// A refused change set the failure time of the group.
    Failure {
        key: &'a GroupingKey,
        at: SystemTime,
    },
}

/// How far a log is durable, or why it stopped being written.
#[derive(Debug, Clone, Default)]
pub(crate) struct Synced {
    /// Every change up to this sequence number is durable.
    pub(crate) seq: u64,
    /// Set once the log cannot be written: no change is durable after it.
    pub(crate) error: Option<Arc<str>>,
}

/// What makes the store's changes durable. Sequence numbers start after the
/// last one the log already holds and grow by one per change.
pub(crate) trait ChangeLog: Send + Sync {
    /// The record of one change, in the log's own format.
    fn encode(&self, change: &Change<'_>) -> Vec<u8>;
    /// Called before the store's lock with the size of a record about to be
    /// appended: where the log has no room for it yet but can make some (a
    /// record larger than its segments, a segment still being made), it
    /// does so here, where waiting holds up only this request. `append`
    /// still decides.
    fn make_room(&self, _bytes: usize) {}
    /// Queues a record and returns its sequence number, or refuses it when
    /// the log cannot make it durable: then the store must not apply the
    /// change. Called with the store's write lock held, before the change is
    /// applied, so it must not block.
    fn append(&self, record: Vec<u8>) -> Result<u64, Refused>;
    /// The sequence number of the last record appended.
    fn appended(&self) -> u64;
    /// How far the log is durable, to wait on.
    fn synced(&self) -> watch::Receiver<Synced>;
}

/// Why a change the store applied may not be durable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the change was applied but could not be written to the persistence file: {0}")]
pub(crate) struct NotDurable(pub(crate) Arc<str>);

/// Why the log refused a change: nothing was applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the change was not made, because the persistence log cannot take it: {0}")]
pub struct Refused(pub(crate) Arc<str>);

/// Waits until `synced` reports every change up to `seq` durable.
pub(crate) async fn wait_synced(
    mut synced: watch::Receiver<Synced>,
    seq: u64,
) -> Result<(), Arc<str>> {
    let result = synced
        .wait_for(|s| s.seq >= seq || s.error.is_some())
        .await
        .map(|s| s.clone());
    match result {
        Ok(s) if s.seq >= seq => Ok(()),
        Ok(s) => Err(s.error.unwrap_or_else(|| "unknown".into())),
        Err(_) => Err("the log writer stopped".into()),
    }
}

impl Store {
    /// Gives the store the log it hands every change to from now on. Taken
    /// by value, before the store is shared: what was put into the store
    /// before (a restore, an import) is never logged again.
    pub(crate) fn with_log(mut self, log: Arc<dyn ChangeLog>) -> Store {
        self.log = Some(log);
        self
    }

    /// Waits until every change the store has applied so far is durable; at
    /// once without a log.
    pub(crate) async fn durable(&self) -> Result<(), NotDurable> {
        let Some(log) = &self.log else {
            return Ok(());
        };
        wait_synced(log.synced(), log.appended())
            .await
            .map_err(NotDurable)
    }

    /// Hands a change to the log; called with the write lock held, before
    /// the change is applied, which it must not be on an error.
    pub(super) fn log(&self, change: Change<'_>) -> Result<(), Refused> {
        match &self.log {
            Some(log) => log.append(log.encode(&change)).map(drop),
            None => Ok(()),
        }
    }
}
