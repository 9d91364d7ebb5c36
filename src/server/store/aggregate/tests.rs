//! Aggregation's unit tests: the combining rules on families built in
//! code, and aggregating pushes through the store (refusals leave the group
//! as it was, the limits hold, the mark follows the mode).

use super::*;
use crate::exposition::{text, Exemplar, Timestamp};
use crate::grouping::GroupingKey;
use crate::server::limits::Limits;
use crate::server::metrics::OWN_TYPES;
use crate::server::store::{prepare, Mode, PushError, Store};
use std::time::SystemTime;

fn parse(body: &str) -> Family<'static> {
    text::parse(body)
        .expect("test bodies parse")
        .remove(0)
        .into_owned()
}

fn value<'a>(f: &'a Family<'_>, i: usize) -> &'a Value {
    &f.metrics[i].value
}

#[test]
fn counters_add_series_by_series_and_new_series_follow() {
    let old = parse("# TYPE c counter\nc{a=\"1\"} 2\nc{a=\"2\"} 5\n");
    let new = parse("# TYPE c counter\nc{a=\"2\"} 1.5\nc{a=\"3\"} 7\n");
    let f = combine(old, new, Gauges::Last).unwrap();
    assert_eq!(f.metrics.len(), 3);
    assert_eq!(value(&f, 0), &Value::Single(2.0));
    assert_eq!(value(&f, 1), &Value::Single(6.5));
    assert_eq!(value(&f, 2), &Value::Single(7.0));
}

#[test]
fn gauges_follow_their_mode() {
    let old = || parse("# TYPE g gauge\ng 3\n");
    let new = || parse("# TYPE g gauge\ng 2\n");
    for (mode, want) in [
        (Gauges::Last, 2.0),
        (Gauges::Sum, 5.0),
        (Gauges::Max, 3.0),
        (Gauges::Min, 2.0),
    ] {
        let f = combine(old(), new(), mode).unwrap();
        assert_eq!(value(&f, 0), &Value::Single(want), "{mode:?}");
    }
    assert_eq!(Gauges::parse(" MAX "), Some(Gauges::Max));
    assert_eq!(Gauges::parse("avg"), None);
}

#[test]
fn a_counter_that_goes_down_and_untyped_values_are_refused_by_name() {
    let down = parse("# TYPE c counter\nc{a=\"x\"} -1\n");
    let e = check_pushed(&down, Gauges::Last).unwrap_err();
    assert!(e.contains("counter c{a=\"x\"} goes down"), "{e}");
    let untyped = parse("u 1\n");
    let e = check_pushed(&untyped, Gauges::Last).unwrap_err();
    assert!(e.contains("metric family u is untyped"), "{e}");
    let ok = parse("# TYPE c counter\nc 0\n");
    assert!(check_pushed(&ok, Gauges::Last).is_ok());
}

#[test]
fn a_type_clash_names_both_types() {
    let old = parse("# TYPE m gauge\nm 1\n");
    let new = parse("# TYPE m counter\nm 1\n");
    let e = combine(old, new, Gauges::Last).unwrap_err();
    assert!(
        e.contains("pushed as counter but the group has it as gauge"),
        "{e}"
    );
}

#[test]
fn classic_histograms_add_bucket_by_bucket_and_other_bounds_are_refused() {
    let h = |b1: u32, b2: u32, n: u32, sum: f64| {
        parse(&format!(
            "# TYPE h histogram\nh_bucket{{le=\"0.5\"}} {b1}\nh_bucket{{le=\"1\"}} {b2}\n\
             h_bucket{{le=\"+Inf\"}} {n}\nh_sum {sum}\nh_count {n}\n"
        ))
    };
    let f = combine(h(1, 2, 3, 1.5), h(2, 2, 4, 2.0), Gauges::Last).unwrap();
    assert_eq!(
        value(&f, 0),
        &Value::Histogram {
            sample_count: 7.0,
            sample_sum: 3.5,
            buckets: vec![(0.5, 3.0), (1.0, 4.0), (f64::INFINITY, 7.0)],
        }
    );
    let other = parse(
        "# TYPE h histogram\nh_bucket{le=\"0.25\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
    );
    let e = combine(h(1, 2, 3, 1.5), other, Gauges::Last).unwrap_err();
    assert!(
        e.contains("bucket bounds [0.25] but the group has [0.5, 1]"),
        "{e}"
    );
}

#[test]
fn summaries_add_sum_and_count_and_lose_their_quantiles() {
    let s = |sum: f64, n: u32| {
        parse(&format!(
            "# TYPE s summary\ns{{quantile=\"0.5\"}} 1\ns_sum {sum}\ns_count {n}\n"
        ))
    };
    assert!(changes_first_push(&s(1.0, 1)));
    let first = first_family(s(1.0, 1));
    assert!(!changes_first_push(&first));
    let f = combine(first, s(2.5, 3), Gauges::Last).unwrap();
    assert_eq!(
        value(&f, 0),
        &Value::Summary {
            sample_count: 4.0,
            sample_sum: 3.5,
            quantiles: vec![],
        }
    );
}

