//! Tests of the protobuf decoder and encoder: wire-level cases, limits, and
//! round trips through the text format.

use super::*;

fn single(labels: &[(&'static str, &'static str)], v: f64) -> Metric<'static> {
    Metric {
        labels: labels.iter().map(|&(n, v)| Label::new(n, v)).collect(),
        value: Value::Single(v),
        timestamp_ms: None,
        extras: None,
    }
}

fn family(
    name: &'static str,
    help: Option<&'static str>,
    kind: MetricType,
    metrics: Vec<Metric<'static>>,
) -> Family<'static> {
    Family {
        name: Cow::Borrowed(name),
        help: help.map(Cow::Borrowed),
        kind,
        metrics,
    }
}

fn delimited(messages: &[pb::MetricFamily]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        m.encode_length_delimited(&mut out).unwrap();
    }
    out
}

fn every_type() -> Vec<Family<'static>> {
    let mut stamped = single(&[("b", "2"), ("a", "1")], -3.5);
    stamped.timestamp_ms = Some(1_700_000_000_123);
    vec![
        family(
            "requests_total",
            Some("Requests."),
            MetricType::Counter,
            vec![single(&[("code", "200")], 7.0), single(&[], 0.0)],
        ),
        family(
            "temperature",
            None,
            MetricType::Gauge,
            vec![stamped, single(&[("x", "")], f64::INFINITY)],
        ),
        family(
            "thing",
            Some("Untyped \\ help\nwith newline."),
            MetricType::Untyped,
            vec![single(&[], 42.25)],
        ),
        family(
            "latency_seconds",
            Some("Latency."),
            MetricType::Summary,
            vec![Metric {
                labels: vec![Label::new("job", "x")],
                value: Value::Summary {
                    sample_count: 12.0,
                    sample_sum: 3.75,
                    quantiles: vec![(0.5, 0.1), (0.99, 0.9)],
                },
                timestamp_ms: None,
                extras: None,
            }],
        ),
        family(
            "size_bytes",
            None,
            MetricType::Histogram,
            vec![Metric {
                labels: vec![],
                value: Value::Histogram {
                    sample_count: 5.0,
                    sample_sum: 1234.0,
                    buckets: vec![(100.0, 1.0), (1000.0, 4.0), (f64::INFINITY, 5.0)],
                },
                timestamp_ms: Some(-5),
                extras: None,
            }],
        ),
        family(
            "queue_depth",
            Some("Queue."),
            MetricType::GaugeHistogram,
            vec![Metric {
                labels: vec![Label::new("q", "a")],
                value: Value::Histogram {
                    sample_count: 2.5,
                    sample_sum: 10.0,
                    buckets: vec![(1.0, 0.5), (f64::INFINITY, 2.5)],
                },
                timestamp_ms: None,
                extras: None,
            }],
        ),
    ]
}

#[test]
fn round_trip_every_type() {
    let families = every_type();
    let decoded = decode_delimited(&encode_delimited(&families)).unwrap();
    assert_eq!(decoded, families);
}

#[test]
fn empty_stream_is_no_families() {
    assert_eq!(decode_delimited(&[]).unwrap(), vec![]);
    assert!(encode_delimited(&[]).is_empty());
}

