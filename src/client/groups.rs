//! A gateway's groups as the client commands (`list`, `delete`, `wipe`)
//! see them: one [`Group`] record per group (grouping key, last push and
//! failure times, family and series counts, expiry) and, for `list`, the
//! outcome of the job `pgw push -- COMMAND` wrapped ([`JobOutcome`]); the
//! filters the commands share (selector, `--stale`, `--failed`), how one
//! group is named on the command line, the natural order groups are shown
//! in, and how ages are written.
//!
//! The records come from pgw serve's brief listing, `GET /api/v1/groups`
//! (labels, times, counts, expiry and the job's outcome, no metrics: a
//! fraction of the bytes), when the gateway has it; from `GET
//! /api/v1/metrics` otherwise (the official server), and for one group's
//! metrics. Both readings give the same records (a test builds both answers
//! from one store).
//!
//! The brief listing is `{"data":[{"labels":{…},"path":…,
//! "push_time_seconds":…,"push_failure_time_seconds":…,
//! "last_push_successful":…,"metrics":N,"series":N,…}]}`, times as numbers
//! (0: never). `/api/v1/metrics` is the official shape (spec 3.1): each
//! group object has `labels`, `last_push_successful`, optionally pgw's
//! `expire_after_seconds` and `expires_in_seconds`, and one key per metric
//! family holding `metrics` (a list). `push_time_seconds` and
//! `push_failure_time_seconds` are families whose one series carries the
//! Unix time as a string.

use std::cmp::Ordering;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use serde_json::Value;

use crate::client::selector::{Op, Selector};
use crate::client::Gateway;
use crate::error::{BadInput, GatewayError};
use crate::grouping::GroupingKey;

pub(crate) use crate::grouping::{PUSH_FAILURE_TIME, PUSH_TIME};

/// The families `pgw push -- COMMAND` pushes that say how the job went
/// (`src/cmd/push/wrap.rs`).
pub(crate) const JOB_EXIT_CODE: &str = "pgw_job_exit_code";
pub(crate) const JOB_LAST_SUCCESS: &str = "pgw_job_last_success_time_seconds";

/// One group, as listed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Group {
    pub(crate) key: GroupingKey,
    /// Unix seconds of the last successful push; `None` if none succeeded
    /// (the official server keeps a group created by a refused push, with 0).
    pub(crate) push_time: Option<f64>,
    /// Unix seconds of the last refused push; `None` if none was.
    pub(crate) failure_time: Option<f64>,
    pub(crate) last_push_ok: bool,
    /// Families pushed (the two push-time families not counted).
    pub(crate) metrics: usize,
    /// Series in those families.
    pub(crate) series: usize,
    /// Time to live, when the gateway gives the group one (pgw serve only).
    pub(crate) expire_after: Option<f64>,
    /// Time left before the group expires.
    pub(crate) expires_in: Option<f64>,
}

/// What a job wrapped by `pgw push -- COMMAND` left in its group: both
/// `None` for a group no wrapped job pushed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct JobOutcome {
    /// `pgw_job_exit_code` of the last run (128+N: killed by signal N).
    pub(crate) exit_code: Option<i64>,
    /// `pgw_job_last_success_time_seconds`: Unix seconds the last run that
    /// exited 0 ended.
    pub(crate) last_success: Option<f64>,
}

impl JobOutcome {
    /// Whether some wrapped job pushed to the group.
    pub(crate) fn wrapped(&self) -> bool {
        self.exit_code.is_some() || self.last_success.is_some()
    }
}

/// A group as `pgw list` shows it: the record and its wrapped job's outcome.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Listed {
    pub(crate) group: Group,
    pub(crate) job: JobOutcome,
}

/// How a listed group is doing, the most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Status {
    /// The gateway refused the last push: what it holds is older than the
    /// pusher thinks, whatever exit code it shows.
    PushFailed,
    /// The wrapped job's last run exited with this non-zero code.
    Exit(i64),
    Ok,
}

impl Listed {
    pub(crate) fn status(&self) -> Status {
        match self.job.exit_code {
            _ if !self.group.last_push_ok => Status::PushFailed,
            Some(code) if code != 0 => Status::Exit(code),
            _ => Status::Ok,
        }
    }

