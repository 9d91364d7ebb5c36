//! Import of the official Pushgateway's persistence file
//! (`--persistence.import`), so that moving to pgw keeps every group.
//!
//! The file is a gob stream (see [`super::gob`]) of one
//! `map[string]MetricGroup`: each group has its `Labels` (the grouping key)
//! and its `Metrics`, a map from family name to a `Timestamp` (when the
//! family was pushed, a `time.Time` in its binary form) and the family as a
//! protobuf `MetricFamily`. The synthetic `push_time_seconds` and
//! `push_failure_time_seconds` families carry the group's times; the store
//! makes its own from them. The whole file is read and checked before
//! anything goes into the store, so a damaged file imports nothing.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context as _};

use crate::exposition::proto;
use crate::exposition::{Family, Value as Sample};
use crate::grouping::GroupingKey;
use crate::server::persist::gob::{self, Value};
use crate::server::store::{self, GroupTimes, Store, PUSH_FAILURE_TIME, PUSH_TIME};

/// One group of the file, checked and ready for the store.
#[derive(Debug)]
pub struct Group {
    pub(crate) key: GroupingKey,
    /// The values and time stamps of `push_time_seconds` and
    /// `push_failure_time_seconds`.
    pub(crate) times: GroupTimes,
    /// Each family with the time it was pushed.
    pub(crate) families: Vec<(Family<'static>, SystemTime)>,
}

/// The name the official server gives the type of its file's value. A file
/// that declares it is the official server's, whatever else is wrong.
const TOP_TYPE: &[u8] = b"GroupingKeyToMetricGroup";

/// True when `bytes` start like the official server's persistence file.
pub(crate) fn looks_official(bytes: &[u8]) -> bool {
    bytes
        .get(..64)
        .unwrap_or(bytes)
        .windows(TOP_TYPE.len())
        .any(|w| w == TOP_TYPE)
}

/// Reads and checks every group of the file's contents.
pub fn parse(bytes: &[u8]) -> Result<Vec<Group>, String> {
    let value = gob::decode(bytes).map_err(|e| format!("not a readable gob stream {e}"))?;
    let Value::Map(entries) = value else {
        return Err(format!(
            "its value is a {}, not the map of groups the official server writes",
            value.kind()
        ));
    };
    let mut groups = Vec::with_capacity(entries.len());
    for (i, (_, group)) in entries.iter().enumerate() {
        groups.push(parse_group(group).map_err(|e| format!("group {}: {e}", i + 1))?);
    }
    groups.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(groups)
}

fn parse_group(group: &Value) -> Result<Group, String> {
    let labels: Vec<(String, String)> = match group.field("Labels") {
        Some(Value::Map(pairs)) => pairs
            .iter()
            .map(|(n, v)| match (n, v) {
                (Value::String(n), Value::String(v)) => Ok((n.clone(), v.clone())),
                _ => Err(format!(
                    "a label of kind {}={} instead of string=string",
                    n.kind(),
                    v.kind()
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(format!("Labels is a {}, not a map", other.kind())),
        None => Vec::new(),
    };
    let key = GroupingKey::new(labels);
    if key.get("job").is_none_or(str::is_empty) {
        return Err(format!("the grouping key {key} has no job"));
    }
    let metrics: &[(Value, Value)] = match group.field("Metrics") {
        Some(Value::Map(m)) => m,
        Some(other) => return Err(format!("{key}: Metrics is a {}, not a map", other.kind())),
        None => &[],
    };
    let mut families = Vec::with_capacity(metrics.len());
    let (mut push, mut failure) = (None, None);
    for (name, entry) in metrics {
        let name = match name {
            Value::String(n) => n.as_str(),
            other => return Err(format!("{key}: a family named by a {}", other.kind())),
        };
        let at = match entry.field("Timestamp") {
            Some(Value::Encoded(b)) => {
                go_time(b).map_err(|e| format!("{key}: the time of family {name}: {e}"))?
            }
            Some(other) => {
                return Err(format!(
                    "{key}: the time of family {name} is a {}",
                    other.kind()
                ))
            }
            // The zero time.
            None => UNIX_EPOCH,
        };
        let family = match entry.field("GobbableMetricFamily") {
            Some(Value::Encoded(b)) => {
                proto::decode_family(b).map_err(|e| format!("{key}: family {name}: {}", e.0))?
            }
            Some(other) => return Err(format!("{key}: family {name} is a {}", other.kind())),
            None => return Err(format!("{key}: family {name} is missing")),
        };
        if family.name != name {
            return Err(format!(
                "{key}: the family filed as {name} is named {}",
                family.name
            ));
        }
        if name == PUSH_TIME || name == PUSH_FAILURE_TIME {
            let value = match family.metrics.first().map(|m| &m.value) {
                Some(Sample::Single(v)) => *v,
                _ => return Err(format!("{key}: {name} holds no single value")),
            };
            if name == PUSH_TIME {
                push = Some((value, at));
            } else {
                failure = Some((value, at));
            }
            continue;
        }
        families.push((family, at));
    }
    families.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    // Upstream writes both; a file without them gets what a new group has.
    let latest = families
        .iter()
        .map(|(_, at)| *at)
        .max()
        .unwrap_or(UNIX_EPOCH);
    let (push_time, pushed_at) = push.unwrap_or((0.0, latest));
    let (failure_time, failed_at) = failure.unwrap_or((0.0, pushed_at));
    Ok(Group {
        key,
        times: GroupTimes {
            push_time,
            failure_time,
            pushed_at,
            failed_at,
        },
        families,
    })
}

/// Seconds from January 1 of year 1 to the Unix epoch, as Go counts them.
const GO_TO_UNIX: i64 = 62_135_596_800;

/// A `time.Time` in the form `MarshalBinary` gives it: a version byte (1, or
/// 2 when the zone has a seconds offset), seconds since year 1, nanoseconds,
/// the zone offset in minutes (and in version 2 its seconds). The instant
/// does not depend on the zone.
fn go_time(b: &[u8]) -> Result<SystemTime, String> {
    let want = match b.first() {
        Some(1) => 15,
        Some(2) => 16,
        Some(v) => return Err(format!("unknown time.Time version {v}")),
        None => return Err("an empty time.Time".into()),
    };
    if b.len() != want {
        return Err(format!("a time.Time of {} bytes, not {want}", b.len()));
    }
    let secs = i64::from_be_bytes(b[1..9].try_into().expect("8 bytes"));
    let nanos = u32::from_be_bytes(b[9..13].try_into().expect("4 bytes"));
    let unix = secs - GO_TO_UNIX;
    let unix = u64::try_from(unix).map_err(|_| format!("a time before 1970 ({unix} s)"))?;
    Ok(UNIX_EPOCH + Duration::new(unix, nanos.min(999_999_999)))
}

/// Reads the official file at `path` and puts its groups into `store`, each
/// with `ttl`. Every group is checked before the first goes in.
pub(crate) fn import(path: &Path, store: &Store, ttl: Option<Duration>) -> anyhow::Result<usize> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the file to import, {}", path.display()))?;
    let groups = parse(&bytes).map_err(|e| {
        anyhow!(
            "cannot import {}: {e}; nothing was imported",
            path.display()
        )
    })?;
    let mut prepared = Vec::with_capacity(groups.len());
    for g in groups {
        let key = g.key.clone();
        let mut push = store::prepare_timed(g.key, g.families).map_err(|e| {
            anyhow!(
                "cannot import {}: group {key}: {e}; nothing was imported",
                path.display()
            )
        })?;
        push.ttl = ttl;
        prepared.push((key, push, g.times));
    }
    let n = prepared.len();
    for (key, push, times) in prepared {
        store.restore(push, times, false).map_err(|e| {
            anyhow!(
                "cannot import {}: group {key} clashes with another: {e}",
                path.display()
            )
        })?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_times_read_as_the_instant_they_name() {
        // 2024-01-02T03:04:05.5Z, as Go marshals it in UTC (zone -1).
        let unix: i64 = 1_704_164_645;
        let mut b = vec![1];
        b.extend((unix + GO_TO_UNIX).to_be_bytes());
        b.extend(500_000_000u32.to_be_bytes());
        b.extend((-1i16).to_be_bytes());
        assert_eq!(
            go_time(&b).unwrap(),
            UNIX_EPOCH + Duration::from_millis(1_704_164_645_500)
        );
        // Version 2 has one more byte; the zone changes nothing.
        let mut v2 = b.clone();
        v2[0] = 2;
        v2.push(30);
        assert_eq!(go_time(&v2).unwrap(), go_time(&b).unwrap());
        assert!(go_time(&b[..10]).unwrap_err().contains("10 bytes"));
        assert!(go_time(&[9]).unwrap_err().contains("version 9"));
    }

    #[test]
    fn a_gob_stream_of_something_else_is_not_a_store() {
        // A gob stream holding the string "hi": type 6 (string), singleton.
        let stream = [5, 12, 0, 2, b'h', b'i'];
        let e = parse(&stream).unwrap_err();
        assert!(e.contains("string, not the map of groups"), "{e}");
        assert!(!looks_official(&stream));
        assert!(looks_official(
            b")\xff\x8d\x04\x01\x01\x18GroupingKeyToMetricGroup"
        ));
    }
}
