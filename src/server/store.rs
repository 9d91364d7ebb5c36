//! The store: every group and its metric families, kept in the form the
//! server serves most, the text exposition of each family of each group,
//! rendered once when it is pushed. A scrape then only concatenates bytes, and
//! a push costs time in proportion to its own size, not to the store's.
//!
//! Preparing a push (label sanitising, checks, rendering) is pure and happens
//! outside the lock; under the write lock the store checks the push against
//! the other groups (same family name with another type, a series that
//! another group already exposes) through two indexes, and applies it. A push
//! that fails any check changes nothing but the failure time of its group.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::RwLock;
use rustc_hash::FxHashMap;

use crate::client::selector::Selector;
use crate::exposition::render::{write_header, write_series};
use crate::exposition::validate::check_families;
use crate::exposition::{Family, Label, Metric, MetricType, Value};
use crate::grouping::GroupingKey;
use crate::server::limits::{Limit, LimitHit, Limits};
use crate::server::persist::journal::Journal;
use crate::server::persist::record;

pub const PUSH_TIME: &str = "push_time_seconds";
pub const PUSH_FAILURE_TIME: &str = "push_failure_time_seconds";
const PUSH_TIME_HELP: &str =
    "Last Unix time when changing this group in the Pushgateway succeeded.";
const PUSH_FAILURE_TIME_HELP: &str =
    "Last Unix time when changing this group in the Pushgateway failed.";

/// Why a push was refused; sent as the body of a 400 answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pushed metrics are invalid or inconsistent with existing metrics: {0}")]
pub struct Rejection(pub String);

/// Why `Store::push` refused a push.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error(transparent)]
    Limit(#[from] LimitHit),
}

/// PUT replaces the whole group; POST replaces only the families it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Replace,
    Merge,
}

/// One family of one group, rendered.
#[derive(Debug)]
pub struct StoredFamily {
    pub name: Arc<str>,
    pub kind: MetricType,
    pub help: Option<Box<str>>,
    pub pushed_at: SystemTime,
    /// The sample lines of every series, without HELP and TYPE.
    pub text: Box<[u8]>,
    /// One fingerprint per series (name and full label set), sorted, for the
    /// cross-group duplicate check.
    fingerprints: Box<[u64]>,
}

impl StoredFamily {
    pub fn series_count(&self) -> usize {
        self.fingerprints.len()
    }

    pub fn fingerprints(&self) -> &[u64] {
        &self.fingerprints
    }

    /// A family as persistence stored it: `text` and `fingerprints` are
    /// what [`prepare`] made of a push (checksummed on disk), so a restore
    /// needs no parsing.
    pub fn from_parts(
        name: &str,
        kind: MetricType,
        help: Option<&str>,
        pushed_at: SystemTime,
        text: Vec<u8>,
        fingerprints: Vec<u64>,
    ) -> StoredFamily {
        StoredFamily {
            name: Arc::from(name),
            kind,
            help: help.filter(|h| !h.is_empty()).map(Box::from),
            pushed_at,
            text: text.into_boxed_slice(),
            fingerprints: fingerprints.into_boxed_slice(),
        }
    }
}

/// A push that passed every check that needs no other group: labels
/// sanitised, series rendered and fingerprinted.
#[derive(Debug)]
pub struct PreparedPush {
    pub key: GroupingKey,
    families: Vec<StoredFamily>,
    /// The group's time to live from now on (`None`: it never expires).
    pub ttl: Option<Duration>,
}

impl PreparedPush {
    /// A push rebuilt from persisted families.
    pub fn from_parts(
        key: GroupingKey,
        families: Vec<StoredFamily>,
        ttl: Option<Duration>,
    ) -> PreparedPush {
        PreparedPush { key, families, ttl }
    }

    /// Sets the push time of one family (a restore keeps the original times).
    pub fn set_pushed_at(&mut self, name: &str, at: SystemTime) {
        if let Some(f) = self.families.iter_mut().find(|f| &*f.name == name) {
            f.pushed_at = at;
        }
    }

    pub fn series_count(&self) -> usize {
        self.families.iter().map(StoredFamily::series_count).sum()
    }

    pub fn families(&self) -> &[StoredFamily] {
        &self.families
    }
}

/// A read-only view of a group for the JSON API and persistence.
#[derive(Debug, Clone)]
pub struct GroupView {
    pub key: GroupingKey,
    pub push_time: f64,
    pub failure_time: f64,
    /// The pushed families, sorted by name.
    pub families: Vec<Arc<StoredFamily>>,
    /// `push_failure_time_seconds` and `push_time_seconds`.
    pub synthetic: [Arc<StoredFamily>; 2],
    /// The group's time to live after its last successful push.
    pub ttl: Option<Duration>,
}

impl GroupView {
    /// Seconds until the group expires (0 when overdue), if it can expire.
    pub fn expires_in(&self, now: SystemTime) -> Option<f64> {
        expires_in(self.push_time, self.ttl, now)
    }
}

/// Seconds from `now` until a group last pushed at `push_time` (Unix
/// seconds) with time to live `ttl` expires, 0 when overdue; `None` when it
/// never expires.
pub fn expires_in(push_time: f64, ttl: Option<Duration>, now: SystemTime) -> Option<f64> {
    Some(seconds_left(push_time, ttl?, unix_seconds(now)).max(0.0))
}

fn seconds_left(push_time: f64, ttl: Duration, now: f64) -> f64 {
    push_time + ttl.as_secs_f64() - now
}

/// A group in brief, for the web page's list: no metric text is copied.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSummary {
    pub key: GroupingKey,
    pub push_time: f64,
    pub failure_time: f64,
    /// Pushed families and series, not counting the two synthetic ones.
    pub metrics: usize,
    pub series: usize,
    pub ttl: Option<Duration>,
}

impl GroupSummary {
    /// Seconds until the group expires (0 when overdue), if it can expire.
    pub fn expires_in(&self, now: SystemTime) -> Option<f64> {
        expires_in(self.push_time, self.ttl, now)
    }
}

/// A group that a clean-up or expiry deleted (or would delete, in a dry
/// run).
#[derive(Debug, Clone, PartialEq)]
pub struct Removed {
    pub key: GroupingKey,
    pub push_time: f64,
    pub ttl: Option<Duration>,
}

/// A family of the server's own metrics, rendered, merged into scrapes.
#[derive(Debug, Clone)]
pub struct OwnFamily {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: MetricType,
    pub text: Vec<u8>,
}

