//! UTF-8 metric and label names, as the official 1.11 handles them, on a real
//! `pgw serve`: quoted names in text pushes refused without
//! `--push.enable-utf8-names` and stored with it; protobuf pushes with such
//! names accepted either way; `U__` label names in push paths kept literally
//! without the flag and decoded with it; the scrape escaping them with
//! underscores by default while the JSON API shows them raw; and a restart
//! from persistence keeping them.

use pgw::exposition::{proto, Family, Label, Metric, MetricType, Value};
use serde_json::Value as Json;

use crate::util::*;

const PROTO_CT: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

const FLAG: &str = "--push.enable-utf8-names";

/// A text body with a quoted metric name, a quoted label name and a summary,
/// whose suffixed lines must land under the escaped family name.
const TEXT_BODY: &str = "# HELP \"my.metric\" Dotted.\n# TYPE \"my.metric\" counter\n\
                         {\"my.metric\",\"dotted.label.name\"=\"v\"} 1\n\
                         # TYPE \"lat.seconds\" summary\n\
                         {\"lat.seconds\",quantile=\"0.5\"} 0.25\n\
                         {\"lat.seconds_sum\"} 2\n\"lat.seconds_count\" 8\n";

/// The scrape's pushed lines (no push-time series, no own metrics).
fn pushed_lines(g: &Pgw) -> Vec<String> {
    let r = get(&format!("{}/metrics", g.url()));
    assert_eq!(r.status, 200);
    r.text()
        .lines()
        .filter(|l| {
            !l.contains("push_time_seconds")
                && !l.contains("push_failure_time_seconds")
                && !l.contains("pushgateway_")
                && !l.contains("process_")
                && !l.contains("pgw_")
        })
        .map(str::to_string)
        .collect()
}

/// The one group of `/api/v1/metrics`.
fn only_group(g: &Pgw) -> Json {
    let api = g.api();
    let data = api["data"].as_array().expect("data");
    assert_eq!(data.len(), 1, "{api}");
    data[0].clone()
}

#[test]
fn quoted_utf8_names_in_text_are_refused_without_the_flag() {
    let g = Pgw::start(&[]);
    let url = format!("{}/metrics/job/j", g.url());
    let r = put(&url, "a 1\n\"my.metric\" 1\n");
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        "text format parsing error in line 2: invalid metric name \"my.metric\"\n"
    );
    let r = put(&url, "m{\"a.b\"=\"v\"} 1\n");
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        "text format parsing error in line 1: invalid label name \"a.b\" for metric \"m\"\n"
    );
    assert!(g.jobs().is_empty(), "nothing stored");
    // The quoted syntax itself is accepted for legacy names, as upstream.
    assert_eq!(put(&url, "{\"foo\",\"x\"=\"1\"} 1\n").status, 200);
    assert_eq!(
        pushed_lines(&g),
        [
            "# TYPE foo untyped",
            "foo{instance=\"\",job=\"j\",x=\"1\"} 1"
        ]
    );
}

#[test]
fn quoted_utf8_names_in_text_are_stored_with_the_flag() {
    let g = Pgw::start(&[FLAG]);
    let r = put(&format!("{}/metrics/job/j", g.url()), TEXT_BODY);
    assert_eq!(r.status, 200, "{}", r.text());
    // A scraper that names no scheme gets underscores.
    assert_eq!(
        pushed_lines(&g),
        [
            "# TYPE lat_seconds summary",
            "lat_seconds{instance=\"\",job=\"j\",quantile=\"0.5\"} 0.25",
            "lat_seconds_sum{instance=\"\",job=\"j\"} 2",
            "lat_seconds_count{instance=\"\",job=\"j\"} 8",
            "# HELP my_metric Dotted.",
            "# TYPE my_metric counter",
            "my_metric{dotted_label_name=\"v\",instance=\"\",job=\"j\"} 1",
        ]
    );
    // The JSON API has the raw names.
    let group = only_group(&g);
    let family = &group["my.metric"];
    assert_eq!(family["type"], "COUNTER", "{group}");
    assert_eq!(family["help"], "Dotted.");
    assert_eq!(family["metrics"][0]["labels"]["dotted.label.name"], "v");
    assert_eq!(family["metrics"][0]["value"], "1");
    assert_eq!(group["lat.seconds"]["metrics"][0]["count"], "8", "{group}");
    // Errors of the quoted syntax name the line.
    let r = put(
        &format!("{}/metrics/job/k", g.url()),
        "{\"a.b\",\"c.d\"} 1\n",
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        "text format parsing error in line 1: multiple metric names for metric \"c.d\"\n"
    );
    let r = put(&format!("{}/metrics/job/k", g.url()), "\"a\\x\" 1\n");
    assert_eq!(
        r.text(),
        "text format parsing error in line 1: invalid escape sequence '\\x'\n"
    );
    // `__name__` stays reserved.
    let r = put(
        &format!("{}/metrics/job/k", g.url()),
        "m{\"__name__\"=\"x\"} 1\n",
    );
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("label name \"__name__\" is reserved"),
        "{}",
        r.text()
    );
    assert_eq!(g.jobs(), ["j"]);
}

