//! Tests of reading a gateway's groups: the JSON reader, filters, natural
//! order, ages and durations, keys, and a wrapped job's outcome.

use super::*;

/// The records of a `GET /api/v1/metrics` answer.
fn parse(body: &[u8]) -> Result<Vec<Group>, ShapeError> {
    Ok(parse_listed(body)?.into_iter().map(|l| l.group).collect())
}

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
        .map(|g| listed(g).unwrap().group)
        .collect();
    assert_eq!(parse(BODY.as_bytes()).unwrap(), tree);
    // Keys that are no family (a newer gateway's fields) are skipped.
    let odd =
        br#"{"data":[{"labels":{"job":"x"},"n":1,"s":"t","l":[1],"z":null,"f":{"type":"GAUGE"}}]}"#;
    let g = &parse(odd).unwrap()[0];
    assert_eq!((g.metrics, g.series, g.last_push_ok), (0, 0, true));
}

#[test]
fn one_group_with_its_families() {
    let key = GroupingKey::new([("job", "batch")]);
    let (l, fams) = parse_one(BODY.as_bytes(), &key).unwrap().unwrap();
    assert_eq!(l.group.key, key);
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
fn a_wrapped_job_outcome_is_read_and_fails_the_group() {
    let body = br#"{"data":[
          {"labels":{"job":"nightly"},"last_push_successful":true,
           "pgw_job_exit_code":{"type":"GAUGE","metrics":[{"labels":{"job":"nightly"},"value":"2"}]},
           "pgw_job_last_success_time_seconds":{"type":"GAUGE","metrics":[{"labels":{"job":"nightly"},"value":"1.796156107589828e+09"}]},
           "push_time_seconds":{"metrics":[{"value":"1.8e9"}]}},
          {"labels":{"job":"fine"},"last_push_successful":true,
           "pgw_job_exit_code":{"type":"GAUGE","metrics":[{"value":"0"}]}},
          {"labels":{"job":"refused"},"last_push_successful":false,
           "pgw_job_exit_code":{"type":"GAUGE","metrics":[{"value":"1"}]}},
          {"labels":{"job":"plain"},"last_push_successful":true}
        ]}"#;
    let listed = parse_listed(body).unwrap();
    let nightly = &listed[0];
    assert_eq!(nightly.job.exit_code, Some(2));
    assert_eq!(nightly.job.last_success, Some(1.796156107589828e9));
    assert_eq!((nightly.group.metrics, nightly.group.series), (2, 2));
    assert_eq!(nightly.status(), Status::Exit(2));
    assert_eq!(nightly.status().to_string(), "exit 2");
    assert_eq!(listed[1].status(), Status::Ok);
    assert!(listed[1].job.wrapped() && !listed[1].failed());
    // A refused push is more urgent than the exit code it left behind.
    assert_eq!(listed[2].status().to_string(), "push failed");
    assert!(!listed[3].job.wrapped());
    let failed = Filter {
        failed: true,
        ..Filter::default()
    };
    let picked: Vec<_> = listed
        .iter()
        .filter(|l| failed.matches_listed(l, 2e9))
        .map(|l| l.group.key.get("job").unwrap())
        .collect();
    assert_eq!(picked, ["nightly", "refused"]);
    assert_eq!(parse(body).unwrap()[0], nightly.group);
}

#[test]
fn natural_order_reads_numbers_as_numbers() {
    let mut v = vec![
        "web-10", "web-2", "web-1", "web-02", "web", "web-1a", "db", "v1.10", "v1.9", "",
    ];
    v.sort_by(|a, b| natural_cmp(a, b));
    assert_eq!(
        v,
        ["", "db", "v1.9", "v1.10", "web", "web-1", "web-1a", "web-02", "web-2", "web-10"]
    );
    assert_eq!(natural_cmp("a", "a"), Ordering::Equal);
    assert_eq!(natural_cmp("Προμηθεύς2", "Προμηθεύς10"), Ordering::Less);
    let key = |i: &str| GroupingKey::new([("job", "node"), ("instance", i)]);
    assert_eq!(label_order(&key("web-2"), &key("web-10")), Ordering::Less);
    let job = |j: &str| GroupingKey::new([("job", j), ("a", "z")]);
    assert_eq!(label_order(&job("b2"), &job("b10")), Ordering::Less);
    let bare = GroupingKey::new([("job", "node")]);
    assert_eq!(label_order(&bare, &key("a")), Ordering::Less);
}

