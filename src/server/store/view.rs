//! Read-only views of the groups, copied out under the read lock: in full
//! for snapshots and single groups, in brief for tests, and what a
//! deletion removed; and the JSON API's objects of every group (`GET
//! /api/v1/metrics`, and in brief `GET /api/v1/groups` for the web page's
//! list and `pgw list`), written under the lock and kept (see
//! [`Store::write_each_group`]).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use crate::grouping::GroupingKey;
use crate::server::store::prepare::unix_seconds;
use crate::server::store::runs::fresh_run;
use crate::server::store::{Group, Object, Pieces, Store, StoredFamily};

/// A read-only view of a group for the JSON API and persistence.
#[derive(Debug, Clone)]
pub(crate) struct GroupView {
    pub(crate) key: GroupingKey,
    pub(crate) push_time: f64,
    pub(crate) failure_time: f64,
    /// The pushed families, sorted by name.
    pub(crate) families: Vec<Arc<StoredFamily>>,
    /// `push_failure_time_seconds` and `push_time_seconds`.
    pub(crate) synthetic: [Arc<StoredFamily>; 2],
    /// The group's time to live after its last successful push.
    pub(crate) ttl: Option<Duration>,
    /// An aggregating push made it, and no plain PUT replaced it since.
    pub(crate) aggregating: bool,
}

/// A group's view as taken under the store's lock: its families still in
/// the group's shared map.
pub(super) struct Unsorted(super::Families, GroupView);

impl Unsorted {
    /// The view with its families listed, sorted by name, as it is handed
    /// out.
    pub(super) fn sorted(self) -> GroupView {
        let Unsorted(map, mut view) = self;
        view.families = map.values().cloned().collect();
        view.families.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        view
    }
}

#[cfg(test)]
impl GroupView {
    /// Seconds until the group expires (0 when overdue), if it can expire.
    pub(crate) fn expires_in(&self, now: SystemTime) -> Option<f64> {
        expires_in(self.push_time, self.ttl, now)
    }
}

/// One group borrowed from the store, under its read lock: what the JSON
/// API writes, without copying the group's key or family handles.
pub(crate) struct GroupRef<'a> {
    pub(crate) key: &'a GroupingKey,
    pub(crate) push_time: f64,
    pub(crate) failure_time: f64,
    /// The pushed families, sorted by name.
    pub(crate) families: &'a [&'a StoredFamily],
    /// `push_failure_time_seconds` and `push_time_seconds`.
    pub(crate) synthetic: [&'a StoredFamily; 2],
    pub(crate) ttl: Option<Duration>,
    pub(crate) aggregating: bool,
}

impl GroupRef<'_> {
    /// Seconds until the group expires (0 when overdue), if it can expire.
    pub(crate) fn expires_in(&self, now: SystemTime) -> Option<f64> {
        expires_in(self.push_time, self.ttl, now)
    }
}

/// Seconds from `now` until a group last pushed at `push_time` (Unix
/// seconds) with time to live `ttl` expires, 0 when overdue; `None` when it
/// never expires.
pub(crate) fn expires_in(push_time: f64, ttl: Option<Duration>, now: SystemTime) -> Option<f64> {
    Some(seconds_left(push_time, ttl?, unix_seconds(now)).max(0.0))
}

pub(super) fn seconds_left(push_time: f64, ttl: Duration, now: f64) -> f64 {
    push_time + ttl.as_secs_f64() - now
}

/// A group in brief, for the web page's list and `pgw list`: no metric
/// text is copied.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GroupSummary {
    pub(crate) key: GroupingKey,
    pub(crate) push_time: f64,
    pub(crate) failure_time: f64,
    /// Pushed families and series, not counting the two synthetic ones.
    pub(crate) metrics: usize,
    pub(crate) series: usize,
    pub(crate) ttl: Option<Duration>,
    pub(crate) aggregating: bool,
    /// The exit code of a job wrapped by `pgw push -- COMMAND`, from
    /// `pgw_job_exit_code` ([`job_exit_code`]).
    pub(crate) job_exit_code: Option<f64>,
    /// When its last successful run ended, from
    /// `pgw_job_last_success_time_seconds` ([`job_last_success`]).
    pub(crate) job_last_success: Option<f64>,
}

impl GroupSummary {
    /// Seconds until the group expires (0 when overdue), if it can expire.
    pub(crate) fn expires_in(&self, now: SystemTime) -> Option<f64> {
        expires_in(self.push_time, self.ttl, now)
    }
}

