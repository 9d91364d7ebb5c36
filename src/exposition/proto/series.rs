//! The protobuf bytes of one series without extras (no native histogram,
//! exemplar or created timestamp), written straight from the model: the
//! store encodes every pushed series, so this is on the push path, and it
//! allocates nothing. The bytes are exactly what prost writes for the
//! message `metric_to_pb` builds (a test compares them).

use prost::encoding::{encode_key, encode_varint, encoded_len_varint, WireType};

use crate::exposition::{Label, Metric, MetricType, Value};

/// Appends `metric` as field 4 of a `MetricFamily` of type `kind`.
pub(super) fn encode(out: &mut Vec<u8>, kind: MetricType, metric: &Metric<'_>) {
    let len = metric_len(metric);
    out.reserve(len + 6);
    encode_key(4, WireType::LengthDelimited, out);
    encode_varint(len as u64, out);
    for label in &metric.labels {
        encode_key(1, WireType::LengthDelimited, out);
        encode_varint(label_len(label) as u64, out);
        string(out, 1, &label.name);
        string(out, 2, &label.value);
    }
    match (&metric.value, kind) {
        (&Value::Single(v), MetricType::Counter) => message(out, 3, 9, |out| double(out, 1, v)),
        (&Value::Single(v), MetricType::Gauge) => message(out, 2, 9, |out| double(out, 1, v)),
        (&Value::Single(v), _) => message(out, 5, 9, |out| double(out, 1, v)),
        (
            Value::Summary {
                sample_count,
                sample_sum,
                quantiles,
            },
            _,
        ) => {
            let len = summary_len(*sample_count, quantiles);
            message(out, 4, len, |out| {
                // No float count for summaries in the schema; `as` saturates.
                uint(out, 1, *sample_count as u64);
                double(out, 2, *sample_sum);
                for &(q, v) in quantiles {
                    message(out, 3, 18, |out| {
                        double(out, 1, q);
                        double(out, 2, v);
                    });
                }
            });
        }
        (Value::Histogram { .. }, _) => {}
    }
    if let Some(ts) = metric.timestamp_ms {
        encode_key(6, WireType::Varint, out);
        encode_varint(ts as u64, out);
    }
    // Fields go in the order of their numbers, as prost writes them: the
    // histogram (7) comes after the timestamp (6).
    match &metric.value {
        Value::Single(_) | Value::Summary { .. } => {}
        Value::Histogram {
            sample_count,
            sample_sum,
            buckets,
        } => {
            let len = histogram_len(*sample_count, buckets);
            message(out, 7, len, |out| {
                let (count, count_float) = super::split_count(*sample_count);
                if let Some(c) = count {
                    uint(out, 1, c);
                }
                double(out, 2, *sample_sum);
                for &(le, cumulative) in buckets {
                    let (count, count_float) = super::split_count(cumulative);
                    message(out, 3, bucket_len(cumulative), |out| {
                        if let Some(c) = count {
                            uint(out, 1, c);
                        }
                        double(out, 2, le);
                        if let Some(c) = count_float {
                            double(out, 4, c);
                        }
                    });
                }
                if let Some(c) = count_float {
                    double(out, 4, c);
                }
            });
        }
    }
}

fn metric_len(metric: &Metric<'_>) -> usize {
    let labels: usize = metric.labels.iter().map(|l| nested_len(label_len(l))).sum();
    let timestamp = metric
        .timestamp_ms
        .map_or(0, |ts| 1 + encoded_len_varint(ts as u64));
    let value = match &metric.value {
        Value::Single(_) => nested_len(9),
        Value::Summary {
            sample_count,
            quantiles,
            ..
        } => nested_len(summary_len(*sample_count, quantiles)),
        Value::Histogram {
            sample_count,
            buckets,
            ..
        } => nested_len(histogram_len(*sample_count, buckets)),
    };
    labels + value + timestamp
}

fn label_len(l: &Label<'_>) -> usize {
    nested_len(l.name.len()) + nested_len(l.value.len())
}

fn summary_len(sample_count: f64, quantiles: &[(f64, f64)]) -> usize {
    1 + encoded_len_varint(sample_count as u64) + 9 + quantiles.len() * nested_len(18)
}

fn histogram_len(sample_count: f64, buckets: &[(f64, f64)]) -> usize {
    let buckets: usize = buckets
        .iter()
        .map(|&(_, c)| nested_len(bucket_len(c)))
        .sum();
    count_len(sample_count) + 9 + buckets
}

fn bucket_len(cumulative: f64) -> usize {
    count_len(cumulative) + 9
}

/// A count as the integer field (tag and varint) or the float one.
fn count_len(count: f64) -> usize {
    match super::split_count(count) {
        (Some(c), _) => 1 + encoded_len_varint(c),
        _ => 9,
    }
}

/// A length-delimited field of one-byte tag: tag, length, body.
fn nested_len(len: usize) -> usize {
    1 + encoded_len_varint(len as u64) + len
}

fn message(out: &mut Vec<u8>, tag: u32, len: usize, body: impl FnOnce(&mut Vec<u8>)) {
    encode_key(tag, WireType::LengthDelimited, out);
    encode_varint(len as u64, out);
    body(out);
}

fn string(out: &mut Vec<u8>, tag: u32, s: &str) {
    encode_key(tag, WireType::LengthDelimited, out);
    encode_varint(s.len() as u64, out);
    out.extend_from_slice(s.as_bytes());
}

fn double(out: &mut Vec<u8>, tag: u32, v: f64) {
    encode_key(tag, WireType::SixtyFourBit, out);
    out.extend_from_slice(&v.to_le_bytes());
}

fn uint(out: &mut Vec<u8>, tag: u32, v: u64) {
    encode_key(tag, WireType::Varint, out);
    encode_varint(v, out);
}
