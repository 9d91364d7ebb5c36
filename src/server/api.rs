//! The JSON API (`/api/v1/metrics`, `/api/v1/status`) in the official shapes:
//! numbers as strings formatted like Go's `fmt.Sprint`, object keys sorted,
//! `time_stamp` in RFC 3339 with nanoseconds. Groups come in grouping-key
//! order (upstream's order is random).

use std::fmt::Write as _;
use std::time::SystemTime;

use serde_json::{json, Map, Value as Json};

use crate::exposition::render::format_float;
use crate::exposition::{text, MetricType, Value};
use crate::server::store::{GroupView, StoredFamily, PUSH_FAILURE_TIME, PUSH_TIME};

/// `{"status":"success","data":[group...]}`.
pub fn metrics_json(groups: &[GroupView]) -> Json {
    let data: Vec<Json> = groups.iter().map(group_json).collect();
    json!({"status": "success", "data": data})
}

fn group_json(group: &GroupView) -> Json {
    let mut obj = Map::new();
    // Families first, then the fixed keys: a pushed family named `labels` or
    // `last_push_successful` cannot overwrite them (upstream lets it).
    for family in group.families.iter().chain(group.synthetic.iter()) {
        obj.insert(family.name.to_string(), family_json(family));
    }
    let labels: Map<String, Json> = group
        .key
        .labels()
        .iter()
        .map(|(n, v)| (n.clone(), Json::String(v.clone())))
        .collect();
    obj.insert("labels".into(), Json::Object(labels));
    obj.insert(
        "last_push_successful".into(),
        Json::Bool(group.failure_time <= group.push_time),
    );
    debug_assert!(obj.contains_key(PUSH_TIME) && obj.contains_key(PUSH_FAILURE_TIME));
    Json::Object(obj)
}

fn family_json(family: &StoredFamily) -> Json {
    // The store keeps families as rendered text; the API is rare enough that
    // parsing them back here costs less than keeping a second copy of every
    // series in memory. Text the store rendered always parses.
    let mut body = format!("# TYPE {} {}\n", family.name, family.kind.as_text());
    body.push_str(&String::from_utf8_lossy(&family.text));
    let metrics: Vec<Json> = match text::parse(&body) {
        Ok(parsed) => parsed
            .into_iter()
            .filter(|f| f.name == *family.name)
            .flat_map(|f| f.metrics)
            .map(|m| {
                let labels: Map<String, Json> = m
                    .labels
                    .iter()
                    .map(|l| (l.name.to_string(), Json::String(l.value.to_string())))
                    .collect();
                let mut obj = Map::new();
                obj.insert("labels".into(), Json::Object(labels));
                match m.value {
                    Value::Single(v) => {
                        obj.insert("value".into(), num(v));
                    }
                    Value::Summary {
                        sample_count,
                        sample_sum,
                        quantiles,
                    } => {
                        let q: Map<String, Json> = quantiles
                            .iter()
                            .map(|&(q, v)| (format_float(q), num(v)))
                            .collect();
                        obj.insert("quantiles".into(), Json::Object(q));
                        obj.insert("count".into(), count(sample_count));
                        obj.insert("sum".into(), num(sample_sum));
                    }
                    Value::Histogram {
                        sample_count,
                        sample_sum,
                        buckets,
                    } => {
                        let b: Map<String, Json> = buckets
                            .iter()
                            .map(|&(le, c)| (format_float(le), count(c)))
                            .collect();
                        obj.insert("buckets".into(), Json::Object(b));
                        obj.insert("count".into(), count(sample_count));
                        obj.insert("sum".into(), num(sample_sum));
                    }
                }
                Json::Object(obj)
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let mut obj = Map::new();
    obj.insert(
        "time_stamp".into(),
        Json::String(rfc3339_nanos(family.pushed_at)),
    );
    obj.insert("type".into(), Json::String(json_type(family.kind).into()));
    if let Some(help) = &family.help {
        obj.insert("help".into(), Json::String(help.to_string()));
    }
    obj.insert("metrics".into(), Json::Array(metrics));
    Json::Object(obj)
}

fn json_type(kind: MetricType) -> &'static str {
    kind.as_json()
}

fn num(v: f64) -> Json {
    Json::String(format_float(v))
}

/// Counts are integers in the official API (`uint64`), unless fractional.
fn count(v: f64) -> Json {
    if v.fract() == 0.0 && v.abs() < 9.2e18 {
        Json::String(format!("{}", v as i64))
    } else {
        num(v)
    }
}

/// RFC 3339 in UTC with nanoseconds, trailing zeros trimmed, as Go's
/// `time.RFC3339Nano`.
pub fn rfc3339_nanos(t: SystemTime) -> String {
    let full = humantime::format_rfc3339_nanos(t).to_string();
    // full: 2026-11-22T23:18:45.666784400Z
    let Some((head, frac)) = full.trim_end_matches('Z').split_once('.') else {
        return full;
    };
    let frac = frac.trim_end_matches('0');
    let mut out = String::with_capacity(full.len());
    out.push_str(head);
    if !frac.is_empty() {
        let _ = write!(out, ".{frac}");
    }
    out.push('Z');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn rfc3339_trims_trailing_zeros() {
        let t = UNIX_EPOCH + Duration::new(1_795_389_525, 666_784_400);
        assert_eq!(rfc3339_nanos(t), "2026-11-22T20:38:45.6667844Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_389_525);
        assert_eq!(rfc3339_nanos(t), "2026-11-22T20:38:45Z");
    }

    #[test]
    fn counts_are_integers() {
        assert_eq!(count(4.0), Json::String("4".into()));
        assert_eq!(count(1e6), Json::String("1000000".into()));
        assert_eq!(count(2.5), Json::String("2.5".into()));
    }
}