/// The families of a wrapped job's run that the page and `pgw list` show
/// (see `cmd::push::wrap`).
const JOB_EXIT_CODE: &str = "pgw_job_exit_code";
const JOB_LAST_SUCCESS: &str = "pgw_job_last_success_time_seconds";

/// A wrapped job's exit code as `pgw list` reads it from `/api/v1/metrics`
/// (`client::groups`), so that both listings say the same: of the finite
/// values of the family's series, in order, the first non-zero one (a
/// failed series speaks for the job), else the first.
fn job_exit_code(family: &StoredFamily) -> Option<f64> {
    let mut values = values(family);
    let first = values.next()?;
    if first != 0.0 {
        return Some(first);
    }
    Some(values.find(|v| *v != 0.0).unwrap_or(first))
}

/// The last success as `pgw list` reads it: the latest positive finite
/// value (0 is "never").
fn job_last_success(family: &StoredFamily) -> Option<f64> {
    values(family).filter(|t| *t > 0.0).reduce(f64::max)
}

/// The finite values of a family's series in the order the JSON API lists
/// them, read back from the sample lines (`name{labels} value
/// [timestamp]`, one per series; label values are quoted and may hold `}`
/// or spaces) rather than decoding the protobuf copy. Summaries and
/// histograms have no single value, as in the JSON API.
fn values(family: &StoredFamily) -> impl Iterator<Item = f64> + '_ {
    let lines = if family.kind.is_compound() {
        &[][..]
    } else {
        &family.text[..]
    };
    lines
        .split(|&b| b == b'\n')
        .filter_map(|line| sample_value(std::str::from_utf8(line).ok()?))
        .filter(|v| v.is_finite())
}

/// The value of one sample line.
fn sample_value(line: &str) -> Option<f64> {
    let rest = match line.find(['{', ' ']) {
        Some(i) if line[i..].starts_with('{') => {
            let (mut quoted, mut escaped, mut end) = (false, false, None);
            for (j, c) in line[i..].char_indices() {
                match c {
                    _ if escaped => escaped = false,
                    '\\' if quoted => escaped = true,
                    '"' => quoted = !quoted,
                    '}' if !quoted => {
                        end = Some(i + j + 1);
                        break;
                    }
                    _ => {}
                }
            }
            &line[end?..]
        }
        Some(i) => &line[i..],
        None => return None,
    };
    rest.split_whitespace().next()?.parse().ok()
}

/// A group that a clean-up or expiry deleted (or would delete, in a dry
/// run).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Removed {
    pub(crate) key: GroupingKey,
    pub(crate) push_time: f64,
    pub(crate) ttl: Option<Duration>,
}

/// Counts that describe the store, for the server's own metrics and logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Stats {
    pub(crate) groups: usize,
    pub(crate) series: usize,
}

impl Store {
    pub(crate) fn stats(&self) -> Stats {
        let inner = self.inner.read();
        Stats {
            groups: inner.groups.len(),
            series: inner.series_total,
        }
    }

    /// Every group in brief, in grouping-key order.
    #[cfg(test)]
    pub(crate) fn summaries(&self) -> Vec<GroupSummary> {
        let inner = self.inner.read();
        inner.groups.values().map(Group::summary).collect()
    }

    /// One group, if it exists.
    pub(crate) fn group(&self, key: &GroupingKey) -> Option<GroupView> {
        let view = self
            .inner
            .read()
            .groups
            .get(key.canonical().as_slice())
            .map(Group::view);
        view.map(Unsorted::sorted)
    }

    /// Every group, in grouping-key order.
    pub(crate) fn groups(&self) -> Vec<GroupView> {
        let views: Vec<_> = self.inner.read().groups.values().map(Group::view).collect();
        views.into_iter().map(Unsorted::sorted).collect()
    }