#[test]
fn protobuf_pushes_with_utf8_names_are_accepted_without_the_flag() {
    let g = Pgw::start(&[]);
    let mut f = Family::new("another.metric", MetricType::Gauge);
    f.metrics.push(Metric {
        labels: vec![Label::new("dotted.label.name", "v"), Label::new("é", "w")],
        value: Value::Single(3.0),
        timestamp_ms: None,
        extras: None,
    });
    let body = proto::encode_delimited(&[f]);
    let url = format!("{}/metrics/job/pb", g.url());
    let r = request("PUT", &url, &[("Content-Type", PROTO_CT)], &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        pushed_lines(&g),
        [
            "# TYPE another_metric gauge",
            "another_metric{dotted_label_name=\"v\",instance=\"\",job=\"pb\",_=\"w\"} 3",
        ]
    );
    let group = only_group(&g);
    let labels = &group["another.metric"]["metrics"][0]["labels"];
    assert_eq!(labels["dotted.label.name"], "v", "{group}");
    assert_eq!(labels["é"], "w", "{group}");
    // Label names still must not be empty or reserved.
    for bad in ["", "__x.y"] {
        let mut f = Family::new("m", MetricType::Gauge);
        f.metrics.push(Metric {
            labels: vec![Label::new(bad, "v")],
            value: Value::Single(1.0),
            timestamp_ms: None,
            extras: None,
        });
        let body = proto::encode_delimited(&[f]);
        let url = format!("{}/metrics/job/bad", g.url());
        let r = request("PUT", &url, &[("Content-Type", PROTO_CT)], &body);
        assert_eq!(r.status, 400, "{bad:?}");
        assert!(
            r.text()
                .contains(&format!("has a label with an invalid name: {bad}\n")),
            "{}",
            r.text()
        );
    }
    assert_eq!(g.jobs(), ["pb"]);
}

#[test]
fn u_label_names_in_push_paths_are_literal_without_the_flag() {
    let g = Pgw::start(&[]);
    let r = put(
        &format!("{}/metrics/job/j/U__foo_2e_bar/v", g.url()),
        "x 1\n",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        g.groups(),
        [key(&[("job", "j"), ("U__foo_2e_bar", "v")])].into()
    );
    for (path, name) in [("a.b", "a.b"), ("a%2Eb", "a.b"), ("%C3%A9", "é")] {
        let r = put(&format!("{}/metrics/job/k/{path}/v", g.url()), "x 1\n");
        assert_eq!(r.status, 400, "{path}");
        assert_eq!(r.text(), format!("improper label name {name:?}\n"));
    }
    assert_eq!(g.groups().len(), 1);
}