#[test]
fn float_histogram_uses_float_fields() {
    let families = every_type();
    let bytes = encode_delimited(&families[5..]);
    let message = pb::MetricFamily::decode_length_delimited(&bytes[..]).unwrap();
    let h = message.metric[0].histogram.as_ref().unwrap();
    assert_eq!((h.sample_count, h.sample_count_float), (None, Some(2.5)));
    assert_eq!(h.bucket[0].cumulative_count_float, Some(0.5));
    assert_eq!(h.bucket[0].cumulative_count, None);
    assert_eq!(message.r#type, Some(pb::MetricType::GaugeHistogram as i32));
}

#[test]
fn hand_built_bytes_decode() {
    // MetricFamily{name: "up", type: GAUGE, metric: [{label: [job="a"],
    // gauge: {value: 1.0}}]}, written out field by field.
    let label = [0x0a, 3, b'j', b'o', b'b', 0x12, 1, b'a']; // name = 1, value = 2
    let gauge = [0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]; // value = 1: double 1.0
    let mut metric = vec![0x0a, label.len() as u8]; // label = 1
    metric.extend_from_slice(&label);
    metric.extend_from_slice(&[0x12, gauge.len() as u8]); // gauge = 2
    metric.extend_from_slice(&gauge);
    let mut message = vec![0x0a, 2, b'u', b'p', 0x18, 1]; // name = 1, type = 3
    message.extend_from_slice(&[0x22, metric.len() as u8]); // metric = 4
    message.extend_from_slice(&metric);
    let mut stream = vec![message.len() as u8];
    stream.extend_from_slice(&message);

    let decoded = decode_delimited(&stream).unwrap();
    assert_eq!(
        decoded,
        vec![family(
            "up",
            None,
            MetricType::Gauge,
            vec![single(&[("job", "a")], 1.0)]
        )]
    );
}

#[test]
fn prost_built_message_decodes() {
    let message = pb::MetricFamily {
        name: Some("jobs_total".into()),
        help: Some(String::new()),
        r#type: Some(pb::MetricType::Counter as i32),
        metric: vec![
            pb::Metric {
                label: vec![pb::LabelPair {
                    name: Some("z".into()),
                    value: Some("1".into()),
                }],
                counter: Some(pb::Counter {
                    value: Some(3.0),
                    exemplar: Some(pb::Exemplar {
                        label: vec![],
                        value: Some(1.0),
                        timestamp: Some(pb::Timestamp {
                            seconds: 1,
                            nanos: 2,
                        }),
                    }),
                    created_timestamp: Some(pb::Timestamp::default()),
                }),
                timestamp_ms: Some(99),
                ..Default::default()
            },
            // The type says counter but no counter field: zero, like Go.
            pb::Metric {
                gauge: Some(pb::Gauge { value: Some(5.0) }),
                ..Default::default()
            },
        ],
        unit: Some("seconds".into()),
    };
    let decoded = decode_delimited(&delimited(&[message])).unwrap();
    let mut first = single(&[("z", "1")], 3.0);
    first.timestamp_ms = Some(99);
    // The exemplar and created timestamp are kept for protobuf scrapers.
    first.extras = Some(Box::new(Extras {
        created: Some(Timestamp::default()),
        exemplar: Some(Exemplar {
            labels: vec![],
            value: 1.0,
            timestamp: Some(Timestamp {
                seconds: 1,
                nanos: 2,
            }),
        }),
        ..Default::default()
    }));
    assert_eq!(
        decoded,
        vec![family(
            "jobs_total",
            None, // empty help is no help
            MetricType::Counter,
            vec![first, single(&[], 0.0)]
        )]
    );
}

#[test]
fn absent_type_is_counter_and_summary_defaults() {
    let untyped_family = pb::MetricFamily {
        name: Some("a".into()),
        metric: vec![pb::Metric {
            counter: Some(pb::Counter {
                value: Some(2.0),
                ..Default::default()
            }),
            ..Default::default()
        }],
        ..Default::default()
    };
    let summary = pb::MetricFamily {
        name: Some("s".into()),
        r#type: Some(pb::MetricType::Summary as i32),
        metric: vec![pb::Metric::default()],
        ..Default::default()
    };
    let decoded = decode_delimited(&delimited(&[untyped_family, summary])).unwrap();
    assert_eq!(decoded[0].kind, MetricType::Counter);
    assert_eq!(decoded[0].metrics[0].value, Value::Single(2.0));
    assert_eq!(
        decoded[1].metrics[0].value,
        Value::Summary {
            sample_count: 0.0,
            sample_sum: 0.0,
            quantiles: vec![]
        }
    );
}

#[test]
fn float_count_overrides_only_when_positive() {
    let message = pb::MetricFamily {
        name: Some("h".into()),
        r#type: Some(pb::MetricType::Histogram as i32),
        metric: vec![pb::Metric {
            histogram: Some(pb::Histogram {
                sample_count: Some(3),
                sample_count_float: Some(0.0),
                sample_sum: Some(1.0),
                bucket: vec![pb::Bucket {
                    cumulative_count: Some(1),
                    cumulative_count_float: Some(1.5),
                    upper_bound: Some(0.5),
                    exemplar: None,
                }],
                ..Default::default()
            }),
            ..Default::default()
        }],
        ..Default::default()
    };
    let decoded = decode_delimited(&delimited(&[message])).unwrap();
    assert_eq!(
        decoded[0].metrics[0].value,
        Value::Histogram {
            sample_count: 3.0,
            sample_sum: 1.0,
            buckets: vec![(0.5, 1.5)]
        }
    );
}

#[test]
fn truncated_stream_is_unexpected_eof() {
    let bytes = encode_delimited(&every_type());
    for cut in [1, bytes.len() / 2, bytes.len() - 1] {
        let err = decode_delimited(&bytes[..cut]).unwrap_err();
        assert!(err.0.starts_with("unexpected EOF"), "cut {cut}: {err}");
        assert!(err.0.contains("at byte"), "{err}");
    }
    // A length prefix whose varint is itself cut short.
    let err = decode_delimited(&[0x80]).unwrap_err();
    assert!(err.0.starts_with("unexpected EOF"), "{err}");
    // The second message is the truncated one.
    let one = encode_delimited(&every_type()[..1]);
    let mut two = one.clone();
    two.extend_from_slice(&one[..one.len() - 2]);
    let err = decode_delimited(&two).unwrap_err();
    assert!(err.0.contains("message 1"), "{err}");
    assert!(err.0.contains(&format!("byte {}", one.len())), "{err}");
}

#[test]
fn garbage_is_an_error() {
    // Length 3, then bytes that are not a valid message (wire type 7).
    assert!(decode_delimited(&[3, 0x0f, 0xff, 0xff]).is_err());
    // A varint longer than ten bytes.
    assert!(decode_delimited(&[0xff; 11]).is_err());
}

#[test]
fn duplicate_family_last_wins() {
    let first = family(
        "a",
        Some("first"),
        MetricType::Gauge,
        vec![single(&[], 1.0)],
    );
    let other = family("b", None, MetricType::Counter, vec![single(&[], 2.0)]);
    let last = family(
        "a",
        Some("last"),
        MetricType::Untyped,
        vec![single(&[], 3.0)],
    );
    let bytes = encode_delimited(&[first, other.clone(), last.clone()]);
    assert_eq!(decode_delimited(&bytes).unwrap(), vec![other, last]);
}

#[test]
fn protobuf_content_types() {
    let yes = [
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
        "  Application/VND.Google.Protobuf ;  PROTO = \"io.prometheus.client.MetricFamily\" ;\tEncoding=\"delimited\" ; ",
        "application/vnd.google.protobuf; encoding=delimited; proto=io.prometheus.client.MetricFamily; charset=utf-8",
        "application/vnd.google.protobuf; proto=\"io.prometheus.client.MetricFamily\"; encoding=delimited; note=\"a \\\"quoted\\\"; value\"",
    ];
    for ct in yes {
        assert!(is_protobuf_content_type(ct), "{ct}");
    }
    let no = [
        "",
        "   ",
        "text/plain; version=0.0.4",
        "text/plain; version=0.0.4; charset=utf-8",
        "application/vnd.google.protobuf",
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily",
        "application/vnd.google.protobuf; encoding=delimited",
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=text",
        // Values are compared exactly, as Go does.
        "application/vnd.google.protobuf; proto=io.prometheus.client.metricfamily; encoding=delimited",
        // A repeated parameter or a bad parameter is a parse error in Go.
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; encoding=delimited",
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; junk",
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=\"delimited",
        "application/vnd.google.protobuf/x; proto=io.prometheus.client.MetricFamily; encoding=delimited",
        "; proto=io.prometheus.client.MetricFamily; encoding=delimited",
        "garbage \u{1F600}",
        // Go keeps a backslash before a non-special character.
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=\"delim\\ited\"",
    ];
    for ct in no {
        assert!(!is_protobuf_content_type(ct), "{ct}");
    }
}

fn many_series(n: usize, value: &str) -> pb::MetricFamily {
    pb::MetricFamily {
        name: Some("a".into()),
        r#type: Some(pb::MetricType::Gauge as i32),
        metric: (0..n)
            .map(|i| pb::Metric {
                label: vec![pb::LabelPair {
                    name: Some("i".into()),
                    value: Some(format!("{i}{value}")),
                }],
                gauge: Some(pb::Gauge { value: Some(1.0) }),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

#[test]
fn the_series_limit_stops_the_decoder_inside_a_message() {
    let limits = ParseLimits {
        max_series: 100,
        ..ParseLimits::NONE
    };
    let body = delimited(&[many_series(60, ""), many_series(1000, "")]);
    let over = match decode_delimited_with(&body, &limits) {
        Err(ParseFailure::OverLimit(over)) => over,
        other => panic!("{other:?}"),
    };
    assert_eq!(over.exceeded, crate::exposition::validate::Exceeded::Series);
    assert!(
        over.message
            .starts_with("the push has more than 100 series; parsing stopped in message 1 at byte"),
        "{over}"
    );
    let fits = delimited(&[many_series(100, "")]);
    assert_eq!(
        decode_delimited_with(&fits, &limits).unwrap()[0]
            .metrics
            .len(),
        100
    );
    // What the limited decoder reads is what prost reads.
    assert_eq!(
        decode_delimited_with(&body, &ParseLimits::NONE).unwrap(),
        decode_delimited(&body).unwrap()
    );
}

#[test]
fn label_limits_stop_the_decoder() {
    let limits = ParseLimits {
        max_label_value_length: 3,
        ..ParseLimits::NONE
    };
    let body = delimited(&[many_series(3, "xxxx")]);
    let over = match decode_delimited_with(&body, &limits) {
        Err(ParseFailure::OverLimit(over)) => over,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        over.message,
        "the value of label i of metric a in message 0 at byte 0 is 5 bytes long"
    );
}

#[test]
fn a_broken_series_is_reported_with_its_field() {
    // A metric whose label is cut short inside a well-framed family.
    let mut family = Vec::new();
    family.extend_from_slice(&[0x0a, 0x01, b'a', 0x22, 0x03, 0x0a, 0x05, 0x0a]);
    let mut body = vec![family.len() as u8];
    body.extend_from_slice(&family);
    let e = decode_delimited_with(&body, &ParseLimits::NONE).unwrap_err();
    assert!(
        e.to_string()
            .contains("invalid protobuf message 0 at byte 0")
            && e.to_string().contains("MetricFamily.metric"),
        "{e}"
    );
}

#[test]
fn series_encoded_one_by_one_make_the_whole_family() {
    let families = crate::exposition::text::parse(
        "# TYPE h histogram\nh_bucket{a=\"1\",le=\"1\"} 2\nh_bucket{a=\"1\",le=\"+Inf\"} 3\nh_sum{a=\"1\"} 1.5\nh_count{a=\"1\"} 3\nh_sum{a=\"2\"} 0\nh_count{a=\"2\"} 0.5\n",
    )
    .unwrap();
    let family = &families[0];
    let mut series = Vec::new();
    for metric in &family.metrics {
        encode_series(&mut series, family.kind, metric);
    }
    let back = decode_series("h", family.kind, &series).unwrap();
    assert_eq!(back.metrics, family.metrics);
    assert_eq!(back.kind, MetricType::Histogram);
    // The same bytes as the series part of the family's own message.
    let whole = family_to_pb(family).encode_to_vec();
    assert!(whole.ends_with(&series), "series are the message's tail");
}

use proptest::strategy::Strategy as _;

proptest::proptest! {
    /// The store's own encoder writes what prost writes for the same series.
    #[test]
    fn series_bytes_are_prosts(
        labels in proptest::collection::vec(("[a-z]{1,8}", "\\PC{0,12}"), 0..5),
        kind in 0usize..6,
        count in proptest::prop_oneof![0.0..1e6f64, (0u64..1 << 40).prop_map(|c| c as f64)],
        values in proptest::collection::vec((proptest::num::f64::ANY, 0u64..1 << 20), 0..6),
        timestamp in proptest::option::of(proptest::num::i64::ANY),
    ) {
        let kinds = [
            MetricType::Counter,
            MetricType::Gauge,
            MetricType::Untyped,
            MetricType::Summary,
            MetricType::Histogram,
            MetricType::GaugeHistogram,
        ];
        let kind = kinds[kind];
        let value = match kind {
            MetricType::Summary => Value::Summary {
                sample_count: count.floor(),
                sample_sum: count / 3.0,
                quantiles: values.iter().map(|&(q, v)| (q, v as f64)).collect(),
            },
            MetricType::Histogram | MetricType::GaugeHistogram => Value::Histogram {
                sample_count: count,
                sample_sum: -count,
                buckets: values.iter().map(|&(le, c)| (le, c as f64 + 0.5 * (c % 2) as f64)).collect(),
            },
            _ => Value::Single(values.first().map_or(count, |v| v.0)),
        };
        let metric = Metric {
            labels: labels.iter().map(|(n, v)| Label::new(n.as_str(), v.as_str())).collect(),
            value,
            timestamp_ms: timestamp,
            extras: None,
        };
        let mut ours = Vec::new();
        encode_series(&mut ours, kind, &metric);
        let mut prosts = Vec::new();
        prost::encoding::message::encode(4, &metric_to_pb(kind, &metric), &mut prosts);
        proptest::prop_assert_eq!(ours, prosts);
    }
}