    /// A refused push or a failed wrapped job: what `--failed` selects.
    pub(crate) fn failed(&self) -> bool {
        self.status() != Status::Ok
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::PushFailed => f.write_str("push failed"),
            Status::Exit(code) => write!(f, "exit {code}"),
            Status::Ok => f.write_str("ok"),
        }
    }
}

/// One family of a group, for `pgw list GROUP`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Family {
    pub(crate) name: String,
    /// `COUNTER`, `GAUGE`, `SUMMARY`, `HISTOGRAM`, `UNTYPED`...
    pub(crate) kind: String,
    pub(crate) help: Option<String>,
    /// When the family was last pushed, as the gateway wrote it (RFC 3339).
    pub(crate) time_stamp: Option<String>,
    /// The series objects as the gateway sent them.
    pub(crate) series: Vec<Value>,
}

/// The answer of `GET /api/v1/metrics` (or of the brief listing) does not
/// have the expected shape.
#[derive(Debug, thiserror::Error)]
#[error("unexpected JSON from GET /api/v1/metrics: {0}")]
pub(crate) struct ShapeError(String);

impl Group {
    /// Seconds since the last successful push, `None` if there was none.
    pub(crate) fn age(&self, now: f64) -> Option<f64> {
        self.push_time.map(|t| (now - t).max(0.0))
    }
}

/// Reads the `data` list of a `GET /api/v1/metrics` answer.
fn data(body: &[u8]) -> Result<Vec<Value>, ShapeError> {
    let mut doc: Value =
        serde_json::from_slice(body).map_err(|e| ShapeError(format!("not JSON: {e}")))?;
    match doc.get_mut("data").map(Value::take) {
        Some(Value::Array(groups)) => Ok(groups),
        _ => Err(ShapeError("no \"data\" list".into())),
    }
}

/// Parses the groups of a `GET /api/v1/metrics` answer, in the gateway's
/// order, each with its wrapped-job outcome.
///
/// A listing only needs counts, so this reads the JSON straight into
/// [`Listed`] records, skipping the series instead of building a tree of
/// every value (for 10,000 groups that is a fifth of the memory and time).
/// [`parse_one`], which keeps one group's series, runs the same reader over
/// the tree, so both read a group alike.
pub(crate) fn parse_listed(body: &[u8]) -> Result<Vec<Listed>, ShapeError> {
    let doc: wire::Envelope = serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            ShapeError(format!("not JSON: {e}"))
        }
        _ => ShapeError(e.to_string()),
    })?;
    let groups = doc
        .data
        .ok_or_else(|| ShapeError("no \"data\" list".into()))?;
    Ok(groups.into_iter().map(|g| g.0).collect())
}

/// The typed reading of a group object, behind [`parse_listed`] and
/// [`parse_one`].
mod wire {
    use std::collections::BTreeMap;
    use std::fmt;

    use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde::Deserialize;

    use super::{Group, JobOutcome, Listed, JOB_EXIT_CODE, JOB_LAST_SUCCESS};
    use super::{PUSH_FAILURE_TIME, PUSH_TIME};
    use crate::grouping::GroupingKey;

    #[derive(Deserialize)]
    pub(super) struct Envelope {
        pub(crate) data: Option<Vec<GroupDoc>>,
    }

    pub(super) struct GroupDoc(pub Listed);

    impl<'de> Deserialize<'de> for GroupDoc {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<GroupDoc, D::Error> {
            d.deserialize_map(GroupVisitor)
        }
    }

    struct GroupVisitor;

