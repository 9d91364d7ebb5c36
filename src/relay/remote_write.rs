//! The Prometheus remote-write 1.0 body: the relayed families as time series
//! (one per line of the text format, as a scrape would store them), labelled
//! with the group's labels, stamped with the scrape's time, encoded as a
//! `prometheus.WriteRequest` and compressed with snappy's block format. Pure.

use crate::exposition::proto::prompb;
use crate::exposition::{render, Family, Label, Value};
use crate::grouping::GroupingKey;

/// The headers that go with a remote-write body, as the protocol requires.
pub const HEADERS: [(&str, &str); 3] = [
    ("Content-Type", "application/x-protobuf"),
    ("Content-Encoding", "snappy"),
    ("X-Prometheus-Remote-Write-Version", "0.1.0"),
];

/// Converts families to a write request: every sample at `timestamp_ms`,
/// with the group's labels added (the families carry none of them, see
/// `transform::prepare`).
pub fn write_request(
    parts: &[&[Family<'_>]],
    group: &GroupingKey,
    timestamp_ms: i64,
) -> prompb::WriteRequest {
    let mut timeseries = Vec::new();
    for family in parts.iter().flat_map(|p| p.iter()) {
        for metric in &family.metrics {
            let mut push = |suffix: &str, extra: Option<(&str, f64)>, value: f64| {
                let mut labels: Vec<prompb::Label> =
                    Vec::with_capacity(metric.labels.len() + group.labels().len() + 2);
                labels.push(label("__name__", &format!("{}{suffix}", family.name)));
                labels.extend(group.labels().iter().map(|(n, v)| label(n, v)));
                labels.extend(
                    metric
                        .labels
                        .iter()
                        .map(|Label { name, value }| label(name, value)),
                );
                if let Some((name, v)) = extra {
                    labels.push(label(name, &render::format_float(v)));
                }
                labels.sort_by(|a, b| a.name.cmp(&b.name));
                timeseries.push(prompb::TimeSeries {
                    labels,
                    samples: vec![prompb::Sample {
                        value,
                        timestamp: timestamp_ms,
                    }],
                });
            };
            match &metric.value {
                Value::Single(v) => push("", None, *v),
                Value::Summary {
                    sample_count,
                    sample_sum,
                    quantiles,
                } => {
                    for &(q, v) in quantiles {
                        push("", Some(("quantile", q)), v);
                    }
                    push("_sum", None, *sample_sum);
                    push("_count", None, *sample_count);
                }
                Value::Histogram {
                    sample_count,
                    sample_sum,
                    buckets,
                } => {
                    for &(le, c) in buckets {
                        push("_bucket", Some(("le", le)), c);
                    }
                    if !buckets.iter().any(|&(le, _)| le == f64::INFINITY) {
                        push("_bucket", Some(("le", f64::INFINITY)), *sample_count);
                    }
                    push("_sum", None, *sample_sum);
                    push("_count", None, *sample_count);
                }
            }
        }
    }
    prompb::WriteRequest { timeseries }
}

fn label(name: &str, value: &str) -> prompb::Label {
    prompb::Label {
        name: name.to_string(),
        value: value.to_string(),
    }
}

/// The body on the wire: the encoded request, snappy block-compressed.
pub fn encode(request: &prompb::WriteRequest) -> Vec<u8> {
    let bytes = prost::Message::encode_to_vec(request);
    snap::raw::Encoder::new()
        .compress_vec(&bytes)
        .expect("snappy compresses any input below 4 GiB")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::text;

    #[test]
    fn series_carry_sorted_labels_and_decode_back() {
        let families = text::parse(
            "# TYPE rpc summary\nrpc{quantile=\"0.5\",Zone=\"a\"} 0.2\nrpc_sum{Zone=\"a\"} 3\nrpc_count{Zone=\"a\"} 9\n\
             # TYPE lat histogram\nlat_bucket{le=\"1\"} 2\nlat_sum 1.5\nlat_count 3\nup 1\n",
        )
        .unwrap();
        let group = GroupingKey::new([("job", "node"), ("instance", "h1")]);
        let req = write_request(&[&families], &group, 1_700_000_000_000);
        let names: Vec<String> = req
            .timeseries
            .iter()
            .map(|t| {
                t.labels
                    .iter()
                    .find(|l| l.name == "__name__")
                    .unwrap()
                    .value
                    .clone()
            })
            .collect();
        assert_eq!(
            names,
            [
                "rpc",
                "rpc_sum",
                "rpc_count",
                "lat_bucket",
                "lat_bucket",
                "lat_sum",
                "lat_count",
                "up"
            ]
        );
        for ts in &req.timeseries {
            let label_names: Vec<&str> = ts.labels.iter().map(|l| l.name.as_str()).collect();
            let mut sorted = label_names.clone();
            sorted.sort();
            assert_eq!(label_names, sorted);
            assert!(label_names.contains(&"job") && label_names.contains(&"instance"));
            assert_eq!(ts.samples[0].timestamp, 1_700_000_000_000);
        }
        let le = req.timeseries[4]
            .labels
            .iter()
            .find(|l| l.name == "le")
            .unwrap();
        assert_eq!(le.value, "+Inf");
        let body = encode(&req);
        let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
        let back: prompb::WriteRequest = prost::Message::decode(raw.as_slice()).unwrap();
        assert_eq!(back, req);
    }
}