fn native(schema: i32, spans: &[(i32, u32)], deltas: &[i64], zero: u64, count: u64) -> Native {
    Native {
        sample_count: Some(count),
        schema: Some(schema),
        zero_threshold: Some(1e-128),
        zero_count: Some(zero),
        positive_spans: spans
            .iter()
            .map(|&(offset, length)| Span { offset, length })
            .collect(),
        positive_deltas: deltas.to_vec(),
        ..Native::default()
    }
}

fn positive(n: &Native) -> Vec<(i32, f64)> {
    side(
        &n.positive_spans,
        &n.positive_deltas,
        &n.positive_counts,
        is_float(n),
    )
}

#[test]
fn natives_of_one_schema_add_bucket_by_bucket_across_their_spans() {
    // Buckets 1, 2 (counts 1, 3) and 5 (2) plus buckets 2 (1) and 3 (4).
    let a = native(0, &[(1, 2), (2, 1)], &[1, 2, -1], 1, 7);
    let b = native(0, &[(2, 2)], &[1, 3], 0, 5);
    let sum = add_native(&a, &b).unwrap();
    assert_eq!(positive(&sum), vec![(1, 1.0), (2, 4.0), (3, 4.0), (5, 2.0)]);
    assert_eq!(
        sum.positive_spans,
        vec![
            Span {
                offset: 1,
                length: 3
            },
            Span {
                offset: 1,
                length: 1
            }
        ]
    );
    assert_eq!(sum.sample_count, Some(12));
    assert_eq!(sum.zero_count, Some(1));
    assert!(sum.sample_count_float.is_none() && sum.positive_counts.is_empty());
}

#[test]
fn a_finer_schema_is_reduced_to_the_coarser_one() {
    // Schema 1 buckets 1..=4 are schema 0 buckets 1, 1, 2, 2.
    let fine = native(1, &[(1, 4)], &[1, 0, 0, 0], 0, 4);
    let coarse = native(0, &[(1, 1)], &[10], 0, 10);
    let sum = add_native(&coarse, &fine).unwrap();
    assert_eq!(sum.schema, Some(0));
    assert_eq!(positive(&sum), vec![(1, 12.0), (2, 2.0)]);
    // Negative indices reduce the same way: schema 2 bucket -3 is schema 0 bucket 0.
    assert_eq!(((-3 - 1) >> 2) + 1, 0);
}

#[test]
fn float_natives_stay_float_and_thresholds_must_agree() {
    let int = native(0, &[(0, 1)], &[2], 0, 2);
    let float = Native {
        sample_count_float: Some(1.5),
        schema: Some(0),
        zero_threshold: Some(1e-128),
        zero_count_float: Some(0.5),
        positive_spans: vec![Span {
            offset: 0,
            length: 1,
        }],
        positive_counts: vec![1.0],
        ..Native::default()
    };
    let sum = add_native(&int, &float).unwrap();
    assert_eq!(sum.sample_count_float, Some(3.5));
    assert_eq!(sum.zero_count_float, Some(0.5));
    assert_eq!(sum.positive_counts, vec![3.0]);
    let other = Native {
        zero_threshold: Some(0.001),
        ..int.clone()
    };
    let e = add_native(&int, &other).unwrap_err();
    assert!(e.contains("zero threshold 0.001"), "{e}");
}

#[test]
fn the_latest_exemplar_and_the_earliest_created_time_are_kept() {
    let ex = |v: f64| Exemplar {
        labels: vec![],
        value: v,
        timestamp: None,
    };
    let old = Extras {
        created: Some(Timestamp {
            seconds: 10,
            nanos: 0,
        }),
        exemplar: Some(ex(1.0)),
        ..Extras::default()
    };
    let new = Extras {
        created: Some(Timestamp {
            seconds: 20,
            nanos: 0,
        }),
        exemplar: Some(ex(2.0)),
        ..Extras::default()
    };
    let e = add_extras("c", &[], Some(&old), Some(&new))
        .unwrap()
        .unwrap();
    assert_eq!(e.created.unwrap().seconds, 10);
    assert_eq!(e.exemplar.unwrap().value, 2.0);
}

fn key() -> GroupingKey {
    GroupingKey::new([("job", "w")])
}

fn push(store: &Store, body: &str, mode: Mode) -> Result<(), PushError> {
    let now = SystemTime::now();
    let families = text::parse(body).expect("test bodies parse");
    store.push(prepare(key(), families, now)?, mode, now)
}