    impl<'de> Visitor<'de> for GroupVisitor {
        type Value = GroupDoc;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a group object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<GroupDoc, A::Error> {
            let mut labels: Option<BTreeMap<String, String>> = None;
            let mut ok = None;
            let (mut push_time, mut failure_time) = (None, None);
            let (mut expire_after, mut expires_in) = (None, None);
            let (mut metrics, mut series) = (0, 0);
            let mut job = JobOutcome::default();
            while let Some(key) = map.next_key::<String>()? {
                match key.as_str() {
                    "labels" => labels = Some(map.next_value()?),
                    "last_push_successful" => ok = map.next_value::<Option<bool>>()?,
                    "expire_after_seconds" => expire_after = map.next_value::<Option<f64>>()?,
                    "expires_in_seconds" => expires_in = map.next_value::<Option<f64>>()?,
                    PUSH_TIME => push_time = map.next_value::<TimeFamily>()?.time(),
                    PUSH_FAILURE_TIME => failure_time = map.next_value::<TimeFamily>()?.time(),
                    // Counted like any family, and their values read.
                    JOB_EXIT_CODE | JOB_LAST_SUCCESS => {
                        let family = map.next_value::<TimeFamily>()?;
                        metrics += 1;
                        series += family.metrics.len();
                        let values = family.values();
                        if key == JOB_EXIT_CODE {
                            // One series as pgw pushes it; of several, a
                            // failed one speaks for the job.
                            job.exit_code = values
                                .clone()
                                .find(|c| *c != 0.0)
                                .or_else(|| values.clone().next())
                                .map(|c| c as i64);
                        } else {
                            job.last_success = values.filter(|t| *t > 0.0).reduce(f64::max);
                        }
                    }
                    _ => {
                        if let Some(n) = map.next_value::<FamilyCount>()?.0 {
                            metrics += 1;
                            series += n;
                        }
                    }
                }
            }
            let labels = labels
                .ok_or_else(|| serde::de::Error::custom("a group has no \"labels\" object"))?;
            let group = Group {
                key: GroupingKey::new(labels),
                push_time,
                failure_time,
                // Not sent by a gateway older than the field: derived the same way.
                last_push_ok: ok
                    .unwrap_or_else(|| failure_time.unwrap_or(0.0) <= push_time.unwrap_or(0.0)),
                metrics,
                series,
                expire_after,
                expires_in,
            };
            Ok(GroupDoc(Listed { group, job }))
        }
    }

    /// `push_time_seconds` or `push_failure_time_seconds`: the `value` of
    /// its first series, a string of Unix seconds (0: never).
    #[derive(Deserialize)]
    struct TimeFamily {
        #[serde(default)]
        metrics: Vec<TimeSeries>,
    }

    #[derive(Deserialize)]
    struct TimeSeries {
        #[serde(default)]
        value: Option<Number>,
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Text(String),
        Float(f64),
    }

    impl TimeFamily {
        fn time(&self) -> Option<f64> {
            let t = self.values().next()?;
            (t > 0.0).then_some(t)
        }

        /// The finite values of its series, in order.
        fn values(&self) -> impl Iterator<Item = f64> + Clone + '_ {
            self.metrics.iter().filter_map(|s| {
                let v = match s.value.as_ref()? {
                    Number::Text(s) => s.parse::<f64>().ok()?,
                    Number::Float(f) => *f,
                };
                v.is_finite().then_some(v)
            })
        }
    }

    /// The number of series of a family (`None`: the key is no family).
    struct FamilyCount(Option<usize>);

    impl<'de> Deserialize<'de> for FamilyCount {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FamilyCount, D::Error> {
            d.deserialize_any(FamilyVisitor)
        }
    }

    struct FamilyVisitor;

    impl<'de> Visitor<'de> for FamilyVisitor {
        type Value = FamilyCount;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a metric family object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FamilyCount, A::Error> {
            let mut count = None;
            while let Some(key) = map.next_key::<String>()? {
                if key == "metrics" {
                    count = Some(map.next_value::<SeqLen>()?.0);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(FamilyCount(count))
        }

        // A key that is not a family (a field of a newer gateway) is skipped.
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FamilyCount, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(FamilyCount(None))
        }

        fn visit_bool<E>(self, _: bool) -> Result<FamilyCount, E> {
            Ok(FamilyCount(None))
        }

        fn visit_i64<E>(self, _: i64) -> Result<FamilyCount, E> {
            Ok(FamilyCount(None))
        }

        fn visit_u64<E>(self, _: u64) -> Result<FamilyCount, E> {
            Ok(FamilyCount(None))
        }

        fn visit_f64<E>(self, _: f64) -> Result<FamilyCount, E> {
            Ok(FamilyCount(None))
        }

        fn visit_str<E>(self, _: &str) -> Result<FamilyCount, E> {
            Ok(FamilyCount(None))
        }

        fn visit_unit<E>(self) -> Result<FamilyCount, E> {
            Ok(FamilyCount(None))
        }
    }

    /// The length of a list, its elements skipped.
    struct SeqLen(usize);

    impl<'de> Deserialize<'de> for SeqLen {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SeqLen, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = SeqLen;

                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a list of series")
                }

                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SeqLen, A::Error> {
                    let mut n = 0;
                    while seq.next_element::<IgnoredAny>()?.is_some() {
                        n += 1;
                    }
                    Ok(SeqLen(n))
                }
            }
            d.deserialize_seq(V)
        }
    }
}

