//! The scrape's content negotiation against the real parts: the official
//! Pushgateway given the same pushes and the same `Accept` headers (every
//! header Prometheus 2.42 and 3.x send), both answers decoded and compared
//! field by field; gzip on protobuf; and a real Prometheus scraping pgw over
//! protobuf (native histograms on) and over text.
//!
//! The protobuf messages are the tests' own (`pb.rs`), so that what pgw
//! writes is read by a decoder of the test's own.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use prost::Message as _;

use crate::pb;
use crate::util::*;

const COUNTER: i32 = 0;
const GAUGE: i32 = 1;
const SUMMARY: i32 = 2;
const UNTYPED: i32 = 3;
const HISTOGRAM: i32 = 4;

const PROTO_DELIMITED: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";
const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every `Accept` header Prometheus 2.42 and 3.x send (§2.4 of the
/// addendum), with the format and escaping the official 1.11 answers.
const PROMETHEUS_ACCEPTS: &[(&str, &str, &str)] = &[
    (
        "2.42 default",
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        "text/plain; version=0.0.4; charset=utf-8; escaping=underscores",
    ),
    (
        "2.42 native histograms",
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=underscores",
    ),
    (
        "3.0-3.2 default",
        "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;escaping=allow-utf-8;q=0.3,*/*;q=0.2",
        "text/plain; version=0.0.4; charset=utf-8; escaping=allow-utf-8",
    ),
    (
        "3.3 default",
        "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;escaping=allow-utf-8;q=0.3,*/*;q=0.2",
        "text/plain; version=0.0.4; charset=utf-8; escaping=allow-utf-8",
    ),
    (
        "3.0-3.3 native histograms",
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;escaping=allow-utf-8;q=0.2,*/*;q=0.1",
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=allow-utf-8",
    ),
    (
        "3.4+ default",
        "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
        "text/plain; version=0.0.4; charset=utf-8; escaping=allow-utf-8",
    ),
    (
        "3.4+ native histograms",
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=underscores",
    ),
    (
        "no Accept",
        "",
        "text/plain; version=0.0.4; charset=utf-8; escaping=underscores",
    ),
    (
        "*/*",
        "*/*",
        "text/plain; version=0.0.4; charset=utf-8; escaping=underscores",
    ),
];

fn label(name: &str, value: &str) -> pb::LabelPair {
    pb::LabelPair {
        name: Some(name.into()),
        value: Some(value.into()),
    }
}

fn family(name: &str, help: &str, kind: i32, metric: Vec<pb::Metric>) -> pb::MetricFamily {
    pb::MetricFamily {
        name: Some(name.into()),
        help: (!help.is_empty()).then(|| help.into()),
        r#type: Some(kind),
        metric,
    }
}

fn counter(labels: Vec<pb::LabelPair>, v: f64) -> pb::Metric {
    pb::Metric {
        label: labels,
        counter: Some(pb::Counter {
            value: Some(v),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn gauge(labels: Vec<pb::LabelPair>, v: f64) -> pb::Metric {
    pb::Metric {
        label: labels,
        gauge: Some(pb::Gauge { value: Some(v) }),
        ..Default::default()
    }
}

fn histogram(labels: Vec<pb::LabelPair>, buckets: &[(f64, u64)], sum: f64) -> pb::Metric {
    pb::Metric {
        label: labels,
        histogram: Some(pb::Histogram {
            sample_count: buckets.last().map(|b| b.1),
            sample_sum: Some(sum),
            bucket: buckets
                .iter()
                .map(|&(le, n)| pb::Bucket {
                    cumulative_count: Some(n),
                    upper_bound: Some(le),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A delimited protobuf body, as client_golang's `push` writes one: each
/// family a length-prefixed `MetricFamily`.
fn delimited(families: &[pb::MetricFamily]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in families {
        f.encode_length_delimited(&mut out).unwrap();
    }
    out
}

fn decode(body: &[u8]) -> Vec<pb::MetricFamily> {
    let mut rest = body;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let f = pb::MetricFamily::decode_length_delimited(&mut rest)
            .unwrap_or_else(|e| panic!("not delimited protobuf ({e}): {body:?}"));
        out.push(f);
    }
    out
}

fn push_proto(url: &str, path: &str, families: &[pb::MetricFamily]) {
    let r = request(
        "PUT",
        &format!("{url}{path}"),
        &[("Content-Type", PROTO_DELIMITED)],
        &delimited(families),
    );
    assert!(
        r.status == 200 || r.status == 202,
        "{url}{path}: {}",
        r.text()
    );
}

fn push_text(url: &str, path: &str, body: &str) {
    let r = put(&format!("{url}{path}"), body);
    assert!(
        r.status == 200 || r.status == 202,
        "{url}{path}: {}",
        r.text()
    );
}

/// The same store in both servers: families shared by several groups, of
/// every classic type, pushed as text and as protobuf.
fn fill(url: &str) -> BTreeSet<String> {
    push_proto(
        url,
        "/metrics/job/batch/instance/a",
        &[
            family(
                "jobs_total",
                "Jobs run.",
                COUNTER,
                vec![
                    counter(vec![label("kind", "full")], 3.0),
                    counter(vec![label("kind", "incr")], 1e6),
                ],
            ),
            family(
                "rpc_seconds",
                "RPC latency.",
                HISTOGRAM,
                vec![histogram(
                    vec![label("path", "/x")],
                    &[(0.1, 1), (0.5, 4), (f64::INFINITY, 5)],
                    1.75,
                )],
            ),
            family(
                "temperature",
                "",
                GAUGE,
                vec![gauge(vec![], -12.5), gauge(vec![label("room", "b")], 0.1)],
            ),
        ],
    );
    push_proto(
        url,
        "/metrics/job/batch/instance/b",
        &[
            family(
                "jobs_total",
                "Jobs run.",
                COUNTER,
                vec![counter(vec![label("kind", "full")], 7.0)],
            ),
            family(
                "queue",
                "Queue latency.",
                SUMMARY,
                vec![pb::Metric {
                    summary: Some(pb::Summary {
                        sample_count: Some(9),
                        sample_sum: Some(4.5),
                        quantile: vec![
                            pb::Quantile {
                                quantile: Some(0.5),
                                value: Some(0.25),
                            },
                            pb::Quantile {
                                quantile: Some(0.99),
                                value: Some(f64::NAN),
                            },
                        ],
                        created_timestamp: None,
                    }),
                    ..Default::default()
                }],
            ),
            family(
                "plain_value",
                "",
                UNTYPED,
                vec![pb::Metric {
                    untyped: Some(pb::Untyped { value: Some(42.0) }),
                    ..Default::default()
                }],
            ),
        ],
    );
    push_text(
        url,
        "/metrics/job/cron",
        "# HELP jobs_total Jobs run.\n# TYPE jobs_total counter\njobs_total{kind=\"full\"} 2\n\
         # HELP rpc_seconds RPC latency.\n# TYPE rpc_seconds histogram\n\
         rpc_seconds_bucket{le=\"0.1\"} 0\nrpc_seconds_bucket{le=\"+Inf\"} 2\n\
         rpc_seconds_sum 3\nrpc_seconds_count 2\n\
         # HELP queue Queue latency.\n# TYPE queue summary\nqueue{quantile=\"0.5\"} 1\nqueue_sum 2\nqueue_count 3\n\
         plain_value{a=\"x\\\"y\"} 1.5e-7\n# TYPE up_flag gauge\nup_flag +Inf\n",
    );
    [
        "jobs_total",
        "rpc_seconds",
        "temperature",
        "queue",
        "plain_value",
        "up_flag",
        "push_time_seconds",
        "push_failure_time_seconds",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The pushed families of a protobuf scrape in a form both servers must
/// agree on: the servers' own families left out, push times zeroed (they
/// are clocks), series sorted (pgw writes them group by group, upstream by
/// label values: a difference the README names), NaN made comparable.
fn comparable(families: Vec<pb::MetricFamily>, pushed: &BTreeSet<String>) -> Vec<String> {
    let mut out = Vec::new();
    for mut f in families {
        let name = f.name.clone().unwrap_or_default();
        if !pushed.contains(&name) {
            continue;
        }
        if name == "push_time_seconds" {
            for m in &mut f.metric {
                if let Some(g) = &mut m.gauge {
                    g.value = Some(0.0);
                }
            }
        }
        let mut series: Vec<String> = f.metric.iter().map(|m| format!("{m:?}")).collect();
        series.sort();
        f.metric.clear();
        out.push(format!("{f:?} {series:#?}"));
    }
    out
}

fn scrape(url: &str, accept: &str) -> Resp {
    let mut headers = vec![];
    if !accept.is_empty() {
        headers.push(("Accept", accept));
    }
    let r = request("GET", &format!("{url}/metrics"), &headers, b"");
    assert_eq!(r.status, 200, "{url}: {}", r.text());
    r
}

/// The media type and the parameters other than `escaping` (which 1.5.1
/// does not write), spaces removed.
fn media_and_encoding(content_type: &str) -> String {
    content_type
        .split(';')
        .map(str::trim)
        .filter(|p| !p.starts_with("escaping="))
        .collect::<Vec<_>>()
        .join(";")
}

#[test]
fn every_prometheus_accept_gets_the_official_format_and_the_same_families() {
    let servers = both(&[]);
    let mut pushed = BTreeSet::new();
    for (_, _, url) in &servers {
        pushed = fill(url);
    }
    let (pgw, official) = (&servers[0].2, &servers[1].2);
    for (who, accept, want) in PROMETHEUS_ACCEPTS {
        let mine = scrape(pgw, accept);
        let theirs = scrape(official, accept);
        let ct = mine.header("content-type").unwrap_or("");
        assert_eq!(ct, *want, "{who}: pgw's Content-Type");
        let theirs_ct = theirs.header("content-type").unwrap_or("");
        assert_eq!(
            media_and_encoding(ct),
            media_and_encoding(theirs_ct),
            "{who}: pgw and the official server choose different formats"
        );
        assert_eq!(mine.header("vary"), None, "{who}");
        if want.starts_with(TEXT) {
            let series = |r: &Resp| -> BTreeSet<Series> {
                pushed_series(&r.text())
                    .into_iter()
                    .map(|(n, l, v)| {
                        let v = if n == "push_time_seconds" {
                            "0".into()
                        } else {
                            v
                        };
                        (n, l, v)
                    })
                    .collect()
            };
            assert_eq!(series(&mine), series(&theirs), "{who}: text scrapes differ");
            assert!(series(&mine).len() > 30, "{who}");
        } else {
            let a = comparable(decode(&mine.body), &pushed);
            let b = comparable(decode(&theirs.body), &pushed);
            assert_eq!(a.len(), pushed.len(), "{who}: {a:#?}");
            assert_eq!(a, b, "{who}: protobuf scrapes differ");
        }
    }
}

#[test]
fn protobuf_text_encodings_are_what_the_official_server_answers() {
    let servers = both(&[]);
    for (_, _, url) in &servers {
        fill(url);
    }
    let p = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily";
    for (encoding, compact) in [("text", false), ("compact-text", true)] {
        let accept = format!("{p};encoding={encoding}");
        let mine = scrape(&servers[0].2, &accept);
        let theirs = scrape(&servers[1].2, &accept);
        assert_eq!(
            mine.header("content-type").unwrap(),
            format!("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding={encoding}; escaping=underscores")
        );
        assert_eq!(
            media_and_encoding(mine.header("content-type").unwrap()),
            media_and_encoding(theirs.header("content-type").unwrap())
        );
        // Go keeps this format's whitespace unstable on purpose; compare
        // the family's text with all whitespace taken out. 1.5.1's older
        // protobuf library writes nested messages in `<>`, 1.11's in `{}`:
        // both are the text format's delimiters, and pgw writes 1.11's.
        let squeeze = |s: &str| {
            s.split_whitespace()
                .collect::<String>()
                .replace('<', "{")
                .replace('>', "}")
        };
        let jobs = |body: &str| -> String {
            let start = body
                .find("name: \"jobs_total\"")
                .or_else(|| body.find("name:\"jobs_total\""));
            let start = start.unwrap_or_else(|| panic!("no jobs_total in {body}"));
            let rest = &body[start..];
            let end = rest[1..].find("name:").map_or(rest.len(), |i| i + 1);
            squeeze(&rest[..end])
        };
        let (m, t) = (mine.text(), theirs.text());
        if compact {
            assert!(
                m.lines().any(|l| l.starts_with("name:\"jobs_total\"")),
                "{m}"
            );
        } else {
            assert!(m.contains("metric: {\n  label: {\n"), "{m}");
        }
        // One family, with series whose order both happen to share (the
        // instance label sorts them the same group by group and by value).
        assert_eq!(jobs(&m), jobs(&t), "encoding={encoding}");
    }
}

#[test]
fn gzip_is_offered_for_protobuf_too() {
    let g = Pgw::start(&[]);
    let pushed = fill(&g.url());
    let accept = PROMETHEUS_ACCEPTS[1].1;
    let plain = raw_get(&g.url(), "/metrics", &[("Accept", accept)]);
    assert_eq!(plain.header("content-encoding"), None);
    let zipped = raw_get(
        &g.url(),
        "/metrics",
        &[("Accept", accept), ("Accept-Encoding", "gzip")],
    );
    assert_eq!(zipped.status, 200);
    assert_eq!(zipped.header("content-encoding"), Some("gzip"));
    assert_eq!(
        zipped.header("content-type"),
        Some("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=underscores")
    );
    let unzipped = gunzip(&zipped.body);
    // The server's own figures move between two scrapes; the pushed
    // families, push times included, do not.
    let keep = |body: &[u8]| -> Vec<String> {
        decode(body)
            .into_iter()
            .filter(|f| pushed.contains(f.name.as_deref().unwrap_or("")))
            // Debug strings, so that the NaN quantile equals itself.
            .map(|f| format!("{f:?}"))
            .collect()
    };
    assert_eq!(keep(&unzipped), keep(&plain.body));
    assert_eq!(keep(&plain.body).len(), pushed.len());
    // Weights decide: identity preferred, or gzip refused with q=0.
    for enc in ["gzip;q=0.5, identity", "gzip;q=0", "br"] {
        let r = raw_get(
            &g.url(),
            "/metrics",
            &[("Accept", accept), ("Accept-Encoding", enc)],
        );
        assert_eq!(r.header("content-encoding"), None, "{enc}");
        assert_eq!(keep(&r.body).len(), pushed.len(), "{enc}");
    }
}

/// A TCP relay in front of a server that keeps the `Accept` header of every
/// request through it: what a real scraper asked for.
struct Recorder {
    port: u16,
    accepts: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    fn start(target_port: u16) -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepts = Arc::new(Mutex::new(Vec::new()));
        let seen = accepts.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", target_port)) else {
                    continue;
                };
                let (mut c_read, mut s_write) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (mut s_read, mut c_write) = (server, client);
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let mut buf = [0; 16384];
                    while let Ok(n) = c_read.read(&mut buf) {
                        if n == 0 || s_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        let text = String::from_utf8_lossy(&buf[..n]);
                        for line in text.split("\r\n") {
                            if let Some(v) = line.strip_prefix("Accept: ") {
                                seen.lock().unwrap().push(v.to_string());
                            }
                        }
                    }
                    let _ = s_write.shutdown(std::net::Shutdown::Write);
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut s_read, &mut c_write);
                    let _ = c_write.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        Recorder { port, accepts }
    }

    fn accepts(&self) -> Vec<String> {
        self.accepts.lock().unwrap().clone()
    }
}

/// A Prometheus started with `flags`, scraping the gateway through a
/// [`Recorder`], once the scrape has taken `query`'s series: (Prometheus,
/// the recorder, the query's result).
fn prometheus_scraping(
    g: &Pgw,
    flags: &[&str],
    query: &str,
    series: usize,
) -> (Prometheus, Recorder, Vec<serde_json::Value>) {
    let recorder = Recorder::start(g.port);
    let prometheus = Prometheus::start(
        &format!(
            "  - job_name: pushgateway\n    honor_labels: true\n    \
             static_configs:\n      - targets: ['127.0.0.1:{}']\n",
            recorder.port
        ),
        flags,
    );
    let result = prometheus.query_until(query, series);
    (prometheus, recorder, result)
}

fn values(result: &[serde_json::Value]) -> BTreeSet<(String, String)> {
    result
        .iter()
        .map(|s| {
            (
                s["metric"]["kind"].as_str().unwrap_or("").to_string()
                    + s["metric"]["instance"].as_str().unwrap_or(""),
                s["value"][1].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn prometheus_with_native_histograms_scrapes_protobuf() {
    let g = Pgw::start(&[]);
    fill(&g.url());
    let (prometheus, recorder, result) =
        prometheus_scraping(&g, &["--enable-feature=native-histograms"], "jobs_total", 4);
    assert!(
        recorder
            .accepts()
            .iter()
            .all(|a| a.starts_with("application/vnd.google.protobuf;")),
        "{:?}",
        recorder.accepts()
    );
    assert_eq!(
        values(&result),
        BTreeSet::from([
            ("fulla".to_string(), "3".to_string()),
            ("incra".to_string(), "1000000".to_string()),
            ("fullb".to_string(), "7".to_string()),
            ("full".to_string(), "2".to_string()),
        ])
    );
    // Classic buckets and summaries arrive whole over protobuf.
    let q = prometheus.query_until("rpc_seconds_bucket{instance=\"a\",le=\"0.5\"}", 1);
    assert_eq!(q[0]["value"][1], "4");
    let q = prometheus.query_until("queue_count{instance=\"b\"}", 1);
    assert_eq!(q[0]["value"][1], "9");
    // 2.5 of 5 observations: 1.5 of the 3 between 0.1 and 0.5.
    let q = prometheus.query_until(
        "histogram_quantile(0.5, rpc_seconds_bucket{instance=\"a\"})",
        1,
    );
    let median: f64 = q[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!((median - 0.3).abs() < 1e-9, "{q:?}");
}

#[test]
fn prometheus_without_the_feature_scrapes_text() {
    let g = Pgw::start(&[]);
    fill(&g.url());
    let (_prometheus, recorder, result) = prometheus_scraping(&g, &[], "jobs_total", 4);
    let accepts = recorder.accepts();
    assert!(
        !accepts.is_empty()
            && accepts
                .iter()
                .all(|a| a.starts_with("application/openmetrics-text;")),
        "{accepts:?}"
    );
    assert_eq!(values(&result).len(), 4);
    assert!(values(&result).contains(&("incra".to_string(), "1000000".to_string())));
}

#[test]
fn head_answers_with_the_negotiated_content_type_and_no_body() {
    let g = Pgw::start(&[]);
    fill(&g.url());
    let (_, accept, want) = PROMETHEUS_ACCEPTS[1];
    let r = request(
        "HEAD",
        &format!("{}/metrics", g.url()),
        &[("Accept", accept)],
        b"",
    );
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-type"), Some(want));
}

#[test]
fn a_family_pushed_without_series_is_left_out_of_scrapes_as_upstream_does() {
    let servers = both(&[]);
    for (who, _, url) in &servers {
        push_proto(
            url,
            "/metrics/job/j",
            &[
                family("nothing_yet", "Not yet.", COUNTER, vec![]),
                family("something", "", GAUGE, vec![gauge(vec![], 1.0)]),
            ],
        );
        for (_, accept, _) in PROMETHEUS_ACCEPTS {
            let r = scrape(url, accept);
            let names: Vec<String> = if r.header("content-type").unwrap().starts_with(TEXT) {
                r.text()
                    .lines()
                    .filter_map(|l| l.strip_prefix("# TYPE "))
                    .map(|l| l.split(' ').next().unwrap().to_string())
                    .collect()
            } else {
                decode(&r.body)
                    .into_iter()
                    .map(|f| f.name.unwrap_or_default())
                    .collect()
            };
            assert!(
                names.iter().any(|n| n == "something"),
                "{who} {accept}: {names:?}"
            );
            assert!(
                !names.iter().any(|n| n == "nothing_yet"),
                "{who} {accept}: {names:?}"
            );
        }
    }
}
