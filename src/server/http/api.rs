//! The JSON API, its handlers and its writer. `/api/v1/metrics` and
//! `/api/v1/status` come in the official shapes:
//! numbers as strings formatted like Go's `fmt.Sprint`, map keys sorted as Go
//! marshals maps, struct fields in upstream's order, `time_stamp` in RFC 3339
//! with nanoseconds. Groups come in grouping-key order (upstream's order is
//! random).
//!
//! The metrics document is written straight into bytes, family by family:
//! building a `serde_json::Value` tree of a large store first would cost
//! several times the memory of the answer. The store keeps what was
//! written, so the answer is mostly shared pieces of kept bytes.
//!
//! pgw's own routes beside them: `DELETE /api/v1/groups` (bulk clean-up by
//! selector and staleness, in one step under the store's lock), and the two
//! light routes the web page reads so that it stays quick with tens of
//! thousands of groups: `GET /api/v1/groups` lists groups in brief (labels,
//! times, counts, expiry, a wrapped job's outcome; no metric text), which
//! `pgw list`, `delete` and `wipe` read too and which must give them the
//! records `/api/v1/metrics` gives (`client::groups`), and
//! `GET /api/v1/group/job/...` returns one group's metrics as text, fetched
//! only when a group is opened. The brief list is written straight into a
//! buffer as well.

use crate::server::writes;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use hyper::header::{self, HeaderValue};
use hyper::StatusCode;
use percent_encoding::percent_decode_str;

use crate::client::selector::Selector;
use crate::exposition::render::format_float;
use crate::exposition::{native, Metric, Native, Value};
use crate::grouping::GroupingKey;
use crate::server::http::{status_response, with_cors, Body, HttpError, Response};
use crate::server::store::{GroupRef, GroupSummary, Pieces, Store, StoredFamily};
use crate::server::State;

/// `{"status":"success","data":[group...]}`. A group with a time to live
/// also gets `expire_after_seconds` and `expires_in_seconds` (at `now`).
#[cfg(test)]
pub(crate) fn write_metrics_json(out: &mut Vec<u8>, store: &Store, now: SystemTime) {
    let mut pieces = Pieces::new(std::mem::take(out));
    metrics_json(&mut pieces, store, now);
    *out = pieces.concat();
}

/// The answer of `GET /api/v1/metrics` in pieces: most of them are bytes
/// the store kept for runs of groups, shared, not copied (see
/// [`Store::write_each_group`]).
pub(crate) fn metrics_json(out: &mut Pieces, store: &Store, now: SystemTime) {
    out.buf()
        .extend_from_slice(b"{\"status\":\"success\",\"data\":[");
    store.write_each_group(out, |out, group| write_group(out, group, now));
    out.buf().extend_from_slice(b"]}");
}

#[derive(Clone, Copy)]
enum Entry<'a> {
    Family(&'a StoredFamily),
    Labels,
    LastPushSuccessful,
    Number(f64),
    Str(&'static str),
}

pub(crate) const EXPIRE_AFTER_KEY: &str = "expire_after_seconds";
pub(crate) const EXPIRES_IN_KEY: &str = "expires_in_seconds";
/// On a group that aggregates (`Pgw-Aggregate`), with the aggregation,
/// `sum`. Clients of the official shape skip a key whose value is a string.
pub(crate) const AGGREGATE_KEY: &str = "aggregate";

fn write_group(out: &mut Vec<u8>, group: &GroupRef<'_>, now: SystemTime) {
    // One object whose keys are the family names plus `labels` and
    // `last_push_successful` (and the expiry keys), sorted together as Go
    // sorts map keys. A pushed family with one of the fixed names is left
    // out: upstream lets it overwrite the fixed key, which breaks every
    // client.
    let mut fixed: Vec<(&str, Entry<'_>)> = vec![
        ("labels", Entry::Labels),
        ("last_push_successful", Entry::LastPushSuccessful),
    ];
    if let (Some(ttl), Some(left)) = (group.ttl, group.expires_in(now)) {
        fixed.push((EXPIRE_AFTER_KEY, Entry::Number(ttl.as_secs_f64())));
        fixed.push((EXPIRES_IN_KEY, Entry::Number(left)));
    }
    if group.aggregating {
        fixed.push((AGGREGATE_KEY, Entry::Str("sum")));
    }
    // The pushed families come sorted by name; the few other keys are
    // sorted here and merged in, rather than sorting every key again.
    let mut others: Vec<(&str, Entry<'_>)> = group
        .synthetic
        .iter()
        .map(|f| (&*f.name, Entry::Family(f)))
        .chain(fixed)
        .collect();
    others.sort_by(|a, b| a.0.cmp(b.0));
    let mut pushed = group
        .families
        .iter()
        .filter(|f| !others.iter().any(|(k, _)| *k == &*f.name))
        .peekable();
    let mut others = others.iter().peekable();
    out.push(b'{');
    let mut first = true;
    while let Some((name, entry)) = match (pushed.peek(), others.peek()) {
        (Some(f), Some((k, _))) if &*f.name > *k => others.next().map(|(k, e)| (*k, *e)),
        (Some(_), _) => pushed.next().map(|f| (&*f.name, Entry::Family(f))),
        (None, _) => others.next().map(|(k, e)| (*k, *e)),
    } {
        if !first {
            out.push(b',');
        }
        first = false;
        if !matches!(entry, Entry::Family(_)) {
            write_str(out, name);
            out.push(b':');
        }
        match entry {
            Entry::Family(f) => write_keyed_family(f, out),
            // A grouping key's labels are sorted and unique already.
            Entry::Labels => write_string_map(
                out,
                group
                    .key
                    .labels()
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str())),
            ),
            Entry::LastPushSuccessful => {
                let ok = group.failure_time <= group.push_time;
                out.extend_from_slice(if ok { b"true" } else { b"false" });
            }
            Entry::Number(v) => {
                serde_json::to_writer(&mut *out, &millis(v)).expect("writing to a Vec cannot fail")
            }
            Entry::Str(s) => write_str(out, s),
        }
    }
    out.push(b'}');
}