/// The natural order read the plain way: both texts cut into runs of
/// digits and of the rest from their start, run against run; a number
/// comes before any other text (`web1` before `web-`).
fn natural_by_runs(a: &str, b: &str) -> Ordering {
    fn runs(s: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut rest = s;
        while let Some(c) = rest.chars().next() {
            let digit = c.is_ascii_digit();
            let n = rest
                .find(|c: char| c.is_ascii_digit() != digit)
                .unwrap_or(rest.len());
            out.push(&rest[..n]);
            rest = &rest[n..];
        }
        out
    }
    let is_number = |r: &str| r.starts_with(|c: char| c.is_ascii_digit());
    let (ra, rb) = (runs(a), runs(b));
    for (x, y) in ra.iter().zip(&rb) {
        let o = match (is_number(x), is_number(y)) {
            (true, true) => {
                let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                x.len().cmp(&y.len()).then_with(|| x.cmp(y))
            }
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    ra.len().cmp(&rb.len()).then_with(|| a.cmp(b))
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    /// The shortcut past the common start orders as the run-by-run reading.
    #[test]
    fn natural_order_is_the_run_by_run_order(a in "[a0-9.é-]{0,8}", b in "[a0-9.é-]{0,8}") {
        proptest::prop_assert_eq!(natural_cmp(&a, &b), natural_by_runs(&a, &b), "{:?} vs {:?}", a, b);
        let prefixed = |s: &str| format!("web-1{s}");
        proptest::prop_assert_eq!(
            natural_cmp(&prefixed(&a), &prefixed(&b)),
            natural_by_runs(&prefixed(&a), &prefixed(&b))
        );
    }
}

#[test]
fn unknown_label_names_need_a_listing() {
    let listed = [
        g(&[("job", "node"), ("instance", "a")], None, true),
        g(&[("job", "x"), ("env", "")], None, true),
    ];
    let sel: Selector = "jobb=node,env=~.+,instance=a,team=ops".parse().unwrap();
    // `env` is there, if empty: no warning for it.
    let keys = listed.iter().map(|g| &g.key);
    assert_eq!(unknown_label_names(&sel, keys), ["jobb", "team"]);
    assert!(unknown_label_names(&sel, std::iter::empty()).is_empty());
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
    assert_eq!(format_age(3.0 * 86_400.0 + 4.0 * 3_600.0 + 5.0), "3d 4h");
    assert_eq!(format_age(86_400.0), "24h");
    assert_eq!(format_age(2.0 * 86_400.0 - 1.0), "47h 59m");
    assert_eq!(format_age(45.5 * 86_400.0), "45d");
    assert_eq!(format_age(3_600.0), "1h");
    assert_eq!(format_age(-3.0), "0s");
    assert_eq!(format_duration(Duration::from_secs(86_400)), "24h");
    assert_eq!(format_duration(Duration::from_secs(5_400)), "1h 30m");
    assert_eq!(
        format_duration(Duration::from_secs(3 * 86_400 + 5)),
        "3d 5s"
    );
    assert_eq!(format_duration(Duration::ZERO), "0s");
    for secs in [90, 86_400, 3 * 86_400 + 4 * 3_600 + 5] {
        let text = format_duration(Duration::from_secs(secs));
        let back = humantime::parse_duration(&text).unwrap();
        assert_eq!(back.as_secs(), secs, "{text} reads back");
    }
    assert_eq!(format_ago(None), "never");
    assert_eq!(format_ago(Some(60.0)), "1m ago");
    assert_eq!(format_unix(1_764_000_000.5), "2025-11-24T16:00:00Z");
}

/// The brief listing of pgw serve and its `/api/v1/metrics` give the same
/// records: both answers are written by the server's own writers from one
/// store holding a plain group, a wrapped job (several series in its
/// families, one failed), a wrapped job that never succeeded, a group with
/// a time to live, an aggregating group, a group whose last push was
/// refused, and a group with only a refused push.
#[test]
fn the_brief_and_the_full_listing_give_the_same_records() {
    use crate::exposition::text;
    use crate::server::http::api::{write_groups_json, write_metrics_json};
    use crate::server::metrics::OWN_TYPES;
    use crate::server::store::{prepare, GroupTimes, Mode, PreparedPush, Store};
    use std::time::UNIX_EPOCH;

    let store = Store::new(OWN_TYPES);
    let t0 = UNIX_EPOCH + Duration::new(1_795_389_525, 666_784_489);
    let key = |pairs: &[(&str, &str)]| GroupingKey::new(pairs.iter().copied());
    let push = |k: GroupingKey, body: &str, mode: Mode, ttl: Option<Duration>, at: SystemTime| {
        let mut p = prepare(k, text::parse(body).unwrap(), at).unwrap();
        p.ttl = ttl;
        store.push(p, mode, at).unwrap();
    };
    push(
        key(&[("job", "node"), ("instance", "web-10")]),
        "a 1\n# TYPE c counter\nc{x=\"1\"} 1\nc{x=\"2\"} 2\n",
        Mode::Replace,
        None,
        t0,
    );
    push(
        key(&[("job", "nightly"), ("path", "/var/x} 9"), ("instance", "")]),
        "pgw_job_exit_code{step=\"a\"} 0\npgw_job_exit_code{step=\"b\"} 2\n\
         pgw_job_last_success_time_seconds{step=\"a\"} 1.7953e+09\n\
         pgw_job_last_success_time_seconds{step=\"b\"} 0\n\
         pgw_job_duration_seconds 12.5\n",
        Mode::Replace,
        None,
        t0,
    );
    push(
        key(&[("job", "never")]),
        "pgw_job_exit_code 137\n",
        Mode::Replace,
        None,
        t0,
    );
    push(
        key(&[("job", "ttl")]),
        "a 1\n",
        Mode::Replace,
        Some(Duration::from_micros(90_000_500)),
        t0,
    );
    push(
        key(&[("job", "sum")]),
        "# TYPE c counter\nc 5\n",
        Mode::ReplaceAggregating,
        None,
        t0,
    );
    let refused = key(&[("job", "refused"), ("zone", "é \"q\"")]);
    push(refused.clone(), "a 1\n", Mode::Replace, None, t0);
    store.record_failure(&refused, t0 + Duration::from_millis(1500));
    // The official server keeps a group a refused push created; so does
    // pgw serve when it imports one.
    let failed_at = t0 + Duration::from_secs(3);
    store
        .restore(
            PreparedPush::from_parts(key(&[("job", "only-failed")]), Vec::new(), None),
            GroupTimes {
                push_time: 0.0,
                failure_time: 1_795_389_528.5,
                pushed_at: UNIX_EPOCH,
                failed_at,
            },
            false,
        )
        .unwrap();

    let now = t0 + Duration::from_secs(30);
    let mut full = Vec::new();
    write_metrics_json(&mut full, &store, now);
    let mut brief = Vec::new();
    write_groups_json(&mut brief, &store.summaries(), now);
    let from_full = parse_listed(&full).unwrap();
    let from_brief = parse_brief(&brief).unwrap();
    assert_eq!(from_brief, from_full);

    // What the two readings agree on is what the cases are about.
    let get = |job: &str| {
        from_brief
            .iter()
            .find(|l| l.group.key.get("job") == Some(job))
            .unwrap_or_else(|| panic!("no job {job}"))
    };
    assert_eq!(from_brief.len(), 7);
    let node = get("node");
    assert_eq!((node.group.metrics, node.group.series), (2, 3));
    assert!(node.group.push_time.is_some() && node.group.failure_time.is_none());
    let nightly = get("nightly");
    assert_eq!(nightly.job.exit_code, Some(2));
    assert_eq!(nightly.job.last_success, Some(1.7953e9));
    assert_eq!((nightly.group.metrics, nightly.group.series), (3, 5));
    let never = get("never");
    assert_eq!(
        (never.job.exit_code, never.job.last_success),
        (Some(137), None)
    );
    assert_eq!(get("ttl").group.expire_after, Some(90.001));
    let left = get("ttl").group.expires_in.unwrap();
    assert!((left - 60.0).abs() < 0.01, "{left}");
    let refused = get("refused");
    assert!(!refused.group.last_push_ok && refused.group.failure_time.is_some());
    assert_eq!(refused.status(), Status::PushFailed);
    let only = get("only-failed");
    assert_eq!(only.group.push_time, None);
    assert_eq!(only.group.failure_time, Some(1_795_389_528.5));
    assert!(!only.group.last_push_ok);
    // The filters, the order and the JSON output follow from the records.
    assert!(String::from_utf8(brief)
        .unwrap()
        .contains("\"aggregate\":\"sum\""));
}

/// What is not the brief listing's shape is refused, so that the full
/// listing is asked instead: the official shape, HTML, other JSON.
#[test]
fn the_brief_shape_is_told_apart() {
    assert!(parse_brief(BODY.as_bytes()).is_err());
    assert!(parse_brief(b"<html><title>Pushgateway</title></html>").is_err());
    assert!(parse_brief(br#"{"status":"success"}"#).is_err());
    // A family named `metrics` or `series` is an object, not a count.
    let named = br#"{"data":[{"labels":{"job":"x"},"metrics":{"metrics":[]},"series":1}]}"#;
    assert!(parse_brief(named).is_err());
    // No group is no group, in either shape.
    assert_eq!(
        parse_brief(br#"{"data":[],"status":"success"}"#).unwrap(),
        []
    );
    let one = br#"{"data":[{"labels":{"job":"x"},"metrics":1,"series":2,"path":"/metrics/job/x",
        "push_time_seconds":0,"push_failure_time_seconds":5.5,"last_push_successful":false,
        "job_exit_code":1.0,"job_last_success_time_seconds":0.0,"new_field":[1]}],"status":"success"}"#;
    let l = &parse_brief(one).unwrap()[0];
    assert_eq!((l.group.push_time, l.group.failure_time), (None, Some(5.5)));
    assert_eq!((l.job.exit_code, l.job.last_success), (Some(1), None));
    assert_eq!(l.status(), Status::PushFailed);
}
