//! `pgw serve` over real sockets: every rule of the push API, the scrape
//! output, the JSON API, admin and lifecycle endpoints, route prefixes, and
//! the places where pgw deliberately differs from the official Pushgateway.
//! Expectations come from the spec of the official server
//! (`/work/shared/spec/pushgateway.md`); the differences are named where they
//! are tested. Every rejected push is also checked to leave the store exactly
//! as it was, because a refused push that still changes state is the official
//! server's worst bug (it can poison the whole store).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use pgw::exposition::{proto, Family, Label, Metric, MetricType, Value};
use serde_json::json;

use crate::util::*;

const PROTO_CT: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

fn scrape(g: &Pgw) -> BTreeSet<Series> {
    scrape_pushed(&format!("{}/metrics", g.url()))
}

fn send(g: &Pgw, method: &str, path: &str, body: &str) -> Resp {
    request(method, &format!("{}{path}", g.url()), &[], body.as_bytes())
}

/// Sends a push that must be accepted with 200 and an empty body.
fn ok(g: &Pgw, method: &str, path: &str, body: &str) {
    let r = send(g, method, path, body);
    assert_eq!(r.status, 200, "{method} {path}: {}", r.text());
    assert_eq!(
        r.text(),
        "",
        "{method} {path}: accepted pushes have no body"
    );
}

fn series(name: &str, pairs: &[(&str, &str)], value: &str) -> Series {
    (name.to_string(), labels(pairs), value.to_string())
}

/// The pushed series other than the two synthetic timestamp families.
fn user_series(g: &Pgw) -> BTreeSet<Series> {
    scrape(g)
        .into_iter()
        .filter(|(n, _, _)| n != "push_time_seconds" && n != "push_failure_time_seconds")
        .collect()
}

/// The group of an `/api/v1/metrics` reply with exactly these grouping labels.
fn group<'a>(api: &'a serde_json::Value, pairs: &[(&str, &str)]) -> Option<&'a serde_json::Value> {
    let want = key(pairs);
    api["data"].as_array().unwrap().iter().find(|g| {
        serde_json::from_value::<BTreeMap<String, String>>(g["labels"].clone()).unwrap() == want
    })
}

/// Sends a request that must be refused with 400 and a message containing
/// every `needle`, and checks that the store did not change at all.
fn rejected(
    g: &Pgw,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    needles: &[&str],
) {
    let before_api = g.api();
    let before = scrape(g);
    let r = request(method, &format!("{}{path}", g.url()), headers, body);
    let text = r.text();
    assert_eq!(
        r.status,
        400,
        "{method} {path} {headers:?} {:?}: {text}",
        String::from_utf8_lossy(body)
    );
    for needle in needles {
        assert!(
            text.contains(needle),
            "{method} {path}: the error should name {needle:?}, got {text:?}"
        );
    }
    // Sorted, so that the official server's random group order does not
    // matter when the expectations are checked against it.
    assert_eq!(
        sorted_groups(g.api()),
        sorted_groups(before_api),
        "{method} {path}: a refused push changed the store"
    );
    assert_eq!(
        scrape(g),
        before,
        "{method} {path}: a refused push changed /metrics"
    );
}

/// As [`rejected`], for a push to an existing group: only that group's
/// failure time (and so `last_push_successful`) may change, and it must.
fn rejected_marking_failure(
    g: &Pgw,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    needles: &[&str],
) {
    let without_failure = |mut api: serde_json::Value| {
        for group in api["data"].as_array_mut().unwrap() {
            let group = group.as_object_mut().unwrap();
            group.remove("push_failure_time_seconds");
            group.remove("last_push_successful");
        }
        sorted_groups(api)
    };
    let failure = |g: &Pgw| -> BTreeSet<Series> {
        scrape(g)
            .into_iter()
            .filter(|(n, _, _)| n == "push_failure_time_seconds")
            .collect()
    };
    let before_api = without_failure(g.api());
    let before = user_series(g);
    let before_failure = failure(g);
    let r = request(method, &format!("{}{path}", g.url()), headers, body);
    let text = r.text();
    assert_eq!(r.status, 400, "{method} {path}: {text}");
    for needle in needles {
        assert!(
            text.contains(needle),
            "{method} {path}: {needle:?} not in {text:?}"
        );
    }
    assert_eq!(without_failure(g.api()), before_api, "{method} {path}");
    assert_eq!(user_series(g), before, "{method} {path}");
    assert_ne!(
        failure(g),
        before_failure,
        "{method} {path}: failure time not set"
    );
}