/// A group's push and failure times, and the time stamps of the two
/// families that show them. Upstream keeps the two apart: a refused push
/// leaves `push_time_seconds` and its time stamp alone, a successful one
/// `push_failure_time_seconds` and its time stamp.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupTimes {
    pub push_time: f64,
    pub failure_time: f64,
    pub pushed_at: SystemTime,
    pub failed_at: SystemTime,
}

/// Sanitises, checks and renders a push body for the group `key`.
///
/// As upstream: every grouping label is forced onto every series (a body label
/// of the same name is overwritten), `instance=""` is added where no instance
/// label is left, labels are sorted, and pushed `push_time_seconds` /
/// `push_failure_time_seconds` families are dropped (the store owns them).
pub fn prepare(
    key: GroupingKey,
    families: Vec<Family<'_>>,
    now: SystemTime,
) -> Result<PreparedPush, Rejection> {
    prepare_timed(key, families.into_iter().map(|f| (f, now)).collect())
}

/// As [`prepare`], each family with its own push time: a store imported
/// from the official Pushgateway keeps the times its families were pushed.
pub fn prepare_timed(
    key: GroupingKey,
    families: Vec<(Family<'_>, SystemTime)>,
) -> Result<PreparedPush, Rejection> {
    let (mut families, times): (Vec<Family<'_>>, Vec<SystemTime>) = families
        .into_iter()
        .filter(|(f, _)| f.name != PUSH_TIME && f.name != PUSH_FAILURE_TIME)
        .unzip();
    for family in &mut families {
        for metric in &mut family.metrics {
            sanitize_labels(&key, &mut metric.labels);
        }
    }
    check_families(&families).map_err(Rejection)?;
    let prepared = families
        .iter()
        .zip(times)
        .map(|(family, at)| render_family(family, at))
        .collect();
    Ok(PreparedPush {
        key,
        families: prepared,
        ttl: None,
    })
}

fn sanitize_labels<'a>(key: &'a GroupingKey, labels: &mut Vec<Label<'a>>) {
    labels.retain(|l| key.get(&l.name).is_none());
    labels.reserve(key.labels().len() + 1);
    for (name, value) in key.labels() {
        labels.push(Label::new(name.as_str(), value.as_str()));
    }
    if !labels.iter().any(|l| l.name == "instance") {
        labels.push(Label::new("instance", ""));
    }
    labels.sort_by(|a, b| a.name.cmp(&b.name));
}

fn render_family(family: &Family<'_>, now: SystemTime) -> StoredFamily {
    let mut text = Vec::with_capacity(family.metrics.len() * 64);
    let mut fingerprints = Vec::with_capacity(family.metrics.len());
    for metric in &family.metrics {
        write_series(&mut text, &family.name, family.kind, metric);
        fingerprints.push(fingerprint(&family.name, &metric.labels));
    }
    // Sorted, so that a re-push of the same series is recognised by comparing
    // two slices, without touching the store-wide index.
    fingerprints.sort_unstable();
    StoredFamily {
        name: Arc::from(family.name.as_ref()),
        kind: family.kind,
        help: family
            .help
            .as_deref()
            .filter(|h| !h.is_empty())
            .map(Box::from),
        pushed_at: now,
        text: text.into_boxed_slice(),
        fingerprints: fingerprints.into_boxed_slice(),
    }
}

/// Identifies a series by its family name and label set. 64 bits: across a
/// store of a million series the chance that two different series share one
/// is about 1 in 10^7 per push of a thousand series.
fn fingerprint(name: &str, labels: &[Label<'_>]) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(name.as_bytes());
    for l in labels {
        h.update(&[0xFF]);
        h.update(l.name.as_bytes());
        h.update(&[0xFE]);
        h.update(l.value.as_bytes());
    }
    h.digest()
}

fn unix_seconds(t: SystemTime) -> f64 {
    // Upstream computes float64(UnixNano)/1e9; the same here, so that the
    // values look alike.
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as f64 / 1e9,
        Err(_) => 0.0,
    }
}

fn synthetic_family(
    key: &GroupingKey,
    name: &'static str,
    value: f64,
    at: SystemTime,
) -> StoredFamily {
    let mut labels: Vec<Label<'_>> = Vec::new();
    sanitize_labels(key, &mut labels);
    let metric = Metric {
        labels,
        value: Value::Single(value),
        timestamp_ms: None,
    };
    let help = if name == PUSH_TIME {
        PUSH_TIME_HELP
    } else {
        PUSH_FAILURE_TIME_HELP
    };
    render_family(
        &Family {
            name: Cow::Borrowed(name),
            help: Some(Cow::Borrowed(help)),
            kind: MetricType::Gauge,
            metrics: vec![metric],
        },
        at,
    )
}

/// Fingerprints are already hashes: hashing them again is wasted work.
#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type FingerprintMap = HashMap<u64, u64, BuildHasherDefault<IdentityHasher>>;

struct Group {
    id: u64,
    key: GroupingKey,
    families: FxHashMap<Arc<str>, Arc<StoredFamily>>,
    push_time: f64,
    failure_time: f64,
    push_time_family: Arc<StoredFamily>,
    failure_time_family: Arc<StoredFamily>,
    ttl: Option<Duration>,
}

impl Group {
    /// True if the group has a time to live and it has run out at `now`.
    fn expired(&self, now: f64) -> bool {
        self.ttl
            .is_some_and(|ttl| seconds_left(self.push_time, ttl, now) <= 0.0)
    }
}

/// Every group that has a family of one name, in grouping-key order.
struct FamilyIndex {
    kind: MetricType,
    groups: BTreeMap<Arc<[u8]>, Arc<StoredFamily>>,
    /// The length of every group's text: a scrape sizes its buffer from
    /// these, instead of visiting every family twice.
    text_bytes: usize,
}

#[derive(Default)]
struct Inner {
    groups: BTreeMap<Arc<[u8]>, Group>,
    /// Family name -> every group that has it. Hashed, because a push looks
    /// up every family it brings; `names` keeps the names sorted for scrapes.
    families: FxHashMap<Arc<str>, FamilyIndex>,
    names: BTreeSet<Arc<str>>,
    /// series fingerprint -> id of the group that exposes it.
    series: FingerprintMap,
    next_id: u64,
    series_total: usize,
}

/// Counts that describe the store, for the server's own metrics and logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub groups: usize,
    pub series: usize,
}