    /// Writes every group in key order, a comma between two, each by
    /// `write` from a borrowed view, into `out`: the objects of `GET
    /// /api/v1/metrics`.
    ///
    /// What `write` wrote is kept twice, and later calls share or copy it
    /// until something changes: each group's object, until the group
    /// changes, and each run of groups' objects (see [`super::runs`]), until
    /// one of the run's groups does. A call on a store that did not change
    /// since the last one hands out one shared piece per run: with tens of
    /// thousands of groups, writing a group's object again costs a cache
    /// miss for every family it holds, and even copying the objects into
    /// one answer cost a third of its CPU. A group with a time to live is
    /// written each time, as its countdown moves with the clock, and its
    /// run is not kept; `write` must write the others alike whenever it is
    /// called.
    pub(crate) fn write_each_group(
        &self,
        out: &mut Pieces,
        mut write: impl FnMut(&mut Vec<u8>, &GroupRef<'_>),
    ) {
        self.write_kept(out, Object::Full, |out, g| {
            let mut families: Vec<&StoredFamily> = g.families.values().map(|f| &**f).collect();
            families.sort_unstable_by(|a, b| a.name.cmp(&b.name));
            write(out, &g.borrowed(&families));
        });
    }

    /// Writes every group in brief, in key order, a comma between two, each
    /// by `write`, into `out`: the objects of `GET /api/v1/groups`, kept as
    /// [`Store::write_each_group`] keeps the full ones.
    pub(crate) fn write_each_summary(
        &self,
        out: &mut Pieces,
        mut write: impl FnMut(&mut Vec<u8>, &GroupSummary),
    ) {
        self.write_kept(out, Object::Brief, |out, g| write(out, &g.summary()));
    }

    /// Writes every group's `object`, by `write` or from what runs and
    /// groups kept of it (see [`Store::write_each_group`]).
    fn write_kept(
        &self,
        out: &mut Pieces,
        object: Object,
        mut write: impl FnMut(&mut Vec<u8>, &Group),
    ) {
        let inner = self.inner.read();
        // Each run's objects, a comma after each; the last comma goes below.
        let mut runs: Vec<Bytes> = Vec::new();
        let mut longest = 0;
        for (run, span) in inner.runs.each(&inner.groups) {
            let kept = run.kept.of(object);
            if let Some(bytes) = kept.get() {
                runs.push(bytes.clone());
                continue;
            }
            let mut keep = true;
            let bytes = fresh_run(&mut longest, |buf| {
                for (_, g) in span.members() {
                    let mine = g.kept.of(object);
                    if let Some(json) = mine.get() {
                        buf.extend_from_slice(json);
                    } else {
                        let from = buf.len();
                        write(buf, g);
                        if g.ttl.is_none() {
                            // Another answer may have kept the same bytes meanwhile.
                            let _ = mine.set(buf[from..].into());
                        } else {
                            keep = false;
                        }
                    }
                    buf.push(b',');
                }
            });
            if keep {
                let _ = kept.set(bytes.clone());
            }
            runs.push(bytes);
        }
        runs.retain(|r| !r.is_empty());
        if let Some(last) = runs.last_mut() {
            last.truncate(last.len() - 1);
        }
        for run in runs {
            out.share(run);
        }
    }
}

impl Group {
    /// The group in brief.
    fn summary(&self) -> GroupSummary {
        GroupSummary {
            key: self.key.clone(),
            push_time: self.push_time,
            failure_time: self.failure_time,
            metrics: self.families.len(),
            series: self.families.values().map(|f| f.series_count()).sum(),
            ttl: self.ttl,
            aggregating: self.aggregating,
            job_exit_code: self
                .families
                .get(JOB_EXIT_CODE)
                .and_then(|f| job_exit_code(f)),
            job_last_success: self
                .families
                .get(JOB_LAST_SUCCESS)
                .and_then(|f| job_last_success(f)),
        }
    }

    /// The group, borrowed, with `families`, its own sorted by name.
    fn borrowed<'a>(&'a self, families: &'a [&'a StoredFamily]) -> GroupRef<'a> {
        GroupRef {
            key: &self.key,
            push_time: self.push_time,
            failure_time: self.failure_time,
            families,
            synthetic: [&self.failure_time_family, &self.push_time_family],
            ttl: self.ttl,
            aggregating: self.aggregating,
        }
    }

    pub(super) fn removed(&self) -> Removed {
        Removed {
            key: self.key.clone(),
            push_time: self.push_time,
            ttl: self.ttl,
        }
    }

    /// The group's view without its families listed: taken under the
    /// store's lock, which listing and sorting them need not hold (at 1,000
    /// node_exporter groups they are most of a snapshot's cut). See
    /// [`Unsorted::sorted`].
    pub(super) fn view(&self) -> Unsorted {
        Unsorted(
            self.families.clone(),
            GroupView {
                key: self.key.clone(),
                push_time: self.push_time,
                failure_time: self.failure_time,
                families: Vec::new(),
                synthetic: [
                    self.failure_time_family.clone(),
                    self.push_time_family.clone(),
                ],
                ttl: self.ttl,
                aggregating: self.aggregating,
            },
        )
    }
}