/// Seconds rounded to milliseconds: all a time to live needs, and short.
pub(crate) fn millis(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

/// A grouping key's labels as a JSON object, for pgw's own API answers.
pub(crate) fn labels_json(key: &GroupingKey) -> serde_json::Map<String, serde_json::Value> {
    key.labels()
        .iter()
        .map(|(n, v)| (n.clone(), serde_json::Value::String(v.clone())))
        .collect()
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *out, s).expect("writing to a Vec cannot fail");
}

fn write_labels<'a>(out: &mut Vec<u8>, labels: impl Iterator<Item = (&'a str, &'a str)>) {
    let sorted: BTreeMap<&str, &str> = labels.collect();
    write_string_map(out, sorted.iter().map(|(k, v)| (*k, *v)));
}

fn write_string_map<'a>(out: &mut Vec<u8>, entries: impl Iterator<Item = (&'a str, &'a str)>) {
    out.push(b'{');
    for (i, (k, v)) in entries.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, k);
        out.push(b':');
        write_str(out, v);
    }
    out.push(b'}');
}

/// `"name":{…}`: a family as a key of its group's object, the form kept
/// beside the family.
fn write_keyed_family(family: &StoredFamily, out: &mut Vec<u8>) {
    write_str(out, &family.name);
    out.push(b':');
    write_family(family, out);
}

