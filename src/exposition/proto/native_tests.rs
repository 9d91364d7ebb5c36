//! Tests of native histograms, exemplars and created timestamps in the
//! protobuf decoder and encoder: what a push gives is what goes out again,
//! field by field, and what Prometheus's histogram rules call invalid is
//! refused naming the family, the series and the field.

use proptest::prelude::*;

use super::*;
use crate::exposition::validate::check_families;

fn span(offset: i32, length: u32) -> pb::BucketSpan {
    pb::BucketSpan {
        offset: Some(offset),
        length: Some(length),
    }
}

fn ts(seconds: i64, nanos: i32) -> pb::Timestamp {
    pb::Timestamp { seconds, nanos }
}

fn exemplar(trace: &str, value: f64, at: Option<pb::Timestamp>) -> pb::Exemplar {
    pb::Exemplar {
        label: vec![pb::LabelPair {
            name: Some("trace_id".into()),
            value: Some(trace.into()),
        }],
        value: Some(value),
        timestamp: at,
    }
}

/// As client_golang's `histogram.Write` fills a native histogram: the
/// classic fields, then schema, zero bucket, spans and deltas.
fn rpc_seconds() -> pb::Histogram {
    pb::Histogram {
        sample_count: Some(4),
        sample_sum: Some(3.5),
        created_timestamp: Some(ts(1_700_000_000, 5)),
        schema: Some(0),
        zero_threshold: Some(0.001),
        zero_count: Some(1),
        positive_span: vec![span(0, 2)],
        positive_delta: vec![2, -1],
        exemplars: vec![exemplar("a1", 0.7, Some(ts(1_700_000_001, 0)))],
        ..Default::default()
    }
}

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