/// The group with `key` and its families (push-time families left out), if
/// the answer has it.
pub(crate) fn parse_one(
    body: &[u8],
    key: &GroupingKey,
) -> Result<Option<(Listed, Vec<Family>)>, ShapeError> {
    for value in data(body)? {
        let l = listed(&value)?;
        if l.group.key == *key {
            return Ok(Some((l, families(value))));
        }
    }
    Ok(None)
}

/// One group object of the answer, read by the same reader as
/// [`parse_listed`].
fn listed(value: &Value) -> Result<Listed, ShapeError> {
    use serde::Deserialize as _;
    wire::GroupDoc::deserialize(value)
        .map(|g| g.0)
        .map_err(|e| ShapeError(e.to_string()))
}

fn families(value: Value) -> Vec<Family> {
    let Value::Object(obj) = value else {
        return Vec::new();
    };
    let mut out: Vec<Family> = obj
        .into_iter()
        .filter(|(name, _)| name != PUSH_TIME && name != PUSH_FAILURE_TIME)
        .filter_map(|(name, mut family)| {
            let Some(Value::Array(series)) = family.get_mut("metrics").map(Value::take) else {
                return None;
            };
            let text = |k: &str| family.get(k).and_then(Value::as_str).map(str::to_string);
            Some(Family {
                kind: text("type").unwrap_or_else(|| "UNTYPED".into()),
                help: text("help"),
                time_stamp: text("time_stamp"),
                name,
                series,
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Every group, as [`fetch_listed`] reads them.
pub(crate) fn fetch(gateway: &Gateway) -> anyhow::Result<Vec<Group>> {
    Ok(fetch_listed(gateway)?
        .into_iter()
        .map(|l| l.group)
        .collect())
}

/// Every group with its wrapped job's outcome, in the gateway's order:
/// from the brief listing `GET /api/v1/groups` if the gateway answers it
/// in its shape, else from `GET /api/v1/metrics`.
///
/// The official server answers the brief path 404 (a server in front of
/// it may answer another 4xx, or a page); any 4xx, and a 2xx that is not
/// the brief shape, make it the full listing, and the gateway remembers
/// that for the listings that follow. A connection error, a timeout or a
/// 5xx is the error it is: the same server would fail the full listing
/// too, after as many retries.
pub(crate) fn fetch_listed(gateway: &Gateway) -> anyhow::Result<Vec<Listed>> {
    if !gateway.lacks_brief_listing() {
        let accept = [("Accept", "application/json")];
        match gateway.send("GET", "/api/v1/groups", &accept, None) {
            Ok(reply) => {
                if let Ok(listed) = parse_brief(&reply.body) {
                    return Ok(listed);
                }
            }
            Err(GatewayError::Rejected { .. } | GatewayError::NotAGateway { .. }) => {}
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context(format!("cannot list the groups of {}", gateway.base())))
            }
        }
        gateway.note_no_brief_listing();
    }
    let body = fetch_body(gateway)?;
    parse_listed(&body).with_context(|| format!("cannot read the groups of {}", gateway.base()))
}

/// Parses the brief listing `GET /api/v1/groups` of pgw serve, in its
/// order. An answer without the counts and numeric times of that shape (say,
/// the official shape of `/api/v1/metrics`, whose time keys are families) is
/// a [`ShapeError`].
pub(crate) fn parse_brief(body: &[u8]) -> Result<Vec<Listed>, ShapeError> {
    let doc: brief::Envelope =
        serde_json::from_slice(body).map_err(|e| ShapeError(e.to_string()))?;
    Ok(doc.data.into_iter().map(brief::Group::listed).collect())
}

/// The typed reading of the brief listing, behind [`parse_brief`].
mod brief {
    use serde::de::{MapAccess, Visitor};
    use serde::{Deserialize, Deserializer};

    use super::{Group as Record, JobOutcome, Listed};
    use crate::grouping::GroupingKey;

    #[derive(Deserialize)]
    pub(super) struct Envelope {
        pub(super) data: Vec<Group>,
    }

    /// One group; keys the client does not use (`path`, `aggregate`) are
    /// skipped.
    #[derive(Deserialize)]
    pub(super) struct Group {
        #[serde(deserialize_with = "pairs")]
        labels: Vec<(String, String)>,
        // Required, so that another shape is told apart.
        metrics: usize,
        series: usize,
        push_time_seconds: Option<f64>,
        push_failure_time_seconds: Option<f64>,
        last_push_successful: Option<bool>,
        expire_after_seconds: Option<f64>,
        expires_in_seconds: Option<f64>,
        job_exit_code: Option<f64>,
        job_last_success_time_seconds: Option<f64>,
    }

    /// `labels` as the pairs a [`GroupingKey`] is made of, read straight
    /// into a list rather than into a map only to be taken apart again (a
    /// name given twice: the last wins, in [`GroupingKey::new`]).
    fn pairs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
        struct Pairs;
        impl<'de> Visitor<'de> for Pairs {
            type Value = Vec<(String, String)>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of label names to values")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(pair) = map.next_entry()? {
                    pairs.push(pair);
                }
                Ok(pairs)
            }
        }
        d.deserialize_map(Pairs)
    }

    impl Group {
        /// The record `/api/v1/metrics` gives for the same group: a time of
        /// 0 (or one that is not finite, which arrives as `null`) is none.
        pub(super) fn listed(self) -> Listed {
            let time = |t: Option<f64>| t.filter(|t| t.is_finite() && *t > 0.0);
            let push_time = time(self.push_time_seconds);
            let failure_time = time(self.push_failure_time_seconds);
            let group = Record {
                key: GroupingKey::new(self.labels),
                push_time,
                failure_time,
                last_push_ok: self
                    .last_push_successful
                    .unwrap_or_else(|| failure_time.unwrap_or(0.0) <= push_time.unwrap_or(0.0)),
                metrics: self.metrics,
                series: self.series,
                expire_after: self.expire_after_seconds,
                expires_in: self.expires_in_seconds,
            };
            // The server picks the series that speaks for the job as the
            // reading of `/api/v1/metrics` does (`server::store::view`).
            let job = JobOutcome {
                exit_code: self
                    .job_exit_code
                    .filter(|c| c.is_finite())
                    .map(|c| c as i64),
                last_success: time(self.job_last_success_time_seconds),
            };
            Listed { group, job }
        }
    }
}