#[test]
fn put_replaces_the_group_and_post_replaces_families_by_name() {
    let g = Pgw::start(&[]);
    ok(
        &g,
        "PUT",
        "/metrics/job/j",
        "a 1\nb{x=\"1\"} 2\nb{x=\"2\"} 3\n",
    );
    // POST replaces `b` as a whole (its x="2" series goes), adds `c`, keeps `a`.
    ok(&g, "POST", "/metrics/job/j", "b{x=\"1\"} 20\nc 4\n");
    assert_series(
        &user_series(&g),
        r#"
a{job="j",instance=""} 1
b{job="j",instance="",x="1"} 20
c{job="j",instance=""} 4
"#,
    );
    // PUT drops every family not in the body.
    ok(&g, "PUT", "/metrics/job/j", "c 5\n");
    assert_series(&user_series(&g), r#"c{job="j",instance=""} 5"#);
    // An empty POST only refreshes the push time; an empty PUT keeps the
    // group with only its timestamps.
    ok(&g, "POST", "/metrics/job/j", "");
    assert_series(&user_series(&g), r#"c{job="j",instance=""} 5"#);
    ok(&g, "PUT", "/metrics/job/j", "");
    assert_eq!(user_series(&g), BTreeSet::new());
    assert_eq!(g.groups(), [key(&[("job", "j")])].into());
}

#[test]
fn accepted_pushes_set_push_time_and_a_zero_failure_time() {
    let g = Pgw::start(&[]);
    ok(&g, "PUT", "/metrics/job/j/instance/i/zone/z", "a 1\n");
    let ls = [("job", "j"), ("instance", "i"), ("zone", "z")];
    let all = scrape(&g);
    let push_time = all
        .iter()
        .find(|(n, l, _)| n == "push_time_seconds" && *l == labels(&ls))
        .unwrap_or_else(|| panic!("no push_time_seconds with {ls:?} in {all:?}"));
    let t: f64 = push_time.2.parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        (now - t).abs() < 60.0,
        "push_time_seconds {t} is not now ({now})"
    );
    assert!(
        all.contains(&series("push_failure_time_seconds", &ls, "0")),
        "{all:?}"
    );
    // Without `instance` in the key, the synthetic series get instance="".
    ok(&g, "PUT", "/metrics/job/k", "b{instance=\"body\"} 1\n");
    let all = scrape(&g);
    assert!(
        all.contains(&series(
            "push_failure_time_seconds",
            &[("job", "k"), ("instance", "")],
            "0"
        )),
        "{all:?}"
    );
    assert!(
        all.contains(&series("b", &[("job", "k"), ("instance", "body")], "1")),
        "{all:?}"
    );
    let a = g.api();
    assert_eq!(group(&a, &ls).unwrap()["last_push_successful"], json!(true));
}

#[test]
fn disabled_consistency_check_answers_202() {
    let g = Pgw::start(&["--push.disable-consistency-check"]);
    for method in ["PUT", "POST"] {
        let r = send(&g, method, "/metrics/job/j", "a 1\n");
        assert_eq!(r.status, 202, "{method}: {}", r.text());
    }
    assert_series(&user_series(&g), r#"a{job="j",instance=""} 1"#);
}

#[test]
fn delete_removes_exactly_the_key_and_answers_202() {
    let g = Pgw::start(&[]);
    ok(&g, "PUT", "/metrics/job/x", "a 1\n");
    ok(&g, "PUT", "/metrics/job/x/instance/y", "a 2\n");
    let r = delete(&format!("{}/metrics/job/x", g.url()));
    assert_eq!(r.status, 202, "{}", r.text());
    g.wait_groups(&[&[("job", "x"), ("instance", "y")]]);
    // A group that does not exist: still 202, nothing changes.
    let r = delete(&format!("{}/metrics/job/nope/instance/y", g.url()));
    assert_eq!(r.status, 202);
    g.wait_groups(&[&[("job", "x"), ("instance", "y")]]);
    // Any body is ignored.
    let r = request(
        "DELETE",
        &format!("{}/metrics/job/x/instance/y", g.url()),
        &[],
        b"junk{",
    );
    assert_eq!(r.status, 202);
    g.wait_groups(&[]);
}

#[test]
fn base64_job_and_label_values() {
    let g = Pgw::start(&[]);
    let cases: &[(&str, &[(&str, &str)])] = &[
        // The README's examples.
        (
            "/metrics/job/directory_cleaner/path@base64/L3Zhci90bXA",
            &[("job", "directory_cleaner"), ("path", "/var/tmp")],
        ),
        (
            "/metrics/job/example/first_label@base64/=/second_label/foobar",
            &[
                ("job", "example"),
                ("first_label", ""),
                ("second_label", "foobar"),
            ],
        ),
        (
            "/metrics/job/titan/name@base64/zqDPgc6_zrzOt864zrXPjc-C",
            &[("job", "titan"), ("name", "Προμηθεύς")],
        ),
        ("/metrics/job@base64/dGVzdC9qb2I", &[("job", "test/job")]),
        // Padding is optional and any number of `=` is accepted.
        (
            "/metrics/job/p/v@base64/Zm9v",
            &[("job", "p"), ("v", "foo")],
        ),
        ("/metrics/job/p/w@base64/Zm8=", &[("job", "p"), ("w", "fo")]),
        (
            "/metrics/job/q/v@base64/Zm9v====",
            &[("job", "q"), ("v", "foo")],
        ),
        (
            "/metrics/job@base64/Zm9vYg==/v@base64/Zm8",
            &[("job", "foob"), ("v", "fo")],
        ),
    ];
    for (path, want) in cases {
        ok(&g, "PUT", path, "m 1\n");
        assert!(
            group(&g.api(), want).is_some(),
            "{path}: no group {want:?} in {:?}",
            g.groups()
        );
        let r = delete(&format!("{}{path}", g.url()));
        assert_eq!(r.status, 202, "{path}");
        g.wait_groups(&[]);
    }
}

#[test]
fn base64_with_the_standard_alphabet_or_garbage_is_400() {
    let g = Pgw::start(&[]);
    ok(&g, "PUT", "/metrics/job/base", "m 1\n");
    // `Pz8+` is "??>" in the standard alphabet; the URL-safe one has `-`.
    rejected(
        &g,
        "PUT",
        "/metrics/job/x/lbl@base64/Pz8+",
        &[],
        b"m 1\n",
        &["lbl"],
    );
    rejected(
        &g,
        "PUT",
        "/metrics/job/x/lbl@base64/Pz8%2F",
        &[],
        b"m 1\n",
        &[],
    );
    rejected(
        &g,
        "PUT",
        "/metrics/job/x/lbl@base64/!!",
        &[],
        b"m 1\n",
        &["lbl"],
    );
    rejected(
        &g,
        "PUT",
        "/metrics/job@base64/Pz8+",
        &[],
        b"m 1\n",
        &["job"],
    );
    // The URL-safe spelling of the same value works.
    ok(&g, "PUT", "/metrics/job/x/lbl@base64/Pz8-", "m 1\n");
    assert!(
        group(&g.api(), &[("job", "x"), ("lbl", "??>")]).is_some(),
        "{:?}",
        g.groups()
    );
}

#[test]
fn path_is_percent_decoded_without_turning_plus_into_space() {
    let g = Pgw::start(&[]);
    ok(&g, "PUT", "/metrics/job/x/l/a+b%20c", "m 1\n");
    ok(&g, "PUT", "/metrics/job/y/l/%CE%A0", "m 1\n");
    let a = g.api();
    assert!(
        group(&a, &[("job", "x"), ("l", "a+b c")]).is_some(),
        "{:?}",
        group_labels(&a)
    );
    assert!(
        group(&a, &[("job", "y"), ("l", "Π")]).is_some(),
        "{:?}",
        group_labels(&a)
    );
    // `%2F` is a real `/`: here it makes the number of components odd.
    rejected(
        &g,
        "PUT",
        "/metrics/job/x/a%2Fb/c",
        &[],
        b"m 1\n",
        &["odd number of components"],
    );
}

#[test]
fn path_quirks_trailing_slash_and_repeated_names() {
    let g = Pgw::start(&[]);
    ok(&g, "PUT", "/metrics/job/x/", "m 1\n");
    assert_eq!(g.groups(), [key(&[("job", "x")])].into());
    // A `job` pair in the tail loses against the :job segment; otherwise the
    // last value of a repeated name wins.
    ok(&g, "PUT", "/metrics/job/x/job/y/a/1/a/2", "n 1\n");
    assert_eq!(
        g.groups(),
        [key(&[("job", "x")]), key(&[("job", "x"), ("a", "2")])].into()
    );
}

#[test]
fn url_labels_override_body_labels_and_instance_is_filled_in() {
    let g = Pgw::start(&[]);
    // The spec's observed example: URL wins for foo and job, body instance stays.
    ok(
        &g,
        "PUT",
        "/metrics/job/lbl/foo/bar",
        "m1{foo=\"baz\",job=\"zzz\",instance=\"body\"} 1\nm2{other=\"o\"} 2\n",
    );
    // A key with instance overrides the body's instance.
    ok(
        &g,
        "PUT",
        "/metrics/job/lbl/instance/url",
        "m3{instance=\"body\"} 3\n",
    );
    assert_series(
        &user_series(&g),
        r#"
m1{foo="bar",instance="body",job="lbl"} 1
m2{foo="bar",instance="",job="lbl",other="o"} 2
m3{instance="url",job="lbl"} 3
"#,
    );
    let all = scrape(&g);
    assert!(
        all.contains(&series(
            "push_failure_time_seconds",
            &[("foo", "bar"), ("instance", ""), ("job", "lbl")],
            "0"
        )),
        "{all:?}"
    );
}

#[test]
fn other_methods_on_push_paths_are_405_with_allow() {
    let g = Pgw::start(&[]);
    for method in ["GET", "PATCH"] {
        let r = request(method, &format!("{}/metrics/job/x", g.url()), &[], b"");
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(
            r.header("allow"),
            Some("DELETE, OPTIONS, POST, PUT"),
            "{method}"
        );
        assert!(
            r.text().contains("Method Not Allowed"),
            "{method}: {}",
            r.text()
        );
    }
}

#[test]
fn every_bad_push_is_400_with_a_precise_message_and_changes_nothing() {
    let g = Pgw::start(&[]);
    ok(
        &g,
        "PUT",
        "/metrics/job/base",
        "# TYPE clash_total counter\nclash_total 1\nkept 1\n",
    );
    ok(&g, "PUT", "/metrics/job/d/instance/i", "dup_across 1\n");
    let none: &[(&str, &str)] = &[];
    // Parse errors name the line, in a new group and in an existing one;
    // the existing group's failure time is set (pgw differs from upstream
    // here: every refused push marks the group).
    for path in ["/metrics/job/bad", "/metrics/job/base"] {
        let check = if path == "/metrics/job/base" {
            rejected_marking_failure
        } else {
            rejected
        };
        for method in ["PUT", "POST"] {
            check(&g, method, path, none, b"a 1\nb 2\nc{ 3\n", &["line 3"]);
            check(
                &g,
                method,
                path,
                none,
                b"ok 1\nnot_a_number abc\n",
                &["line 2"],
            );
            check(
                &g,
                method,
                path,
                none,
                b"# TYPE a counter\na 1\n# TYPE a counter\n",
                &["line 3"],
            );
            check(&g, method, path, none, b"m{0abc=\"x\"} 1\n", &["line 1"]);
        }
    }
    let cases: &[(&str, &[u8], &[&str])] = &[
        ("/metrics/job/bad", b"with_ts 1 1000\n", &["timestamp"]),
        ("/metrics/job/bad", b"{\"my.metric\"} 1\n", &["metric name"]),
        ("/metrics/job/bad", b"m{__foo=\"x\"} 1\n", &["__foo"]),
        (
            "/metrics/job/bad",
            b"dup_in_push{a=\"1\"} 1\ndup_in_push{a=\"1\"} 2\n",
            &["dup_in_push"],
        ),
        // {job=d} exposing dup_across{instance="i"} collides with group {job=d,instance=i}.
        (
            "/metrics/job/d",
            b"dup_across{instance=\"i\"} 2\n",
            &["dup_across"],
        ),
        (
            "/metrics/job/bad",
            b"# TYPE clash_total gauge\nclash_total 1\n",
            &["clash_total"],
        ),
        ("/metrics/job@base64/=", b"m 1\n", &["job name is required"]),
        (
            "/metrics/job/bad/a",
            b"m 1\n",
            &["odd number of components"],
        ),
        (
            "/metrics/job/bad/a/1/b",
            b"m 1\n",
            &["odd number of components"],
        ),
        ("/metrics/job/bad/la-bel/v", b"m 1\n", &["la-bel"]),
        ("/metrics/job/bad/__name/v", b"m 1\n", &["__name"]),
    ];
    for (path, body, needles) in cases {
        for method in ["PUT", "POST"] {
            rejected(&g, method, path, none, body, needles);
        }
    }
    // Corrupt gzip.
    rejected(
        &g,
        "PUT",
        "/metrics/job/bad",
        &[("Content-Encoding", "gzip")],
        b"m 1\n",
        &["gzip"],
    );
    // A truncated protobuf stream.
    let mut pb = proto::encode_delimited(&[gauge("pb_metric", 1.0)]);
    pb.truncate(pb.len() - 2);
    rejected(
        &g,
        "PUT",
        "/metrics/job/bad",
        &[("Content-Type", PROTO_CT)],
        &pb,
        &[],
    );
    // Protobuf gets the checks of upstream's gather: UTF-8 names pass (see
    // the utf8 tests), empty and reserved label names do not.
    let mut reserved = gauge("pb_metric", 1.0);
    reserved.metrics[0].labels = vec![Label::new("__reserved", "v")];
    rejected(
        &g,
        "PUT",
        "/metrics/job/bad",
        &[("Content-Type", PROTO_CT)],
        &proto::encode_delimited(&[reserved]),
        &["__reserved"],
    );
    let mut bad_label = gauge("pb_metric", 1.0);
    bad_label.metrics[0].labels = vec![Label::new("", "v")];
    rejected(
        &g,
        "PUT",
        "/metrics/job/bad",
        &[("Content-Type", PROTO_CT)],
        &proto::encode_delimited(&[bad_label]),
        &["invalid name"],
    );
    let mut with_ts = gauge("pb_metric", 1.0);
    with_ts.metrics[0].timestamp_ms = Some(1000);
    rejected(
        &g,
        "PUT",
        "/metrics/job/bad",
        &[("Content-Type", PROTO_CT)],
        &proto::encode_delimited(&[with_ts]),
        &["timestamp"],
    );

    // None of that broke anything: scrapes and pushes still work.
    ok(&g, "PUT", "/metrics/job/after", "after 1\n");
    assert!(user_series(&g).contains(&series("after", &[("job", "after"), ("instance", "")], "1")));
    // Replacing the only group that has a family with another type is fine.
    ok(
        &g,
        "PUT",
        "/metrics/job/base",
        "# TYPE clash_total gauge\nclash_total 2\n",
    );
    let a = g.api();
    assert_eq!(
        group(&a, &[("job", "base")]).unwrap()["clash_total"]["type"],
        json!("GAUGE")
    );
}

fn gauge(name: &'static str, v: f64) -> Family<'static> {
    let mut f = Family::new(name, MetricType::Gauge);
    f.metrics.push(Metric {
        labels: vec![Label::new("l", "v")],
        value: Value::Single(v),
        timestamp_ms: None,
        extras: None,
    });
    f
}

#[test]
fn gzip_push_bodies_are_decompressed() {
    let g = Pgw::start(&[]);
    // Upstream HEAD compares case-insensitively (1.5.1 still refuses
    // `GZIP`); pgw follows HEAD.
    for (i, enc) in ["gzip", "GZIP"].iter().enumerate() {
        let path = format!("/metrics/job/z{i}");
        let body = gzip(b"zipped 1\n");
        let r = request(
            "PUT",
            &format!("{}{path}", g.url()),
            &[("Content-Encoding", enc)],
            &body,
        );
        assert_eq!(r.status, 200, "{enc}: {}", r.text());
        assert!(user_series(&g).contains(&series(
            "zipped",
            &[("job", &format!("z{i}")), ("instance", "")],
            "1"
        )));
    }
}

#[test]
fn snappy_push_bodies_are_decompressed() {
    let g = Pgw::start(&[]);
    let mut body = Vec::new();
    {
        let mut w = snap::write::FrameEncoder::new(&mut body);
        std::io::Write::write_all(&mut w, b"snapped 2\n").unwrap();
    }
    let url = format!("{}/metrics/job/s", g.url());
    let r = request("PUT", &url, &[("Content-Encoding", "snappy")], &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(user_series(&g).contains(&series("snapped", &[("job", "s"), ("instance", "")], "2")));
    let r = request(
        "PUT",
        &url,
        &[("Content-Encoding", "snappy")],
        b"not snappy",
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().starts_with("snappy:"), "{}", r.text());
}

#[test]
fn bodies_over_the_limit_are_413_even_when_compressed() {
    let g = Pgw::start(&["--push.max-body-size=1000"]);
    let url = format!("{}/metrics/job/big", g.url());
    // 100 kB of text that gzips to far less than the limit: the limit holds
    // after decompression, so a gzip bomb cannot get through.
    let text = "x 1\n".repeat(25_000);
    let zipped = gzip(text.as_bytes());
    assert!(zipped.len() < 1000);
    let r = request("PUT", &url, &[("Content-Encoding", "gzip")], &zipped);
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.text().contains("1000 bytes"), "{}", r.text());
    let r = request("PUT", &url, &[], text.as_bytes());
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(g.api()["data"], serde_json::json!([]));
}

#[test]
fn protobuf_push_bodies() {
    let g = Pgw::start(&[]);
    let mut counter = Family::new("pb_requests_total", MetricType::Counter);
    counter.help = Some("Requests.".into());
    counter.metrics.push(Metric {
        labels: vec![Label::new("code", "200"), Label::new("job", "ignored")],
        value: Value::Single(7.0),
        timestamp_ms: None,
        extras: None,
    });
    let mut summary = Family::new("pb_latency_seconds", MetricType::Summary);
    summary.metrics.push(Metric {
        labels: vec![],
        value: Value::Summary {
            sample_count: 40.0,
            sample_sum: 12.5,
            quantiles: vec![(0.5, 0.2), (0.9, 0.7)],
        },
        timestamp_ms: None,
        extras: None,
    });
    let mut histogram = Family::new("pb_size_bytes", MetricType::Histogram);
    histogram.metrics.push(Metric {
        labels: vec![],
        value: Value::Histogram {
            sample_count: 4.0,
            sample_sum: 2.5,
            buckets: vec![(0.5, 1.0), (1.0, 3.0), (f64::INFINITY, 4.0)],
        },
        timestamp_ms: None,
        extras: None,
    });
    let body = proto::encode_delimited(&[counter, summary, histogram]);
    let r = request(
        "PUT",
        &format!("{}/metrics/job/pb", g.url()),
        &[("Content-Type", PROTO_CT)],
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_series(
        &user_series(&g),
        r#"
pb_requests_total{job="pb",instance="",code="200"} 7
pb_latency_seconds{job="pb",instance="",quantile="0.5"} 0.2
pb_latency_seconds{job="pb",instance="",quantile="0.9"} 0.7
pb_latency_seconds_sum{job="pb",instance=""} 12.5
pb_latency_seconds_count{job="pb",instance=""} 40
pb_size_bytes_bucket{job="pb",instance="",le="0.5"} 1
pb_size_bytes_bucket{job="pb",instance="",le="1"} 3
pb_size_bytes_bucket{job="pb",instance="",le="+Inf"} 4
pb_size_bytes_sum{job="pb",instance=""} 2.5
pb_size_bytes_count{job="pb",instance=""} 4
"#,
    );
    let a = g.api();
    let grp = group(&a, &[("job", "pb")]).unwrap();
    assert_eq!(grp["pb_requests_total"]["type"], json!("COUNTER"));
    assert_eq!(grp["pb_requests_total"]["help"], json!("Requests."));
    assert_eq!(grp["pb_latency_seconds"]["type"], json!("SUMMARY"));
    assert_eq!(grp["pb_size_bytes"]["type"], json!("HISTOGRAM"));
    // Without the `encoding=delimited` parameter the body is taken as text,
    // which this binary body is not.
    let r = request(
        "PUT",
        &format!("{}/metrics/job/pb2", g.url()),
        &[(
            "Content-Type",
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily",
        )],
        &body,
    );
    assert_eq!(r.status, 400, "{}", r.text());
}

#[test]
fn scrape_output_is_sorted_with_one_header_per_family_and_go_floats() {
    let g = Pgw::start(&[]);
    ok(
        &g,
        "PUT",
        "/metrics/job/b",
        "# HELP zeta Last.\n# TYPE zeta gauge\nzeta 1795389525.6667845\nalpha NaN\n",
    );
    ok(&g, "PUT", "/metrics/job/a", "# HELP zeta Last.\n# TYPE zeta gauge\nzeta{x=\"1\"} +Inf\nzeta{x=\"2\"} -Inf\nmid 1000000\nmid2 123456\nmid3 0.00001\nmid4 0.0001\nmid5 -2\nmid6 1.5e300\n");
    let r = get(&format!("{}/metrics", g.url()));
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8; escaping=underscores")
    );
    let body = r.text();
    // Family order: by name, each family's lines contiguous, one HELP and
    // one TYPE each.
    let mut families: Vec<String> = Vec::new();
    let mut types = BTreeMap::<String, usize>::new();
    let mut helps = BTreeMap::<String, usize>::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            *types
                .entry(rest.split(' ').next().unwrap().to_string())
                .or_default() += 1;
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            *helps
                .entry(rest.split(' ').next().unwrap().to_string())
                .or_default() += 1;
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let name = line.split(['{', ' ']).next().unwrap();
        // Series lines of summaries/histograms carry suffixes; the TYPE line
        // seen last names their family.
        let family = types
            .keys()
            .filter(|t| name.starts_with(t.as_str()))
            .max_by_key(|t| t.len())
            .cloned()
            .unwrap_or_else(|| name.to_string());
        if families.last() != Some(&family) {
            assert!(
                !families.contains(&family),
                "family {family} is split in:\n{body}"
            );
            families.push(family);
        }
    }
    let mut sorted = families.clone();
    sorted.sort();
    assert_eq!(families, sorted, "families are not sorted:\n{body}");
    assert!(
        types.values().all(|&n| n == 1),
        "a TYPE line repeats: {types:?}"
    );
    assert!(
        helps.values().all(|&n| n == 1),
        "a HELP line repeats: {helps:?}"
    );
    assert!(
        body.contains("# HELP zeta Last.\n# TYPE zeta gauge\n"),
        "{body}"
    );
    // An untyped family without HELP has only its TYPE line.
    assert!(body.contains("# TYPE alpha untyped\nalpha{"), "{body}");
    assert!(!body.contains("# HELP alpha"), "{body}");
    let got = pushed_series(&body);
    let a = [("job", "a"), ("instance", "")];
    for want in [
        series(
            "zeta",
            &[("job", "b"), ("instance", "")],
            "1.7953895256667845e+09",
        ),
        series("alpha", &[("job", "b"), ("instance", "")], "NaN"),
        series(
            "zeta",
            &[("job", "a"), ("instance", ""), ("x", "1")],
            "+Inf",
        ),
        series(
            "zeta",
            &[("job", "a"), ("instance", ""), ("x", "2")],
            "-Inf",
        ),
        series("mid", &a, "1e+06"),
        series("mid2", &a, "123456"),
        series("mid3", &a, "1e-05"),
        series("mid4", &a, "0.0001"),
        series("mid5", &a, "-2"),
        series("mid6", &a, "1.5e+300"),
    ] {
        assert!(got.contains(&want), "missing {want:?} in:\n{body}");
    }
    // Synthetic series per group, and the server's own request counter.
    for job in ["a", "b"] {
        for name in ["push_time_seconds", "push_failure_time_seconds"] {
            assert!(
                got.iter()
                    .any(|(n, l, _)| n == name && *l == labels(&[("job", job), ("instance", "")])),
                "no {name} for {job}:\n{body}"
            );
        }
    }
    assert!(
        body.contains("# TYPE pushgateway_http_requests_total counter\n"),
        "{body}"
    );
    assert!(
        body.lines()
            .any(|l| l.starts_with("pushgateway_http_requests_total{")
                && l.contains("code=\"200\"")
                && l.contains("handler=\"push\"")
                && l.contains("method=\"put\"")),
        "{body}"
    );
    assert!(body.contains("# TYPE push_time_seconds gauge\n"), "{body}");
    assert!(body.contains("# HELP push_time_seconds Last Unix time when changing this group in the Pushgateway succeeded.\n"), "{body}");
}

#[test]
fn scrape_is_gzipped_on_request() {
    let g = Pgw::start(&[]);
    ok(&g, "PUT", "/metrics/job/j", "compressed_metric 1\n");
    let r = raw_get(&g.url(), "/metrics", &[("Accept-Encoding", "gzip")]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    let text = String::from_utf8(gunzip(&r.body)).unwrap();
    assert!(
        pushed_series(&text).contains(&series(
            "compressed_metric",
            &[("job", "j"), ("instance", "")],
            "1"
        )),
        "{text}"
    );
    let r = raw_get(&g.url(), "/metrics", &[]);
    assert_eq!(r.header("content-encoding"), None);
    assert!(String::from_utf8(r.body)
        .unwrap()
        .contains("compressed_metric{"));
}

/// Enough groups that the store cuts them into several runs, each of which
/// the second answer sends from what the first kept: the answer must still
/// be one whole document, its length announced, in key order, and follow
/// every change.
#[test]
fn json_api_of_many_groups_follows_changes() {
    let g = Pgw::start(&[]);
    let n = 300;
    for i in 0..n {
        ok(
            &g,
            "PUT",
            &format!("/metrics/job/many/instance/i-{i:03}"),
            &format!("# TYPE jobs_done counter\njobs_done {i}\n"),
        );
    }
    let read = || {
        let r = get(&format!("{}/api/v1/metrics", g.url()));
        assert_eq!(
            r.header("content-length"),
            Some(r.body.len().to_string().as_str()),
            "the length sent is the body's"
        );
        r.json()
    };
    let done = |api: &serde_json::Value, i: usize| {
        group(api, &[("job", "many"), ("instance", &format!("i-{i:03}"))]).map(|g| {
            g["jobs_done"]["metrics"][0]["value"]
                .as_str()
                .unwrap()
                .to_string()
        })
    };
    let first = read();
    let second = read();
    assert_eq!(
        first, second,
        "a store that did not change answers the same"
    );
    let instances: Vec<String> = second["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["labels"]["instance"].as_str().unwrap().to_string())
        .collect();
    let want: Vec<String> = (0..n).map(|i| format!("i-{i:03}")).collect();
    assert_eq!(instances, want, "every group, in key order");
    ok(
        &g,
        "POST",
        "/metrics/job/many/instance/i-150",
        "# TYPE jobs_done counter\njobs_done 9999\n",
    );
    let changed = read();
    assert_eq!(done(&changed, 150).as_deref(), Some("9999"));
    assert_eq!(done(&changed, 149).as_deref(), Some("149"));
    assert_eq!(done(&changed, 151).as_deref(), Some("151"));
    let r = send(&g, "DELETE", "/metrics/job/many/instance/i-000", "");
    assert_eq!(r.status, 202);
    let deleted = poll(Duration::from_secs(10), || {
        let api = read();
        (api["data"].as_array().unwrap().len() == n - 1).then_some(api)
    })
    .expect("the deletion shows in the JSON API");
    assert_eq!(done(&deleted, 0), None, "the deleted group is gone");
    assert_eq!(done(&deleted, 299).as_deref(), Some("299"));
}

#[test]
fn json_api_shapes() {
    let g = Pgw::start(&[]);
    let empty = get(&format!("{}/api/v1/metrics", g.url()));
    assert_eq!(empty.json(), json!({"status": "success", "data": []}));
    for (name, value) in [
        (
            "access-control-allow-headers",
            "Accept, Authorization, Content-Type, Origin",
        ),
        ("access-control-allow-methods", "GET, POST, DELETE, OPTIONS"),
        ("access-control-allow-origin", "*"),
        ("access-control-expose-headers", "Date"),
        ("cache-control", "no-cache, no-store, must-revalidate"),
        ("content-type", "application/json"),
    ] {
        assert_eq!(empty.header(name), Some(value), "header {name}");
    }
    let opts = request("OPTIONS", &format!("{}/api/v1/metrics", g.url()), &[], b"");
    assert_eq!(opts.status, 200);
    assert_eq!(opts.body, b"");

    // The spec's observed example group.
    ok(
        &g,
        "PUT",
        "/metrics/job/batch",
        "# HELP job_runs_total Runs.\n# TYPE job_runs_total counter\njob_runs_total{job=\"ignored\",instance=\"x\"} 7\n\
         # HELP job_duration_seconds Duration.\n# TYPE job_duration_seconds histogram\n\
         job_duration_seconds_bucket{le=\"0.5\"} 1\njob_duration_seconds_bucket{le=\"1\"} 3\njob_duration_seconds_bucket{le=\"+Inf\"} 4\n\
         job_duration_seconds_sum 2.5\njob_duration_seconds_count 4\n\
         # TYPE rpc_seconds summary\nrpc_seconds{quantile=\"0.5\"} 0.2\nrpc_seconds{quantile=\"0.9\"} 0.7\nrpc_seconds_sum 12.5\nrpc_seconds_count 40\n\
         # TYPE temp gauge\ntemp{quote=\"a\\\"b\\\\c\"} 1795389525.6667845\nsome_metric 3.14\n",
    );
    let a = g.api();
    assert_eq!(a["status"], json!("success"));
    let grp = group(&a, &[("job", "batch")]).expect("group job=batch");
    let base = json!({"instance": "", "job": "batch"});
    assert_eq!(grp["labels"], json!({"job": "batch"}));
    assert_eq!(grp["last_push_successful"], json!(true));
    let fam = |name: &str| {
        let f = grp[name].clone();
        assert!(f.is_object(), "no family {name} in {grp}");
        let ts = f["time_stamp"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: time_stamp in {f}"));
        assert!(is_rfc3339(ts), "{name}: time_stamp {ts:?} is not RFC 3339");
        f
    };
    let f = fam("job_runs_total");
    assert_eq!(f["type"], json!("COUNTER"));
    assert_eq!(f["help"], json!("Runs."));
    assert_eq!(
        f["metrics"],
        json!([{"labels": {"instance": "x", "job": "batch"}, "value": "7"}])
    );
    let f = fam("job_duration_seconds");
    assert_eq!(f["type"], json!("HISTOGRAM"));
    assert_eq!(f["help"], json!("Duration."));
    assert_eq!(
        f["metrics"],
        json!([{"buckets": {"+Inf": "4", "0.5": "1", "1": "3"}, "count": "4", "labels": base, "sum": "2.5"}])
    );
    let f = fam("rpc_seconds");
    assert_eq!(f["type"], json!("SUMMARY"));
    assert_eq!(f.get("help"), None, "an empty HELP is omitted: {f}");
    assert_eq!(
        f["metrics"],
        json!([{"count": "40", "labels": base, "quantiles": {"0.5": "0.2", "0.9": "0.7"}, "sum": "12.5"}])
    );
    let f = fam("temp");
    assert_eq!(f["type"], json!("GAUGE"));
    assert_eq!(
        f["metrics"],
        json!([{"labels": {"instance": "", "job": "batch", "quote": "a\"b\\c"}, "value": "1.7953895256667845e+09"}])
    );
    let f = fam("some_metric");
    assert_eq!(f["type"], json!("UNTYPED"));
    assert_eq!(f["metrics"], json!([{"labels": base, "value": "3.14"}]));
    let f = fam("push_time_seconds");
    assert_eq!(f["type"], json!("GAUGE"));
    assert_eq!(
        f["help"],
        json!("Last Unix time when changing this group in the Pushgateway succeeded.")
    );
    let v = f["metrics"][0]["value"].as_str().unwrap();
    assert!(v.parse::<f64>().unwrap() > 1e9, "push_time_seconds {v}");
    assert_eq!(f["metrics"][0]["labels"], base);
    let f = fam("push_failure_time_seconds");
    assert_eq!(
        f["help"],
        json!("Last Unix time when changing this group in the Pushgateway failed.")
    );
    assert_eq!(f["metrics"], json!([{"labels": base, "value": "0"}]));
}

/// `2026-11-22T23:18:45.666784489Z` or with a numeric offset.
fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    let zone_ok = s.ends_with('Z') || {
        let z = &s[s.len().saturating_sub(6)..];
        z.len() == 6 && (z.starts_with('+') || z.starts_with('-')) && z.as_bytes()[3] == b':'
    };
    b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && zone_ok
}

/// Upstream's grouping-key string: names sorted, `name 0xFF value` pairs
/// joined with 0xFF. pgw orders groups by it (upstream: random map order).
fn grouping_key_bytes(labels: &BTreeMap<String, String>) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (n, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(0xff);
        }
        out.extend_from_slice(n.as_bytes());
        out.push(0xff);
        out.extend_from_slice(v.as_bytes());
    }
    out
}

#[test]
fn json_groups_come_in_grouping_key_order() {
    let g = Pgw::start(&[]);
    for path in [
        "/metrics/job/zz",
        "/metrics/job/b/instance/i2",
        "/metrics/job/a/zone/z",
        "/metrics/job/b",
        "/metrics/job/a",
        "/metrics/job/b/instance/i1",
        "/metrics/job/a/alpha/x",
    ] {
        ok(&g, "PUT", path, "m 1\n");
    }
    let got = group_labels(&g.api());
    let mut want = got.clone();
    want.sort_by_key(grouping_key_bytes);
    assert_eq!(got.len(), 7);
    assert_eq!(got, want, "groups are not in grouping-key order");
    // And it stays so across requests.
    assert_eq!(group_labels(&g.api()), got);
}

#[test]
fn status_api_shape() {
    let g = Pgw::start(&["--web.enable-admin-api"]);
    let r = get(&format!("{}/api/v1/status", g.url()));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let v = r.json();
    assert_eq!(v["status"], json!("success"));
    let data = &v["data"];
    for field in [
        "version",
        "revision",
        "branch",
        "buildUser",
        "buildDate",
        "goVersion",
    ] {
        assert!(
            data["build_information"][field].is_string(),
            "build_information.{field} in {v}"
        );
    }
    let flags = &data["flags"];
    // The flag as given; the actual address is also acceptable.
    let listen = flags["web.listen-address"].as_str().unwrap_or_default();
    assert!(
        listen == "127.0.0.1:0" || listen == format!("127.0.0.1:{}", g.port),
        "web.listen-address {listen:?} in {v}"
    );
    assert_eq!(flags["web.enable-admin-api"], json!("true"), "{v}");
    assert_eq!(flags["web.enable-lifecycle"], json!("false"), "{v}");
    assert_eq!(flags["web.telemetry-path"], json!("/metrics"), "{v}");
    assert_eq!(
        flags["push.disable-consistency-check"],
        json!("false"),
        "{v}"
    );
    assert_eq!(flags["log.level"], json!("info"), "{v}");
    assert!(
        flags.as_object().unwrap().values().all(|v| v.is_string()),
        "flag values are strings: {v}"
    );
    let start = data["start_time"].as_str().expect("start_time");
    assert!(is_rfc3339(start), "start_time {start:?}");
}

#[test]
fn wipe_needs_the_admin_flag() {
    let g = Pgw::start(&[]);
    ok(&g, "PUT", "/metrics/job/j", "m 1\n");
    let r = request("PUT", &format!("{}/api/v1/admin/wipe", g.url()), &[], b"");
    assert_eq!(r.status, 404);
    assert_eq!(g.groups().len(), 1);

    let g = Pgw::start(&["--web.enable-admin-api"]);
    ok(&g, "PUT", "/metrics/job/j", "m 1\n");
    ok(&g, "PUT", "/metrics/job/k/instance/i", "m 1\n");
    let r = get(&format!("{}/api/v1/admin/wipe", g.url()));
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("OPTIONS, PUT"));
    let r = request("PUT", &format!("{}/api/v1/admin/wipe", g.url()), &[], b"");
    assert_eq!(r.status, 202, "{}", r.text());
    // Upstream queues the deletes after answering: poll.
    let emptied = poll(Duration::from_secs(10), || {
        g.groups().is_empty().then_some(())
    });
    assert!(emptied.is_some(), "wipe left {:?}", g.groups());
    assert_eq!(user_series(&g), BTreeSet::new());
}

#[test]
fn health_and_readiness() {
    let g = Pgw::start(&[]);
    for path in ["/-/healthy", "/-/ready"] {
        let r = get(&format!("{}{path}", g.url()));
        assert_eq!(r.status, 200, "{path}");
        assert!(r.text().starts_with("OK"), "{path}: {}", r.text());
    }
}

#[test]
fn quit_needs_the_lifecycle_flag_and_then_exits() {
    let mut g = Pgw::start(&[]);
    let r = request("PUT", &format!("{}/-/quit", g.url()), &[], b"");
    assert_eq!(r.status, 403);
    assert!(
        r.text().contains("Lifecycle API is not enabled"),
        "{}",
        r.text()
    );
    assert!(
        g.proc.wait_exit(Duration::from_millis(200)).is_none(),
        "exited without the flag"
    );

    for method in ["PUT", "POST"] {
        let mut g = Pgw::start(&["--web.enable-lifecycle"]);
        let r = request("GET", &format!("{}/-/quit", g.url()), &[], b"");
        assert_eq!(r.status, 405, "GET /-/quit");
        let r = request(method, &format!("{}/-/quit", g.url()), &[], b"");
        assert_eq!(r.status, 200, "{method} /-/quit: {}", r.text());
        let status = g.proc.wait_exit(Duration::from_secs(10));
        assert!(
            status.is_some_and(|s| s.success()),
            "{method} /-/quit: process did not exit cleanly ({status:?})"
        );
    }
}

#[test]
fn route_prefix_moves_every_route() {
    let g = Pgw::start(&["--web.route-prefix=/pgw"]);
    let u = g.url();
    ok(&g, "PUT", "/pgw/metrics/job/j", "prefixed 1\n");
    let got = scrape_pushed(&format!("{u}/pgw/metrics"));
    assert!(
        got.contains(&series("prefixed", &[("job", "j"), ("instance", "")], "1")),
        "{got:?}"
    );
    assert_eq!(get(&format!("{u}/metrics")).status, 404);
    assert_eq!(put(&format!("{u}/metrics/job/j"), "m 1\n").status, 404);
    assert_eq!(get(&format!("{u}/api/v1/status")).status, 404);
    assert_eq!(get(&format!("{u}/pgw/-/healthy")).status, 200);
    assert_eq!(get(&format!("{u}/pgw/api/v1/status")).status, 200);
    let a = get(&format!("{u}/pgw/api/v1/metrics")).json();
    assert_eq!(group_labels(&a), vec![key(&[("job", "j")])]);
    assert_eq!(delete(&format!("{u}/pgw/metrics/job/j")).status, 202);
    assert_eq!(
        group_labels(&get(&format!("{u}/pgw/api/v1/metrics")).json()),
        vec![]
    );
}

#[test]
fn external_url_path_is_the_default_prefix_and_telemetry_path_moves_the_scrape() {
    // The spec's observed example.
    let g = Pgw::start(&[
        "--web.external-url=http://example.com/pgw/",
        "--web.telemetry-path=/scrape",
    ]);
    let u = g.url();
    ok(&g, "PUT", "/pgw/metrics/job/j", "moved 1\n");
    let got = scrape_pushed(&format!("{u}/pgw/scrape"));
    assert!(
        got.contains(&series("moved", &[("job", "j"), ("instance", "")], "1")),
        "{got:?}"
    );
    for path in ["/metrics", "/scrape", "/pgw/metrics", "/api/v1/status"] {
        assert_eq!(get(&format!("{u}{path}")).status, 404, "GET {path}");
    }
    assert_eq!(put(&format!("{u}/metrics/job/j"), "m 1\n").status, 404);
    assert_eq!(get(&format!("{u}/pgw/-/healthy")).status, 200);
    assert_eq!(get(&format!("{u}/pgw/api/v1/status")).status, 200);

    let g = Pgw::start(&["--web.telemetry-path=/scrape"]);
    ok(&g, "PUT", "/metrics/job/j", "moved 1\n");
    let got = scrape_pushed(&format!("{}/scrape", g.url()));
    assert!(
        got.contains(&series("moved", &[("job", "j"), ("instance", "")], "1")),
        "{got:?}"
    );
    assert_eq!(get(&format!("{}/metrics", g.url())).status, 404);
}

/// Difference (a): official answers 400 to all three bodies.
#[test]
fn difference_crlf_bom_and_missing_final_newline_are_accepted() {
    let g = Pgw::start(&[]);
    ok(
        &g,
        "PUT",
        "/metrics/job/crlf",
        "# TYPE crlf gauge\r\ncrlf{a=\"1\"} 1\r\n",
    );
    ok(
        &g,
        "PUT",
        "/metrics/job/bom",
        "\u{feff}# TYPE bom gauge\nbom 2\n",
    );
    ok(&g, "PUT", "/metrics/job/nonl", "nonl 3");
    assert_series(
        &user_series(&g),
        r#"
crlf{job="crlf",instance="",a="1"} 1
bom{job="bom",instance=""} 2
nonl{job="nonl",instance=""} 3
"#,
    );
    let a = g.api();
    assert_eq!(
        group(&a, &[("job", "crlf")]).unwrap()["crlf"]["type"],
        json!("GAUGE")
    );
    assert_eq!(
        group(&a, &[("job", "bom")]).unwrap()["bom"]["type"],
        json!("GAUGE")
    );
}

/// Difference (b): the official server creates a broken group for both of
/// these pushes, after which every scrape is 500 and every push 400.
#[test]
fn difference_rejected_pushes_never_poison_the_store() {
    let g = Pgw::start(&[]);
    ok(&g, "PUT", "/metrics/job/x", "m 1\n");
    // {job=x,instance=""} exposes the same series as {job=x}.
    rejected(
        &g,
        "PUT",
        "/metrics/job/x/instance@base64/=",
        &[],
        b"m 2\n",
        &[],
    );
    rejected(
        &g,
        "PUT",
        "/metrics/job/x/instance@base64/=",
        &[],
        b"other 2\n",
        &[],
    );
    // `Zm9v-_` decodes to "foo\xfb", which is not UTF-8.
    rejected(
        &g,
        "PUT",
        "/metrics/job/x/a@base64/Zm9v-_",
        &[],
        b"m 2\n",
        &[],
    );
    rejected(
        &g,
        "POST",
        "/metrics/job/y/a@base64/Zm9v-_",
        &[],
        b"n 2\n",
        &[],
    );
    assert_eq!(g.groups(), [key(&[("job", "x")])].into());
    // Everything keeps working.
    let r = get(&format!("{}/metrics", g.url()));
    assert_eq!(r.status, 200, "{}", r.text());
    ok(&g, "PUT", "/metrics/job/y", "n 1\n");
    assert_series(
        &user_series(&g),
        r#"
m{job="x",instance=""} 1
n{job="y",instance=""} 1
"#,
    );
}

/// Difference (f): with differing HELP strings the first group in
/// grouping-key order with a non-empty HELP wins (official: random).
#[test]
fn difference_help_comes_from_the_first_group_with_one() {
    let g = Pgw::start(&[]);
    // Pushed in reverse order, so insertion order cannot explain the result.
    ok(
        &g,
        "PUT",
        "/metrics/job/c",
        "# HELP shared_help From c.\n# TYPE shared_help gauge\nshared_help 3\n",
    );
    ok(
        &g,
        "PUT",
        "/metrics/job/b",
        "# HELP shared_help From b.\n# TYPE shared_help gauge\nshared_help 2\n",
    );
    ok(
        &g,
        "PUT",
        "/metrics/job/a",
        "# TYPE shared_help gauge\nshared_help 1\n",
    );
    let body = get(&format!("{}/metrics", g.url())).text();
    let helps: Vec<&str> = body
        .lines()
        .filter(|l| l.starts_with("# HELP shared_help "))
        .collect();
    assert_eq!(helps, vec!["# HELP shared_help From b."], "{body}");
    let n = pushed_series(&body)
        .iter()
        .filter(|(n, _, _)| n == "shared_help")
        .count();
    assert_eq!(n, 3);
}

#[test]
fn request_counter_counts_pushes_by_code() {
    let g = Pgw::start(&[]);
    ok(&g, "PUT", "/metrics/job/j", "m 1\n");
    let _ = send(&g, "PUT", "/metrics/job/j", "m{");
    let _ = send(&g, "DELETE", "/metrics/job/j", "");
    let body = get(&format!("{}/metrics", g.url())).text();
    let own: Vec<Series> = parse_exposition(&body)
        .into_iter()
        .filter(|(n, _, _)| n == "pushgateway_http_requests_total")
        .collect();
    for (code, handler, method) in [
        ("200", "push", "put"),
        ("400", "push", "put"),
        ("202", "delete", "delete"),
    ] {
        let l = labels(&[("code", code), ("handler", handler), ("method", method)]);
        assert!(
            own.iter().any(|(_, ls, v)| *ls == l && v == "1"),
            "no {l:?} = 1 in {own:?}"
        );
    }
}

#[test]
fn persistence_file_survives_a_graceful_restart() {
    let dir = TempDir::new("persist");
    let file = dir.path().join("store");
    let arg = format!("--persistence.file={}", file.display());
    let mut g = Pgw::start(&[&arg, "--persistence.interval=5m", "--web.enable-lifecycle"]);
    ok(
        &g,
        "PUT",
        "/metrics/job/p/instance/i",
        "# HELP kept Kept.\n# TYPE kept gauge\nkept{a=\"1\"} 1.5\n",
    );
    ok(
        &g,
        "PUT",
        "/metrics/job/q",
        "# TYPE other counter\nother 2\n",
    );
    let before = sorted_groups(g.api());
    // The interval is long: only the shutdown can have written the file.
    let r = request("PUT", &format!("{}/-/quit", g.url()), &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    let status = g.proc.wait_exit(Duration::from_secs(10));
    assert!(status.is_some_and(|s| s.success()), "exit: {status:?}");
    assert!(file.exists(), "no persistence file after shutdown");

    let g = Pgw::start(&[&arg]);
    assert_eq!(
        sorted_groups(g.api()),
        before,
        "the store changed across a restart"
    );
}

#[test]
fn a_damaged_persistence_file_is_refused_and_left_untouched() {
    let dir = TempDir::new("damaged");
    let file = dir.path().join("store");
    let garbage = b"this is not a pgw snapshot\n".to_vec();
    std::fs::write(&file, &garbage).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pgw"))
        .arg("serve")
        .arg("--web.listen-address=127.0.0.1:0")
        .arg(format!("--persistence.file={}", file.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pgw: error:")
            && stderr.contains("refusing to start")
            && stderr.contains("move them aside"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        garbage,
        "the file was changed"
    );
}
