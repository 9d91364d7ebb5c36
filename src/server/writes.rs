//! Every change a request or the expiry makes, sent where the store lives:
//! the embedded store (applied at once, answered once its log has it on
//! disk) or the etcd store (answered once a quorum of etcd has it; see
//! `etcd::commit`). Handlers call these and never the store's own
//! changing methods, so both backends give the same answers.

use std::time::{Duration, SystemTime};

use crate::client::selector::Selector;
use crate::grouping::GroupingKey;
use crate::server::etcd::{CommitError, Outcome, Pending};
use crate::server::store::{NotDurable, PreparedPush, PushError, Refused, Removed};
use crate::server::State;

/// Why a change was not made, or not made durable.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WriteError {
    #[error(transparent)]
    Push(#[from] PushError),
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error(transparent)]
    NotDurable(#[from] NotDurable),
    #[error(transparent)]
    Etcd(#[from] CommitError),
}

/// Applies a prepared push; its verdict once it is durable.
pub(crate) async fn push(
    state: &State,
    push: PreparedPush,
    mode: crate::server::store::Mode,
    now: SystemTime,
) -> Result<(), WriteError> {
    let Some(etcd) = &state.etcd else {
        let verdict = state.store.push(push, mode, now);
        // A refusal may have set the group's failure time: on disk before
        // the answer too. A log that cannot be written is reported by the
        // next push that succeeds.
        return match verdict {
            Ok(()) => Ok(state.store.durable().await?),
            Err(e) => {
                let _ = state.store.durable().await;
                Err(e.into())
            }
        };
    };
    match etcd.submit(Pending::Push { push, mode, now }).await? {
        Outcome::Pushed(verdict) => Ok(verdict?),
        _ => unreachable!("a push is answered with its verdict"),
    }
}

/// Records that a change of `key` failed before it reached the store (a
/// body that does not parse), if the group exists.
pub(crate) async fn record_failure(state: &State, key: &GroupingKey, now: SystemTime) {
    match &state.etcd {
        None => {
            state.store.record_failure(key, now);
            let _ = state.store.durable().await;
        }
        Some(etcd) => {
            if state.store.group(key).is_some() {
                let pending = Pending::Failure {
                    key: key.clone(),
                    now,
                };
                if let Err(e) = etcd.submit(pending).await {
                    crate::debug!("cannot record a failed push", group = key, err = e);
                }
            }
        }
    }
}

/// Deletes exactly the group `key`; true if it existed.
pub(crate) async fn delete(state: &State, key: &GroupingKey) -> Result<bool, WriteError> {
    let Some(etcd) = &state.etcd else {
        let existed = state.store.delete(key)?;
        state.store.durable().await?;
        return Ok(existed);
    };
    let pending = Pending::Delete {
        keys: vec![key.clone()],
    };
    Ok(count(etcd.submit(pending).await?) > 0)
}

/// Deletes every group that matches `selector` and is staler than `stale`,
/// in one step; with `dry_run`, only says which.
pub(crate) async fn delete_matching(
    state: &State,
    selector: &Selector,
    stale: Option<Duration>,
    now: SystemTime,
    dry_run: bool,
) -> Result<Vec<Removed>, WriteError> {
    match &state.etcd {
        Some(etcd) if !dry_run => {
            let pending = Pending::DeleteMatching {
                selector: selector.clone(),
                stale,
                now,
            };
            Ok(removed(etcd.submit(pending).await?))
        }
        _ => {
            let removed = state.store.delete_matching(selector, stale, now, dry_run)?;
            if !removed.is_empty() {
                state.store.durable().await?;
            }
            Ok(removed)
        }
    }
}

/// Deletes every group; how many there were.
pub(crate) async fn wipe(state: &State) -> Result<usize, WriteError> {
    let Some(etcd) = &state.etcd else {
        let n = state.store.wipe()?;
        state.store.durable().await?;
        return Ok(n);
    };
    Ok(count(etcd.submit(Pending::Wipe).await?))
}

/// Deletes every group whose time to live ran out at `now`; what went. In
/// a cluster each replica looks, and the commit's fence lets only one
/// delete a group, and never one pushed again meanwhile.
pub(crate) async fn expire(state: &State, now: SystemTime) -> Vec<Removed> {
    match &state.etcd {
        None => state.store.expire(now).unwrap_or_default(),
        Some(etcd) => {
            if !state.store.any_expired(now) {
                return Vec::new();
            }
            match etcd.submit(Pending::Expire { now }).await {
                Ok(outcome) => removed(outcome),
                Err(e) => {
                    crate::debug!("cannot expire groups now", err = e);
                    Vec::new()
                }
            }
        }
    }
}

fn count(outcome: Outcome) -> usize {
    match outcome {
        Outcome::Count(n) => n,
        Outcome::Removed(r) => r.len(),
        Outcome::Pushed(_) => 0,
    }
}

fn removed(outcome: Outcome) -> Vec<Removed> {
    match outcome {
        Outcome::Removed(r) => r,
        _ => Vec::new(),
    }
}