fn scrape(store: &Store) -> String {
    let mut out = Vec::new();
    store.write_group_exposition(&key(), &mut out);
    String::from_utf8(out)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("push_time_seconds") && !l.contains("push_failure_time_seconds"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn aggregating_pushes_add_into_the_group_and_refusals_leave_it_as_it_was() {
    let store = Store::new(OWN_TYPES);
    let sum = Mode::Aggregate(Gauges::Last);
    push(&store, "# TYPE c counter\nc 1\n# TYPE g gauge\ng 4\n", sum).unwrap();
    push(&store, "# TYPE c counter\nc 2\n", sum).unwrap();
    let before = scrape(&store);
    assert!(before.contains("c{instance=\"\",job=\"w\"} 3"), "{before}");
    assert!(before.contains("g{instance=\"\",job=\"w\"} 4"), "{before}");
    assert!(store.group(&key()).unwrap().aggregating);
    for bad in [
        "# TYPE c counter\nc -1\n",
        "# TYPE c gauge\nc 1\n",
        "u 1\n",
        // A good family beside a bad one: nothing of the push is applied.
        "# TYPE g gauge\ng 9\n# TYPE c counter\nc -2\n",
    ] {
        let e = push(&store, bad, sum).unwrap_err();
        assert!(matches!(e, PushError::Rejected(_)), "{bad}: {e}");
        assert_eq!(scrape(&store), before, "{bad}");
    }
    // A plain POST replaces what it names, and keeps the mark.
    push(&store, "# TYPE c counter\nc 1\n", Mode::Merge).unwrap();
    assert!(scrape(&store).contains("c{instance=\"\",job=\"w\"} 1"));
    assert!(store.group(&key()).unwrap().aggregating);
    // A PUT resets the group, and clears the mark unless it aggregates.
    push(&store, "# TYPE c counter\nc 5\n", Mode::ReplaceAggregating).unwrap();
    assert!(store.group(&key()).unwrap().aggregating);
    push(&store, "# TYPE c counter\nc 5\n", Mode::Replace).unwrap();
    assert!(!store.group(&key()).unwrap().aggregating);
}

#[test]
fn an_aggregating_push_cannot_pass_the_series_limit() {
    let store = Store::new(OWN_TYPES).with_limits(Limits {
        max_series: 2,
        ..Limits::NONE
    });
    let sum = Mode::Aggregate(Gauges::Last);
    // Two series of c (the synthetic ones do not count).
    push(
        &store,
        "# TYPE c counter\nc{a=\"1\"} 1\nc{a=\"2\"} 1\n",
        sum,
    )
    .unwrap();
    // Only the new series of c count, not those it shares.
    let e = push(&store, "# TYPE c counter\nc{a=\"3\"} 1\n", sum).unwrap_err();
    assert!(matches!(e, PushError::Limit(_)), "{e}");
    push(&store, "# TYPE c counter\nc{a=\"2\"} 1\n", sum).unwrap();
    assert!(scrape(&store).contains("c{a=\"2\",instance=\"\",job=\"w\"} 2"));
}

#[test]
fn work_done_before_the_write_lock_is_redone_when_the_group_changed_meanwhile() {
    use crate::server::store::combine_push;
    let store = Store::new(OWN_TYPES);
    let sum = Mode::Aggregate(Gauges::Last);
    push(&store, "# TYPE c counter\nc 1\n", sum).unwrap();
    let now = SystemTime::now();
    let canonical: std::sync::Arc<[u8]> = std::sync::Arc::from(key().canonical());
    let delta = || prepare(key(), text::parse("# TYPE c counter\nc 10\n").unwrap(), now).unwrap();
    let early = combine_push(&store.inner.read(), &canonical, &delta(), Gauges::Last, now);
    assert!(early.still_current(&store.inner.read(), &canonical, &delta()));
    // Another push lands between the read and the write lock.
    push(&store, "# TYPE c counter\nc 100\n", sum).unwrap();
    assert!(!early.still_current(&store.inner.read(), &canonical, &delta()));
    let inner = store.inner.write();
    let got = store
        .aggregated(&inner, &canonical, delta(), sum, now, Some(early))
        .unwrap();
    assert_eq!(
        &*got.families[0].text,
        &b"c{instance=\"\",job=\"w\"} 111\n"[..]
    );
}

#[test]
fn concurrent_aggregating_pushes_to_one_group_lose_nothing() {
    let store = Store::new(OWN_TYPES);
    let sum = Mode::Aggregate(Gauges::Last);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..50 {
                    push(&store, "# TYPE c counter\nc 1\n", sum).unwrap();
                }
            });
        }
    });
    assert!(
        scrape(&store).contains("c{instance=\"\",job=\"w\"} 400"),
        "{}",
        scrape(&store)
    );
}