/// The raw answer of `GET /api/v1/metrics`, for [`parse_listed`] and [`parse_one`].
pub(crate) fn fetch_body(gateway: &Gateway) -> anyhow::Result<Vec<u8>> {
    let reply = gateway
        .send(
            "GET",
            "/api/v1/metrics",
            &[("Accept", "application/json")],
            None,
        )
        .with_context(|| format!("cannot list the groups of {}", gateway.base()))?;
    Ok(reply.body)
}

/// Which groups a command acts on: all of the given conditions.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    pub(crate) selector: Option<Selector>,
    /// Last successful push longer ago than this (or never).
    pub(crate) stale: Option<Duration>,
    /// Last push failed.
    pub(crate) failed: bool,
}

impl Filter {
    /// For `delete`, which never sets `failed`: a refused push is the only
    /// failure a bare [`Group`] knows.
    pub(crate) fn matches(&self, group: &Group, now: f64) -> bool {
        let listed = Listed {
            group: group.clone(),
            job: JobOutcome::default(),
        };
        self.matches_listed(&listed, now)
    }

    /// `failed` selects a refused push and a wrapped job that exited non-zero.
    pub(crate) fn matches_listed(&self, listed: &Listed, now: f64) -> bool {
        let group = &listed.group;
        if let Some(sel) = &self.selector {
            if !sel.matches(|name| group.key.get(name)) {
                return false;
            }
        }
        if let Some(stale) = self.stale {
            if let Some(age) = group.age(now) {
                // Strictly older, as pgw serve's clean-up selects.
                if age <= stale.as_secs_f64() {
                    return false;
                }
            }
        }
        !self.failed || listed.failed()
    }