#[test]
fn u_label_names_in_push_paths_are_decoded_with_the_flag() {
    let g = Pgw::start(&[FLAG]);
    let base = g.url();
    let ok = |path: &str| {
        let r = put(&format!("{base}/metrics/job/{path}"), "x 1\n");
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    };
    ok("a/U__foo_2e_bar@base64/YmF6");
    ok("b/U___55_____/v");
    ok("c/U__in_xxx_valid/v");
    ok("d/a%2Eb/v");
    ok("e/%C3%A9/v");
    assert_eq!(
        g.groups(),
        [
            key(&[("job", "a"), ("foo.bar", "baz")]),
            key(&[("job", "b"), ("U__", "v")]),
            key(&[("job", "c"), ("U__in_xxx_valid", "v")]),
            key(&[("job", "d"), ("a.b", "v")]),
            key(&[("job", "e"), ("é", "v")]),
        ]
        .into()
    );
    // The grouping label is escaped on the scrape like any label name.
    let lines = pushed_lines(&g);
    assert!(
        lines.contains(&"x{a_b=\"v\",instance=\"\",job=\"d\"} 1".to_string()),
        "{lines:?}"
    );
    // pgw's group path names it in its U__ form, which reads back.
    let groups = get(&format!("{base}/api/v1/groups")).json();
    let d = groups["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["labels"]["job"] == "d")
        .unwrap()
        .clone();
    assert_eq!(d["path"], "/metrics/job/d/U__a_2e_b/v");
    assert_eq!(
        delete(&format!("{base}/metrics/job/d/U__a_2e_b/v")).status,
        202
    );
    assert_eq!(g.groups().len(), 4);
    // Upstream stores this one and breaks its scrape: pgw refuses it.
    let r = put(&format!("{base}/metrics/job/f/U______foo/v"), "x 1\n");
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        "improper label name \"U______foo\": it unescapes to \"__foo\", \
         and names starting with __ are reserved\n"
    );
    let r = put(&format!("{base}/metrics/job/f/__foo/v"), "x 1\n");
    assert_eq!(r.text(), "improper label name \"__foo\"\n");
    assert_eq!(g.groups().len(), 4);
}

#[test]
fn the_flag_is_in_the_status_and_on_the_page() {
    for (args, value) in [(&[][..], "false"), (&[FLAG][..], "true")] {
        let g = Pgw::start(args);
        let status = get(&format!("{}/api/v1/status", g.url())).json();
        assert_eq!(
            status["data"]["flags"]["push.enable-utf8-names"], value,
            "{status}"
        );
        let page = get(&format!("{}/", g.url())).text();
        assert!(
            page.contains(&format!(
                "<meta name=\"pgw-utf8-names\" content=\"{value}\">"
            )),
            "{page}"
        );
    }
}

#[test]
fn utf8_families_survive_a_restart_from_persistence() {
    let dir = TempDir::new("utf8");
    let file = format!("--persistence.file={}", dir.path().join("store").display());
    let mut g = Pgw::start(&[&file, FLAG]);
    let r = put(&format!("{}/metrics/job/j/a.b/c", g.url()), TEXT_BODY);
    assert_eq!(r.status, 200, "{}", r.text());
    let before = pushed_lines(&g);
    let json_before = only_group(&g);
    g.terminate();
    // Restarted without the flag: what was stored stays, escaped the same.
    let g = Pgw::start(&[&file]);
    assert_eq!(pushed_lines(&g), before);
    assert!(
        before.contains(
            &"my_metric{a_b=\"c\",dotted_label_name=\"v\",instance=\"\",job=\"j\"} 1".to_string()
        ),
        "{before:?}"
    );
    let json_after = only_group(&g);
    assert_eq!(
        json_after["my.metric"]["metrics"],
        json_before["my.metric"]["metrics"]
    );
    assert_eq!(json_after["labels"]["a.b"], "c");
    assert_eq!(json_after["lat.seconds"]["metrics"][0]["sum"], "2");
}

#[test]
fn pgw_push_sends_utf8_names_with_utf8_names() {
    let g = Pgw::start(&[FLAG]);
    let gw = g.url();
    let body = "# TYPE \"my.metric\" gauge\n\"my.metric\"{\"a.b\"=\"v\"} 2\n";
    // Without --utf8-names the client refuses the input: exit 3, nothing sent.
    let run = run_pgw(
        &["push", "-g", &gw, "-j", "j", "-l", "zone.name=eu"],
        Input::Pipe(body),
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("UTF-8 names need --utf8-names"),
        "{}",
        run.stderr
    );
    let run = run_pgw(&["push", "-g", &gw, "-j", "j"], Input::Pipe(body), &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("invalid metric name \"my.metric\""),
        "{}",
        run.stderr
    );
    assert!(g.jobs().is_empty());
    let run = run_pgw(
        &[
            "push",
            "--utf8-names",
            "-g",
            &gw,
            "-j",
            "j",
            "-l",
            "zone.name=eu",
        ],
        Input::Pipe(body),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        g.groups(),
        [key(&[("job", "j"), ("zone.name", "eu")])].into()
    );
    assert_eq!(
        pushed_lines(&g),
        [
            "# TYPE my_metric gauge",
            "my_metric{a_b=\"v\",instance=\"\",job=\"j\",zone_name=\"eu\"} 2"
        ]
    );
}