/// Classic buckets beside native ones, as client_golang writes when both
/// `Buckets` and `NativeHistogramBucketFactor` are set.
fn mixed() -> pb::Histogram {
    let mut h = rpc_seconds();
    h.bucket = vec![
        pb::Bucket {
            cumulative_count: Some(1),
            upper_bound: Some(0.5),
            exemplar: Some(exemplar("b1", 0.2, Some(ts(1_700_000_002, 7)))),
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

/// What client_golang writes for a native histogram with nothing observed
/// and a zero threshold of 0: the no-op span the schema asks for.
fn no_op_span() -> pb::Histogram {
    pb::Histogram {
        sample_count: Some(0),
        sample_sum: Some(0.0),
        schema: Some(2),
        zero_threshold: Some(0.0),
        zero_count: Some(0),
        positive_span: vec![span(0, 0)],
        ..Default::default()
    }
}

fn labels(pairs: &[(&str, &str)]) -> Vec<pb::LabelPair> {
    pairs
        .iter()
        .map(|&(n, v)| pb::LabelPair {
            name: Some(n.into()),
            value: Some(v.into()),
        })
        .collect()
}

fn histogram_family(name: &str, kind: pb::MetricType, h: pb::Histogram) -> pb::MetricFamily {
    pb::MetricFamily {
        name: Some(name.into()),
        help: Some("RPC latency.".into()),
        r#type: Some(kind as i32),
        metric: vec![pb::Metric {
            label: labels(&[("job", "j")]),
            histogram: Some(h),
            ..Default::default()
        }],
        unit: None,
    }
}

fn every_extra() -> Vec<pb::MetricFamily> {
    vec![
        histogram_family("rpc_seconds", pb::MetricType::Histogram, rpc_seconds()),
        histogram_family("float_seconds", pb::MetricType::Histogram, float_native()),
        histogram_family("mixed_seconds", pb::MetricType::Histogram, mixed()),
        histogram_family("empty_seconds", pb::MetricType::Histogram, no_op_span()),
        histogram_family(
            "gauge_seconds",
            pb::MetricType::GaugeHistogram,
            float_native(),
        ),
        pb::MetricFamily {
            name: Some("requests_total".into()),
            help: Some("Requests.".into()),
            r#type: Some(pb::MetricType::Counter as i32),
            metric: vec![pb::Metric {
                label: labels(&[("code", "200")]),
                counter: Some(pb::Counter {
                    value: Some(7.0),
                    exemplar: Some(exemplar("c1", 1.0, Some(ts(1_700_000_003, 9)))),
                    created_timestamp: Some(ts(1_699_999_999, 1)),
                }),
                ..Default::default()
            }],
            unit: None,
        },
        pb::MetricFamily {
            name: Some("latency".into()),
            help: Some("Latency.".into()),
            r#type: Some(pb::MetricType::Summary as i32),
            metric: vec![pb::Metric {
                label: labels(&[("a", "b")]),
                summary: Some(pb::Summary {
                    sample_count: Some(3),
                    sample_sum: Some(1.5),
                    quantile: vec![pb::Quantile {
                        quantile: Some(0.5),
                        value: Some(0.4),
                    }],
                    created_timestamp: Some(ts(1_699_999_998, 2)),
                }),
                ..Default::default()
            }],
            unit: None,
        },
    ]
}

fn decode_one(message: &pb::MetricFamily) -> Family<'static> {
    let mut families = decode_delimited(&delimited(std::slice::from_ref(message))).unwrap();
    families.remove(0)
}

fn delimited(messages: &[pb::MetricFamily]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        m.encode_length_delimited(&mut out).unwrap();
    }
    out
}

#[test]
fn every_native_field_exemplar_and_created_timestamp_goes_out_as_it_came() {
    for message in every_extra() {
        let family = decode_one(&message);
        assert_eq!(family_to_pb(&family), message, "{:?}", message.name);
        // The store's copy, series by series, says the same.
        let mut series = Vec::new();
        for m in &family.metrics {
            encode_series(&mut series, family.kind, m);
        }
        let mut back = decode_series(&family.name, family.kind, &series).unwrap();
        back.help = family.help.clone();
        assert_eq!(back, family);
    }
}

#[test]
fn the_model_holds_effective_counts_and_the_pushed_kind() {
    let float = decode_one(&histogram_family(
        "f",
        pb::MetricType::Histogram,
        float_native(),
    ));
    let m = &float.metrics[0];
    assert_eq!(
        m.value,
        Value::Histogram {
            sample_count: 4.5,
            sample_sum: -2.25,
            buckets: vec![]
        }
    );
    let native = m.extras.as_ref().unwrap().native.as_ref().unwrap();
    assert!(native.is_float());
    assert_eq!(native.negative_counts, [1.5, 0.5]);
    let int = decode_one(&histogram_family(
        "i",
        pb::MetricType::Histogram,
        rpc_seconds(),
    ));
    let native = int.metrics[0]
        .extras
        .as_ref()
        .unwrap()
        .native
        .as_ref()
        .unwrap();
    assert!(!native.is_float());
    assert_eq!(native.positive_deltas, [2, -1]);
}

#[test]
fn a_plain_series_has_no_extras() {
    let classic = pb::Histogram {
        sample_count: Some(2),
        sample_sum: Some(1.0),
        bucket: vec![pb::Bucket {
            cumulative_count: Some(2),
            upper_bound: Some(1.0),
            ..Default::default()
        }],
        ..Default::default()
    };
    let family = decode_one(&histogram_family("c", pb::MetricType::Histogram, classic));
    assert_eq!(family.metrics[0].extras, None);
}

#[test]
fn valid_natives_pass_the_push_checks() {
    let families: Vec<_> = every_extra().iter().map(decode_one).collect();
    check_families(&families).unwrap();
}

fn refusal(h: pb::Histogram) -> String {
    let family = decode_one(&histogram_family(
        "rpc_seconds",
        pb::MetricType::Histogram,
        h,
    ));
    check_families(&[family]).unwrap_err()
}

#[test]
fn invalid_natives_are_refused_naming_family_series_and_field() {
    let prefix = r#"invalid native histogram in metric family "rpc_seconds", series {job="j"}: "#;
    let cases: Vec<(pb::Histogram, &str)> = vec![
        (
            pb::Histogram {
                positive_span: vec![span(0, 3)],
                ..rpc_seconds()
            },
            "positive_span lengths add up to 3 but there are 2 positive_delta values",
        ),
        (
            pb::Histogram {
                schema: Some(9),
                ..rpc_seconds()
            },
            "schema 9 is outside -4..8",
        ),
        (
            pb::Histogram {
                schema: Some(-53),
                ..rpc_seconds()
            },
            "schema -53 is outside -4..8 (custom buckets, schema -53, need custom_values, \
             which this protobuf schema has not)",
        ),
        (
            pb::Histogram {
                positive_delta: vec![2, -3],
                ..rpc_seconds()
            },
            "positive_delta 2 makes bucket 2 count -1; a count cannot be negative",
        ),
        (
            pb::Histogram {
                negative_count: vec![-1.0, 0.5],
                ..float_native()
            },
            "negative_count 1 is -1; a count cannot be negative",
        ),
        (
            pb::Histogram {
                zero_count_float: Some(-0.5),
                ..float_native()
            },
            "zero_count_float is -0.5, a count cannot be negative",
        ),
        (
            pb::Histogram {
                zero_threshold: Some(-0.001),
                ..rpc_seconds()
            },
            "zero_threshold is -0.001, it must be 0 or more",
        ),
        (
            pb::Histogram {
                zero_threshold: Some(f64::NAN),
                ..rpc_seconds()
            },
            "zero_threshold is NaN, it must be 0 or more",
        ),
        (
            pb::Histogram {
                positive_count: vec![1.0, 1.0],
                ..rpc_seconds()
            },
            "it has both *_delta (integer) and *_count (float) buckets; a histogram is one or the other",
        ),
        (
            pb::Histogram {
                positive_span: vec![span(0, 1), span(-1, 1)],
                ..rpc_seconds()
            },
            "positive_span 2 has offset -1; only the first span may have a negative offset",
        ),
        (
            pb::Histogram {
                sample_count: Some(5),
                ..rpc_seconds()
            },
            "its buckets hold 4 observations but sample_count is 5",
        ),
    ];
    for (h, want) in cases {
        assert_eq!(refusal(h), format!("{prefix}{want}"));
    }
}

#[test]
fn a_count_above_the_buckets_is_fine_when_the_sum_is_nan() {
    // A NaN observation is counted but falls in no bucket (Prometheus's
    // rule): only fewer observations than the buckets hold is wrong then.
    let family = decode_one(&histogram_family(
        "rpc_seconds",
        pb::MetricType::Histogram,
        pb::Histogram {
            sample_count: Some(5),
            sample_sum: Some(f64::NAN),
            ..rpc_seconds()
        },
    ));
    check_families(&[family]).unwrap();
    assert!(refusal(pb::Histogram {
        sample_count: Some(3),
        sample_sum: Some(f64::NAN),
        ..rpc_seconds()
    })
    .ends_with("its buckets hold 4 observations but sample_count is 3"));
}

#[test]
fn a_histogram_family_whose_series_has_no_histogram_is_refused() {
    for kind in [pb::MetricType::Histogram, pb::MetricType::GaugeHistogram] {
        let message = pb::MetricFamily {
            name: Some("h".into()),
            r#type: Some(kind as i32),
            metric: vec![pb::Metric {
                label: labels(&[("job", "j")]),
                gauge: Some(pb::Gauge { value: Some(1.0) }),
                ..Default::default()
            }],
            ..Default::default()
        };
        let err = decode_delimited(&delimited(&[message])).unwrap_err();
        let name = if kind == pb::MetricType::Histogram {
            "HISTOGRAM"
        } else {
            "GAUGE_HISTOGRAM"
        };
        assert_eq!(
            err.0,
            format!(
                r#"invalid histogram in metric family "h", series {{job="j"}}: the series has no histogram field, which type {name} requires"#
            )
        );
    }
}

/// Native histograms that pass the checks: spans whose lengths add up to
/// the values, deltas whose running sums stay at 0 or more, integer or float.
fn valid_native() -> impl Strategy<Value = (Native, Vec<(f64, f64)>)> {
    let spans = || proptest::collection::vec((-5i32..5, 0u32..4), 0..4);
    (
        -4i32..=8,
        prop_oneof![Just(0.0), 1e-9f64..1.0],
        any::<bool>(),
        spans(),
        spans(),
        proptest::collection::vec(0u64..50, 0..3),
        0u64..10,
    )
        .prop_map(|(schema, threshold, float, neg, pos, classic, zero)| {
            let fix = |spans: Vec<(i32, u32)>| -> Vec<Span> {
                spans
                    .into_iter()
                    .enumerate()
                    .map(|(i, (offset, length))| Span {
                        offset: if i == 0 { offset } else { offset.abs() },
                        length,
                    })
                    .collect()
            };
            let (neg, pos) = (fix(neg), fix(pos));
            let len = |s: &[Span]| s.iter().map(|s| s.length as usize).sum::<usize>();
            let counts = |n: usize| (0..n).map(|i| (i % 3) as u64 + 1).collect::<Vec<u64>>();
            let (nc, pc) = (counts(len(&neg)), counts(len(&pos)));
            let total = zero + nc.iter().sum::<u64>() + pc.iter().sum::<u64>();
            let deltas = |c: &[u64]| {
                let mut last = 0i64;
                c.iter()
                    .map(|&v| {
                        let d = v as i64 - last;
                        last = v as i64;
                        d
                    })
                    .collect::<Vec<i64>>()
            };
            let mut n = Native {
                schema: Some(schema),
                zero_threshold: Some(threshold),
                negative_spans: neg,
                positive_spans: pos,
                ..Default::default()
            };
            if float {
                n.sample_count_float = Some(total as f64 + 0.5);
                n.zero_count_float = Some(zero as f64);
                n.negative_counts = nc.iter().map(|&c| c as f64).collect();
                n.positive_counts = pc.iter().map(|&c| c as f64).collect();
            } else {
                n.sample_count = Some(total);
                n.zero_count = Some(zero);
                n.negative_deltas = deltas(&nc);
                n.positive_deltas = deltas(&pc);
            }
            let mut cumulative = 0.0;
            let buckets = classic
                .iter()
                .enumerate()
                .map(|(i, &c)| {
                    cumulative += c as f64;
                    (i as f64 + 0.5, cumulative)
                })
                .collect();
            (n, buckets)
        })
}

fn native_metric(n: Native, buckets: Vec<(f64, f64)>, with_exemplar: bool) -> Metric<'static> {
    let sample_count = super::count(n.sample_count, n.sample_count_float);
    let exemplars = if with_exemplar {
        vec![Exemplar {
            labels: vec![Label::new("trace_id", "t")],
            value: 0.25,
            timestamp: Some(Timestamp {
                seconds: 1,
                nanos: 2,
            }),
        }]
    } else {
        Vec::new()
    };
    Metric {
        labels: vec![Label::new("instance", ""), Label::new("job", "j")],
        value: Value::Histogram {
            sample_count,
            sample_sum: 1.25,
            buckets,
        },
        timestamp_ms: None,
        extras: Some(Box::new(Extras {
            created: Some(Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            exemplars,
            native: Some(n),
            ..Default::default()
        })),
    }
}

proptest! {
    #[test]
    fn valid_natives_survive_the_store_encoding((n, buckets) in valid_native(), ex in any::<bool>()) {
        let metric = native_metric(n, buckets, ex);
        let family = Family {
            name: Cow::Borrowed("h"),
            help: None,
            kind: MetricType::Histogram,
            metrics: vec![metric],
        };
        check_families(std::slice::from_ref(&family)).unwrap();
        let mut series = Vec::new();
        encode_series(&mut series, family.kind, &family.metrics[0]);
        prop_assert_eq!(decode_series("h", family.kind, &series).unwrap(), family.clone());
        prop_assert_eq!(decode_delimited(&encode_delimited(std::slice::from_ref(&family))).unwrap(), vec![family]);
    }

    #[test]
    fn random_native_families_round_trip_delimited(
        natives in proptest::collection::vec((valid_native(), any::<bool>()), 1..4),
        gauge in any::<bool>(),
    ) {
        let metrics = natives
            .into_iter()
            .enumerate()
            .map(|(i, ((n, b), ex))| {
                let mut m = native_metric(n, b, ex);
                m.labels.push(Label::new("series", i.to_string()));
                m
            })
            .collect();
        let family = Family {
            name: Cow::Borrowed("natives"),
            help: Some(Cow::Borrowed("Native.")),
            kind: if gauge { MetricType::GaugeHistogram } else { MetricType::Histogram },
            metrics,
        };
        prop_assert_eq!(decode_delimited(&encode_delimited(std::slice::from_ref(&family))).unwrap(), vec![family]);
    }
}
