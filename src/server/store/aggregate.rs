//! Aggregation: how a push that asks for it (`Pgw-Aggregate: sum`) is
//! combined with the family its group already holds, series by series
//! (matched by label set). Pure: families in, a family or a refusal out; the
//! store calls it under its write lock for the families a push names only.
//!
//! Counters, histograms (classic bucket by bucket, native bucket by bucket
//! after reducing the finer schema to the coarser one) and the `_sum` and
//! `_count` of summaries add; gauges follow [`Gauges`]. What cannot be added
//! without a guess is refused, naming the family or series: untyped values,
//! a counter that goes down, bucket sets that differ, a change of type.

use std::collections::{BTreeMap, HashMap};

use crate::exposition::native::side;
use crate::exposition::proto::label_set;
use crate::exposition::render::format_float;
use crate::exposition::{Extras, Family, Label, Metric, MetricType, Native, Span, Value};
use crate::server::store::prepare::fingerprint;

/// What an aggregating push does with a gauge that the group already has
/// (`Pgw-Aggregate-Gauges`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Gauges {
    /// The pushed value replaces the stored one.
    #[default]
    Last,
    Sum,
    Max,
    Min,
}

impl Gauges {
    pub(crate) const ALL: [Gauges; 4] = [Gauges::Last, Gauges::Sum, Gauges::Max, Gauges::Min];

