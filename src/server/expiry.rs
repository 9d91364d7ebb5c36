//! Expiry of stale groups: a group whose time to live (from its last push's
//! `Pgw-Expire-After` header, else `--expire-after`) has run out since its
//! last successful push is deleted, logged and counted. The official server
//! keeps every group forever (its issue #19), so users run clean-up cron
//! jobs; here it is off by default, so behaviour stays drop-in.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::server::State;

/// How often the store is checked. Expiry is a clean-up, not a timer: a
/// group may outlive its time to live by up to this much.
pub(crate) const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// Deletes expired groups until the task is aborted.
pub(crate) async fn run(state: Arc<State>) {
    let mut tick = tokio::time::interval(SWEEP_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        sweep(&state, SystemTime::now()).await;
    }
}

/// Deletes what has expired at `now`; returns how many groups went.
pub(crate) async fn sweep(state: &State, now: SystemTime) -> usize {
    // A log that cannot take the deletion (or an etcd that cannot be
    // reached) leaves the groups for a later sweep; both report their
    // state themselves.
    let expired = crate::server::writes::expire(state, now).await;
    for removed in &expired {
        crate::info!(
            "group expired",
            group = removed.key,
            expire_after = humantime::format_duration(removed.ttl.unwrap_or_default()),
            last_push = crate::server::http::api::rfc3339_nanos(seconds_to_time(removed.push_time))
        );
    }
    if !expired.is_empty() {
        state.metrics.count_expired(expired.len());
    }
    expired.len()
}

fn seconds_to_time(s: f64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs_f64(s.max(0.0))
}
