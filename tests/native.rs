//! Native histograms, exemplars and created timestamps pushed as protobuf,
//! end to end on real processes: the same pushes to pgw and to the official
//! Pushgateway get the same answers and the same text scrape; pgw's refusals
//! of invalid native histograms (where it differs on purpose) and the
//! failure time they set; `/api/v1/metrics` in the official shapes; a
//! restart with persistence; and the import of an official persistence file
//! that holds native histograms.
//!
//! The producer below encodes pushes the way client_golang does: its own
//! prost messages, filled as `histogram.Write` and `counter.Write` fill
//! them. Hand-written bytes are used only for the malformed case.

use std::collections::BTreeSet;

use prost::Message;
use serde_json::{json, Value as Json};

use crate::pb;
use crate::util::*;

const PROTO_CT: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

const COUNTER: i32 = 0;
const HISTOGRAM: i32 = 4;
const GAUGE_HISTOGRAM: i32 = 5;

fn span(offset: i32, length: u32) -> pb::BucketSpan {
    pb::BucketSpan {
        offset: Some(offset),
        length: Some(length),
    }
}

fn ts(seconds: i64, nanos: i32) -> Option<pb::Timestamp> {
    Some(pb::Timestamp { seconds, nanos })
}

fn exemplar(trace: &str, value: f64, seconds: i64) -> pb::Exemplar {
    pb::Exemplar {
        label: vec![pb::LabelPair {
            name: Some("trace_id".into()),
            value: Some(trace.into()),
        }],
        value: Some(value),
        timestamp: ts(seconds, 250_000_000),
    }
}

/// `rpc_seconds` of the spec: schema 0, zero bucket of 1, buckets (0.5,1]
/// of 2 and (1,2] of 1, as client_golang writes it after four
/// observations, with its created timestamp and an exemplar.
fn rpc_seconds() -> pb::Histogram {
    pb::Histogram {
        sample_count: Some(4),
        sample_sum: Some(3.5),
        created_timestamp: ts(1_780_000_000, 1),
        schema: Some(0),
        zero_threshold: Some(0.001),
        zero_count: Some(1),
        positive_span: vec![span(0, 2)],
        positive_delta: vec![2, -1],
        exemplars: vec![exemplar("a1", 0.7, 1_780_000_100)],
        ..Default::default()
    }
}

/// A float native histogram (as Prometheus writes one it has computed).
fn float_native() -> pb::Histogram {
    pb::Histogram {
        sample_count_float: Some(4.5),
        sample_sum: Some(-2.25),
        schema: Some(3),
        zero_threshold: Some(0.0),
        zero_count_float: Some(0.5),
        negative_span: vec![span(-3, 1), span(2, 1)],
        negative_count: vec![1.5, 0.5],
        positive_span: vec![span(1, 1)],
        positive_count: vec![2.0],
        ..Default::default()
    }
}

/// Classic and native buckets side by side, as client_golang writes when a
/// histogram has both `Buckets` and `NativeHistogramBucketFactor`; the
/// classic buckets carry exemplars.
fn mixed() -> pb::Histogram {
    let mut h = rpc_seconds();
    h.bucket = vec![
        pb::Bucket {
            cumulative_count: Some(1),
            upper_bound: Some(0.5),
            exemplar: Some(exemplar("b1", 0.2, 1_780_000_200)),
            ..Default::default()
        },
        pb::Bucket {
            cumulative_count: Some(3),
            upper_bound: Some(1.0),
            ..Default::default()
        },
    ];
    h
}

/// A native histogram that has seen nothing, with a zero threshold of 0:
/// client_golang adds the no-op span the schema asks for.
fn no_op_span() -> pb::Histogram {
    pb::Histogram {
        sample_count: Some(0),
        sample_sum: Some(0.0),
        created_timestamp: ts(1_780_000_000, 0),
        schema: Some(2),
        zero_threshold: Some(0.0),
        zero_count: Some(0),
        positive_span: vec![span(0, 0)],
        ..Default::default()
    }
}

fn histogram_family(name: &str, kind: i32, h: pb::Histogram) -> pb::MetricFamily {
    pb::MetricFamily {
        name: Some(name.into()),
        help: Some("RPC latency.".into()),
        r#type: Some(kind),
        metric: vec![pb::Metric {
            label: vec![pb::LabelPair {
                name: Some("method".into()),
                value: Some("get".into()),
            }],
            histogram: Some(h),
            ..Default::default()
        }],
    }
}

