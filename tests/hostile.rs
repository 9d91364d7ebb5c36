//! Hostile pushes against `pgw serve` on real sockets: bodies of more series
//! than `--push.max-series` or longer labels than their limits stop the
//! parser where they go over (text and protobuf), bodies beyond the
//! in-flight budget get 503 with `Retry-After`, and grouping keys of too
//! many labels are refused; none of them stores anything. Resident memory
//! under such bodies is measured by `benches/run_hostile_bench.sh`, not here.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use pgw::exposition::{proto, Family, Label, Metric, MetricType, Value};

use crate::util::*;

const PROTO_CT: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

fn limit_hits(g: &Pgw, limit: &str) -> Option<f64> {
    own_metric(g, &format!("pgw_limit_hits_total{{limit=\"{limit}\"}} "))
}

/// `a{i="0"} 1` ... : the tiniest series, the most of them per byte.
fn tiny_series(n: usize) -> String {
    (0..n).map(|i| format!("a{{i=\"{i}\"}} 1\n")).collect()
}

#[test]
fn a_text_body_over_the_series_limit_stops_at_the_limit() {
    let g = Pgw::start(&["--push.max-series=100"]);
    let r = put(
        &format!("{}/metrics/job/hostile", g.url()),
        &tiny_series(10_000),
    );
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(
        r.text().trim_end(),
        "the push has more than 100 series; parsing stopped at line 101 \
         (limit 100, set by --push.max-series)"
    );
    assert!(g.jobs().is_empty(), "{:?}", g.jobs());
    assert_eq!(limit_hits(&g, "series_per_push"), Some(1.0));
    // At the limit, the same push is taken.
    let r = put(
        &format!("{}/metrics/job/hostile", g.url()),
        &tiny_series(100),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(g.jobs(), ["hostile"]);
}

#[test]
fn a_protobuf_body_over_the_series_limit_stops_at_the_limit() {
    let g = Pgw::start(&["--push.max-series=100"]);
    let family = |n: usize| Family {
        metrics: (0..n)
            .map(|i| Metric {
                labels: vec![Label::new("i", i.to_string())],
                value: Value::Single(1.0),
                timestamp_ms: None,
                extras: None,
            })
            .collect(),
        ..Family::new("a", MetricType::Gauge)
    };
    let url = format!("{}/metrics/job/hostile", g.url());
    let body = proto::encode_delimited(&[family(10_000)]);
    let r = request("PUT", &url, &[("Content-Type", PROTO_CT)], &body);
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(
        r.text().starts_with(
            "the push has more than 100 series; parsing stopped in message 0 at byte 0"
        ) && r.text().contains("(limit 100, set by --push.max-series)"),
        "{}",
        r.text()
    );
    assert!(g.jobs().is_empty(), "{:?}", g.jobs());
    assert_eq!(limit_hits(&g, "series_per_push"), Some(1.0));
    let body = proto::encode_delimited(&[family(100)]);
    let r = request("PUT", &url, &[("Content-Type", PROTO_CT)], &body);
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn a_label_over_its_limit_stops_the_parser_at_its_line() {
    let g = Pgw::start(&["--push.max-label-value-length=16"]);
    let url = format!("{}/metrics/job/hostile", g.url());
    // Line 3 is not even valid: the parser stopped at line 2.
    let long = "x".repeat(17);
    let r = put(
        &url,
        &format!("a{{i=\"1\"}} 1\na{{i=\"{long}\"}} 1\n}}}}\n"),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        r.text().trim_end(),
        "the value of label i of metric a at line 2 is 17 bytes long \
         (limit 16, set by --push.max-label-value-length)"
    );
    let mut family = Family::new("a", MetricType::Gauge);
    family.metrics.push(Metric {
        labels: vec![Label::new("i", long.as_str())],
        value: Value::Single(1.0),
        timestamp_ms: None,
        extras: None,
    });
    let body = proto::encode_delimited(&[family]);
    let r = request("PUT", &url, &[("Content-Type", PROTO_CT)], &body);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("--push.max-label-value-length"),
        "{}",
        r.text()
    );
    assert!(g.jobs().is_empty(), "{:?}", g.jobs());
    assert_eq!(limit_hits(&g, "label_value_length"), Some(2.0));
}

/// A push whose body arrives in two parts: the headers and `first` bytes
/// now, the rest when [`SlowPush::finish`] is called.
struct SlowPush {
    stream: TcpStream,
    rest: Vec<u8>,
}

impl SlowPush {
    fn start(g: &Pgw, job: &str, body: &[u8], first: usize) -> SlowPush {
        let mut stream = TcpStream::connect(("127.0.0.1", g.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let head = format!(
            "PUT /metrics/job/{job} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&body[..first]).unwrap();
        stream.flush().unwrap();
        SlowPush {
            stream,
            rest: body[first..].to_vec(),
        }
    }

    /// Sends the rest of the body; the status line of the answer.
    fn finish(mut self) -> String {
        self.stream.write_all(&self.rest).unwrap();
        let mut answer = String::new();
        self.stream.read_to_string(&mut answer).unwrap();
        answer.lines().next().unwrap_or_default().to_string()
    }
}

/// A valid text body of exactly `len` bytes: tiny series, then a comment
/// that fills up the rest.
fn body_of(len: usize) -> Vec<u8> {
    let mut body = String::new();
    let mut i = 0;
    loop {
        let line = format!("s{{i=\"{i}\"}} 1\n");
        if body.len() + line.len() + 3 > len {
            break;
        }
        body.push_str(&line);
        i += 1;
    }
    let pad = len - body.len() - 2;
    body.push('#');
    body.push_str(&" ".repeat(pad));
    body.push('\n');
    assert_eq!(body.len(), len);
    body.into_bytes()
}

#[test]
fn bodies_beyond_the_inflight_budget_get_503_with_retry_after() {
    let g = Pgw::start(&[
        "--push.max-body-size=1000",
        "--push.max-inflight-bytes=2000",
    ]);
    // Two uploads hold 900 bytes each of the 2000 while they wait for the
    // rest of their bodies.
    let body = body_of(1000);
    let slow = [
        SlowPush::start(&g, "slow1", &body, 900),
        SlowPush::start(&g, "slow2", &body, 900),
    ];
    let held = poll(Duration::from_secs(20), || {
        let held = own_metric(&g, "pgw_push_body_bytes_in_flight ")?;
        (held == 1800.0).then_some(held)
    });
    assert_eq!(
        held,
        Some(1800.0),
        "the slow uploads never held their bytes"
    );
    // 300 more bytes do not fit.
    let url = format!("{}/metrics/job/third", g.url());
    let r = request("PUT", &url, &[], &body_of(300));
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(
        r.text()
            .contains("(limit 2000, set by --push.max-inflight-bytes)"),
        "{}",
        r.text()
    );
    assert_eq!(limit_hits(&g, "inflight_bytes"), Some(1.0));
    // Nothing was stored for it, and it holds nothing.
    assert!(g.jobs().is_empty(), "{:?}", g.jobs());
    assert_eq!(
        own_metric(&g, "pgw_push_body_bytes_in_flight "),
        Some(1800.0)
    );
    // The uploads finish and are taken; then there is room again.
    for push in slow {
        assert_eq!(push.finish(), "HTTP/1.1 200 OK");
    }
    assert_eq!(own_metric(&g, "pgw_push_body_bytes_in_flight "), Some(0.0));
    assert_eq!(request("PUT", &url, &[], &body_of(300)).status, 200);
    assert_eq!(g.jobs(), ["slow1", "slow2", "third"]);
}

#[test]
fn a_compressed_body_counts_its_decompressed_size() {
    let g = Pgw::start(&[
        "--push.max-body-size=1000",
        "--push.max-inflight-bytes=2000",
    ]);
    let slow = SlowPush::start(&g, "slow", &body_of(1000), 950);
    let held = poll(Duration::from_secs(20), || {
        let held = own_metric(&g, "pgw_push_body_bytes_in_flight ")?;
        (held == 950.0).then_some(held)
    });
    assert_eq!(held, Some(950.0));
    // Small on the wire, but 1000 bytes once inflated: 950 + its own
    // compressed bytes + 1000 is over 2000, so it may not inflate.
    let url = format!("{}/metrics/job/zipped", g.url());
    let zipped = gzip(&body_of(1000));
    assert!(zipped.len() < 200, "{}", zipped.len());
    let r = request("PUT", &url, &[("Content-Encoding", "gzip")], &zipped);
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(slow.finish(), "HTTP/1.1 200 OK");
    let r = request("PUT", &url, &[("Content-Encoding", "gzip")], &zipped);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(g.jobs(), ["slow", "zipped"]);
}

#[test]
fn a_budget_too_small_for_one_push_is_refused_at_start() {
    let stderr = refused_start_with(
        2,
        &[
            "--push.max-body-size=1000",
            "--push.max-inflight-bytes=1999",
        ],
    );
    assert!(
        stderr.contains("--push.max-inflight-bytes must be at least twice --push.max-body-size"),
        "{stderr}"
    );
}

#[test]
fn a_grouping_key_of_too_many_labels_is_refused() {
    let g = Pgw::start(&["--push.max-grouping-key-labels=4"]);
    let url = format!("{}/metrics/job/j/a/1/b/2/c/3/d/4", g.url());
    let r = put(&url, "m 1\n");
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        r.text().trim_end(),
        "the grouping key has 5 labels (limit 4, set by --push.max-grouping-key-labels)"
    );
    assert!(g.jobs().is_empty(), "{:?}", g.jobs());
    assert_eq!(limit_hits(&g, "grouping_key_labels"), Some(1.0));
    // A DELETE is not refused: it must reach groups made under a higher limit.
    assert_eq!(delete(&url).status, 202);
    assert_eq!(
        put(&format!("{}/metrics/job/j/a/1/b/2/c/3", g.url()), "m 1\n").status,
        200
    );
}

#[test]
fn a_push_path_of_5000_labels_is_refused_by_default() {
    let g = Pgw::start(&[]);
    let path: String = (0..5000).map(|i| format!("/l{i}/v")).collect();
    let r = put(&format!("{}/metrics/job/j{path}", g.url()), "m 1\n");
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("5001 labels") && r.text().contains("--push.max-grouping-key-labels"),
        "{}",
        r.text()
    );
    assert!(g.jobs().is_empty(), "{:?}", g.jobs());
}