    /// The filter as it was given, for messages: `-s job="x" --stale 1h`.
    pub(crate) fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(sel) = &self.selector {
            parts.push(format!("-s '{sel}'"));
        }
        if let Some(stale) = self.stale {
            parts.push(format!("--stale {}", format_duration(stale)));
        }
        if self.failed {
            parts.push("--failed".into());
        }
        parts.join(" ")
    }

    /// What to say when no group at `base` passes the filter.
    pub(crate) fn none_at(&self, base: &str) -> String {
        if self.selector.is_none() && self.stale.is_none() && !self.failed {
            format!("the gateway at {base} holds no group")
        } else {
            format!("no group at {base} matches {}", self.describe())
        }
    }
}

/// The label names of `sel` that no group in `groups` has, where the
/// matcher cannot hold without the label (`jobb=node`): a typo that makes the
/// selector match nothing. None for an empty gateway, where nothing matches
/// anyway.
pub(crate) fn unknown_label_names<'s, 'g, I>(sel: &'s Selector, keys: I) -> Vec<&'s str>
where
    I: IntoIterator<Item = &'g GroupingKey>,
    I::IntoIter: Clone,
{
    let keys = keys.into_iter();
    if keys.clone().next().is_none() {
        return Vec::new();
    }
    sel.unknown_label_names(|name| keys.clone().any(|k| k.get(name).is_some()))
}

/// The group named by `GROUP`, the group's whole label set written as
/// equality matchers (`job=x,instance=y`), so it names one group exactly:
/// `instance=""` is the group with an empty instance, which the official
/// server keeps apart from the one without. A bad one is bad input.
pub(crate) fn parse_key(text: &str) -> anyhow::Result<GroupingKey> {
    let bad = |msg: String| BadInput(format!("group {text:?}: {msg}"));
    let sel: Selector = text.parse().context("GROUP")?;
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    for m in &sel.matchers {
        if m.op != Op::Eq {
            return Err(bad(format!(
                "{}{}: a group is named by its labels with `=` only (use -s for a selector)",
                m.name,
                match m.op {
                    Op::Ne => "!=",
                    Op::Re => "=~",
                    _ => "!~",
                }
            ))
            .into());
        }
        if m.name.starts_with("__") {
            return Err(bad(format!("{:?} is not a grouping label name", m.name)).into());
        }
        if pairs.iter().any(|(n, _)| *n == m.name) {
            return Err(bad(format!("label {:?} is given twice", m.name)).into());
        }
        pairs.push((&m.name, &m.value));
    }
    match pairs.iter().find(|(n, _)| *n == "job") {
        None => Err(bad("no job label (write job=NAME first)".into()).into()),
        Some((_, "")) => Err(bad("the job name is empty".into()).into()),
        Some(_) => Ok(GroupingKey::new(pairs)),
    }
}

/// The order groups are shown and deleted in: by job, then by the other
/// labels (names sorted), values in natural order (`web-2` before `web-10`).
pub(crate) fn label_order(a: &GroupingKey, b: &GroupingKey) -> Ordering {
    fn rest(k: &GroupingKey) -> impl Iterator<Item = &(String, String)> {
        k.labels().iter().filter(|(n, _)| n != "job")
    }
    let job = natural_cmp(a.get("job").unwrap_or(""), b.get("job").unwrap_or(""));
    job.then_with(|| {
        for ((na, va), (nb, vb)) in rest(a).zip(rest(b)) {
            let o = na.cmp(nb).then_with(|| natural_cmp(va, vb));
            if o != Ordering::Equal {
                return o;
            }
        }
        rest(a).count().cmp(&rest(b).count())
    })
}

/// Compares strings as people sort names: runs of ASCII digits by their
/// number (`web-2` < `web-10`, `v1.9` < `v1.10`), everything else by
/// character. A tie (`web-2`, `web-02`) falls back to the plain order, so
/// unequal strings never compare equal.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    // Up to where the two first differ they compare equal either way; only
    // a number that difference cuts into must be read whole, from its start.
    let (a_bytes, b_bytes) = (a.as_bytes(), b.as_bytes());
    let mut same = a_bytes
        .iter()
        .zip(b_bytes)
        .take_while(|(c, d)| c == d)
        .count();
    if same == a_bytes.len() && same == b_bytes.len() {
        return Ordering::Equal;
    }
    while same > 0 && a_bytes[same - 1].is_ascii_digit() {
        same -= 1;
    }
    let (mut x, mut y) = (&a_bytes[same..], &b_bytes[same..]);
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let run = |s: &[u8]| s.iter().take_while(|c| c.is_ascii_digit()).count();
                let (nx, ny) = (run(x), run(y));
                // Leading zeros do not change the number: compare what is
                // left by length, then digit by digit.
                let trim = |s: &[u8]| -> usize { s.iter().take_while(|c| **c == b'0').count() };
                let (dx, dy) = (&x[trim(&x[..nx])..nx], &y[trim(&y[..ny])..ny]);
                // Digit by digit in a loop: the runs are a few bytes, too
                // short to be worth a call of `memcmp`.
                let digits = || {
                    let differ = dx.iter().zip(dy).find(|(c, d)| c != d);
                    differ.map_or(Ordering::Equal, |(c, d)| c.cmp(d))
                };
                let o = dx.len().cmp(&dy.len()).then_with(digits);
                if o != Ordering::Equal {
                    return o;
                }
                (x, y) = (&x[nx..], &y[ny..]);
            }
            (Some(_), Some(_)) => {
                // Whole UTF-8 characters compare as their bytes do.
                let len = |s: &[u8]| s.iter().take_while(|c| !c.is_ascii_digit()).count();
                let (lx, ly) = (len(x), len(y));
                let o = x[..lx].cmp(&y[..ly]);
                if o != Ordering::Equal {
                    // `a` before `a1`: a shorter text run that is a prefix
                    // of the other sorts first, as plain order would.
                    return o;
                }
                (x, y) = (&x[lx..], &y[ly..]);
            }
        }
    }
}

