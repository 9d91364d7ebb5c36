//! The store: every group and its metric families, kept in the form the
//! server serves most, the text exposition of each family of each group,
//! rendered once when it is pushed. A scrape then only concatenates bytes, and
//! a push costs time in proportion to its own size, not to the store's.
//!
//! Preparing a push (label sanitising, checks, rendering) is pure and happens
//! outside the lock ([`prepare`]); under the write lock the store checks the
//! push against the other groups (same family name with another type, a
//! series that another group already exposes) through two indexes
//! ([`index`]), and applies it. A push that fails any check changes nothing
//! but the failure time of its group. This file owns the groups, the lock and
//! the application of every change; [`view`] reads groups out, [`scrape`]
//! writes the exposition, [`aggregate`] combines an aggregating push with
//! the families its group has.
//!
//! The store knows no disk: every change is handed, under the write lock, to
//! the [`ChangeLog`] it was built with (see [`log`]), so a log holds changes
//! in the order the store applied them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use rustc_hash::FxHashMap;

use crate::client::selector::Selector;
use crate::exposition::MetricType;
use crate::grouping::GroupingKey;
use crate::server::limits::{Limit, LimitHit, Limits};

mod aggregate;
mod index;
mod lock;
mod log;
mod pieces;
mod prepare;
mod runs;
mod scrape;
#[cfg(test)]
mod tests;
mod view;

pub use aggregate::Gauges;
use index::{index_insert, index_remove, FamilyIndex, FingerprintMap};
use lock::RwLock;
pub(crate) use log::{wait_synced, Change, ChangeLog, NotDurable, Refused, Synced};
pub(crate) use pieces::Pieces;
pub use prepare::{prepare, prepare_with, PreparedPush, Protobuf, Texts};
pub(crate) use prepare::{prepare_timed, unix_nanos, StoredFamily, PUSH_FAILURE_TIME, PUSH_TIME};
use prepare::{render_family, synthetic_family, unix_seconds};
use runs::Runs;
pub use scrape::OwnFamily;
use view::seconds_left;
pub(crate) use view::{GroupRef, GroupSummary, GroupView, Removed, Stats};

/// Why a push was refused; sent as the body of a 400 answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pushed metrics are invalid or inconsistent with existing metrics: {0}")]
pub struct Rejection(pub(crate) String);

/// Why `Store::push` refused a push.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error(transparent)]
    Limit(#[from] LimitHit),
    /// The log cannot take the change, so it was not made.
    #[error(transparent)]
    Refused(#[from] Refused),
}

/// PUT replaces the whole group; POST replaces only the families it names;
/// an aggregating POST adds them into the group's (see [`aggregate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Replace,
    Merge,
    /// A PUT that asked for aggregation: replaces the group, which then
    /// shows that it aggregates.
    ReplaceAggregating,
    /// A POST that asked for aggregation, gauges combined as given.
    Aggregate(Gauges),
}

impl Mode {
    /// Drops every family of the group that the push does not name.
    pub(crate) fn replaces(self) -> bool {
        matches!(self, Mode::Replace | Mode::ReplaceAggregating)
    }
}

/// A group's push and failure times, and the time stamps of the two
/// families that show them. Upstream keeps the two apart: a refused push
/// leaves `push_time_seconds` and its time stamp alone, a successful one
/// `push_failure_time_seconds` and its time stamp.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct GroupTimes {
    pub(crate) push_time: f64,
    pub(crate) failure_time: f64,
    pub(crate) pushed_at: SystemTime,
    pub(crate) failed_at: SystemTime,
}

/// A group's families by name. Shared, so that a snapshot's cut takes one
/// handle per group under the store's lock, not one per family; a push to a
/// group while a cut still holds its map copies the map first.
type Families = Arc<FxHashMap<Arc<str>, Arc<StoredFamily>>>;

struct Group {
    id: u64,
    key: GroupingKey,
    families: Families,
    push_time: f64,
    failure_time: f64,
    push_time_family: Arc<StoredFamily>,
    failure_time_family: Arc<StoredFamily>,
    ttl: Option<Duration>,
    /// Set by an aggregating push, cleared by a PUT without aggregation;
    /// shown by the JSON API and the page.
    aggregating: bool,
    /// The group's objects in `GET /api/v1/metrics` and `GET
    /// /api/v1/groups`, kept by the first answer that wrote each (see
    /// [`Store::write_each_group`]) and dropped by `set_times`, which every
    /// change of a group ends with.
    kept: GroupKept<Box<[u8]>>,
}

