//! A gateway's groups as the client commands (`list`, `delete`, `wipe`) see
//! them: `GET /api/v1/metrics` turned into one [`Group`] record per group
//! (grouping key, last push and failure times, family and series counts,
//! expiry), the filters the commands share (selector, `--stale`, `--failed`),
//! how one group is named on the command line, and how ages are written.
//!
//! The JSON is the official shape (spec 3.1): each group object has `labels`,
//! `last_push_successful`, optionally pgw's `expire_after_seconds` and
//! `expires_in_seconds`, and one key per metric family holding `metrics` (a
//! list). `push_time_seconds` and `push_failure_time_seconds` are families
//! whose one series carries the Unix time as a string.

use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use serde_json::Value;

use crate::client::selector::{Op, Selector};
use crate::client::Gateway;
use crate::error::BadInput;
use crate::grouping::GroupingKey;

/// The families every group has, kept by the gateway itself; they are not
/// counted as the group's metrics.
pub(crate) const PUSH_TIME: &str = "push_time_seconds";
pub(crate) const PUSH_FAILURE_TIME: &str = "push_failure_time_seconds";

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

/// The answer of `GET /api/v1/metrics` does not have the expected shape.
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

/// Parses the groups of a `GET /api/v1/metrics` answer, in the gateway's order.
///
/// A listing only needs counts, so this reads the JSON straight into
/// [`Group`] records, skipping the series instead of building a tree of
/// every value (for 10,000 groups that is a fifth of the memory and time).
/// [`parse_one`], which keeps one group's series, runs the same reader over
/// the tree, so both read a group alike.
pub(crate) fn parse(body: &[u8]) -> Result<Vec<Group>, ShapeError> {
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

/// The typed reading of a group object, behind [`parse`] and [`parse_one`].
mod wire {
    use std::collections::BTreeMap;
    use std::fmt;

    use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde::Deserialize;

    use super::{Group, PUSH_FAILURE_TIME, PUSH_TIME};
    use crate::grouping::GroupingKey;

    #[derive(Deserialize)]
    pub(super) struct Envelope {
        pub(crate) data: Option<Vec<GroupDoc>>,
    }

    pub(super) struct GroupDoc(pub Group);

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
            while let Some(key) = map.next_key::<String>()? {
                match key.as_str() {
                    "labels" => labels = Some(map.next_value()?),
                    "last_push_successful" => ok = map.next_value::<Option<bool>>()?,
                    "expire_after_seconds" => expire_after = map.next_value::<Option<f64>>()?,
                    "expires_in_seconds" => expires_in = map.next_value::<Option<f64>>()?,
                    PUSH_TIME => push_time = map.next_value::<TimeFamily>()?.time(),
                    PUSH_FAILURE_TIME => failure_time = map.next_value::<TimeFamily>()?.time(),
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
            Ok(GroupDoc(Group {
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
            }))
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
            let t = match self.metrics.first()?.value.as_ref()? {
                Number::Text(s) => s.parse::<f64>().ok()?,
                Number::Float(f) => *f,
            };
            (t.is_finite() && t > 0.0).then_some(t)
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
) -> Result<Option<(Group, Vec<Family>)>, ShapeError> {
    for value in data(body)? {
        let g = group(&value)?;
        if g.key == *key {
            return Ok(Some((g, families(value))));
        }
    }
    Ok(None)
}

/// One group object of the answer, read by the same reader as [`parse`].
fn group(value: &Value) -> Result<Group, ShapeError> {
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

/// `GET /api/v1/metrics`, parsed.
pub(crate) fn fetch(gateway: &Gateway) -> anyhow::Result<Vec<Group>> {
    let body = fetch_body(gateway)?;
    parse(&body).with_context(|| format!("cannot read the groups of {}", gateway.base()))
}

/// The raw answer of `GET /api/v1/metrics`, for [`parse`] and [`parse_one`].
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
    pub(crate) fn matches(&self, group: &Group, now: f64) -> bool {
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
        !self.failed || !group.last_push_ok
    }

    /// The filter as it was given, for messages: `-s job="x" --stale 1h`.
    pub(crate) fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(sel) = &self.selector {
            parts.push(format!("-s '{sel}'"));
        }
        if let Some(stale) = self.stale {
            parts.push(format!("--stale {}", humantime::format_duration(stale)));
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
pub(crate) fn unknown_label_names<'s>(sel: &'s Selector, groups: &[Group]) -> Vec<&'s str> {
    if groups.is_empty() {
        return Vec::new();
    }
    sel.unknown_label_names(|name| groups.iter().any(|g| g.key.get(name).is_some()))
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
/// labels (names sorted).
pub(crate) fn label_order(a: &GroupingKey, b: &GroupingKey) -> std::cmp::Ordering {
    a.get("job")
        .cmp(&b.get("job"))
        .then_with(|| a.labels().cmp(b.labels()))
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

/// An age in its two largest units, as humantime writes them: `42s`,
/// `3m 12s`, `2h 5m`, `3days 4h`. More precision is noise in a listing.
pub(crate) fn format_age(secs: f64) -> String {
    let secs = if secs.is_finite() && secs > 0.0 {
        secs as u64
    } else {
        0
    };
    const MINUTE: u64 = 60;
    const HOUR: u64 = 60 * MINUTE;
    const DAY: u64 = 24 * HOUR;
    let unit = match secs {
        s if s >= 30 * DAY => DAY,
        s if s >= DAY => HOUR,
        s if s >= HOUR => MINUTE,
        _ => 1,
    };
    humantime::format_duration(Duration::from_secs(secs / unit * unit)).to_string()
}

/// `3m 12s ago`, or `never` for a group that no push has reached.
pub(crate) fn format_ago(age: Option<f64>) -> String {
    match age {
        Some(a) => format!("{} ago", format_age(a)),
        None => "never".into(),
    }
}

/// Unix seconds as RFC 3339 UTC, to the second.
pub(crate) fn format_unix(t: f64) -> String {
    let d = Duration::from_secs_f64(t.max(0.0));
    humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + d).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{"status":"success","data":[
      {"labels":{"job":"batch"},"last_push_successful":true,
       "job_runs_total":{"type":"COUNTER","help":"Runs.","time_stamp":"2026-11-22T23:18:45Z",
         "metrics":[{"labels":{"instance":"x","job":"batch"},"value":"7"},
                    {"labels":{"instance":"y","job":"batch"},"value":"8"}]},
       "job_duration_seconds":{"type":"HISTOGRAM","metrics":[{"buckets":{"1":"3"},"count":"4","sum":"2.5","labels":{"job":"batch"}}]},
       "push_failure_time_seconds":{"type":"GAUGE","metrics":[{"labels":{"instance":"","job":"batch"},"value":"0"}]},
       "push_time_seconds":{"type":"GAUGE","metrics":[{"labels":{"instance":"","job":"batch"},"value":"1.7953895256667845e+09"}]}},
      {"labels":{"instance":"some_instance","job":"some_job"},"last_push_successful":false,
       "push_failure_time_seconds":{"metrics":[{"value":"1.79538952565702e+09"}]},
       "push_time_seconds":{"metrics":[{"value":"0"}]}},
      {"labels":{"job":"ttl"},"last_push_successful":true,"expire_after_seconds":90,"expires_in_seconds":12.5,
       "push_time_seconds":{"metrics":[{"value":"100"}]}}
    ]}"#;

    #[test]
    fn groups_are_read_from_the_official_shape() {
        let groups = parse(BODY.as_bytes()).unwrap();
        assert_eq!(groups.len(), 3);
        let batch = &groups[0];
        assert_eq!(batch.key, GroupingKey::new([("job", "batch")]));
        assert_eq!(batch.push_time, Some(1.7953895256667845e9));
        assert_eq!(batch.failure_time, None);
        assert!(batch.last_push_ok);
        assert_eq!((batch.metrics, batch.series), (2, 3));
        let failed = &groups[1];
        assert_eq!(failed.push_time, None);
        assert_eq!(failed.failure_time, Some(1.79538952565702e9));
        assert!(!failed.last_push_ok);
        assert_eq!((failed.metrics, failed.series), (0, 0));
        assert_eq!(groups[2].expire_after, Some(90.0));
        assert_eq!(groups[2].expires_in, Some(12.5));
    }

    #[test]
    fn the_typed_and_the_tree_readings_agree() {
        let doc: Value = serde_json::from_str(BODY).unwrap();
        let tree: Vec<Group> = doc["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| group(g).unwrap())
            .collect();
        assert_eq!(parse(BODY.as_bytes()).unwrap(), tree);
        // Keys that are no family (a newer gateway's fields) are skipped.
        let odd = br#"{"data":[{"labels":{"job":"x"},"n":1,"s":"t","l":[1],"z":null,"f":{"type":"GAUGE"}}]}"#;
        let g = &parse(odd).unwrap()[0];
        assert_eq!((g.metrics, g.series, g.last_push_ok), (0, 0, true));
    }

    #[test]
    fn one_group_with_its_families() {
        let key = GroupingKey::new([("job", "batch")]);
        let (g, fams) = parse_one(BODY.as_bytes(), &key).unwrap().unwrap();
        assert_eq!(g.key, key);
        let names: Vec<_> = fams.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["job_duration_seconds", "job_runs_total"]);
        assert_eq!(fams[1].kind, "COUNTER");
        assert_eq!(fams[1].help.as_deref(), Some("Runs."));
        assert_eq!(fams[1].series.len(), 2);
        let other = GroupingKey::new([("job", "batch"), ("instance", "")]);
        assert!(parse_one(BODY.as_bytes(), &other).unwrap().is_none());
    }

    #[test]
    fn bad_shapes_are_reported() {
        assert!(parse(b"<html>")
            .unwrap_err()
            .to_string()
            .contains("not JSON"));
        assert!(parse(br#"{"status":"success"}"#)
            .unwrap_err()
            .to_string()
            .contains("no \"data\" list"));
        assert!(parse(br#"{"data":[{"x":1}]}"#).is_err());
    }

    fn g(labels: &[(&str, &str)], push: Option<f64>, ok: bool) -> Group {
        Group {
            key: GroupingKey::new(labels.iter().copied()),
            push_time: push,
            failure_time: None,
            last_push_ok: ok,
            metrics: 1,
            series: 1,
            expire_after: None,
            expires_in: None,
        }
    }

    #[test]
    fn filters_combine() {
        let now = 10_000.0;
        let fresh = g(
            &[("job", "node"), ("instance", "web-1")],
            Some(9_990.0),
            true,
        );
        let old = g(&[("job", "node"), ("instance", "db")], Some(1_000.0), false);
        let never = g(&[("job", "x")], None, false);
        let f = Filter {
            selector: Some("job=node,instance=~web-.*".parse().unwrap()),
            ..Filter::default()
        };
        assert!(f.matches(&fresh, now) && !f.matches(&old, now));
        let stale = Filter {
            stale: Some(Duration::from_secs(3600)),
            ..Filter::default()
        };
        assert!(!stale.matches(&fresh, now));
        assert!(stale.matches(&old, now));
        assert!(stale.matches(&never, now), "never pushed counts as stale");
        let failed = Filter {
            failed: true,
            ..Filter::default()
        };
        assert!(!failed.matches(&fresh, now) && failed.matches(&old, now));
    }

    #[test]
    fn unknown_label_names_need_a_listing() {
        let listed = [
            g(&[("job", "node"), ("instance", "a")], None, true),
            g(&[("job", "x"), ("env", "")], None, true),
        ];
        let sel: Selector = "jobb=node,env=~.+,instance=a,team=ops".parse().unwrap();
        // `env` is there, if empty: no warning for it.
        assert_eq!(unknown_label_names(&sel, &listed), ["jobb", "team"]);
        assert!(unknown_label_names(&sel, &[]).is_empty());
    }

    #[test]
    fn a_group_is_named_exactly() {
        for bad in [
            "instance=a",
            "job=~x",
            "job=x,job=y",
            "job=\"\"",
            "job=x,__a=b",
        ] {
            let err = parse_key(bad).unwrap_err();
            assert_eq!(
                crate::exit::code_for(&err),
                crate::exit::Code::BadInput,
                "{bad}: {err:#}"
            );
        }
    }

    #[test]
    fn ages_keep_two_units() {
        assert_eq!(format_age(42.7), "42s");
        assert_eq!(format_age(192.0), "3m 12s");
        assert_eq!(format_age(7_512.0), "2h 5m");
        assert_eq!(format_age(3.0 * 86_400.0 + 4.0 * 3_600.0 + 5.0), "3days 4h");
        assert_eq!(format_age(-3.0), "0s");
        assert_eq!(format_ago(None), "never");
        assert_eq!(format_ago(Some(60.0)), "1m ago");
        assert_eq!(format_unix(1_764_000_000.5), "2025-11-24T16:00:00Z");
    }
}