/// `1 group`, `3 groups`: how the commands count groups in messages.
pub(crate) fn plural(n: usize) -> String {
    if n == 1 {
        "1 group".into()
    } else {
        format!("{n} groups")
    }
}

/// Now, as Unix seconds.
pub(crate) fn now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// An age in its two largest units: `42s`, `3m 12s`, `2h 5m`, `24h`,
/// `47h 59m`, `3d 4h`, `45d`. Hours run up to two days, as kubectl counts
/// them, so a day-old push reads `24h` (the `--stale 24h` people write), not
/// humantime's `1day`; every form reads back as a DURATION flag. More
/// precision is noise in a listing.
pub(crate) fn format_age(secs: f64) -> String {
    let secs = if secs.is_finite() && secs > 0.0 {
        secs as u64
    } else {
        0
    };
    let unit = match secs {
        s if s >= 30 * DAY => DAY,
        s if s >= 2 * DAY => HOUR,
        s if s >= HOUR => MINUTE,
        _ => 1,
    };
    write_duration(secs / unit * unit)
}

/// A duration exactly, in the units [`format_age`] writes: `24h`,
/// `1h 30m`, `3d 4h 5s`; whole seconds (what the flags take).
pub(crate) fn format_duration(d: Duration) -> String {
    write_duration(d.as_secs())
}

/// The words written into one string: a listing writes an age for every
/// group.
fn write_duration(secs: u64) -> String {
    use std::fmt::Write as _;
    if secs == 0 {
        return "0s".into();
    }
    let (days, rest) = if secs >= 2 * DAY {
        (secs / DAY, secs % DAY)
    } else {
        (0, secs)
    };
    let parts = [
        (days, "d"),
        (rest / HOUR, "h"),
        (rest % HOUR / MINUTE, "m"),
        (rest % MINUTE, "s"),
    ];
    let mut out = String::new();
    for (n, unit) in parts.iter().filter(|(n, _)| *n > 0) {
        if !out.is_empty() {
            out.push(' ');
        }
        write!(out, "{n}{unit}").expect("a String takes every write");
    }
    out
}

/// `3m 12s ago`, or `never` for a group that no push has reached.
pub(crate) fn format_ago(age: Option<f64>) -> String {
    match age {
        Some(a) => {
            let mut text = format_age(a);
            text.push_str(" ago");
            text
        }
        None => "never".into(),
    }
}

/// Unix seconds as RFC 3339 UTC, to the second.
pub(crate) fn format_unix(t: f64) -> String {
    let d = Duration::from_secs_f64(t.max(0.0));
    humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + d).to_string()
}

#[cfg(test)]
mod tests;