fn counter_with_extras() -> pb::MetricFamily {
    pb::MetricFamily {
        name: Some("requests_total".into()),
        help: Some("Requests.".into()),
        r#type: Some(COUNTER),
        metric: vec![pb::Metric {
            label: vec![],
            counter: Some(pb::Counter {
                value: Some(7.0),
                exemplar: Some(exemplar("c1", 1.0, 1_780_000_300)),
                created_timestamp: ts(1_779_999_000, 0),
            }),
            ..Default::default()
        }],
    }
}

/// Every kind a Go service may push, in one body.
fn every_kind() -> Vec<pb::MetricFamily> {
    vec![
        histogram_family("rpc_seconds", HISTOGRAM, rpc_seconds()),
        histogram_family("float_seconds", HISTOGRAM, float_native()),
        histogram_family("mixed_seconds", HISTOGRAM, mixed()),
        histogram_family("idle_seconds", HISTOGRAM, no_op_span()),
        histogram_family("queue_seconds", GAUGE_HISTOGRAM, float_native()),
        counter_with_extras(),
    ]
}

/// The delimited stream `promhttp`/`push.Pusher` sends.
fn body(families: &[pb::MetricFamily]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in families {
        f.encode_length_delimited(&mut out).unwrap();
    }
    out
}

fn push(base: &str, method: &str, path: &str, families: &[pb::MetricFamily]) -> Resp {
    request(
        method,
        &format!("{base}{path}"),
        &[("Content-Type", PROTO_CT)],
        &body(families),
    )
}