pub struct Store {
    inner: RwLock<Inner>,
    /// Names and types of the server's own metrics: a pushed family of the
    /// same name must have the same type, or the scrape could not merge them.
    own_types: Vec<(&'static str, MetricType)>,
    /// The write-ahead log, with `--persistence.file`: every change is handed
    /// to it under the write lock, so the log holds changes in the order the
    /// store applied them.
    journal: OnceLock<Arc<Journal>>,
    /// The store-wide limits (`groups`, `series`); see `limits.rs`.
    limits: Limits,
}

impl Store {
    pub fn new(own_types: &[(&'static str, MetricType)]) -> Store {
        Store {
            inner: RwLock::new(Inner::default()),
            own_types: {
                let mut v = own_types.to_vec();
                v.sort_unstable_by_key(|(n, _)| *n);
                v
            },
            journal: OnceLock::new(),
            limits: Limits::NONE,
        }
    }

    /// Logs every change from now on to `journal`; set once, after a restore.
    pub fn set_journal(&self, journal: Arc<Journal>) {
        if self.journal.set(journal).is_err() {
            panic!("the store's journal is set twice");
        }
    }

    pub fn journal(&self) -> Option<&Arc<Journal>> {
        self.journal.get()
    }

    /// Every group and the sequence number of the last change they include,
    /// read under one lock: a consistent cut for a snapshot.
    pub fn cut(&self) -> (Vec<GroupView>, u64) {
        let inner = self.inner.read();
        let seq = self.journal.get().map_or(0, |j| j.appended());
        (inner.groups.values().map(Group::view).collect(), seq)
    }

    /// Sets the store-wide limits (groups and series).
    pub fn with_limits(mut self, limits: Limits) -> Store {
        self.limits = limits;
        self
    }

    /// Applies a prepared push, or refuses it (and records the failure time on
    /// the group if it exists; a refused push never creates a group).
    pub fn push(&self, push: PreparedPush, mode: Mode, now: SystemTime) -> Result<(), PushError> {
        let canonical: Arc<[u8]> = Arc::from(push.key.canonical());
        // Encoded (and compressed) before the lock, which then only hands the
        // record to the log writer.
        let record = self
            .journal
            .get()
            .map(|_| record::push_payload(&push, mode, now));
        let mut inner = self.inner.write();
        let checked = self
            .check(&inner, &canonical, &push)
            .map_err(PushError::from)
            .and_then(|()| {
                self.check_limits(&inner, &canonical, &push, mode)
                    .map_err(PushError::from)
            });
        if let Err(e) = checked {
            if inner.record_failure(&canonical, now) {
                self.log(|| record::failure_payload(&push.key, now));
            }
            return Err(e);
        }
        inner.apply(canonical, push, mode, now, None);
        if let (Some(j), Some(record)) = (self.journal.get(), record) {
            j.append(record);
        }
        Ok(())
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
            let leaving: usize = match (existing, mode) {
                (None, _) => 0,
                (Some(g), Mode::Replace) => g.families.values().map(|f| f.series_count()).sum(),
                (Some(g), Mode::Merge) => push
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
    pub fn replay(&self, push: PreparedPush, mode: Mode, now: SystemTime) -> Result<(), Rejection> {
        let canonical: Arc<[u8]> = Arc::from(push.key.canonical());
        let mut inner = self.inner.write();
        self.check(&inner, &canonical, &push)?;
        inner.apply(canonical, push, mode, now, None);
        Ok(())
    }

    /// Restores a group from persisted state, as it was: its families keep
    /// their own push times, and the group its push and failure times and the
    /// time of its last change.
    pub fn restore(&self, push: PreparedPush, times: GroupTimes) -> Result<(), Rejection> {
        let canonical: Arc<[u8]> = Arc::from(push.key.canonical());
        let mut inner = self.inner.write();
        self.check(&inner, &canonical, &push)?;
        inner.apply(canonical, push, Mode::Replace, times.pushed_at, Some(times));
        Ok(())
    }

    /// Records a failed change of `key` (only if the group exists).
    pub fn record_failure(&self, key: &GroupingKey, now: SystemTime) {
        let canonical = key.canonical();
        let mut inner = self.inner.write();
        if inner.record_failure(&canonical, now) {
            self.log(|| record::failure_payload(key, now));
        }
    }

    /// Deletes exactly the group `key`; true if it existed.
    pub fn delete(&self, key: &GroupingKey) -> bool {
        self.delete_groups(std::slice::from_ref(key)) == 1
    }

    /// Deletes exactly the groups `keys`, in one change (one log record);
    /// returns how many of them existed.
    pub fn delete_groups(&self, keys: &[GroupingKey]) -> usize {
        let mut inner = self.inner.write();
        let deleted: Vec<&GroupingKey> = keys
            .iter()
            .filter(|k| inner.remove_group(&k.canonical()))
            .collect();
        if !deleted.is_empty() {
            self.log(|| record::delete_payload(&deleted));
        }
        deleted.len()
    }

    /// Deletes, in one step under the lock, every group that matches
    /// `selector` and whose last successful push is older than `stale` (when
    /// given); with `dry_run`, only says which groups those are. A group
    /// pushed while the request waited for the lock is judged by that push.
    pub fn delete_matching(
        &self,
        selector: &Selector,
        stale: Option<Duration>,
        now: SystemTime,
        dry_run: bool,
    ) -> Vec<Removed> {
        let cutoff = stale.map(|d| unix_seconds(now) - d.as_secs_f64());
        let select = |g: &Group| {
            cutoff.is_none_or(|c| g.push_time < c) && selector.matches(|name| g.key.get(name))
        };
        if dry_run {
            let inner = self.inner.read();
            return inner
                .groups
                .values()
                .filter(|g| select(g))
                .map(Group::removed)
                .collect();
        }
        self.remove_where(&mut self.inner.write(), select)
    }

    /// Deletes every group whose time to live has run out at `now`; returns
    /// them. Cheap when nothing has expired: one pass under the read lock.
    pub fn expire(&self, now: SystemTime) -> Vec<Removed> {
        let now_s = unix_seconds(now);
        if !self.inner.read().groups.values().any(|g| g.expired(now_s)) {
            return Vec::new();
        }
        self.remove_where(&mut self.inner.write(), |g| g.expired(now_s))
    }

    /// Removes every group `select` picks, under the write lock the caller
    /// holds, logged as one deletion; returns what they were.
    fn remove_where(&self, inner: &mut Inner, select: impl Fn(&Group) -> bool) -> Vec<Removed> {
        let doomed: Vec<(Arc<[u8]>, Removed)> = inner
            .groups
            .iter()
            .filter(|(_, g)| select(g))
            .map(|(c, g)| (c.clone(), g.removed()))
            .collect();
        for (canonical, _) in &doomed {
            inner.remove_group(canonical);
        }
        if !doomed.is_empty() {
            self.log(|| {
                let keys: Vec<&GroupingKey> = doomed.iter().map(|(_, r)| &r.key).collect();
                record::delete_payload(&keys)
            });
        }
        doomed.into_iter().map(|(_, r)| r).collect()
    }

    /// Deletes every group; returns how many there were.
    pub fn wipe(&self) -> usize {
        let mut inner = self.inner.write();
        let n = inner.groups.len();
        let next_id = inner.next_id;
        *inner = Inner {
            next_id,
            ..Inner::default()
        };
        self.log(record::wipe_payload);
        n
    }

    /// Hands a change to the log; called with the write lock held.
    fn log(&self, record: impl FnOnce() -> Vec<u8>) {
        if let Some(j) = self.journal.get() {
            j.append(record());
        }
    }

    pub fn stats(&self) -> Stats {
        let inner = self.inner.read();
        Stats {
            groups: inner.groups.len(),
            series: inner.series_total,
        }
    }

    /// Every group in brief, in grouping-key order.
    pub fn summaries(&self) -> Vec<GroupSummary> {
        let inner = self.inner.read();
        inner
            .groups
            .values()
            .map(|g| GroupSummary {
                key: g.key.clone(),
                push_time: g.push_time,
                failure_time: g.failure_time,
                metrics: g.families.len(),
                series: g.families.values().map(|f| f.series_count()).sum(),
                ttl: g.ttl,
            })
            .collect()
    }

    /// Writes the text exposition of one group (its families sorted by name,
    /// with the synthetic ones); false if there is no such group.
    pub fn write_group_exposition(&self, key: &GroupingKey, out: &mut Vec<u8>) -> bool {
        let inner = self.inner.read();
        let Some(group) = inner.groups.get(key.canonical().as_slice()) else {
            return false;
        };
        let mut families: Vec<&Arc<StoredFamily>> = group
            .families
            .values()
            .chain([&group.push_time_family, &group.failure_time_family])
            .collect();
        families.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        for f in families {
            write_header(out, &f.name, f.help.as_deref(), f.kind);
            out.extend_from_slice(&f.text);
        }
        true
    }

    /// Every group, in grouping-key order.
    pub fn groups(&self) -> Vec<GroupView> {
        let inner = self.inner.read();
        inner.groups.values().map(Group::view).collect()
    }

    /// Writes the text exposition of the whole store merged with the server's
    /// own families (`own` sorted by name): families sorted by name, one HELP
    /// and TYPE each, then the series of every group in grouping-key order.
    pub fn write_exposition(&self, out: &mut Vec<u8>, own: &[OwnFamily]) {
        let inner = self.inner.read();
        // Reserving the whole size first saves the copies (and the memory
        // the allocator keeps afterwards) of growing a multi-megabyte buffer
        // by doubling.
        let series_bytes: usize = inner.families.values().map(|i| i.text_bytes).sum();
        let own_bytes: usize = own.iter().map(|o| o.text.len() + 256).sum();
        out.reserve(series_bytes + own_bytes + inner.names.len() * 256);
        let mut own = own.iter().peekable();
        for name in &inner.names {
            let index = &inner.families[name];
            while let Some(o) = own.next_if(|o| o.name < name.as_ref()) {
                write_header(out, o.name, Some(o.help), o.kind);
                out.extend_from_slice(&o.text);
            }
            let mine = own.next_if(|o| o.name == name.as_ref());
            // HELP is taken from the server's own family if there is one (as
            // upstream), else from the first group in key order that has one,
            // so that the choice does not change from scrape to scrape.
            let help = match &mine {
                Some(o) => Some(o.help),
                None => index.groups.values().find_map(|f| f.help.as_deref()),
            };
            write_header(out, name, help, index.kind);
            if let Some(o) = mine {
                out.extend_from_slice(&o.text);
            }
            for family in index.groups.values() {
                out.extend_from_slice(&family.text);
            }
        }
        for o in own {
            write_header(out, o.name, Some(o.help), o.kind);
            out.extend_from_slice(&o.text);
        }
    }

    /// The checks that need the rest of the store.
    fn check(
        &self,
        inner: &Inner,
        canonical: &Arc<[u8]>,
        push: &PreparedPush,
    ) -> Result<(), Rejection> {
        let existing = inner.groups.get(canonical);
        let group_id = existing.map(|g| g.id);
        for family in &push.families {
            let own = self
                .own_types
                .binary_search_by_key(&family.name.as_ref(), |(n, _)| n)
                .ok()
                .map(|i| self.own_types[i].1);
            if let Some(own) = own {
                if own != family.kind {
                    return Err(Rejection(format!(
                        "metric family {} has type {} but the gateway's own metric of that name is a {}",
                        family.name, family.kind, own
                    )));
                }
            }
            if let Some(index) = inner.families.get(&family.name) {
                let other = (index.kind != family.kind)
                    .then(|| index.groups.keys().find(|k| *k != canonical))
                    .flatten();
                if let Some(other) = other {
                    return Err(Rejection(format!(
                        "metric family {} is pushed as {} but group {} has it as {}",
                        family.name, family.kind, inner.groups[other].key, index.kind
                    )));
                }
            }
        }
        // A series may not be exposed twice: look every new series up among
        // the series of other groups (a new group also brings its two
        // synthetic series, which can clash: `{job="x",instance=""}` beside
        // `{job="x"}` expose the same `push_time_seconds` series).
        let synthetic = if existing.is_none() {
            Some([
                fingerprint_of_synthetic(&push.key, PUSH_TIME),
                fingerprint_of_synthetic(&push.key, PUSH_FAILURE_TIME),
            ])
        } else {
            None
        };
        // Series this group already exposes under the same family cannot
        // clash with another group: the common re-push of the same series
        // costs one slice comparison per family.
        let unchanged = |f: &StoredFamily| {
            existing
                .and_then(|g| g.families.get(&f.name))
                .is_some_and(|old| old.fingerprints == f.fingerprints)
        };
        let new_series = push
            .families
            .iter()
            .filter(|f| !unchanged(f))
            .flat_map(|f| f.fingerprints.iter().map(move |fp| (f.name.as_ref(), *fp)))
            .chain(synthetic.iter().flatten().map(|(n, fp)| (*n, *fp)));
        for (name, fp) in new_series {
            if let Some(&owner) = inner.series.get(&fp) {
                if Some(owner) != group_id {
                    let other = inner
                        .groups
                        .values()
                        .find(|g| g.id == owner)
                        .map(|g| g.key.to_string())
                        .unwrap_or_default();
                    return Err(Rejection(format!(
                        "a series of metric {name} has the same labels as a series of group {other}"
                    )));
                }
            }
        }
        Ok(())
    }
}

fn fingerprint_of_synthetic(key: &GroupingKey, name: &'static str) -> (&'static str, u64) {
    let mut labels: Vec<Label<'_>> = Vec::new();
    sanitize_labels(key, &mut labels);
    (name, fingerprint(name, &labels))
}

impl Group {
    fn removed(&self) -> Removed {
        Removed {
            key: self.key.clone(),
            push_time: self.push_time,
            ttl: self.ttl,
        }
    }

    fn view(&self) -> GroupView {
        GroupView {
            key: self.key.clone(),
            push_time: self.push_time,
            failure_time: self.failure_time,
            families: {
                let mut f: Vec<_> = self.families.values().cloned().collect();
                f.sort_unstable_by(|a, b| a.name.cmp(&b.name));
                f
            },
            synthetic: [
                self.failure_time_family.clone(),
                self.push_time_family.clone(),
            ],
            ttl: self.ttl,
        }
    }
}

impl Inner {
    fn apply(
        &mut self,
        canonical: Arc<[u8]>,
        push: PreparedPush,
        mode: Mode,
        now: SystemTime,
        times: Option<GroupTimes>,
    ) {
        let PreparedPush { key, families, ttl } = push;
        let Inner {
            groups,
            families: index,
            names,
            series,
            next_id,
            series_total,
        } = self;
        let group = groups.entry(canonical.clone()).or_insert_with(|| {
            *next_id += 1;
            let group = Group {
                id: *next_id,
                push_time_family: Arc::new(synthetic_family(&key, PUSH_TIME, 0.0, now)),
                failure_time_family: Arc::new(synthetic_family(&key, PUSH_FAILURE_TIME, 0.0, now)),
                key,
                families: FxHashMap::default(),
                push_time: 0.0,
                failure_time: 0.0,
                ttl,
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
        // PUT drops every family it does not re-push; POST keeps them.
        let mut dropped = match mode {
            Mode::Replace => std::mem::take(&mut group.families),
            Mode::Merge => FxHashMap::default(),
        };
        for family in families {
            let family = Arc::new(family);
            let previous = match mode {
                Mode::Replace => dropped.remove(&family.name),
                Mode::Merge => group.families.remove(&family.name),
            };
            // The previous series go before the new ones come in: most of
            // them are the same series, with the same fingerprints.
            let same_series = previous
                .as_ref()
                .is_some_and(|p| p.fingerprints == family.fingerprints);
            if !same_series {
                if let Some(previous) = previous {
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
            group.families.insert(family.name.clone(), family);
        }
        for (name, previous) in dropped {
            for fp in previous.fingerprints.iter() {
                series.remove(fp);
            }
            *series_total -= previous.fingerprints.len();
            index_remove(index, names, &name, &canonical);
        }
        // A successful change leaves the failure time, and the time stamp
        // of its family, as they were (a new group's are now), as upstream.
        let times = times.unwrap_or(GroupTimes {
            push_time: unix_seconds(now),
            failure_time: group.failure_time,
            pushed_at: now,
            failed_at: group.failure_time_family.pushed_at,
        });
        set_times(index, names, &canonical, group, times);
    }

    /// Sets the failure time of the group, if it exists; true if it did.
    fn record_failure(&mut self, canonical: &[u8], now: SystemTime) -> bool {
        let Inner {
            groups,
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
            pushed_at: group.push_time_family.pushed_at,
            failed_at: now,
        };
        set_times(index, names, &canonical, group, times);
        true
    }

    fn remove_group(&mut self, canonical: &[u8]) -> bool {
        let Some(group) = self.groups.remove(canonical) else {
            return false;
        };
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

/// Puts one group's family into the family index (replacing the group's
/// previous one). The index's type follows the newest push; the store's check
/// made sure no other group holds the family with another type.
fn index_insert(
    index: &mut FxHashMap<Arc<str>, FamilyIndex>,
    names: &mut BTreeSet<Arc<str>>,
    canonical: &Arc<[u8]>,
    family: &Arc<StoredFamily>,
) {
    let entry = index.entry(family.name.clone()).or_insert_with(|| {
        names.insert(family.name.clone());
        FamilyIndex {
            kind: family.kind,
            groups: BTreeMap::new(),
            text_bytes: 0,
        }
    });
    entry.kind = family.kind;
    entry.text_bytes += family.text.len();
    if let Some(old) = entry.groups.insert(canonical.clone(), family.clone()) {
        entry.text_bytes -= old.text.len();
    }
}

/// Takes one group's family out of the family index, and the name out of
/// the sorted names when no group has it any more.
fn index_remove(
    index: &mut FxHashMap<Arc<str>, FamilyIndex>,
    names: &mut BTreeSet<Arc<str>>,
    name: &str,
    canonical: &[u8],
) {
    if let Some(entry) = index.get_mut(name) {
        if let Some(old) = entry.groups.remove(canonical) {
            entry.text_bytes -= old.text.len();
        }
        if entry.groups.is_empty() {
            index.remove(name);
            names.remove(name);
        }
    }
}

/// Sets a group's push and failure times: re-renders its two synthetic
/// families and swaps them into the family index. Their series, and so their
/// fingerprints, are the same as before.
fn set_times(
    index: &mut FxHashMap<Arc<str>, FamilyIndex>,
    names: &mut BTreeSet<Arc<str>>,
    canonical: &Arc<[u8]>,
    group: &mut Group,
    times: GroupTimes,
) {
    let GroupTimes {
        push_time,
        failure_time,
        pushed_at,
        failed_at,
    } = times;
    group.push_time = push_time;
    group.failure_time = failure_time;
    group.push_time_family = Arc::new(synthetic_family(
        &group.key, PUSH_TIME, push_time, pushed_at,
    ));
    group.failure_time_family = Arc::new(synthetic_family(
        &group.key,
        PUSH_FAILURE_TIME,
        failure_time,
        failed_at,
    ));
    index_insert(index, names, canonical, &group.push_time_family);
    index_insert(index, names, canonical, &group.failure_time_family);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::text;
    use crate::server::metrics::OWN_TYPES;

    fn key(pairs: &[(&str, &str)]) -> GroupingKey {
        GroupingKey::new(pairs.iter().copied())
    }

    fn push(store: &Store, k: &GroupingKey, body: &str, mode: Mode) -> Result<(), PushError> {
        push_at(store, k, body, mode, None, SystemTime::now())
    }

    fn push_at(
        store: &Store,
        k: &GroupingKey,
        body: &str,
        mode: Mode,
        ttl: Option<Duration>,
        now: SystemTime,
    ) -> Result<(), PushError> {
        let families = text::parse(body).expect("test bodies parse");
        let mut p = prepare(k.clone(), families, now)?;
        p.ttl = ttl;
        store.push(p, mode, now)
    }

    fn keys(removed: &[Removed]) -> Vec<String> {
        removed.iter().map(|r| r.key.to_string()).collect()
    }

    #[test]
    fn delete_matching_is_selector_and_staleness() {
        let store = Store::new(OWN_TYPES);
        let t0 = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let old = t0;
        let fresh = t0 + Duration::from_secs(3600);
        let now = t0 + Duration::from_secs(3700);
        push_at(
            &store,
            &key(&[("job", "ci"), ("instance", "ci-1")]),
            "a 1\n",
            Mode::Replace,
            None,
            old,
        )
        .unwrap();
        push_at(
            &store,
            &key(&[("job", "ci"), ("instance", "ci-2")]),
            "a 2\n",
            Mode::Replace,
            None,
            fresh,
        )
        .unwrap();
        push_at(
            &store,
            &key(&[("job", "ci"), ("instance", "web-1")]),
            "a 3\n",
            Mode::Replace,
            None,
            old,
        )
        .unwrap();
        push_at(
            &store,
            &key(&[("job", "node")]),
            "b 1\n",
            Mode::Replace,
            None,
            old,
        )
        .unwrap();
        let sel: Selector = "job=ci,instance=~ci-.*".parse().unwrap();
        let dry = store.delete_matching(&sel, None, now, true);
        assert_eq!(
            keys(&dry),
            [
                "{instance=\"ci-1\",job=\"ci\"}",
                "{instance=\"ci-2\",job=\"ci\"}"
            ]
        );
        assert_eq!(store.stats().groups, 4, "a dry run deletes nothing");
        let stale = store.delete_matching(&sel, Some(Duration::from_secs(600)), now, false);
        assert_eq!(keys(&stale), ["{instance=\"ci-1\",job=\"ci\"}"]);
        assert_eq!(stale[0].push_time, 1_000_000.0);
        assert_eq!(store.stats().groups, 3);
        // Staleness alone: everything pushed more than ten minutes ago.
        let all_stale = store.delete_matching(
            &Selector::default(),
            Some(Duration::from_secs(600)),
            now,
            false,
        );
        assert_eq!(all_stale.len(), 2);
        assert_eq!(
            store.stats(),
            Stats {
                groups: 1,
                series: 1
            }
        );
        assert!(!exposition(&store).contains("web-1"));
    }

    #[test]
    fn groups_expire_after_their_own_time_to_live() {
        let store = Store::new(OWN_TYPES);
        let t0 = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let short = key(&[("job", "short")]);
        let long = key(&[("job", "long")]);
        let never = key(&[("job", "never")]);
        push_at(
            &store,
            &short,
            "a 1\n",
            Mode::Replace,
            Some(Duration::from_secs(60)),
            t0,
        )
        .unwrap();
        push_at(
            &store,
            &long,
            "b 1\n",
            Mode::Replace,
            Some(Duration::from_secs(600)),
            t0,
        )
        .unwrap();
        push_at(&store, &never, "c 1\n", Mode::Replace, None, t0).unwrap();
        assert!(store.expire(t0 + Duration::from_secs(59)).is_empty());
        let view = &store.groups()[2];
        assert_eq!(view.key, short);
        assert_eq!(view.expires_in(t0 + Duration::from_secs(45)), Some(15.0));
        // A new push restarts the clock (and a refused one does not).
        push_at(
            &store,
            &short,
            "a 2\n",
            Mode::Merge,
            Some(Duration::from_secs(60)),
            t0 + Duration::from_secs(30),
        )
        .unwrap();
        assert!(push_at(
            &store,
            &short,
            "a 2\na 2\n",
            Mode::Merge,
            Some(Duration::from_secs(60)),
            t0 + Duration::from_secs(80)
        )
        .is_err());
        assert!(store.expire(t0 + Duration::from_secs(89)).is_empty());
        let gone = store.expire(t0 + Duration::from_secs(90));
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].key, short);
        assert_eq!(gone[0].ttl, Some(Duration::from_secs(60)));
        // A push without a time to live makes the group permanent again.
        push_at(
            &store,
            &long,
            "b 2\n",
            Mode::Replace,
            None,
            t0 + Duration::from_secs(100),
        )
        .unwrap();
        assert!(store.expire(t0 + Duration::from_secs(100_000)).is_empty());
        assert_eq!(store.stats().groups, 2);
        assert_eq!(store.groups()[0].expires_in(t0), None);
    }

    #[test]
    fn store_limits_refuse_without_changing_anything() {
        let limits = Limits {
            max_groups: 2,
            max_series: 3,
            ..Limits::default()
        };
        let store = Store::new(OWN_TYPES).with_limits(limits);
        push(&store, &key(&[("job", "a")]), "m 1\n", Mode::Replace).unwrap();
        push(
            &store,
            &key(&[("job", "b")]),
            "m{x=\"1\"} 1\n",
            Mode::Replace,
        )
        .unwrap();
        let err = push(&store, &key(&[("job", "c")]), "n 1\n", Mode::Replace).unwrap_err();
        let PushError::Limit(hit) = err else {
            panic!("{err}")
        };
        assert_eq!(hit.limit, Limit::Groups);
        assert!(
            hit.to_string()
                .contains("group {job=\"c\"} cannot be added"),
            "{hit}"
        );
        // Two series stored; replacing b's one by two makes three: allowed.
        push(
            &store,
            &key(&[("job", "b")]),
            "m{x=\"1\"} 1\nm{x=\"2\"} 1\n",
            Mode::Replace,
        )
        .unwrap();
        let before = exposition(&store);
        let err = push(&store, &key(&[("job", "a")]), "k 1\n", Mode::Merge).unwrap_err();
        let PushError::Limit(hit) = err else {
            panic!("{err}")
        };
        assert_eq!(hit.limit, Limit::Series);
        assert_eq!(pushed_lines(&before), pushed_lines(&exposition(&store)));
        // Shrinking is always allowed, even over the limit.
        push(&store, &key(&[("job", "a")]), "k 1\n", Mode::Replace).unwrap();
    }

    fn pushed_lines(s: &str) -> Vec<String> {
        s.lines()
            .filter(|l| !l.contains("push_failure_time_seconds"))
            .map(str::to_string)
            .collect()
    }

    fn exposition(store: &Store) -> String {
        let mut out = Vec::new();
        store.write_exposition(&mut out, &[]);
        String::from_utf8(out).unwrap()
    }

    /// The exposition without the synthetic push-time series, whose values
    /// change with the clock.
    fn pushed(store: &Store) -> String {
        exposition(store)
            .lines()
            .filter(|l| {
                !l.contains("push_time_seconds") && !l.contains("push_failure_time_seconds")
            })
            .map(|l| format!("{l}\n"))
            .collect()
    }

    #[test]
    fn grouping_labels_override_body_labels_and_instance_is_added() {
        let store = Store::new(OWN_TYPES);
        let k = key(&[("job", "lbl"), ("foo", "bar")]);
        push(
            &store,
            &k,
            "m1{foo=\"baz\",job=\"zzz\",instance=\"body\"} 1\nm2 2\n",
            Mode::Replace,
        )
        .unwrap();
        let out = pushed(&store);
        assert!(
            out.contains("m1{foo=\"bar\",instance=\"body\",job=\"lbl\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("m2{foo=\"bar\",instance=\"\",job=\"lbl\"} 2\n"),
            "{out}"
        );
    }

    #[test]
    fn put_replaces_the_group_and_post_only_named_families() {
        let store = Store::new(OWN_TYPES);
        let k = key(&[("job", "j")]);
        push(&store, &k, "a 1\nb 2\n", Mode::Replace).unwrap();
        push(&store, &k, "b{x=\"1\"} 3\n", Mode::Merge).unwrap();
        let out = pushed(&store);
        assert!(out.contains("a{instance=\"\",job=\"j\"} 1"), "{out}");
        assert!(
            out.contains("b{instance=\"\",job=\"j\",x=\"1\"} 3"),
            "{out}"
        );
        assert!(
            !out.contains("} 2\n"),
            "POST drops unpushed series of a family: {out}"
        );
        push(&store, &k, "c 4\n", Mode::Replace).unwrap();
        let out = pushed(&store);
        assert!(!out.contains("\na{") && !out.contains("\nb{"), "{out}");
        assert_eq!(
            store.stats(),
            Stats {
                groups: 1,
                series: 1
            }
        );
    }

    #[test]
    fn families_are_merged_sorted_with_one_header() {
        let store = Store::new(OWN_TYPES);
        push(
            &store,
            &key(&[("job", "b")]),
            "# HELP z Zed.\n# TYPE z gauge\nz 1\na 1\n",
            Mode::Replace,
        )
        .unwrap();
        push(
            &store,
            &key(&[("job", "a")]),
            "# TYPE z gauge\nz 2\n",
            Mode::Replace,
        )
        .unwrap();
        let out = pushed(&store);
        assert_eq!(out.matches("# TYPE z gauge").count(), 1, "{out}");
        assert!(out.contains("# HELP z Zed.\n# TYPE z gauge\nz{instance=\"\",job=\"a\"} 2\nz{instance=\"\",job=\"b\"} 1\n"), "{out}");
        let a = out.find("# TYPE a").unwrap();
        assert!(a < out.find("# TYPE z").unwrap());
    }

    #[test]
    fn help_is_the_first_group_with_one_in_key_order() {
        let store = Store::new(OWN_TYPES);
        push(
            &store,
            &key(&[("job", "c")]),
            "# HELP m From c.\nm 1\n",
            Mode::Replace,
        )
        .unwrap();
        push(&store, &key(&[("job", "a")]), "m 1\n", Mode::Replace).unwrap();
        push(
            &store,
            &key(&[("job", "b")]),
            "# HELP m From b.\nm 1\n",
            Mode::Replace,
        )
        .unwrap();
        assert!(pushed(&store).contains("# HELP m From b.\n"));
    }

    #[test]
    fn type_clash_across_groups_is_refused_and_changes_nothing() {
        let store = Store::new(OWN_TYPES);
        push(
            &store,
            &key(&[("job", "a")]),
            "# TYPE x counter\nx 1\n",
            Mode::Replace,
        )
        .unwrap();
        let before = pushed(&store);
        let err = push(
            &store,
            &key(&[("job", "b")]),
            "# TYPE x gauge\nx 1\n",
            Mode::Replace,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("metric family x") && err.to_string().contains("{job=\"a\"}"),
            "{err}"
        );
        assert_eq!(pushed(&store), before);
        assert_eq!(store.stats().groups, 1, "a refused push creates no group");
        // The only group holding a family may change its type.
        push(
            &store,
            &key(&[("job", "a")]),
            "# TYPE x gauge\nx 1\n",
            Mode::Replace,
        )
        .unwrap();
    }

    #[test]
    fn own_metric_type_clash_is_refused() {
        let store = Store::new(OWN_TYPES);
        let err = push(
            &store,
            &key(&[("job", "a")]),
            "# TYPE pushgateway_http_requests_total gauge\npushgateway_http_requests_total 1\n",
            Mode::Replace,
        )
        .unwrap_err();
        assert!(err.to_string().contains("gateway's own metric"), "{err}");
    }

    #[test]
    fn duplicate_series_across_groups_is_refused() {
        let store = Store::new(OWN_TYPES);
        push(
            &store,
            &key(&[("job", "x")]),
            "m{instance=\"a\"} 1\n",
            Mode::Replace,
        )
        .unwrap();
        let err = push(
            &store,
            &key(&[("job", "x"), ("instance", "a")]),
            "m 1\n",
            Mode::Replace,
        )
        .unwrap_err();
        assert!(err.to_string().contains("same labels"), "{err}");
        assert_eq!(store.stats().groups, 1);
    }

    #[test]
    fn empty_instance_beside_no_instance_cannot_poison_the_store() {
        // Upstream accepts the group {job="ei",instance=""} beside {job="ei"}
        // and from then on every scrape fails.
        let store = Store::new(OWN_TYPES);
        push(&store, &key(&[("job", "ei")]), "m 1\n", Mode::Replace).unwrap();
        let err = push(
            &store,
            &key(&[("job", "ei"), ("instance", "")]),
            "",
            Mode::Replace,
        )
        .unwrap_err();
        assert!(err.to_string().contains("push_time_seconds"), "{err}");
        assert_eq!(store.stats().groups, 1);
    }

    #[test]
    fn refused_push_marks_an_existing_group_failed() {
        let store = Store::new(OWN_TYPES);
        let k = key(&[("job", "a")]);
        push(&store, &k, "x 1\n", Mode::Replace).unwrap();
        store.record_failure(&k, SystemTime::now());
        let g = &store.groups()[0];
        assert!(g.failure_time > 0.0 && g.push_time > 0.0);
        store.record_failure(&key(&[("job", "nope")]), SystemTime::now());
        assert_eq!(store.stats().groups, 1);
    }

    /// Each family name's text size, kept up to date by every change, is
    /// the sum of its groups' texts.
    fn assert_text_bytes_agree(store: &Store, after: &str) {
        let inner = store.inner.read();
        for (name, index) in &inner.families {
            let sum: usize = index.groups.values().map(|f| f.text.len()).sum();
            assert_eq!(index.text_bytes, sum, "{name} after {after}");
        }
    }

    #[test]
    fn scrape_sizes_follow_every_change() {
        let store = Store::new(OWN_TYPES);
        let (a, b) = (key(&[("job", "a")]), key(&[("job", "b")]));
        let steps: [(&str, &GroupingKey, &str, Mode); 5] = [
            ("a first push", &a, "x 1\ny 2\n", Mode::Replace),
            (
                "a longer series by POST",
                &a,
                "x{l=\"long value\"} 3\n",
                Mode::Merge,
            ),
            ("b", &b, "x 4\n", Mode::Replace),
            ("a PUT that drops x", &a, "y 5\n", Mode::Replace),
            ("an empty PUT", &b, "", Mode::Replace),
        ];
        for (what, k, body, mode) in steps {
            push(&store, k, body, mode).unwrap();
            assert_text_bytes_agree(&store, what);
        }
        store.record_failure(&a, SystemTime::now());
        assert_text_bytes_agree(&store, "a failure");
        store.delete(&b);
        assert_text_bytes_agree(&store, "a delete");
        // The reserved size is the scrape's size, give or take the headers.
        let mut out = Vec::new();
        store.write_exposition(&mut out, &[]);
        let inner = store.inner.read();
        let reserved: usize = inner.families.values().map(|i| i.text_bytes).sum();
        assert!(
            reserved > 0 && reserved <= out.len(),
            "{reserved} {}",
            out.len()
        );
        drop(inner);
        store.wipe();
        assert!(store.inner.read().families.is_empty());
    }

    #[test]
    fn push_and_failure_times_keep_their_own_time_stamps() {
        let store = Store::new(OWN_TYPES);
        let k = key(&[("job", "a")]);
        let t = |s| UNIX_EPOCH + Duration::from_secs(s);
        // A new group: both families stamped with its first push.
        push_at(&store, &k, "x 1\n", Mode::Replace, None, t(100)).unwrap();
        let stamps = |store: &Store| {
            let g = &store.groups()[0];
            (g.synthetic[1].pushed_at, g.synthetic[0].pushed_at)
        };
        assert_eq!(stamps(&store), (t(100), t(100)));
        // A refusal stamps only the failure time.
        store.record_failure(&k, t(200));
        assert_eq!(stamps(&store), (t(100), t(200)));
        // A success stamps only the push time.
        push_at(&store, &k, "x 2\n", Mode::Merge, None, t(300)).unwrap();
        assert_eq!(stamps(&store), (t(300), t(200)));
        let g = &store.groups()[0];
        assert_eq!((g.push_time, g.failure_time), (300.0, 200.0));
    }

    #[test]
    fn a_push_refused_by_the_store_marks_its_group_failed() {
        let store = Store::new(OWN_TYPES);
        push(
            &store,
            &key(&[("job", "a")]),
            "# TYPE x counter\nx 1\n",
            Mode::Replace,
        )
        .unwrap();
        push(&store, &key(&[("job", "b")]), "y 1\n", Mode::Replace).unwrap();
        push(
            &store,
            &key(&[("job", "b")]),
            "# TYPE x gauge\nx 1\n",
            Mode::Replace,
        )
        .unwrap_err();
        let groups = store.groups();
        assert_eq!(groups[0].failure_time, 0.0);
        assert!(groups[1].failure_time >= groups[1].push_time);
        assert!(pushed(&store).contains("y{instance=\"\",job=\"b\"} 1"));
    }

    #[test]
    fn timestamps_and_duplicates_in_one_push_are_refused() {
        let k = key(&[("job", "a")]);
        let err = prepare(
            k.clone(),
            text::parse("x 1 1000\n").unwrap(),
            SystemTime::now(),
        )
        .unwrap_err();
        assert!(err.0.contains("timestamp"), "{err}");
        // Two series that only differ in a label the grouping key overrides.
        let err = prepare(
            k,
            text::parse("x{job=\"p\"} 1\nx{job=\"q\"} 2\n").unwrap(),
            SystemTime::now(),
        )
        .unwrap_err();
        assert!(err.0.contains("duplicate"), "{err}");
    }

    #[test]
    fn delete_is_exact_and_wipe_empties() {
        let store = Store::new(OWN_TYPES);
        push(&store, &key(&[("job", "x")]), "a 1\n", Mode::Replace).unwrap();
        push(
            &store,
            &key(&[("job", "x"), ("instance", "y")]),
            "a 1\n",
            Mode::Replace,
        )
        .unwrap();
        assert!(store.delete(&key(&[("job", "x")])));
        assert!(!store.delete(&key(&[("job", "x")])));
        assert_eq!(store.stats().groups, 1);
        // The deleted group's series are free again.
        push(&store, &key(&[("job", "x")]), "a 1\n", Mode::Replace).unwrap();
        assert_eq!(store.wipe(), 2);
        assert_eq!(store.stats(), Stats::default());
        assert_eq!(exposition(&store), "");
    }

    #[test]
    fn pushed_push_time_is_ignored() {
        let store = Store::new(OWN_TYPES);
        push(
            &store,
            &key(&[("job", "x")]),
            "push_time_seconds 5\npush_failure_time_seconds 7\n",
            Mode::Replace,
        )
        .unwrap();
        let out = exposition(&store);
        assert!(
            out.contains("push_failure_time_seconds{instance=\"\",job=\"x\"} 0\n"),
            "{out}"
        );
        assert!(!out.contains("} 5\n"), "{out}");
    }

    #[test]
    fn own_families_merge_in_order() {
        let store = Store::new(OWN_TYPES);
        push(
            &store,
            &key(&[("job", "x")]),
            "# HELP pgw_groups Mine.\n# TYPE pgw_groups gauge\npgw_groups 9\nzzz 1\n",
            Mode::Replace,
        )
        .unwrap();
        let own = vec![OwnFamily {
            name: "pgw_groups",
            help: "Number of groups in the store.",
            kind: MetricType::Gauge,
            text: b"pgw_groups 1\n".to_vec(),
        }];
        let mut out = Vec::new();
        store.write_exposition(&mut out, &own);
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains("# HELP pgw_groups Number of groups in the store.\n# TYPE pgw_groups gauge\npgw_groups 1\npgw_groups{instance=\"\",job=\"x\"} 9\n"), "{out}");
        assert_eq!(out.matches("# TYPE pgw_groups").count(), 1);
    }
}
