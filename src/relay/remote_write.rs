//! The Prometheus remote-write 1.0 body: the relayed families as time series
//! (one per line of the text format, as a scrape would store them), labelled
//! with the group's labels, stamped with the scrape's time, encoded as a
//! `prometheus.WriteRequest` and compressed with snappy's block format. Pure.

use crate::exposition::proto::prompb;
use crate::exposition::{render, Family, Label};
use crate::grouping::GroupingKey;

/// The headers that go with a remote-write body, as the protocol requires.
pub(crate) const HEADERS: [(&str, &str); 3] = [
    ("Content-Type", "application/x-protobuf"),
    ("Content-Encoding", "snappy"),
    ("X-Prometheus-Remote-Write-Version", "0.1.0"),
];

/// Converts families to a write request: every sample at `timestamp_ms`,
/// with the group's labels added (the families carry none of them, see
/// `transform::prepare`).
pub(crate) fn write_request(
    parts: &[&[Family<'_>]],
    group: &GroupingKey,
    timestamp_ms: i64,
) -> prompb::WriteRequest {
    let mut timeseries = Vec::new();
    for family in parts.iter().flat_map(|p| p.iter()) {
        for metric in &family.metrics {
            metric.for_each_sample(|sample| {
                let mut labels: Vec<prompb::Label> =
                    Vec::with_capacity(metric.labels.len() + group.labels().len() + 2);
                labels.push(label(
                    "__name__",
                    &format!("{}{}", family.name, sample.suffix),
                ));
                labels.extend(group.labels().iter().map(|(n, v)| label(n, v)));
                labels.extend(
                    metric
                        .labels
                        .iter()
                        .map(|Label { name, value }| label(name, value)),
                );
                if let Some((name, v)) = sample.extra {
                    labels.push(label(name, &render::format_float(v)));
                }
                labels.sort_by(|a, b| a.name.cmp(&b.name));
                timeseries.push(prompb::TimeSeries {
                    labels,
                    samples: vec![prompb::Sample {
                        value: sample.value,
                        timestamp: timestamp_ms,
                    }],
                });
            });
        }
    }
    prompb::WriteRequest { timeseries }
}

/// The value Prometheus stores as a staleness marker (a NaN with a payload
/// of its own, `value.StaleNaN` upstream).
pub(crate) const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// Ends the series that the previous write had and this one has not, with a
/// staleness marker at `timestamp_ms`: what a scrape does when a series
/// disappears, so a dead exporter's series vanish from queries at once
/// instead of lingering for the 5-minute lookback. Returns the label sets of
/// this write, to pass as `previous` next time.
pub(crate) fn mark_stale(
    request: &mut prompb::WriteRequest,
    previous: Vec<Vec<prompb::Label>>,
    timestamp_ms: i64,
) -> Vec<Vec<prompb::Label>> {
    let current: std::collections::HashSet<u64> = request
        .timeseries
        .iter()
        .map(|t| label_set_hash(&t.labels))
        .collect();
    let now: Vec<Vec<prompb::Label>> = request
        .timeseries
        .iter()
        .map(|t| t.labels.clone())
        .collect();
    for labels in previous {
        if !current.contains(&label_set_hash(&labels)) {
            request.timeseries.push(prompb::TimeSeries {
                labels,
                samples: vec![prompb::Sample {
                    value: f64::from_bits(STALE_NAN_BITS),
                    timestamp: timestamp_ms,
                }],
            });
        }
    }
    now
}

fn label_set_hash(labels: &[prompb::Label]) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for l in labels {
        h.update(l.name.as_bytes());
        h.update(&[0xff]);
        h.update(l.value.as_bytes());
        h.update(&[0xff]);
    }
    h.digest()
}

fn label(name: &str, value: &str) -> prompb::Label {
    prompb::Label {
        name: name.to_string(),
        value: value.to_string(),
    }
}

/// The body on the wire: the encoded request, snappy block-compressed.
pub(crate) fn encode(request: &prompb::WriteRequest) -> Vec<u8> {
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

    #[test]
    fn vanished_series_get_a_staleness_marker() {
        let group = GroupingKey::new([("job", "node")]);
        let before = text::parse("a 1\nb 2\n").unwrap();
        let mut first = write_request(&[&before], &group, 1000);
        let seen = mark_stale(&mut first, Vec::new(), 1000);
        assert_eq!(first.timeseries.len(), 2);
        let after = text::parse("b 3\nc 4\n").unwrap();
        let mut second = write_request(&[&after], &group, 2000);
        let seen = mark_stale(&mut second, seen, 2000);
        assert_eq!(seen.len(), 2, "the markers are not remembered");
        let stale = &second.timeseries[2];
        assert_eq!(stale.labels[0].value, "a");
        assert_eq!(stale.samples[0].value.to_bits(), STALE_NAN_BITS);
        assert_eq!(stale.samples[0].timestamp, 2000);
    }
}