/// `{"time_stamp":…,"type":…,"help":…,"metrics":[…]}`, upstream's field order.
fn write_family(family: &StoredFamily, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"time_stamp\":");
    write_str(out, &rfc3339_nanos(family.pushed_at()));
    out.extend_from_slice(b",\"type\":");
    write_str(out, family.kind.as_json());
    if let Some(help) = &family.help {
        out.extend_from_slice(b",\"help\":");
        write_str(out, help);
    }
    out.extend_from_slice(b",\"metrics\":[");
    let metrics = family.decode().metrics;
    for (i, m) in metrics.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Keys of a series object sorted, as Go marshals the map.
        let labels = |out: &mut Vec<u8>| {
            out.extend_from_slice(b"\"labels\":");
            write_labels(
                out,
                m.labels.iter().map(|l| (l.name.as_ref(), l.value.as_ref())),
            );
        };
        out.push(b'{');
        match &m.value {
            Value::Single(v) => {
                labels(out);
                out.extend_from_slice(b",\"value\":");
                write_str(out, &format_float(*v));
            }
            Value::Summary {
                sample_count,
                sample_sum,
                quantiles,
            } => {
                write_count_and(out, *sample_count);
                labels(out);
                out.extend_from_slice(b",\"quantiles\":");
                let q: BTreeMap<String, String> = quantiles
                    .iter()
                    .map(|&(q, v)| (format_float(q), format_float(v)))
                    .collect();
                write_string_map(out, q.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                out.extend_from_slice(b",\"sum\":");
                write_str(out, &format_float(*sample_sum));
            }
            Value::Histogram {
                sample_count,
                sample_sum,
                ..
            } if native_with_spans(m).is_some() => {
                // Upstream (1.10.0+): a histogram with spans is shown by its
                // native buckets only, classic ones beside them left out.
                let native = native_with_spans(m).expect("matched above");
                let float = native.is_float();
                out.extend_from_slice(b"\"buckets\":[");
                for (i, b) in native::buckets(native).iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(format!("[{},", b.boundaries as u8).as_bytes());
                    write_str(out, &format_float(b.lower));
                    out.push(b',');
                    write_str(out, &format_float(b.upper));
                    out.push(b',');
                    write_str(out, &native::format_count(b.count, float));
                    out.push(b']');
                }
                out.extend_from_slice(b"],\"count\":");
                write_str(out, &native::format_count(*sample_count, float));
                out.push(b',');
                labels(out);
                out.extend_from_slice(b",\"sum\":");
                write_str(out, &format_float(*sample_sum));
            }
            Value::Histogram {
                sample_count,
                sample_sum,
                buckets,
            } => {
                out.extend_from_slice(b"\"buckets\":");
                let b: BTreeMap<String, String> = buckets
                    .iter()
                    .map(|&(le, c)| (format_float(le), format_count(c)))
                    .collect();
                write_string_map(out, b.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                out.push(b',');
                write_count_and(out, *sample_count);
                labels(out);
                out.extend_from_slice(b",\"sum\":");
                write_str(out, &format_float(*sample_sum));
            }
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
}

/// The native part of a series, when it has buckets of its own: a native
/// histogram without spans is shown as classic, as upstream does.
fn native_with_spans<'m>(m: &'m Metric<'_>) -> Option<&'m Native> {
    m.extras
        .as_ref()
        .and_then(|e| e.native.as_ref())
        .filter(|n| n.has_spans())
}

/// `"count":"N",`
fn write_count_and(out: &mut Vec<u8>, count: f64) {
    out.extend_from_slice(b"\"count\":");
    write_str(out, &format_count(count));
    out.push(b',');
}

/// Counts are integers in the official API (`uint64`), unless fractional.
fn format_count(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 9.2e18 {
        format!("{}", v as i64)
    } else {
        format_float(v)
    }
}

/// RFC 3339 in UTC with nanoseconds, trailing zeros trimmed, as Go's
/// `time.RFC3339Nano`.
/// A duration as Go's `time.Duration.String()` writes it, as upstream's
/// status shows duration flags: `5m0s`, `1h0m0s`, `1.5s`, `100ms`, `0s`.
/// Hours and minutes appear once the duration reaches them, and seconds
/// always then; below a second the largest unit of ms, µs, ns that fits.
pub(crate) fn go_duration(d: Duration) -> String {
    /// `v` units of `10^-digits`, as a decimal without trailing zeros.
    fn decimal(v: u128, digits: u32) -> String {
        let scale = 10u128.pow(digits);
        let (whole, frac) = (v / scale, v % scale);
        if frac == 0 {
            return whole.to_string();
        }
        let frac = format!("{frac:0width$}", width = digits as usize);
        format!("{whole}.{}", frac.trim_end_matches('0'))
    }
    let ns = d.as_nanos();
    match ns {
        0 => "0s".to_string(),
        1..=999 => format!("{ns}ns"),
        1_000..=999_999 => format!("{}µs", decimal(ns, 3)),
        1_000_000..=999_999_999 => format!("{}ms", decimal(ns, 6)),
        _ => {
            const MINUTE: u128 = 60_000_000_000;
            const HOUR: u128 = 60 * MINUTE;
            let (hours, minutes) = (ns / HOUR, ns % HOUR / MINUTE);
            let seconds = decimal(ns % MINUTE, 9);
            match (hours, minutes) {
                (0, 0) => format!("{seconds}s"),
                (0, m) => format!("{m}m{seconds}s"),
                (h, m) => format!("{h}h{m}m{seconds}s"),
            }
        }
    }
}

pub(crate) fn rfc3339_nanos(t: SystemTime) -> String {
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

/// `DELETE /api/v1/groups?match=SELECTOR&stale=DURATION&dry_run=true`:
/// deletes, in one step under the store's lock, every group that matches
/// the selector and was last pushed longer ago than `stale`. Clean-up
/// scripts that list and then delete race with fresh pushes; this does not.
pub(super) async fn delete_groups(
    state: &State,
    query: Option<&str>,
) -> Result<Response, HttpError> {
    let request = CleanupRequest::parse(query.unwrap_or(""))
        .map_err(|message| HttpError::bad_request(message).json())?;
    let now = SystemTime::now();
    let removed = writes::delete_matching(
        state,
        &request.selector,
        request.stale,
        now,
        request.dry_run,
    )
    .await
    .map_err(|e| HttpError::from(e).json())?;
    if !request.dry_run && !removed.is_empty() {
        crate::info!(
            "deleted groups",
            count = removed.len(),
            selector = request.selector,
            stale = request
                .stale
                .map(|d| humantime::format_duration(d).to_string())
                .unwrap_or_default()
        );
    }
    let groups: Vec<serde_json::Value> = removed
        .iter()
        .map(|r| {
            serde_json::json!({"labels": labels_json(&r.key), "push_time_seconds": r.push_time})
        })
        .collect();
    let body = serde_json::json!({
        "status": "success",
        "data": {"dry_run": request.dry_run, "groups": groups},
    });
    Ok(with_cors(Response::new(Body::from(body.to_string()))))
}

/// The query of a bulk clean-up, checked.
#[derive(Debug)]
struct CleanupRequest {
    selector: Selector,
    stale: Option<Duration>,
    dry_run: bool,
}

impl CleanupRequest {
    fn parse(query: &str) -> Result<CleanupRequest, String> {
        let mut selector = None;
        let mut stale = None;
        let mut dry_run = false;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            // Query strings encode spaces as `+`.
            let value = value.replace('+', " ");
            let value = percent_decode_str(&value)
                .decode_utf8()
                .map_err(|_| format!("query parameter {name:?} is not valid UTF-8"))?;
            match name {
                "match" => {
                    selector = Some(
                        value
                            .parse::<Selector>()
                            .map_err(|e| format!("match: {e}"))?,
                    );
                }
                "stale" => {
                    let d = humantime::parse_duration(value.trim()).map_err(|e| {
                        format!("stale must be a duration such as 1h or 30m, got {value:?}: {e}")
                    })?;
                    stale = Some(d);
                }
                "dry_run" => {
                    dry_run = match value.as_ref() {
                        "" | "1" | "true" => true,
                        "0" | "false" => false,
                        other => {
                            return Err(format!("dry_run must be true or false, got {other:?}"))
                        }
                    }
                }
                other => {
                    return Err(format!(
                        "unknown query parameter {other:?} (expected match, stale, dry_run)"
                    ))
                }
            }
        }
        let selector = selector.unwrap_or_default();
        if selector.is_empty() && stale.is_none() {
            return Err(
                "give match=SELECTOR and/or stale=DURATION; to delete every group, use the admin \
                 API (PUT /api/v1/admin/wipe)"
                    .into(),
            );
        }
        Ok(CleanupRequest {
            selector,
            stale,
            dry_run,
        })
    }
}

/// `GET /api/v1/metrics`: every group with its metrics.
pub(super) fn metrics(state: &State) -> Response {
    let mut out = Pieces::new(state.scrape_buffers.take());
    metrics_json(&mut out, &state.store, SystemTime::now());
    with_cors(Response::new(state.scrape_buffers.body(out)))
}

/// `GET /api/v1/status`: upstream's fields, and pgw's own under `pgw`.
pub(super) fn status(state: &State) -> Response {
    let flags: serde_json::Map<String, serde_json::Value> = state
        .config
        .flags
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    let data = serde_json::json!({
            "build_information": crate::server::identity::build_information(),
            "flags": flags,
            "start_time": rfc3339_nanos(state.start_time),
            "pgw": pgw_status(state),
    });
    // The envelope in upstream's field order: status, then data.
    let mut out = br#"{"status":"success","data":"#.to_vec();
    serde_json::to_writer(&mut out, &data).expect("writing to a Vec cannot fail");
    out.push(b'}');
    with_cors(Response::new(Body::from(out)))
}

/// pgw's own figures, beside upstream's status fields (clients ignore keys
/// they do not know): the store, push rate, expiry, persistence, limits.
fn pgw_status(state: &State) -> serde_json::Value {
    let stats = state.store.stats();
    let figures = state.metrics.figures();
    let c = &state.config;
    let duration = |d: Duration| humantime::format_duration(d).to_string();
    serde_json::json!({
        "groups": stats.groups,
        "series": stats.series,
        "pushes_total": figures.pushes_total,
        "pushes_per_second": (figures.pushes_per_second * 100.0).round() / 100.0,
        "expiry": {
            "expire_after": c.expire_after.map(duration).unwrap_or_default(),
            "expired_groups_total": figures.expired_groups_total,
        },
        "persistence": persistence_status(state),
        "admin_api": c.enable_admin_api,
        "limits": {
            "max_body_size": c.body_limit,
            "max_series_per_push": c.limits.max_series_per_push,
            "max_label_name_length": c.limits.max_label_name_length,
            "max_label_value_length": c.limits.max_label_value_length,
            "max_groups": c.limits.max_groups,
            "max_series": c.limits.max_series,
        },
    })
}

fn persistence_status(state: &State) -> serde_json::Value {
    let c = &state.config;
    if let (Some(etcd), Some(config)) = (&state.etcd, &c.etcd) {
        let f = etcd.figures();
        return serde_json::json!({
            "mode": "etcd",
            "file": "",
            "endpoints": config.endpoints,
            "prefix": config.prefix,
            "state": match etcd.unready() {
                None => "ok".to_string(),
                Some(why) => format!("stale: {why}"),
            },
            "revision": f.revision,
            "view_age_seconds": (f.view_age.as_secs_f64() * 1000.0).round() / 1000.0,
            "commits_total": f.commits,
            "conflicts_total": f.conflicts,
        });
    }
    let Some(file) = &c.persistence_file else {
        return serde_json::json!({"mode": "memory", "file": ""});
    };
    let mut v = serde_json::json!({"mode": "file", "file": file.display().to_string()});
    if let Some(j) = &state.journal {
        let s = j.status();
        v["state"] = match &s.error {
            None => "ok".into(),
            Some(e) => format!("failing: {e}").into(),
        };
        v["log_bytes"] = s.log_bytes.into();
        v["snapshot_bytes"] = s.snapshot_bytes.into();
        v["synced_changes"] = s.synced_seq.into();
        v["seconds_since_compaction"] = s.since_compaction.as_secs().into();
    }
    v
}

/// `PUT /api/v1/admin/wipe`.
pub(super) async fn wipe(state: &State) -> Result<Response, HttpError> {
    // Upstream answers 202 first and deletes group by group through its write
    // queue (slow under load); pgw empties the store in one step under its
    // lock, then answers.
    let n = writes::wipe(state)
        .await
        .map_err(|e| HttpError::from(e).cors())?;
    crate::info!("wiped the store", groups = n);
    Ok(with_cors(status_response(StatusCode::ACCEPTED)))
}

/// `GET /api/v1/groups`: every group in brief, in grouping-key order.
pub(super) fn groups(state: &State) -> Response {
    let mut out = Pieces::new(state.scrape_buffers.take());
    groups_json(&mut out, &state.store, SystemTime::now());
    let mut r = Response::new(state.scrape_buffers.body(out));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// `{"data":[group...],"status":"success"}`, each group
/// `{"labels":{...},"path":…,"push_time_seconds":…,"push_failure_time_seconds":…,
/// "last_push_successful":…,"metrics":…,"series":…}`, plus, when they apply,
/// `job_exit_code` and `job_last_success_time_seconds` (a run of
/// `pgw push -- COMMAND`: how the job itself went, which the push's own
/// success does not tell), `expire_after_seconds` and `expires_in_seconds`
/// (at `now`), and `aggregate`.
///
/// Written straight into the buffer (a `serde_json::Value` per group cost
/// more than the answer for 10,000 groups), in the bytes the `json!` tree
/// it replaces gave: keys sorted, as serde_json's map sorts them, and
/// numbers and strings written by serde_json.
#[cfg(test)]
pub(crate) fn write_groups_json(out: &mut Vec<u8>, groups: &[GroupSummary], now: SystemTime) {
    out.extend_from_slice(b"{\"data\":[");
    for (i, group) in groups.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_summary(out, group, now);
    }
    out.extend_from_slice(b"],\"status\":\"success\"}");
}

/// The answer of `GET /api/v1/groups` in pieces, as [`write_groups_json`]
/// writes it, from the objects the store kept (see
/// [`Store::write_each_summary`]).
pub(crate) fn groups_json(out: &mut Pieces, store: &Store, now: SystemTime) {
    out.buf().extend_from_slice(b"{\"data\":[");
    store.write_each_summary(out, |out, group| write_summary(out, group, now));
    out.buf().extend_from_slice(b"],\"status\":\"success\"}");
}

fn write_summary(out: &mut Vec<u8>, g: &GroupSummary, now: SystemTime) {
    fn key(out: &mut Vec<u8>, name: &str) {
        out.push(b'"');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
    }
    fn number<T: serde::Serialize>(out: &mut Vec<u8>, v: T) {
        // A NaN or infinite float is `null`, as in a `json!` tree.
        serde_json::to_writer(&mut *out, &v).expect("writing to a Vec cannot fail");
        out.push(b',');
    }
    out.push(b'{');
    if g.aggregating {
        key(out, AGGREGATE_KEY);
        out.extend_from_slice(b"\"sum\",");
    }
    if let (Some(ttl), Some(left)) = (g.ttl, g.expires_in(now)) {
        // In milliseconds, as `/api/v1/metrics` writes them.
        key(out, EXPIRE_AFTER_KEY);
        number(out, millis(ttl.as_secs_f64()));
        key(out, EXPIRES_IN_KEY);
        number(out, millis(left));
    }
    if let Some(code) = g.job_exit_code {
        key(out, "job_exit_code");
        number(out, code);
    }
    if let Some(t) = g.job_last_success {
        key(out, "job_last_success_time_seconds");
        number(out, t);
    }
    key(out, "labels");
    // A grouping key's labels are already sorted by name, as a JSON map's
    // keys are.
    write_string_map(
        out,
        g.key.labels().iter().map(|(n, v)| (n.as_str(), v.as_str())),
    );
    out.push(b',');
    key(out, "last_push_successful");
    out.extend_from_slice(if g.failure_time <= g.push_time {
        b"true,"
    } else {
        b"false,"
    });
    key(out, "metrics");
    number(out, g.metrics);
    key(out, "path");
    write_str(out, &g.key.to_path());
    out.push(b',');
    key(out, "push_failure_time_seconds");
    number(out, g.failure_time);
    key(out, "push_time_seconds");
    number(out, g.push_time);
    key(out, "series");
    serde_json::to_writer(&mut *out, &g.series).expect("writing to a Vec cannot fail");
    out.push(b'}');
}

/// `GET /api/v1/group/job/<JOB>{/<LABEL>/<VALUE>}`: one group's metrics as
/// text exposition (the same path as its push URL after `/metrics`).
pub(super) fn group(state: &State, rest: &str) -> Result<Response, HttpError> {
    let key = GroupingKey::from_path_with(rest, state.config.utf8_names)
        .ok_or_else(|| HttpError::new(StatusCode::NOT_FOUND, "no group path given"))??;
    let mut out = Vec::new();
    if !state.store.write_group_exposition(&key, &mut out) {
        return Err(HttpError::new(
            StatusCode::NOT_FOUND,
            format!("no group {key}"),
        ));
    }
    if let Some(view) = state.store.group(&key) {
        write_native_comments(&mut out, &view.families);
    }
    let mut r = Response::new(Body::from(out));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(r)
}

/// The text format shows a native histogram only by its count and sum, so
/// the page's view of a group adds each one's buckets as comment lines, in
/// the form of Prometheus's `Histogram.String()`:
/// `# native rpc_seconds{instance="",job="j"} {count:4, sum:3.5, [-0.001,0.001]:1, (0.5,1]:2, (1,2]:1}`.
/// Comments keep the answer valid text exposition.
fn write_native_comments(out: &mut Vec<u8>, families: &[std::sync::Arc<StoredFamily>]) {
    for family in families {
        if !family.kind.is_compound() || family.kind == crate::exposition::MetricType::Summary {
            continue;
        }
        for m in family.decode().metrics {
            let Some(n) = native_with_spans(&m) else {
                continue;
            };
            let Value::Histogram {
                sample_count,
                sample_sum,
                ..
            } = m.value
            else {
                continue;
            };
            let _ = writeln!(
                Text(out),
                "# native {}{} {}",
                family.name,
                crate::exposition::proto::label_set(&m.labels),
                native::describe(n, sample_count, sample_sum)
            );
        }
    }
}

/// `write!` into a byte buffer.
struct Text<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Text<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_are_written_as_go_writes_them() {
        use std::time::Duration;
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(1), "1ns"),
            (Duration::from_nanos(999), "999ns"),
            (Duration::from_nanos(1_500), "1.5µs"),
            (Duration::from_micros(1), "1µs"),
            (Duration::from_millis(100), "100ms"),
            (Duration::from_micros(1_250), "1.25ms"),
            (Duration::from_millis(1_500), "1.5s"),
            (Duration::from_secs(1), "1s"),
            (Duration::from_secs(10), "10s"),
            (Duration::from_secs(60), "1m0s"),
            (Duration::from_secs(90), "1m30s"),
            (Duration::from_secs(300), "5m0s"),
            (Duration::from_secs(3600), "1h0m0s"),
            (Duration::from_secs(5400), "1h30m0s"),
            (Duration::from_secs(86_400), "24h0m0s"),
            (Duration::new(3723, 4_000_000), "1h2m3.004s"),
            (Duration::new(59, 999_999_999), "59.999999999s"),
        ];
        for (d, want) in cases {
            assert_eq!(super::go_duration(d), want, "{d:?}");
        }
    }

    use super::*;
    use crate::exposition::text;
    use crate::grouping::GroupingKey;
    use crate::server::metrics::OWN_TYPES;
    use crate::server::store::{prepare, Mode, Store};
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn rfc3339_trims_trailing_zeros() {
        let t = UNIX_EPOCH + Duration::new(1_795_389_525, 666_784_400);
        assert_eq!(rfc3339_nanos(t), "2026-11-22T23:18:45.6667844Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_389_525);
        assert_eq!(rfc3339_nanos(t), "2026-11-22T23:18:45Z");
    }

    #[test]
    fn counts_are_integers() {
        assert_eq!(format_count(4.0), "4");
        assert_eq!(format_count(1e6), "1000000");
        assert_eq!(format_count(2.5), "2.5");
    }

    /// The example group of the official documentation, in the same shape.
    fn native_family(
        name: &str,
        help: &str,
        kind: crate::exposition::MetricType,
        native: Native,
        sum: f64,
        buckets: Vec<(f64, f64)>,
    ) -> String {
        use crate::exposition::{Extras, Family, Label};
        let count = native
            .sample_count_float
            .filter(|&c| c > 0.0)
            .unwrap_or(native.sample_count.unwrap_or(0) as f64);
        let family = Family {
            name: name.to_string().into(),
            help: Some(help.to_string().into()),
            kind,
            metrics: vec![Metric {
                labels: vec![Label::new("job", "ignored")],
                value: Value::Histogram {
                    sample_count: count,
                    sample_sum: sum,
                    buckets,
                },
                timestamp_ms: None,
                extras: Some(Box::new(Extras {
                    native: Some(native),
                    ..Default::default()
                })),
            }],
        };
        let at = UNIX_EPOCH + Duration::new(1_780_315_200, 123_456_789);
        let p = prepare(GroupingKey::new([("job", "j")]), vec![family], at).unwrap();
        let mut out = Vec::new();
        write_family(&p.families()[0], &mut out);
        String::from_utf8(out).unwrap()
    }

    fn spans(list: &[(i32, u32)]) -> Vec<crate::exposition::Span> {
        list.iter()
            .map(|&(offset, length)| crate::exposition::Span { offset, length })
            .collect()
    }

    fn rpc_seconds() -> Native {
        Native {
            sample_count: Some(4),
            schema: Some(0),
            zero_threshold: Some(0.001),
            zero_count: Some(1),
            positive_spans: spans(&[(0, 2)]),
            positive_deltas: vec![2, -1],
            ..Default::default()
        }
    }

    const RPC_SECONDS: &str = r#"{"time_stamp":"2026-06-01T12:00:00.123456789Z","type":"HISTOGRAM","help":"RPC latency.","metrics":[{"buckets":[[3,"-0.001","0.001","1"],[0,"0.5","1","2"],[0,"1","2","1"]],"count":"4","labels":{"instance":"","job":"j"},"sum":"3.5"}]}"#;

    #[test]
    fn native_histograms_have_the_official_shapes() {
        use crate::exposition::MetricType::Histogram;
        let hist =
            |n, buckets| native_family("rpc_seconds", "RPC latency.", Histogram, n, 3.5, buckets);
        assert_eq!(hist(rpc_seconds(), vec![]), RPC_SECONDS);
        // The float version prints the same strings.
        let float = Native {
            sample_count: None,
            sample_count_float: Some(4.0),
            zero_count: None,
            zero_count_float: Some(1.0),
            positive_deltas: vec![],
            positive_counts: vec![2.0, 1.0],
            ..rpc_seconds()
        };
        assert_eq!(hist(float, vec![]), RPC_SECONDS);
        // Mixed: only the native buckets appear.
        assert_eq!(
            hist(rpc_seconds(), vec![(0.5, 1.0), (1.0, 3.0)]),
            RPC_SECONDS
        );
        // Upstream's own test: schema 1, two spans on each side.
        let schema_1 = Native {
            sample_count: Some(4),
            schema: Some(1),
            zero_threshold: Some(0.0),
            zero_count: Some(0),
            negative_spans: spans(&[(0, 2), (2, 2)]),
            negative_deltas: vec![0, 2, -2, 0],
            positive_spans: spans(&[(0, 2), (2, 2)]),
            positive_deltas: vec![0, 2, -2, 0],
            ..Default::default()
        };
        let got = hist(schema_1, vec![]);
        assert!(
            got.contains(r#""buckets":[[1,"-1.414213562373095","-1","2"],[0,"1","1.414213562373095","2"]],"count":"4""#),
            "{got}"
        );
    }

    #[test]
    fn a_native_histogram_without_spans_is_shown_as_classic() {
        use crate::exposition::MetricType::Histogram;
        let unobserved = Native {
            sample_count: Some(0),
            schema: Some(3),
            zero_threshold: Some(2.938735877055719e-39),
            zero_count: Some(0),
            ..Default::default()
        };
        let got = native_family("h", "H.", Histogram, unobserved, 0.0, vec![]);
        assert!(
            got.ends_with(r#""metrics":[{"buckets":{},"count":"0","labels":{"instance":"","job":"j"},"sum":"0"}]}"#),
            "{got}"
        );
        // A zero threshold of 0 prints as -0 and 0.
        let zero = Native {
            sample_count: Some(2),
            schema: Some(0),
            zero_threshold: Some(0.0),
            zero_count: Some(2),
            positive_spans: spans(&[(0, 0)]),
            ..Default::default()
        };
        let got = native_family("h", "H.", Histogram, zero, 0.0, vec![]);
        assert!(got.contains(r#""buckets":[[3,"-0","0","2"]]"#), "{got}");
    }

    #[test]
    fn group_document_has_the_official_shape() {
        let store = Store::new(OWN_TYPES);
        let body = "# HELP job_runs_total Runs.\n# TYPE job_runs_total counter\n\
                    job_runs_total{job=\"ignored\",instance=\"x\"} 7\n\
                    # HELP job_duration_seconds Duration.\n# TYPE job_duration_seconds histogram\n\
                    job_duration_seconds_bucket{le=\"0.5\"} 1\njob_duration_seconds_bucket{le=\"1\"} 3\n\
                    job_duration_seconds_bucket{le=\"+Inf\"} 4\njob_duration_seconds_sum 2.5\n\
                    job_duration_seconds_count 4\n# TYPE labels gauge\nlabels 1\n";
        let at = UNIX_EPOCH + Duration::new(1_795_389_525, 666_784_489);
        let key = GroupingKey::new([("job", "batch")]);
        let p = prepare(key, text::parse(body).unwrap(), at).unwrap();
        store.push(p, Mode::Replace, at).unwrap();
        let mut out = Vec::new();
        write_metrics_json(&mut out, &store, SystemTime::now());
        let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let group = &json["data"][0];
        assert_eq!(json["status"], "success");
        assert_eq!(group["labels"], serde_json::json!({"job": "batch"}));
        assert_eq!(group["last_push_successful"], true);
        assert_eq!(
            group["job_duration_seconds"],
            serde_json::json!({
                "time_stamp": "2026-11-22T23:18:45.666784489Z",
                "type": "HISTOGRAM",
                "help": "Duration.",
                "metrics": [{"buckets": {"+Inf": "4", "0.5": "1", "1": "3"}, "count": "4",
                             "labels": {"instance": "", "job": "batch"}, "sum": "2.5"}]
            })
        );
        assert_eq!(
            group["job_runs_total"]["metrics"],
            serde_json::json!([{"labels": {"instance": "x", "job": "batch"}, "value": "7"}])
        );
        assert_eq!(
            group["push_time_seconds"]["metrics"][0]["value"],
            "1.7953895256667845e+09"
        );
        assert_eq!(
            group["push_failure_time_seconds"]["metrics"][0]["value"],
            "0"
        );
        // Keys in Go's order: the text itself, not just the parsed value.
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with(
                "{\"status\":\"success\",\"data\":[{\"job_duration_seconds\":{\"time_stamp\""
            ),
            "{text}"
        );
        assert!(text.contains("\"labels\":{\"job\":\"batch\"},\"last_push_successful\":true,\"push_failure_time_seconds\""), "{text}");
    }
    #[test]
    fn kept_family_json_follows_every_push() {
        // A family's JSON is written once and kept; a push replaces the
        // family, so the next answer shows the new values and times.
        let store = Store::new(OWN_TYPES);
        let key = GroupingKey::new([("job", "batch")]);
        let document = |store: &Store| {
            let mut out = Vec::new();
            write_metrics_json(&mut out, store, SystemTime::now());
            serde_json::from_slice::<serde_json::Value>(&out).unwrap()
        };
        let first = UNIX_EPOCH + Duration::new(1_795_389_525, 0);
        let body = "# TYPE runs counter\nruns 7\n# TYPE kept gauge\nkept 1\n";
        let p = prepare(key.clone(), text::parse(body).unwrap(), first).unwrap();
        store.push(p, Mode::Replace, first).unwrap();
        let before = document(&store);
        assert_eq!(before, document(&store), "asked twice, answered alike");
        assert_eq!(before["data"][0]["runs"]["metrics"][0]["value"], "7");

        let second = first + Duration::from_secs(60);
        let p = prepare(
            key,
            text::parse("# TYPE runs counter\nruns 8\n").unwrap(),
            second,
        )
        .unwrap();
        store.push(p, Mode::Merge, second).unwrap();
        let after = document(&store);
        let group = &after["data"][0];
        assert_eq!(group["runs"]["metrics"][0]["value"], "8");
        assert_eq!(group["runs"]["time_stamp"], "2026-11-22T23:19:45Z");
        assert_eq!(
            group["kept"], before["data"][0]["kept"],
            "an untouched family stays"
        );
        assert_eq!(
            group["push_time_seconds"]["metrics"][0]["value"],
            "1.795389585e+09"
        );
    }

    /// `GET /api/v1/groups` as it was built before it was written straight
    /// into a buffer: a `json!` tree per group.
    fn groups_by_tree(groups: &[GroupSummary], now: SystemTime) -> Vec<u8> {
        let groups: Vec<serde_json::Value> = groups
            .iter()
            .map(|g| {
                let mut entry = serde_json::json!({
                    "labels": labels_json(&g.key),
                    "path": g.key.to_path(),
                    "push_time_seconds": g.push_time,
                    "push_failure_time_seconds": g.failure_time,
                    "last_push_successful": g.failure_time <= g.push_time,
                    "metrics": g.metrics,
                    "series": g.series,
                });
                if let Some(code) = g.job_exit_code {
                    entry["job_exit_code"] = code.into();
                }
                if let Some(t) = g.job_last_success {
                    entry["job_last_success_time_seconds"] = t.into();
                }
                if let (Some(ttl), Some(left)) = (g.ttl, g.expires_in(now)) {
                    entry["expire_after_seconds"] = millis(ttl.as_secs_f64()).into();
                    entry["expires_in_seconds"] = millis(left).into();
                }
                if g.aggregating {
                    entry[AGGREGATE_KEY] = "sum".into();
                }
                entry
            })
            .collect();
        serde_json::json!({"status": "success", "data": groups})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn the_brief_groups_are_written_as_the_tree_wrote_them() {
        let key = |pairs: &[(&str, &str)]| GroupingKey::new(pairs.iter().copied());
        let summary = GroupSummary {
            key: key(&[("job", "plain")]),
            push_time: 1_795_389_525.666_784_4,
            failure_time: 0.0,
            metrics: 2,
            series: 3,
            ttl: None,
            aggregating: false,
            job_exit_code: None,
            job_last_success: None,
        };
        let now = UNIX_EPOCH + Duration::new(1_795_389_600, 123_456_789);
        let groups = [
            summary.clone(),
            GroupSummary {
                // Labels that need escaping and `@base64` in the path.
                key: key(&[
                    ("job", "night\"ly"),
                    ("path", "/var/tmp"),
                    ("instance", ""),
                    ("zone", "é\n\u{1}"),
                ]),
                failure_time: 1_795_389_590.25,
                job_exit_code: Some(3.0),
                job_last_success: Some(1_795_300_000.5),
                ttl: Some(Duration::from_micros(90_000_500)),
                aggregating: true,
                ..summary.clone()
            },
            GroupSummary {
                // Only a refused push; a time to live already over.
                key: key(&[("job", "refused")]),
                push_time: 0.0,
                failure_time: 1e9,
                metrics: 0,
                series: 0,
                ttl: Some(Duration::from_secs(1)),
                job_exit_code: Some(0.0),
                ..summary.clone()
            },
            GroupSummary {
                // Not finite: `null` either way.
                key: key(&[("job", "odd")]),
                push_time: f64::NAN,
                failure_time: f64::INFINITY,
                job_exit_code: Some(-0.0),
                job_last_success: Some(f64::NEG_INFINITY),
                ..summary.clone()
            },
        ];
        for n in 0..=groups.len() {
            let mut out = Vec::new();
            write_groups_json(&mut out, &groups[..n], now);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                String::from_utf8(groups_by_tree(&groups[..n], now)).unwrap()
            );
        }
    }
}