    /// The header value that asks for it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Gauges::Last => "last",
            Gauges::Sum => "sum",
            Gauges::Max => "max",
            Gauges::Min => "min",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Gauges> {
        Gauges::ALL
            .into_iter()
            .find(|g| g.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

fn series(family: &str, labels: &[Label<'_>]) -> String {
    format!("{family}{}", label_set(labels))
}

/// The checks a pushed family must pass whether or not the group has it.
pub(crate) fn check_pushed(family: &Family<'_>, gauges: Gauges) -> Result<(), String> {
    let name = &family.name;
    match family.kind {
        MetricType::Untyped => {
            return Err(format!(
                "metric family {name} is untyped, and an aggregating push cannot tell whether \
                 to add its values; push it as a counter or a gauge"
            ))
        }
        MetricType::GaugeHistogram if gauges != Gauges::Last => {
            return Err(format!(
                "metric family {name} is a gauge histogram, which an aggregating push only \
                 replaces (Pgw-Aggregate-Gauges: last), not {}",
                gauges.as_str()
            ))
        }
        _ => {}
    }
    for m in &family.metrics {
        let went_down = |what: &str, v: f64| {
            format!(
                "counter {} goes down: its pushed {what} is {}, and an aggregating push adds \
                 what it pushes, so it must be 0 or more (a reset is a PUT)",
                series(name, &m.labels),
                format_float(v)
            )
        };
        let bad = |v: f64| v.is_nan() || v < 0.0;
        match (&m.value, family.kind) {
            (&Value::Single(v), MetricType::Counter) if bad(v) => {
                return Err(went_down("value", v))
            }
            (&Value::Summary { sample_count, .. }, _) if bad(sample_count) => {
                return Err(went_down("count", sample_count))
            }
            (
                Value::Histogram {
                    sample_count,
                    buckets,
                    ..
                },
                MetricType::Histogram,
            ) => {
                if bad(*sample_count) {
                    return Err(went_down("count", *sample_count));
                }
                if let Some(&(le, c)) = buckets.iter().find(|(_, c)| bad(*c)) {
                    return Err(went_down(&format!("bucket le={}", format_float(le)), c));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// True when the family as pushed is not what the store keeps of it: a
/// summary's quantiles are dropped.
pub(crate) fn changes_first_push(family: &Family<'_>) -> bool {
    family
        .metrics
        .iter()
        .any(|m| matches!(&m.value, Value::Summary { quantiles, .. } if !quantiles.is_empty()))
}

/// A series as an aggregating group first stores it: a summary without its
/// quantiles (they cannot be added, and a quantile of one worker is no
/// quantile of the job).
fn first(mut m: Metric<'static>) -> Metric<'static> {
    if let Value::Summary { quantiles, .. } = &mut m.value {
        quantiles.clear();
    }
    m
}

/// The family a push makes of one the group has none of.
pub(crate) fn first_family(mut family: Family<'static>) -> Family<'static> {
    family.metrics = family.metrics.into_iter().map(first).collect();
    family
}

/// `old` (the group's family) with `new` (the pushed one, which passed
/// [`check_pushed`]) added in. Series of `old` the push does not name stay
/// as they are, in their order; new series follow in the push's order.
pub(crate) fn combine(
    old: Family<'static>,
    new: Family<'static>,
    gauges: Gauges,
) -> Result<Family<'static>, String> {
    if old.kind != new.kind {
        return Err(format!(
            "metric family {} is pushed as {} but the group has it as {}, and an aggregating \
             push cannot change a family's type (a PUT replaces the group)",
            new.name, new.kind, old.kind
        ));
    }
    let Family {
        name,
        help,
        kind,
        metrics: new_metrics,
    } = new;
    let mut metrics = old.metrics;
    // Series by the store's fingerprint of their labels, confirmed by the
    // labels themselves: no label set is copied.
    let mut at: HashMap<u64, usize> = metrics
        .iter()
        .enumerate()
        .map(|(i, m)| (fingerprint(&name, &m.labels), i))
        .collect();
    for m in new_metrics {
        let fp = fingerprint(&name, &m.labels);
        match at
            .get(&fp)
            .copied()
            .filter(|&i| metrics[i].labels == m.labels)
        {
            Some(i) => {
                let combined = add(&name, kind, &metrics[i], m, gauges)?;
                metrics[i] = combined;
            }
            None => {
                at.insert(fp, metrics.len());
                metrics.push(first(m));
            }
        }
    }
    Ok(Family {
        name,
        help: help.or(old.help),
        kind,
        metrics,
    })
}

/// One stored series and the pushed one of the same labels.
fn add(
    name: &str,
    kind: MetricType,
    old: &Metric<'static>,
    new: Metric<'static>,
    gauges: Gauges,
) -> Result<Metric<'static>, String> {
    let value = match (&old.value, &new.value, kind) {
        (&Value::Single(a), &Value::Single(b), MetricType::Gauge) => Value::Single(match gauges {
            Gauges::Last => b,
            Gauges::Sum => a + b,
            Gauges::Max => a.max(b),
            Gauges::Min => a.min(b),
        }),
        (&Value::Single(a), &Value::Single(b), _) => Value::Single(a + b),
        (
            &Value::Summary {
                sample_count: c1,
                sample_sum: s1,
                ..
            },
            &Value::Summary {
                sample_count: c2,
                sample_sum: s2,
                ..
            },
            _,
        ) => Value::Summary {
            sample_count: c1 + c2,
            sample_sum: s1 + s2,
            quantiles: Vec::new(),
        },
        // A gauge histogram is replaced (check_pushed allows only `last`).
        (Value::Histogram { .. }, Value::Histogram { .. }, MetricType::GaugeHistogram) => {
            return Ok(new)
        }
        (
            Value::Histogram {
                sample_count: c1,
                sample_sum: s1,
                buckets: b1,
            },
            Value::Histogram {
                sample_count: c2,
                sample_sum: s2,
                buckets: b2,
            },
            _,
        ) => {
            let finite = |b: &[(f64, f64)]| -> Vec<(f64, f64)> {
                b.iter()
                    .copied()
                    .filter(|&(le, _)| le != f64::INFINITY)
                    .collect()
            };
            let (f1, f2) = (finite(b1), finite(b2));
            let bounds = |b: &[(f64, f64)]| -> Vec<f64> { b.iter().map(|&(le, _)| le).collect() };
            if bounds(&f1) != bounds(&f2) {
                let show = |b: &[(f64, f64)]| {
                    let list: Vec<String> = b.iter().map(|&(le, _)| format_float(le)).collect();
                    format!("[{}]", list.join(", "))
                };
                return Err(format!(
                    "histogram {} is pushed with the bucket bounds {} but the group has {}, and \
                     bucket sets that differ cannot be added",
                    series(name, &new.labels),
                    show(&f2),
                    show(&f1)
                ));
            }
            let count = c1 + c2;
            let mut buckets: Vec<(f64, f64)> = f1
                .iter()
                .zip(&f2)
                .map(|(&(le, a), &(_, b))| (le, a + b))
                .collect();
            // The +Inf bucket always counts everything.
            if f1.len() != b1.len() || f2.len() != b2.len() {
                buckets.push((f64::INFINITY, count));
            }
            Value::Histogram {
                sample_count: count,
                sample_sum: s1 + s2,
                buckets,
            }
        }
        _ => {
            return Err(format!(
                "series {} holds a value of another shape than the group's",
                series(name, &new.labels)
            ))
        }
    };
    let extras = add_extras(
        name,
        &new.labels,
        old.extras.as_deref(),
        new.extras.as_deref(),
    )?;
    Ok(Metric {
        labels: new.labels,
        value,
        timestamp_ms: new.timestamp_ms,
        extras,
    })
}

/// The latest exemplars, the earliest created timestamp, the native
/// buckets added.
fn add_extras(
    name: &str,
    labels: &[Label<'_>],
    old: Option<&Extras>,
    new: Option<&Extras>,
) -> Result<Option<Box<Extras>>, String> {
    let none = Extras::default();
    let (old, new) = (old.unwrap_or(&none), new.unwrap_or(&none));
    let created = match (old.created, new.created) {
        (Some(a), Some(b)) => Some(if (a.seconds, a.nanos) <= (b.seconds, b.nanos) {
            a
        } else {
            b
        }),
        (a, b) => a.or(b),
    };
    let n = old.bucket_exemplars.len().max(new.bucket_exemplars.len());
    let mut bucket_exemplars: Vec<_> = (0..n)
        .map(|i| {
            new.bucket_exemplars
                .get(i)
                .cloned()
                .flatten()
                .or_else(|| old.bucket_exemplars.get(i).cloned().flatten())
        })
        .collect();
    while bucket_exemplars.last().is_some_and(Option::is_none) {
        bucket_exemplars.pop();
    }
    let native = match (&old.native, &new.native) {
        (None, None) => None,
        (Some(a), Some(b)) => Some(add_native(a, b).map_err(|e| {
            format!(
                "native histogram {} cannot be added to the group's: {e}",
                series(name, labels)
            )
        })?),
        (a, _) => {
            let (pushed, stored) = if a.is_some() {
                ("classic", "native")
            } else {
                ("native", "classic")
            };
            return Err(format!(
                "histogram {} is pushed {pushed} but the group has it {stored}, and the two \
                 cannot be added",
                series(name, labels)
            ));
        }
    };
    Ok(Extras {
        created,
        exemplar: new.exemplar.clone().or_else(|| old.exemplar.clone()),
        bucket_exemplars,
        exemplars: if new.exemplars.is_empty() {
            old.exemplars.clone()
        } else {
            new.exemplars.clone()
        },
        native,
    }
    .boxed())
}

/// Counts in float fields (`*_count_float`, `*_counts`).
fn is_float(n: &Native) -> bool {
    n.sample_count_float.is_some()
        || n.zero_count_float.is_some()
        || !n.positive_counts.is_empty()
        || !n.negative_counts.is_empty()
}

/// Two native histograms added bucket by bucket. The finer schema is
/// reduced to the coarser first, as Prometheus's `ReduceResolution` does
/// (bucket `i` of schema `s` lies in bucket `((i-1) >> (s-t)) + 1` of schema
/// `t`); zero thresholds must be equal. Integer counts stay integer unless
/// either side is float.
fn add_native(old: &Native, new: &Native) -> Result<Native, String> {
    let (t1, t2) = (old.zero_threshold(), new.zero_threshold());
    if t1 != t2 {
        return Err(format!(
            "the push has zero threshold {} and the group {}; histograms of different zero \
             thresholds are not added",
            format_float(t2),
            format_float(t1)
        ));
    }
    let schema = old.schema().min(new.schema());
    let float = is_float(old) || is_float(new);
    let mut negative: BTreeMap<i32, f64> = BTreeMap::new();
    let mut positive: BTreeMap<i32, f64> = BTreeMap::new();
    let mut zero = 0.0;
    let mut count = 0.0;
    for n in [old, new] {
        let read_float = is_float(n);
        let shift = n.schema() - schema;
        let reduce = |idx: i32| ((idx - 1) >> shift) + 1;
        for (idx, c) in side(
            &n.negative_spans,
            &n.negative_deltas,
            &n.negative_counts,
            read_float,
        ) {
            *negative.entry(reduce(idx)).or_default() += c;
        }
        for (idx, c) in side(
            &n.positive_spans,
            &n.positive_deltas,
            &n.positive_counts,
            read_float,
        ) {
            *positive.entry(reduce(idx)).or_default() += c;
        }
        zero += if read_float {
            n.zero_count_float.unwrap_or(0.0)
        } else {
            n.zero_count.unwrap_or(0) as f64
        };
        count += if read_float {
            n.sample_count_float.unwrap_or(0.0)
        } else {
            n.sample_count.unwrap_or(0) as f64
        };
    }
    let (negative_spans, negative_deltas, negative_counts) = encode_side(&negative, float);
    let (mut positive_spans, positive_deltas, positive_counts) = encode_side(&positive, float);
    // An empty native histogram keeps the empty span that marks it native
    // (as client_golang sends it).
    if negative_spans.is_empty()
        && positive_spans.is_empty()
        && (old.has_spans() || new.has_spans())
    {
        positive_spans.push(Span::default());
    }
    Ok(Native {
        sample_count: (!float).then_some(count as u64),
        sample_count_float: float.then_some(count),
        schema: Some(schema),
        zero_threshold: old.zero_threshold.or(new.zero_threshold),
        zero_count: (!float).then_some(zero as u64),
        zero_count_float: float.then_some(zero),
        negative_spans,
        negative_deltas,
        negative_counts,
        positive_spans,
        positive_deltas,
        positive_counts,
    })
}

/// Absolute counts by bucket index as spans and deltas (integer) or counts
/// (float). Deltas run on across spans, as the format has them.
fn encode_side(buckets: &BTreeMap<i32, f64>, float: bool) -> (Vec<Span>, Vec<i64>, Vec<f64>) {
    let (mut spans, mut deltas, mut counts) = (Vec::<Span>::new(), Vec::new(), Vec::new());
    let mut previous: Option<i32> = None;
    let mut last = 0i64;
    for (&idx, &c) in buckets {
        match previous {
            Some(p) if idx == p + 1 => spans.last_mut().expect("a span was opened").length += 1,
            Some(p) => spans.push(Span {
                offset: idx - p - 1,
                length: 1,
            }),
            None => spans.push(Span {
                offset: idx,
                length: 1,
            }),
        }
        if float {
            counts.push(c);
        } else {
            let v = c as i64;
            deltas.push(v - last);
            last = v;
        }
        previous = Some(idx);
    }
    (spans, deltas, counts)
}

#[cfg(test)]
mod tests;