/// The text scrape's lines of the pushed families (HELP, TYPE and samples),
/// sorted: upstream orders series by label values, pgw by group.
fn family_lines(base: &str, names: &[&str]) -> Vec<String> {
    let r = get(&format!("{base}/metrics"));
    assert_eq!(r.status, 200);
    let mut lines: Vec<String> = r
        .text()
        .lines()
        .filter(|l| {
            let l = l
                .strip_prefix("# HELP ")
                .or_else(|| l.strip_prefix("# TYPE "))
                .unwrap_or(l);
            names.iter().any(|n| {
                l.strip_prefix(n).is_some_and(|rest| {
                    rest.starts_with([' ', '{'])
                        || ["_bucket", "_sum", "_count"]
                            .iter()
                            .any(|s| rest.starts_with(s))
                })
            })
        })
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

const NAMES: &[&str] = &[
    "rpc_seconds",
    "float_seconds",
    "mixed_seconds",
    "idle_seconds",
    "queue_seconds",
    "requests_total",
];

/// The families whose text form the Debian server (1.5.1) writes as 1.11
/// does. Its client_model predates float histograms (it shows their counts
/// as 0), and its text encoder stops the scrape at a gauge histogram (a
/// 200 cut short); pgw writes both as 1.11 does, which
/// `the_text_scrape_shows_what_text_can_carry` asserts.
const NAMES_1_5_1: &[&str] = &[
    "rpc_seconds",
    "mixed_seconds",
    "idle_seconds",
    "requests_total",
];

#[test]
fn same_native_pushes_same_answers_and_text_scrape_as_the_official_pushgateway() {
    let official = Official::start(&[]);
    let pgw = Pgw::start(&[]);
    for (method, families) in [
        ("PUT", every_kind()),
        // A second push of one family replaces it alone, as upstream.
        (
            "POST",
            vec![histogram_family("rpc_seconds", HISTOGRAM, no_op_span())],
        ),
    ] {
        let want = push(&official.url(), method, "/metrics/job/svc", &families);
        let got = push(&pgw.url(), method, "/metrics/job/svc", &families);
        assert_eq!(want.status, 200, "official: {}", want.text());
        assert_eq!(got.status, want.status, "pgw: {}", got.text());
    }
    // 1.5.1 cuts its text scrape short at the gauge histogram (see
    // NAMES_1_5_1); pgw writes it whole.
    let official_text = get(&format!("{}/metrics", official.url())).text();
    assert!(
        !official_text.contains("queue_seconds_count"),
        "{official_text}"
    );
    assert!(family_lines(&pgw.url(), NAMES).contains(&"# TYPE queue_seconds histogram".to_owned()));
}

/// Without the gauge histogram, which cuts 1.5.1's scrape short, every
/// family but the float ones compares byte for byte.
#[test]
fn the_official_pushgateway_writes_the_same_text_for_every_integer_native() {
    let official = Official::start(&[]);
    let pgw = Pgw::start(&[]);
    let families: Vec<_> = every_kind()
        .into_iter()
        .filter(|f| f.r#type != Some(GAUGE_HISTOGRAM))
        .collect();
    for base in [official.url(), pgw.url()] {
        let r = push(&base, "PUT", "/metrics/job/svc", &families);
        assert_eq!(r.status, 200, "{base}: {}", r.text());
    }
    let want = family_lines(&official.url(), NAMES_1_5_1);
    assert_eq!(want.len(), 20, "{want:#?}");
    assert_eq!(family_lines(&pgw.url(), NAMES_1_5_1), want);
}

#[test]
fn the_text_scrape_shows_what_text_can_carry() {
    let pgw = Pgw::start(&[]);
    let r = push(
        &pgw.url(),
        "PUT",
        "/metrics/job/j",
        &[
            histogram_family("rpc_seconds", HISTOGRAM, rpc_seconds()),
            histogram_family("mixed_seconds", HISTOGRAM, mixed()),
            histogram_family("float_seconds", HISTOGRAM, float_native()),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let text = get(&format!("{}/metrics", pgw.url())).text();
    // Native only: the +Inf bucket, sum and count; exemplars and created
    // timestamps are dropped.
    for want in [
        "# TYPE rpc_seconds histogram\n\
         rpc_seconds_bucket{instance=\"\",job=\"j\",method=\"get\",le=\"+Inf\"} 4\n\
         rpc_seconds_sum{instance=\"\",job=\"j\",method=\"get\"} 3.5\n\
         rpc_seconds_count{instance=\"\",job=\"j\",method=\"get\"} 4\n",
        "mixed_seconds_bucket{instance=\"\",job=\"j\",method=\"get\",le=\"0.5\"} 1\n\
         mixed_seconds_bucket{instance=\"\",job=\"j\",method=\"get\",le=\"1\"} 3\n\
         mixed_seconds_bucket{instance=\"\",job=\"j\",method=\"get\",le=\"+Inf\"} 4\n",
        "float_seconds_bucket{instance=\"\",job=\"j\",method=\"get\",le=\"+Inf\"} 4.5\n\
         float_seconds_sum{instance=\"\",job=\"j\",method=\"get\"} -2.25\n\
         float_seconds_count{instance=\"\",job=\"j\",method=\"get\"} 4.5\n",
    ] {
        assert!(text.contains(want), "{want}\nnot in\n{text}");
    }
    assert!(!text.contains("trace_id"), "{text}");
}

fn family_json(base: &str, job: &str, name: &str) -> Json {
    let api = api_at(base, None);
    let group = api["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["labels"]["job"] == job)
        .unwrap_or_else(|| panic!("no group {job}: {api}"))
        .clone();
    let mut family = group[name].clone();
    family["time_stamp"] = json!("T");
    family
}

#[test]
fn the_json_api_has_the_official_native_shapes() {
    let pgw = Pgw::start(&[]);
    let schema_1 = pb::Histogram {
        sample_count: Some(4),
        sample_sum: Some(1.0),
        schema: Some(1),
        zero_threshold: Some(0.0),
        zero_count: Some(0),
        negative_span: vec![span(0, 2), span(2, 2)],
        negative_delta: vec![0, 2, -2, 0],
        positive_span: vec![span(0, 2), span(2, 2)],
        positive_delta: vec![0, 2, -2, 0],
        ..Default::default()
    };
    let mut families = every_kind();
    families.push(histogram_family("schema1_seconds", HISTOGRAM, schema_1));
    let r = push(&pgw.url(), "PUT", "/metrics/job/j", &families);
    assert_eq!(r.status, 200, "{}", r.text());
    let labels = json!({"instance": "", "job": "j", "method": "get"});
    let rpc = json!({"time_stamp": "T", "type": "HISTOGRAM", "help": "RPC latency.",
        "metrics": [{"buckets": [[3, "-0.001", "0.001", "1"], [0, "0.5", "1", "2"], [0, "1", "2", "1"]],
                     "count": "4", "labels": labels, "sum": "3.5"}]});
    assert_eq!(family_json(&pgw.url(), "j", "rpc_seconds"), rpc);
    // Mixed: the native buckets only.
    assert_eq!(family_json(&pgw.url(), "j", "mixed_seconds"), rpc);
    assert_eq!(
        family_json(&pgw.url(), "j", "schema1_seconds")["metrics"][0]["buckets"],
        json!([
            [1, "-1.414213562373095", "-1", "2"],
            [0, "1", "1.414213562373095", "2"]
        ])
    );
    assert_eq!(
        family_json(&pgw.url(), "j", "float_seconds")["metrics"][0],
        json!({"buckets": [[1, "-1", "-0.9170040432046711", "0.5"],
                           [1, "-0.7711054127039704", "-0.7071067811865475", "1.5"],
                           [3, "-0", "0", "0.5"],
                           [0, "1", "1.0905077326652577", "2"]],
               "count": "4.5", "labels": labels, "sum": "-2.25"})
    );
    // The no-op span: native, with no bucket to show.
    assert_eq!(
        family_json(&pgw.url(), "j", "idle_seconds")["metrics"][0],
        json!({"buckets": [], "count": "0", "labels": labels, "sum": "0"})
    );
    // A gauge histogram keeps its buckets (upstream shows "value":"0").
    assert_eq!(
        family_json(&pgw.url(), "j", "queue_seconds")["metrics"][0]["buckets"][3],
        json!([0, "1", "1.0905077326652577", "2"])
    );
}

#[test]
fn the_page_shows_native_buckets() {
    let pgw = Pgw::start(&[]);
    let r = push(
        &pgw.url(),
        "PUT",
        "/metrics/job/j",
        &[histogram_family("rpc_seconds", HISTOGRAM, mixed())],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = get(&format!("{}/api/v1/group/job/j", pgw.url()));
    assert_eq!(r.status, 200);
    let text = r.text();
    assert!(
        text.contains(
            "# native rpc_seconds{instance=\"\",job=\"j\",method=\"get\"} \
             {count:4, sum:3.5, [-0.001,0.001]:1, (0.5,1]:2, (1,2]:1}\n"
        ),
        "{text}"
    );
    // Mixed: the classic buckets are there too.
    assert!(
        text.contains("rpc_seconds_bucket{instance=\"\",job=\"j\",method=\"get\",le=\"0.5\"} 1\n"),
        "{text}"
    );
}

fn failure_time(base: &str, job: &str) -> f64 {
    let text = get(&format!("{base}/metrics")).text();
    let prefix = format!("push_failure_time_seconds{{instance=\"\",job=\"{job}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no failure time for {job}:\n{text}"))
        .parse()
        .unwrap()
}

fn without_failure_time(set: BTreeSet<Series>) -> BTreeSet<Series> {
    set.into_iter()
        .filter(|(name, _, _)| name != "push_failure_time_seconds")
        .collect()
}

/// pgw refuses what Prometheus's histogram rules call invalid; the
/// official server stores it (and its JSON API or scrape breaks later).
#[test]
fn invalid_natives_are_refused_where_the_official_pushgateway_stores_them() {
    let official = Official::start(&[]);
    let pgw = Pgw::start(&[]);
    let prefix = "pushed metrics are invalid or inconsistent with existing metrics: \
        invalid native histogram in metric family \"rpc_seconds\", \
        series {instance=\"\",job=\"bad\",method=\"get\"}: ";
    let cases = [
        (
            "a schema beyond 8",
            pb::Histogram {
                schema: Some(9),
                ..rpc_seconds()
            },
            "schema 9 is outside -4..8",
        ),
        (
            "spans that disagree with their deltas",
            pb::Histogram {
                positive_span: vec![span(0, 3)],
                ..rpc_seconds()
            },
            "positive_span lengths add up to 3 but there are 2 positive_delta values",
        ),
        (
            "a negative bucket count",
            pb::Histogram {
                positive_delta: vec![2, -3],
                ..rpc_seconds()
            },
            "positive_delta 2 makes bucket 2 count -1; a count cannot be negative",
        ),
        (
            "a negative float count",
            pb::Histogram {
                positive_count: vec![-2.0],
                ..float_native()
            },
            "positive_count 1 is -2; a count cannot be negative",
        ),
    ];
    for (what, h, message) in cases {
        let families = [histogram_family("rpc_seconds", HISTOGRAM, h)];
        let want = push(&official.url(), "PUT", "/metrics/job/bad", &families);
        assert_eq!(want.status, 200, "{what}: the official server stores it");
        let got = push(&pgw.url(), "PUT", "/metrics/job/bad", &families);
        assert_eq!(got.status, 400, "{what}");
        assert_eq!(
            got.text().trim_end(),
            format!("{prefix}{message}"),
            "{what}"
        );
    }
    assert!(pgw.groups().is_empty(), "nothing stored");
}

#[test]
fn a_refused_native_push_to_an_existing_group_sets_only_its_failure_time() {
    let pgw = Pgw::start(&[]);
    let u = pgw.url();
    let r = push(&u, "PUT", "/metrics/job/svc", &every_kind());
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(failure_time(&u, "svc"), 0.0);
    let before = scrape_pushed(&format!("{u}/metrics"));
    let api_before = family_json(&u, "svc", "rpc_seconds");

    let bad = pb::Histogram {
        positive_span: vec![span(0, 3)],
        ..rpc_seconds()
    };
    let r = push(
        &u,
        "PUT",
        "/metrics/job/svc",
        &[histogram_family("rpc_seconds", HISTOGRAM, bad)],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let first = failure_time(&u, "svc");
    assert!(first > 0.0);
    assert_eq!(
        without_failure_time(scrape_pushed(&format!("{u}/metrics"))),
        without_failure_time(before.clone())
    );
    assert_eq!(family_json(&u, "svc", "rpc_seconds"), api_before);
    let api = api_at(&u, None);
    assert_eq!(api["data"][0]["last_push_successful"], json!(false));

    // A body that is not protobuf at all (hand-written: a length of 5,
    // then two bytes) marks the group as failed too.
    let r = request(
        "POST",
        &format!("{u}/metrics/job/svc"),
        &[("Content-Type", PROTO_CT)],
        &[0x05, 0x0a, 0x01],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("unexpected EOF"), "{}", r.text());
    let second = failure_time(&u, "svc");
    assert!(second > first, "{second} after {first}");

    // So does a body that does not decompress.
    let r = request(
        "PUT",
        &format!("{u}/metrics/job/svc"),
        &[("Content-Type", PROTO_CT), ("Content-Encoding", "gzip")],
        b"not gzip",
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let third = failure_time(&u, "svc");
    assert!(third > second, "{third} after {second}");
    assert_eq!(
        without_failure_time(scrape_pushed(&format!("{u}/metrics"))),
        without_failure_time(before)
    );
}

#[test]
fn a_restart_with_persistence_keeps_native_histograms() {
    let dir = TempDir::new("native-persist");
    let file = format!("--persistence.file={}", dir.path().join("store").display());
    let mut g = Pgw::start(&[&file]);
    let r = push(&g.url(), "PUT", "/metrics/job/svc", &every_kind());
    assert_eq!(r.status, 200, "{}", r.text());
    let api = api_at(&g.url(), None);
    let text = family_lines(&g.url(), NAMES);
    g.terminate();
    let g = Pgw::start(&[&file]);
    assert_eq!(api_at(&g.url(), None), api);
    assert_eq!(family_lines(&g.url(), NAMES), text);
    assert_eq!(
        family_json(&g.url(), "svc", "rpc_seconds")["metrics"][0]["buckets"][0],
        json!([3, "-0.001", "0.001", "1"])
    );
}

/// The official server's `--persistence.file` holds each family as its
/// protobuf message, native fields included; pgw takes them over. (The
/// official server's own scrape of this store is cut short at the gauge
/// histogram, so the comparison is with pgw given the same push.)
#[test]
fn an_official_file_with_native_histograms_is_imported() {
    let dir = TempDir::new("native-import");
    let official_file = dir.path().join("pushgateway.data");
    let mut official =
        Official::start(&[&format!("--persistence.file={}", official_file.display())]);
    let r = push(&official.url(), "PUT", "/metrics/job/svc", &every_kind());
    assert_eq!(r.status, 200, "{}", r.text());
    official.proc.terminate();

    let store = format!("--persistence.file={}", dir.path().join("store").display());
    let import = format!("--persistence.import={}", official_file.display());
    let imported = Pgw::start(&[&store, &import]);
    // Every native field came over, the float ones 1.5.1 does not know
    // too: the text scrape and the JSON API, which reads them, show what
    // a direct push shows.
    let direct = Pgw::start(&[]);
    let r = push(&direct.url(), "PUT", "/metrics/job/svc", &every_kind());
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        family_lines(&imported.url(), NAMES),
        family_lines(&direct.url(), NAMES)
    );
    for name in NAMES {
        assert_eq!(
            family_json(&imported.url(), "svc", name),
            family_json(&direct.url(), "svc", name),
            "{name}"
        );
    }
}

/// The pushed families of a delimited protobuf scrape, each family's series
/// sorted by their labels (pgw orders them by group, upstream by labels).
fn protobuf_families(base: &str, names: &[&str]) -> Vec<pb::MetricFamily> {
    let r = request(
        "GET",
        &format!("{base}/metrics"),
        &[("Accept", PROTO_CT)],
        b"",
    );
    assert_eq!(r.status, 200);
    let mut buf = &r.body[..];
    let mut out = Vec::new();
    while !buf.is_empty() {
        let mut f = pb::MetricFamily::decode_length_delimited(&mut buf).unwrap();
        if names.contains(&f.name.as_deref().unwrap_or("")) {
            f.metric.sort_by_key(|m| format!("{:?}", m.label));
            out.push(f);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[test]
fn protobuf_scrapes_carry_what_was_pushed_as_the_official_pushgateways_do() {
    let official = Official::start(&[]);
    let pgw = Pgw::start(&[]);
    let families = every_kind();
    for base in [official.url(), pgw.url()] {
        assert_eq!(push(&base, "PUT", "/metrics/job/j", &families).status, 200);
        assert_eq!(
            push(&base, "POST", "/metrics/job/j/instance/b", &families[..1]).status,
            200
        );
    }
    let got = protobuf_families(&pgw.url(), NAMES);
    assert_eq!(got.len(), NAMES.len(), "{got:?}");
    assert_eq!(got, protobuf_families(&official.url(), NAMES));
    // Native buckets, exemplars and created timestamps arrive unchanged.
    let rpc = got
        .iter()
        .find(|f| f.name.as_deref() == Some("rpc_seconds"))
        .unwrap();
    assert_eq!(rpc.metric.len(), 2);
    assert_eq!(rpc.metric[0].histogram, Some(rpc_seconds()));
}

#[test]
fn prometheus_queries_a_pushed_native_histogram() {
    let g = Pgw::start(&[]);
    let families = [histogram_family("rpc_seconds", HISTOGRAM, rpc_seconds())];
    assert_eq!(
        push(&g.url(), "PUT", "/metrics/job/j", &families).status,
        200
    );
    let prometheus = Prometheus::start(
        &format!(
            "  - job_name: pushgateway\n    honor_labels: true\n    \
             static_configs:\n      - targets: ['127.0.0.1:{}']\n",
            g.port
        ),
        &["--enable-feature=native-histograms"],
    );
    let value = |query: &str| -> f64 {
        let r = prometheus.query_until(query, 1);
        r[0]["value"][1].as_str().unwrap().parse().unwrap()
    };
    assert_eq!(value("histogram_count(rpc_seconds{job=\"j\"})"), 4.0);
    assert_eq!(value("histogram_sum(rpc_seconds{job=\"j\"})"), 3.5);
    // The median is the second of four observations: in the bucket (0.5,1],
    // after the one in the zero bucket.
    let median = value("histogram_quantile(0.5, rpc_seconds{job=\"j\"})");
    assert!(median > 0.5 && median <= 1.0, "{median}");
    // A native histogram has no classic series of its own.
    assert!(prometheus
        .query_once("rpc_seconds_count{job=\"j\"}")
        .unwrap()
        .is_empty());

    // A scraper without native histograms gets the classic view.
    let classic = Prometheus::scraping_gateway(g.port);
    let r = classic.query_until("rpc_seconds_count{job=\"j\"}", 1);
    assert_eq!(r[0]["value"][1], "4");
    let r = classic.query_until("rpc_seconds_bucket{job=\"j\",le=\"+Inf\"}", 1);
    assert_eq!(r[0]["value"][1], "4");
    let r = classic.query_until("rpc_seconds_sum{job=\"j\"}", 1);
    assert_eq!(r[0]["value"][1], "3.5");
}