/// What a group, or a run of groups, keeps of its JSON: its object (or
/// theirs, one after the other) in the full answer and in the brief one.
struct GroupKept<B> {
    full: OnceLock<B>,
    brief: OnceLock<B>,
}

/// Which of a group's JSON objects: the full one or the brief one.
#[derive(Clone, Copy)]
enum Object {
    Full,
    Brief,
}

impl<B> GroupKept<B> {
    fn of(&self, object: Object) -> &OnceLock<B> {
        match object {
            Object::Full => &self.full,
            Object::Brief => &self.brief,
        }
    }
}

impl<B> Default for GroupKept<B> {
    fn default() -> Self {
        GroupKept {
            full: OnceLock::new(),
            brief: OnceLock::new(),
        }
    }
}

impl Group {
    /// True if the group has a time to live and it has run out at `now`.
    fn expired(&self, now: f64) -> bool {
        self.ttl
            .is_some_and(|ttl| seconds_left(self.push_time, ttl, now) <= 0.0)
    }
}

#[derive(Default)]
struct Inner {
    groups: BTreeMap<Arc<[u8]>, Group>,
    /// `groups` cut into runs, each keeping its groups' objects in `GET
    /// /api/v1/metrics` and `GET /api/v1/groups` (see
    /// [`Store::write_each_group`]).
    runs: Runs<GroupKept<Bytes>>,
    /// Family name -> every group that has it. Hashed, because a push looks
    /// up every family it brings; `names` keeps the names sorted for scrapes.
    families: FxHashMap<Arc<str>, FamilyIndex>,
    names: BTreeSet<Arc<str>>,
    /// series fingerprint -> id of the group that exposes it.
    series: FingerprintMap,
    next_id: u64,
    series_total: usize,
}

pub struct Store {
    inner: RwLock<Inner>,
    /// Names and types of the server's own metrics: a pushed family of the
    /// same name must have the same type, or the scrape could not merge them.
    /// Hashed: a push looks up every family it brings.
    own_types: FxHashMap<&'static str, MetricType>,
    /// Where every change is handed, under the write lock, so the log holds
    /// changes in the order the store applied them (`None`: memory only).
    log: Option<Arc<dyn ChangeLog>>,
    /// The store-wide limits (`groups`, `series`); see `limits.rs`.
    limits: Limits,
    /// Set by the first protobuf scrape: from then on pushes are encoded
    /// to protobuf when they are prepared (see [`Store::protobuf`]).
    read_as_protobuf: AtomicBool,
}

impl Store {
    pub fn new(own_types: &[(&'static str, MetricType)]) -> Store {
        Store {
            inner: RwLock::new(Inner::default()),
            own_types: own_types.iter().copied().collect(),
            log: None,
            limits: Limits::NONE,
            read_as_protobuf: AtomicBool::new(false),
        }
    }

    /// When pushes prepared for this store should get their protobuf
    /// series: at push time once a protobuf scrape has read the store (its
    /// scrapers will read every push so), else when first read.
    pub(crate) fn protobuf(&self) -> Protobuf {
        if self.read_as_protobuf.load(Ordering::Relaxed) {
            Protobuf::AtPush
        } else {
            Protobuf::WhenRead
        }
    }

    /// Every group and the sequence number of the last change they include,
    /// read under one lock: a consistent cut for a snapshot.
    pub(crate) fn cut(&self) -> (Vec<GroupView>, u64) {
        let (views, seq): (Vec<_>, _) = {
            let inner = self.inner.read();
            let seq = self.log.as_ref().map_or(0, |l| l.appended());
            (inner.groups.values().map(Group::view).collect(), seq)
        };
        (views.into_iter().map(view::Unsorted::sorted).collect(), seq)
    }

    /// Sets the store-wide limits (groups and series).
    pub(crate) fn with_limits(mut self, limits: Limits) -> Store {
        self.limits = limits;
        self
    }

    /// Applies a prepared push, or refuses it (and records the failure time on
    /// the group if it exists; a refused push never creates a group).
    pub fn push(&self, push: PreparedPush, mode: Mode, now: SystemTime) -> Result<(), PushError> {
        let canonical: Arc<[u8]> = Arc::from(push.key.canonical());
        // Encoded (and compressed) before the lock, which then only hands the
        // record to the log writer.
        let record = self.log.as_ref().map(|log| {
            let record = log.encode(&Change::Push {
                push: &push,
                mode,
                at: now,
            });
            log.make_room(record.len());
            record
        });
        // The reading back, adding and rendering of an aggregating push is
        // done under the read lock, so that pushes to other groups are not
        // held up by it; the write lock below only checks that its basis is
        // still the group's.
        let early = match mode {
            Mode::Aggregate(gauges) => Some(combine_push(
                &self.inner.read(),
                &canonical,
                &push,
                gauges,
                now,
            )),
            _ => None,
        };
        let mut inner = self.inner.write();
        // An aggregating push is logged as pushed (replaying the same
        // additions in the same order gives the same sums) but checked and
        // applied as what it makes of the group's families.
        let key = push.key.clone();
        let checked = self
            .aggregated(&inner, &canonical, push, mode, now, early)
            .map_err(PushError::from)
            .and_then(|push| {
                self.check(&inner, &canonical, &push)?;
                self.check_limits(&inner, &canonical, &push, mode)?;
                Ok(push)
            });
        let push = match checked {
            Ok(push) => push,
            Err(e) => {
                self.log_failure(&mut inner, &key, now);
                return Err(e);
            }
        };
        // Logged before it is applied: a change the log refuses is not made.
        if let (Some(log), Some(record)) = (&self.log, record) {
            log.append(record)?;
        }
        let retired = inner.apply(canonical, push, mode, now, None);
        // The families the push replaced are freed after the lock, which
        // pushes to other groups wait for.
        drop(inner);
        drop(retired);
        Ok(())
    }

    /// An aggregating push as the families it makes of the group's: only
    /// the families it names are read back and rendered again. `early` is
    /// that work done under the read lock (see [`Store::push`]): used when
    /// the group still holds the very families it started from, so the
    /// result is what the work under this lock would give; done again here
    /// otherwise. Any other push as it is.
    fn aggregated(
        &self,
        inner: &Inner,
        canonical: &Arc<[u8]>,
        push: PreparedPush,
        mode: Mode,
        now: SystemTime,
        early: Option<Combined>,
    ) -> Result<PreparedPush, Rejection> {
        let Mode::Aggregate(gauges) = mode else {
            return Ok(push);
        };
        let combined = match early {
            Some(c) if c.still_current(inner, canonical, &push) => c,
            _ => combine_push(inner, canonical, &push, gauges, now),
        };
        let outcomes = combined.outcomes.map_err(Rejection)?;
        let PreparedPush { key, families, ttl } = push;
        let families = families
            .into_iter()
            .zip(outcomes)
            .map(|(pushed, outcome)| outcome.map_or(pushed, Arc::new))
            .collect();
        Ok(PreparedPush { key, families, ttl })
    }

    /// The store-wide limits, for a push that passed every other check.
    fn check_limits(
        &self,
        inner: &Inner,
        canonical: &Arc<[u8]>,
        push: &PreparedPush,
        mode: Mode,
    ) -> Result<(), LimitHit> {
        let existing = inner.groups.get(canonical);
        let max_groups = self.limits.max_groups;
        if max_groups > 0 && existing.is_none() && inner.groups.len() >= max_groups {
            return Err(LimitHit {
                limit: Limit::Groups,
                max: max_groups,
                message: format!(
                    "the store holds {} groups, so group {} cannot be added",
                    inner.groups.len(),
                    push.key
                ),
            });
        }
        let max_series = self.limits.max_series;
        if max_series > 0 {
            // The series the push takes away: all of the group's on PUT,
            // those of the families it names on POST.
            let leaving: usize = match existing {
                None => 0,
                Some(g) if mode.replaces() => g.families.values().map(|f| f.series_count()).sum(),
                Some(g) => push
                    .families
                    .iter()
                    .filter_map(|f| g.families.get(&f.name))
                    .map(|f| f.series_count())
                    .sum(),
            };
            let after = inner.series_total - leaving + push.series_count();
            if after > max_series && after > inner.series_total {
                return Err(LimitHit {
                    limit: Limit::Series,
                    max: max_series,
                    message: format!(
                        "the store holds {} series and the push of group {} would make it {after}",
                        inner.series_total, push.key
                    ),
                });
            }
        }
        Ok(())
    }

    /// Applies a push from the persistence log: checked for consistency like
    /// any push, but not against the limits (they apply to new pushes, not
    /// to what the store already accepted), and not logged again.
    pub(crate) fn replay(
        &self,
        push: PreparedPush,
        mode: Mode,
        now: SystemTime,
    ) -> Result<(), Rejection> {
        let canonical: Arc<[u8]> = Arc::from(push.key.canonical());
        let mut inner = self.inner.write();
        let push = self.aggregated(&inner, &canonical, push, mode, now, None)?;
        self.check(&inner, &canonical, &push)?;
        drop(inner.apply(canonical, push, mode, now, None));
        Ok(())
    }

    /// Restores a group from persisted state, as it was: its families keep
    /// their own push times, and the group its push and failure times and the
    /// time of its last change.
    pub(crate) fn restore(
        &self,
        push: PreparedPush,
        times: GroupTimes,
        aggregating: bool,
    ) -> Result<(), Rejection> {
        let canonical: Arc<[u8]> = Arc::from(push.key.canonical());
        let mut inner = self.inner.write();
        self.check(&inner, &canonical, &push)?;
        let mode = if aggregating {
            Mode::ReplaceAggregating
        } else {
            Mode::Replace
        };
        drop(inner.apply(canonical, push, mode, times.pushed_at, Some(times)));
        Ok(())
    }

    /// Sets a group back to exactly the state `view` shows (its families,
    /// times, time to live and mark), replacing what the group holds now:
    /// how a change that was applied but not committed elsewhere is undone.
    /// Checked like a restore, not logged.
    pub(crate) fn put_view(&self, view: &GroupView) -> Result<(), Rejection> {
        let families = view.families.iter().map(|f| (**f).clone()).collect();
        let push = PreparedPush::from_parts(view.key.clone(), families, view.ttl);
        let times = GroupTimes {
            push_time: view.push_time,
            failure_time: view.failure_time,
            pushed_at: view.synthetic[1].pushed_at(),
            failed_at: view.synthetic[0].pushed_at(),
        };
        self.restore(push, times, view.aggregating)
    }

    /// True if some group's time to live has run out at `now`.
    pub(crate) fn any_expired(&self, now: SystemTime) -> bool {
        let now_s = unix_seconds(now);
        self.inner.read().groups.values().any(|g| g.expired(now_s))
    }

    /// The groups whose time to live has run out at `now`.
    pub(crate) fn expired_keys(&self, now: SystemTime) -> Vec<GroupingKey> {
        let now_s = unix_seconds(now);
        let inner = self.inner.read();
        inner
            .groups
            .values()
            .filter(|g| g.expired(now_s))
            .map(|g| g.key.clone())
            .collect()
    }

    /// Records a failed change of `key` (only if the group exists, and only
    /// if the log takes it: a refused push on a full disk leaves the group
    /// as it was).
    pub(crate) fn record_failure(&self, key: &GroupingKey, now: SystemTime) {
        self.log_failure(&mut self.inner.write(), key, now);
    }

    fn log_failure(&self, inner: &mut Inner, key: &GroupingKey, now: SystemTime) {
        let canonical = key.canonical();
        if inner.groups.contains_key(canonical.as_slice())
            && self.log(Change::Failure { key, at: now }).is_ok()
        {
            inner.record_failure(&canonical, now);
        }
    }

    /// Deletes exactly the group `key`; true if it existed.
    pub(crate) fn delete(&self, key: &GroupingKey) -> Result<bool, Refused> {
        Ok(self.delete_groups(std::slice::from_ref(key))? == 1)
    }

    /// Deletes exactly the groups `keys`, in one change (one log record);
    /// returns how many of them existed.
    pub(crate) fn delete_groups(&self, keys: &[GroupingKey]) -> Result<usize, Refused> {
        let mut inner = self.inner.write();
        let canonical: Vec<Vec<u8>> = keys.iter().map(GroupingKey::canonical).collect();
        let (deleted, canonical): (Vec<&GroupingKey>, Vec<&Vec<u8>>) = keys
            .iter()
            .zip(&canonical)
            .filter(|(_, c)| inner.groups.contains_key(c.as_slice()))
            .unzip();
        if !deleted.is_empty() {
            self.log(Change::Delete(&deleted))?;
        }
        for c in &canonical {
            inner.remove_group(c);
        }
        Ok(deleted.len())
    }

    /// Deletes, in one step under the lock, every group that matches
    /// `selector` and whose last successful push is older than `stale` (when
    /// given); with `dry_run`, only says which groups those are. A group
    /// pushed while the request waited for the lock is judged by that push.
    pub(crate) fn delete_matching(
        &self,
        selector: &Selector,
        stale: Option<Duration>,
        now: SystemTime,
        dry_run: bool,
    ) -> Result<Vec<Removed>, Refused> {
        let cutoff = stale.map(|d| unix_seconds(now) - d.as_secs_f64());
        let select = |g: &Group| {
            cutoff.is_none_or(|c| g.push_time < c) && selector.matches(|name| g.key.get(name))
        };
        if dry_run {
            let inner = self.inner.read();
            return Ok(inner
                .groups
                .values()
                .filter(|g| select(g))
                .map(Group::removed)
                .collect());
        }
        self.remove_where(&mut self.inner.write(), select)
    }

    /// Deletes every group whose time to live has run out at `now`; returns
    /// them. Cheap when nothing has expired: one pass under the read lock.
    /// Refused while the log cannot take the deletion; the groups then stay
    /// until a later sweep.
    pub(crate) fn expire(&self, now: SystemTime) -> Result<Vec<Removed>, Refused> {
        if !self.any_expired(now) {
            return Ok(Vec::new());
        }
        let now_s = unix_seconds(now);
        self.remove_where(&mut self.inner.write(), |g| g.expired(now_s))
    }

    /// Removes every group `select` picks, under the write lock the caller
    /// holds, logged as one deletion; returns what they were.
    fn remove_where(
        &self,
        inner: &mut Inner,
        select: impl Fn(&Group) -> bool,
    ) -> Result<Vec<Removed>, Refused> {
        let doomed: Vec<(Arc<[u8]>, Removed)> = inner
            .groups
            .iter()
            .filter(|(_, g)| select(g))
            .map(|(c, g)| (c.clone(), g.removed()))
            .collect();
        if !doomed.is_empty() && self.log.is_some() {
            let keys: Vec<&GroupingKey> = doomed.iter().map(|(_, r)| &r.key).collect();
            self.log(Change::Delete(&keys))?;
        }
        for (canonical, _) in &doomed {
            inner.remove_group(canonical);
        }
        Ok(doomed.into_iter().map(|(_, r)| r).collect())
    }

    /// Deletes every group; returns how many there were.
    pub(crate) fn wipe(&self) -> Result<usize, Refused> {
        let mut inner = self.inner.write();
        self.log(Change::Wipe)?;
        let n = inner.groups.len();
        let next_id = inner.next_id;
        *inner = Inner {
            next_id,
            ..Inner::default()
        };
        Ok(n)
    }
}

impl Inner {
    /// Applies a checked push; returns the families it replaced, for the
    /// caller to free once it has let go of the lock.
    fn apply(
        &mut self,
        canonical: Arc<[u8]>,
        push: PreparedPush,
        mode: Mode,
        now: SystemTime,
        times: Option<GroupTimes>,
    ) -> Vec<Arc<StoredFamily>> {
        let mut retired = Vec::new();
        let PreparedPush { key, families, ttl } = push;
        let Inner {
            groups,
            runs,
            families: index,
            names,
            series,
            next_id,
            series_total,
        } = self;
        let mut new = false;
        let group = groups.entry(canonical.clone()).or_insert_with(|| {
            new = true;
            *next_id += 1;
            let group = Group {
                id: *next_id,
                push_time_family: Arc::new(synthetic_family(&key, PUSH_TIME, 0.0, now)),
                failure_time_family: Arc::new(synthetic_family(&key, PUSH_FAILURE_TIME, 0.0, now)),
                key,
                families: Families::default(),
                push_time: 0.0,
                failure_time: 0.0,
                ttl,
                aggregating: false,
                kept: GroupKept::default(),
            };
            // The synthetic series keep their labels, and so their
            // fingerprints, for the life of the group: they are registered
            // once, here, and `set_times` only swaps their text.
            for family in [&group.push_time_family, &group.failure_time_family] {
                for fp in family.fingerprints.iter() {
                    series.insert(*fp, group.id);
                }
                index_insert(index, names, &canonical, family);
            }
            group
        });
        // Every push says how long its group lives from now on.
        group.ttl = ttl;
        // A plain POST leaves the mark as it was.
        match mode {
            Mode::Replace => group.aggregating = false,
            Mode::ReplaceAggregating | Mode::Aggregate(_) => group.aggregating = true,
            Mode::Merge => {}
        }
        // PUT drops every family it does not re-push; POST keeps them.
        let mut dropped = if mode.replaces() {
            // The new map starts at the push's size, where growing it one
            // family at a time would rehash it again and again.
            let sized = FxHashMap::with_capacity_and_hasher(families.len(), Default::default());
            let old = std::mem::replace(&mut group.families, Arc::new(sized));
            Arc::try_unwrap(old).unwrap_or_else(|shared| (*shared).clone())
        } else {
            FxHashMap::default()
        };
        let map = Arc::make_mut(&mut group.families);
        map.reserve(families.len());
        for family in families {
            let previous = if mode.replaces() {
                dropped.remove_entry(&family.name)
            } else {
                map.remove_entry(&family.name)
            };
            // The map's key for the family stays the one it had: an equal
            // name, and no reference count moved for it.
            let (name, previous) = match previous {
                Some((name, previous)) => (name, Some(previous)),
                None => (family.name.clone(), None),
            };
            // The previous series go before the new ones come in: most of
            // them are the same series, with the same fingerprints.
            let same_series = previous
                .as_ref()
                .is_some_and(|p| p.fingerprints == family.fingerprints);
            if !same_series {
                if let Some(previous) = &previous {
                    for fp in previous.fingerprints.iter() {
                        series.remove(fp);
                    }
                    *series_total -= previous.fingerprints.len();
                }
                for fp in family.fingerprints.iter() {
                    series.insert(*fp, group.id);
                }
                *series_total += family.fingerprints.len();
            }
            index_insert(index, names, &canonical, &family);
            map.insert(name, family);
            retired.extend(previous);
        }
        for (name, previous) in dropped {
            for fp in previous.fingerprints.iter() {
                series.remove(fp);
            }
            *series_total -= previous.fingerprints.len();
            index_remove(index, names, &name, &canonical);
            retired.push(previous);
        }
        // A successful change leaves the failure time, and the time stamp
        // of its family, as they were (a new group's are now), as upstream.
        let times = times.unwrap_or(GroupTimes {
            push_time: unix_seconds(now),
            failure_time: group.failure_time,
            pushed_at: now,
            failed_at: group.failure_time_family.pushed_at(),
        });
        retired.extend(set_times(index, names, &canonical, group, times));
        runs.inserted(groups, &canonical, new);
        retired
    }

    /// Sets the failure time of the group, if it exists; true if it did.
    fn record_failure(&mut self, canonical: &[u8], now: SystemTime) -> bool {
        let Inner {
            groups,
            runs,
            families: index,
            names,
            ..
        } = self;
        let Some(canonical) = groups.get_key_value(canonical).map(|(k, _)| k.clone()) else {
            return false;
        };
        let group = groups.get_mut(&canonical).expect("looked up above");
        // The push time and its family's time stamp stay, as upstream.
        let times = GroupTimes {
            push_time: group.push_time,
            failure_time: unix_seconds(now),
            pushed_at: group.push_time_family.pushed_at(),
            failed_at: now,
        };
        drop(set_times(index, names, &canonical, group, times));
        runs.changed(&canonical);
        true
    }

    fn remove_group(&mut self, canonical: &[u8]) -> bool {
        let Some(group) = self.groups.remove(canonical) else {
            return false;
        };
        self.runs.removed(canonical);
        for family in group
            .families
            .values()
            .chain([&group.push_time_family, &group.failure_time_family])
        {
            for fp in family.fingerprints.iter() {
                self.series.remove(fp);
            }
            index_remove(&mut self.families, &mut self.names, &family.name, canonical);
        }
        self.series_total -= group
            .families
            .values()
            .map(|f| f.fingerprints.len())
            .sum::<usize>();
        true
    }
}

/// Sets a group's push and failure times: re-renders those of its two
/// synthetic families whose value or time stamp changes (a successful push
/// leaves the failure time alone) and swaps them into the family index.
/// Their series, and so their fingerprints, are the same as before.
/// Returns the families it replaced.
fn set_times(
    index: &mut FxHashMap<Arc<str>, FamilyIndex>,
    names: &mut BTreeSet<Arc<str>>,
    canonical: &Arc<[u8]>,
    group: &mut Group,
    times: GroupTimes,
) -> Vec<Arc<StoredFamily>> {
    let GroupTimes {
        push_time,
        failure_time,
        pushed_at,
        failed_at,
    } = times;
    group.kept = GroupKept::default();
    let mut replaced = Vec::with_capacity(2);
    let slots = [
        (
            &mut group.push_time_family,
            PUSH_TIME,
            group.push_time,
            push_time,
            pushed_at,
        ),
        (
            &mut group.failure_time_family,
            PUSH_FAILURE_TIME,
            group.failure_time,
            failure_time,
            failed_at,
        ),
    ];
    for (slot, name, was, value, at) in slots {
        // Compared bit for bit: a NaN or -0 time is still "the same".
        if was.to_bits() == value.to_bits() && slot.pushed_at() == at {
            continue;
        }
        let family = Arc::new(synthetic_family(&group.key, name, value, at));
        index_insert(index, names, canonical, &family);
        replaced.push(std::mem::replace(slot, family));
    }
    group.push_time = push_time;
    group.failure_time = failure_time;
    replaced
}

/// What an aggregating push makes of its group's families, and the
/// families it was made from.
struct Combined {
    /// Per pushed family: `None` to keep it as pushed, or what it makes of
    /// the group's family; or the refusal.
    outcomes: Result<Vec<Option<StoredFamily>>, String>,
    /// The group's family of each pushed name that it was made from.
    basis: Vec<Option<Arc<StoredFamily>>>,
}

impl Combined {
    /// The group holds the same families (the same allocations) as when
    /// this was made.
    fn still_current(&self, inner: &Inner, canonical: &Arc<[u8]>, push: &PreparedPush) -> bool {
        let existing = inner.groups.get(canonical);
        push.families.iter().zip(&self.basis).all(|(f, was)| {
            let now = existing.and_then(|g| g.families.get(&f.name));
            match (now, was) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
        })
    }
}

fn combine_push(
    inner: &Inner,
    canonical: &Arc<[u8]>,
    push: &PreparedPush,
    gauges: Gauges,
    now: SystemTime,
) -> Combined {
    let existing = inner.groups.get(canonical);
    let basis: Vec<Option<Arc<StoredFamily>>> = push
        .families
        .iter()
        .map(|f| existing.and_then(|g| g.families.get(&f.name)).cloned())
        .collect();
    let outcomes = push
        .families
        .iter()
        .zip(&basis)
        .map(|(pushed, stored)| aggregate_family(stored.as_deref(), pushed, gauges, now))
        .collect();
    Combined { outcomes, basis }
}

/// One pushed family of an aggregating push, as the group keeps it: added
/// into the group's family of that name, or checked and kept as pushed
/// (`None`).
fn aggregate_family(
    stored: Option<&StoredFamily>,
    pushed: &StoredFamily,
    gauges: Gauges,
    now: SystemTime,
) -> Result<Option<StoredFamily>, String> {
    let new = pushed.decode();
    aggregate::check_pushed(&new, gauges)?;
    match stored {
        None if !aggregate::changes_first_push(&new) => Ok(None),
        // Encoded now: the next aggregating push reads it back from its
        // protobuf.
        None => Ok(Some(render_family(
            &aggregate::first_family(new),
            now,
            Protobuf::AtPush,
        ))),
        Some(old) => Ok(Some(render_family(
            &aggregate::combine(old.decode(), new, gauges)?,
            now,
            Protobuf::AtPush,
        ))),
    }
}
