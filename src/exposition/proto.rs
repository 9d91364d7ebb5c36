//! The delimited protobuf format (`io.prometheus.client.MetricFamily`): the
//! Content-Type test that selects it, the prost messages of the schema, and
//! the conversion of a varint-length-delimited stream to and from the model.
//!
//! The messages are written by hand (no build script, no protoc) from
//! `io/prometheus/client/metrics.proto` in prometheus/client_model. The schema
//! is proto2, so every scalar is `optional`: presence decides which value field
//! of a `Metric` is meant, and whether a histogram carries native buckets.

use std::borrow::Cow;
use std::collections::HashMap;

use prost::Message;

use super::validate::{prefix, OverLimit, ParseFailure, ParseLimits};
use super::{Exemplar, Extras, Family, Label, Metric, MetricType, Native, Span, Timestamp, Value};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

/// The messages of `io.prometheus.client`, field numbers as in metrics.proto.
pub(crate) mod pb {
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct LabelPair {
        #[prost(string, optional, tag = "1")]
        pub(crate) name: Option<String>,
        #[prost(string, optional, tag = "2")]
        pub(crate) value: Option<String>,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub(crate) enum MetricType {
        Counter = 0,
        Gauge = 1,
        Summary = 2,
        Untyped = 3,
        Histogram = 4,
        GaugeHistogram = 5,
    }

    /// `google.protobuf.Timestamp`, needed only so that created timestamps and
    /// exemplar timestamps decode instead of landing in unknown fields.
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Timestamp {
        #[prost(int64, tag = "1")]
        pub(crate) seconds: i64,
        #[prost(int32, tag = "2")]
        pub(crate) nanos: i32,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Gauge {
        #[prost(double, optional, tag = "1")]
        pub(crate) value: Option<f64>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Counter {
        #[prost(double, optional, tag = "1")]
        pub(crate) value: Option<f64>,
        #[prost(message, optional, tag = "2")]
        pub(crate) exemplar: Option<Exemplar>,
        #[prost(message, optional, tag = "3")]
        pub(crate) created_timestamp: Option<Timestamp>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Quantile {
        #[prost(double, optional, tag = "1")]
        pub(crate) quantile: Option<f64>,
        #[prost(double, optional, tag = "2")]
        pub(crate) value: Option<f64>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Summary {
        #[prost(uint64, optional, tag = "1")]
        pub(crate) sample_count: Option<u64>,
        #[prost(double, optional, tag = "2")]
        pub(crate) sample_sum: Option<f64>,
        #[prost(message, repeated, tag = "3")]
        pub(crate) quantile: Vec<Quantile>,
        #[prost(message, optional, tag = "4")]
        pub(crate) created_timestamp: Option<Timestamp>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Untyped {
        #[prost(double, optional, tag = "1")]
        pub(crate) value: Option<f64>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Histogram {
        #[prost(uint64, optional, tag = "1")]
        pub(crate) sample_count: Option<u64>,
        /// Overrides `sample_count` when > 0.
        #[prost(double, optional, tag = "4")]
        pub(crate) sample_count_float: Option<f64>,
        #[prost(double, optional, tag = "2")]
        pub(crate) sample_sum: Option<f64>,
        #[prost(message, repeated, tag = "3")]
        pub(crate) bucket: Vec<Bucket>,
        #[prost(message, optional, tag = "15")]
        pub(crate) created_timestamp: Option<Timestamp>,
        // Native histogram fields from here on.
        #[prost(sint32, optional, tag = "5")]
        pub(crate) schema: Option<i32>,
        #[prost(double, optional, tag = "6")]
        pub(crate) zero_threshold: Option<f64>,
        #[prost(uint64, optional, tag = "7")]
        pub(crate) zero_count: Option<u64>,
        #[prost(double, optional, tag = "8")]
        pub(crate) zero_count_float: Option<f64>,
        #[prost(message, repeated, tag = "9")]
        pub(crate) negative_span: Vec<BucketSpan>,
        #[prost(sint64, repeated, packed = "false", tag = "10")]
        pub(crate) negative_delta: Vec<i64>,
        #[prost(double, repeated, packed = "false", tag = "11")]
        pub(crate) negative_count: Vec<f64>,
        #[prost(message, repeated, tag = "12")]
        pub(crate) positive_span: Vec<BucketSpan>,
        #[prost(sint64, repeated, packed = "false", tag = "13")]
        pub(crate) positive_delta: Vec<i64>,
        #[prost(double, repeated, packed = "false", tag = "14")]
        pub(crate) positive_count: Vec<f64>,
        #[prost(message, repeated, tag = "16")]
        pub(crate) exemplars: Vec<Exemplar>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Bucket {
        #[prost(uint64, optional, tag = "1")]
        pub(crate) cumulative_count: Option<u64>,
        /// Overrides `cumulative_count` when > 0.
        #[prost(double, optional, tag = "4")]
        pub(crate) cumulative_count_float: Option<f64>,
        #[prost(double, optional, tag = "2")]
        pub(crate) upper_bound: Option<f64>,
        #[prost(message, optional, tag = "3")]
        pub(crate) exemplar: Option<Exemplar>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct BucketSpan {
        #[prost(sint32, optional, tag = "1")]
        pub(crate) offset: Option<i32>,
        #[prost(uint32, optional, tag = "2")]
        pub(crate) length: Option<u32>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Exemplar {
        #[prost(message, repeated, tag = "1")]
        pub(crate) label: Vec<LabelPair>,
        #[prost(double, optional, tag = "2")]
        pub(crate) value: Option<f64>,
        #[prost(message, optional, tag = "3")]
        pub(crate) timestamp: Option<Timestamp>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Metric {
        #[prost(message, repeated, tag = "1")]
        pub(crate) label: Vec<LabelPair>,
        #[prost(message, optional, tag = "2")]
        pub(crate) gauge: Option<Gauge>,
        #[prost(message, optional, tag = "3")]
        pub(crate) counter: Option<Counter>,
        #[prost(message, optional, tag = "4")]
        pub(crate) summary: Option<Summary>,
        #[prost(message, optional, tag = "5")]
        pub(crate) untyped: Option<Untyped>,
        #[prost(message, optional, tag = "7")]
        pub(crate) histogram: Option<Histogram>,
        #[prost(int64, optional, tag = "6")]
        pub(crate) timestamp_ms: Option<i64>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct MetricFamily {
        #[prost(string, optional, tag = "1")]
        pub(crate) name: Option<String>,
        #[prost(string, optional, tag = "2")]
        pub(crate) help: Option<String>,
        #[prost(enumeration = "MetricType", optional, tag = "3")]
        pub(crate) r#type: Option<i32>,
        #[prost(message, repeated, tag = "4")]
        pub(crate) metric: Vec<Metric>,
        #[prost(string, optional, tag = "5")]
        pub(crate) unit: Option<String>,
    }
}

const PROTO_MEDIA_TYPE: &str = "application/vnd.google.protobuf";

/// True when a Content-Type selects the delimited protobuf format.
///
/// Upstream (`handler/push.go`) runs the header through Go's
/// `mime.ParseMediaType` and wants the media type
/// `application/vnd.google.protobuf` with both `proto=io.prometheus.client.MetricFamily`
/// and `encoding=delimited`; a header that does not parse falls back to the
/// text format. Media type and parameter names are case-insensitive there,
/// parameter values are compared exactly, and so they are here.
pub(crate) fn is_protobuf_content_type(content_type: &str) -> bool {
    let Some((media_type, params)) = parse_media_type(content_type) else {
        return false;
    };
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    media_type == PROTO_MEDIA_TYPE
        && param("proto") == Some("io.prometheus.client.MetricFamily")
        && param("encoding") == Some("delimited")
}

/// A media type (lower-cased) and its parameters (names lower-cased, values
/// unquoted), or `None` where Go's `mime.ParseMediaType` returns an error:
/// no media type, a bad token, a parameter without `=`, an unterminated
/// quote, or a parameter given twice. RFC 2231 continuations (`name*0=`) are
/// not decoded; no client sends them for these two parameters.
fn parse_media_type(header: &str) -> Option<(String, Vec<(String, String)>)> {
    let (media_type, mut rest) = match header.find(';') {
        Some(i) => (&header[..i], &header[i..]),
        None => (header, ""),
    };
    let media_type = media_type.trim().to_ascii_lowercase();
    check_media_type(&media_type)?;

    let mut params: Vec<(String, String)> = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        match consume_param(rest) {
            Some((name, value, after)) => {
                if params.iter().any(|(k, _)| *k == name) {
                    return None;
                }
                params.push((name, value));
                rest = after;
            }
            // Go ignores one trailing `;` (as in `text/plain;`).
            None if rest.trim() == ";" => break,
            None => return None,
        }
    }
    Some((media_type, params))
}

/// `type` or `type/subtype`, each a non-empty token, nothing after.
fn check_media_type(media_type: &str) -> Option<()> {
    let (kind, rest) = split_token(media_type);
    if kind.is_empty() {
        return None;
    }
    if rest.is_empty() {
        return Some(());
    }
    let (subtype, rest) = split_token(rest.strip_prefix('/')?);
    (!subtype.is_empty() && rest.is_empty()).then_some(())
}

/// One `; name=value` parameter: (lower-cased name, value, the rest).
fn consume_param(s: &str) -> Option<(String, String, &str)> {
    let s = s.trim_start().strip_prefix(';')?.trim_start();
    let (name, s) = split_token(s);
    if name.is_empty() {
        return None;
    }
    let s = s.trim_start().strip_prefix('=')?.trim_start();
    let (value, rest) = consume_value(s)?;
    Some((name.to_ascii_lowercase(), value, rest))
}

/// A token or a quoted string. Like Go, a backslash escapes only a special
/// character (so unescaped Windows paths survive), and a quoted string may
/// not span lines.
fn consume_value(s: &str) -> Option<(String, &str)> {
    let Some(quoted) = s.strip_prefix('"') else {
        let (token, rest) = split_token(s);
        return (!token.is_empty()).then(|| (token.to_owned(), rest));
    };
    let mut value = String::new();
    let mut chars = quoted.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, &quoted[i + 1..])),
            '\\' if quoted[i + 1..].starts_with(is_tspecial) => {
                let (_, escaped) = chars.next()?;
                value.push(escaped);
            }
            '\r' | '\n' => return None,
            _ => value.push(c),
        }
    }
    None
}

fn split_token(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !is_token_char(c)).unwrap_or(s.len());
    s.split_at(end)
}

/// RFC 1521 token characters: printable ASCII except space and tspecials.
fn is_token_char(c: char) -> bool {
    c.is_ascii_graphic() && !is_tspecial(c)
}

fn is_tspecial(c: char) -> bool {
    "()<>@,;:\\\"/[]?=".contains(c)
}

/// Decodes a stream of varint-length-delimited MetricFamily messages.
///
/// A family name given twice keeps only its last message: upstream collects
/// the stream into a map keyed by name, so the earlier one is silently
/// overwritten.
pub fn decode_delimited(buf: &[u8]) -> Result<Vec<Family<'static>>, DecodeError> {
    decode_delimited_with(buf, &ParseLimits::NONE).map_err(|e| match e {
        ParseFailure::Invalid(e) => e,
        ParseFailure::OverLimit(over) => unreachable!("no limits, yet {over}"),
    })
}

/// Like [`decode_delimited`], stopping at the first series that goes over
/// `limits`. Every series counts, those of a family later given again too.
pub(crate) fn decode_delimited_with(
    buf: &[u8],
    limits: &ParseLimits,
) -> Result<Vec<Family<'static>>, ParseFailure<DecodeError>> {
    let mut families = Vec::new();
    let mut offset = 0;
    let mut series = 0;
    while offset < buf.len() {
        let index = families.len();
        let (len, header) = read_length(&buf[offset..])
            .ok_or_else(|| {
                DecodeError(format!(
                    "unexpected EOF: length of message {index} at byte {offset} is truncated"
                ))
            })?
            .map_err(ParseFailure::Invalid)?;
        let start = offset + header;
        let available = buf.len() - start;
        if len > available as u64 {
            return Err(ParseFailure::Invalid(DecodeError(format!(
                "unexpected EOF: message {index} at byte {offset} declares {len} bytes \
                 but only {available} remain"
            ))));
        }
        // Fits: checked against `available` just above.
        let end = start + len as usize;
        let at = || format!("in message {index} at byte {offset}");
        let message =
            decode_family_limited(&buf[start..end], limits, &mut series, at)?.map_err(|e| {
                DecodeError(format!(
                    "invalid protobuf message {index} at byte {offset}: {e}"
                ))
            })?;
        families.push(family_from_pb(message)?);
        offset = end;
    }
    Ok(last_of_each_name(families))
}

/// Decodes one MetricFamily message a series at a time, so that a message
/// of millions of series stops at the limit instead of being built whole
/// first (as `Message::decode` would). The other fields go through prost's
/// own field decoder, which its derive relies on, so this reads exactly what
/// `decode` reads; the outer error is a limit, the inner one the message's.
fn decode_family_limited(
    mut buf: &[u8],
    limits: &ParseLimits,
    series: &mut usize,
    at: impl Fn() -> String,
) -> Result<Result<pb::MetricFamily, prost::DecodeError>, OverLimit> {
    use prost::encoding::{decode_key, decode_varint, DecodeContext, WireType};
    const METRIC_TAG: u32 = 4;
    let mut family = pb::MetricFamily::default();
    while !buf.is_empty() {
        let (tag, wire_type) = match decode_key(&mut buf) {
            Ok(key) => key,
            Err(e) => return Ok(Err(e)),
        };
        if tag != METRIC_TAG || wire_type != WireType::LengthDelimited {
            if let Err(e) = family.merge_field(tag, wire_type, &mut buf, DecodeContext::default()) {
                return Ok(Err(e));
            }
            continue;
        }
        let metric = match decode_varint(&mut buf) {
            Ok(len) if len <= buf.len() as u64 => {
                // Fits: checked against the remaining length.
                let (bytes, rest) = buf.split_at(len as usize);
                buf = rest;
                pb::Metric::decode(bytes)
            }
            Ok(_) => Err(prost::DecodeError::new("buffer underflow")),
            Err(e) => Err(e),
        };
        let metric = match metric {
            Ok(metric) => metric,
            Err(mut e) => {
                e.push("MetricFamily", "metric");
                return Ok(Err(e));
            }
        };
        limits.check_labels(
            metric.label.iter().map(|l| {
                (
                    l.name.as_deref().unwrap_or(""),
                    l.value.as_deref().unwrap_or(""),
                )
            }),
            || {
                let name = family.name.as_deref().unwrap_or("");
                format!("metric {} {}", prefix(name), at())
            },
        )?;
        *series += 1;
        limits.check_series(*series, &at)?;
        family.metric.push(metric);
    }
    Ok(Ok(family))
}

impl From<DecodeError> for ParseFailure<DecodeError> {
    fn from(e: DecodeError) -> Self {
        ParseFailure::Invalid(e)
    }
}

/// The varint length prefix at the start of `buf` and how many bytes it
/// took. `None` when the varint runs past the end of the buffer.
fn read_length(buf: &[u8]) -> Option<Result<(u64, usize), DecodeError>> {
    let mut value: u64 = 0;
    for (i, &byte) in buf.iter().enumerate() {
        // A u64 varint has at most ten bytes, and the tenth carries one bit.
        if i == 9 && byte > 1 {
            return Some(Err(DecodeError(
                "invalid length prefix: varint overflows 64 bits".to_owned(),
            )));
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(Ok((value, i + 1)));
        }
    }
    None
}

fn last_of_each_name(families: Vec<Family<'static>>) -> Vec<Family<'static>> {
    let mut last: HashMap<String, usize> = HashMap::new();
    for (i, family) in families.iter().enumerate() {
        last.insert(family.name.to_string(), i);
    }
    if last.len() == families.len() {
        return families;
    }
    families
        .into_iter()
        .enumerate()
        .filter(|(i, family)| last.get(family.name.as_ref()) == Some(i))
        .map(|(_, family)| family)
        .collect()
}

/// Decodes one MetricFamily message, without a length in front (as the
/// official Pushgateway's persistence file holds them).
pub(crate) fn decode_family(buf: &[u8]) -> Result<Family<'static>, DecodeError> {
    let message = pb::MetricFamily::decode(buf)
        .map_err(|e| DecodeError(format!("not a MetricFamily message: {e}")))?;
    family_from_pb(message)
}

fn family_from_pb(message: pb::MetricFamily) -> Result<Family<'static>, DecodeError> {
    let name = message.name.unwrap_or_default();
    // An absent or unknown type reads as COUNTER, as Go's `GetType()` does
    // for a proto2 enum.
    let kind = match pb::MetricType::try_from(message.r#type.unwrap_or(0)) {
        Ok(pb::MetricType::Counter) | Err(_) => MetricType::Counter,
        Ok(pb::MetricType::Gauge) => MetricType::Gauge,
        Ok(pb::MetricType::Summary) => MetricType::Summary,
        Ok(pb::MetricType::Untyped) => MetricType::Untyped,
        Ok(pb::MetricType::Histogram) => MetricType::Histogram,
        Ok(pb::MetricType::GaugeHistogram) => MetricType::GaugeHistogram,
    };
    let mut metrics = Vec::with_capacity(message.metric.len());
    for metric in message.metric {
        let labels = labels_from_pb(metric.label);
        let Some((value, extras)) = value_from_pb(
            kind,
            metric.counter,
            metric.gauge,
            metric.untyped,
            metric.summary,
            metric.histogram,
        ) else {
            // A gather in the Go library refuses this for HISTOGRAM; for
            // GAUGE_HISTOGRAM upstream stores it and its scrape then breaks.
            return Err(DecodeError(format!(
                "invalid histogram in metric family {name:?}, series {}: \
                 the series has no histogram field, which type {} requires",
                label_set(&labels),
                kind.as_json()
            )));
        };
        metrics.push(Metric {
            labels,
            value,
            timestamp_ms: metric.timestamp_ms,
            extras,
        });
    }
    Ok(Family {
        name: Cow::Owned(name),
        help: message.help.filter(|h| !h.is_empty()).map(Cow::Owned),
        kind,
        metrics,
    })
}

/// `{a="1",b="2"}` for error messages and comments, values escaped as in
/// the text format.
pub(crate) fn label_set(labels: &[Label<'_>]) -> String {
    if labels.is_empty() {
        return "{}".to_owned();
    }
    super::validate::series_name("", labels)
}

/// The value of one series, read from the field its family type names, and
/// what only protobuf carries. A missing field reads as zero, as Go's
/// nil-safe getters do, except a histogram's (`None`).
fn value_from_pb(
    kind: MetricType,
    counter: Option<pb::Counter>,
    gauge: Option<pb::Gauge>,
    untyped: Option<pb::Untyped>,
    summary: Option<pb::Summary>,
    histogram: Option<pb::Histogram>,
) -> Option<(Value, Option<Box<Extras>>)> {
    Some(match kind {
        MetricType::Counter => {
            let counter = counter.unwrap_or_default();
            let extras = Extras {
                created: counter.created_timestamp.map(timestamp_from_pb),
                exemplar: counter.exemplar.map(exemplar_from_pb),
                ..Default::default()
            };
            (Value::Single(counter.value.unwrap_or(0.0)), extras.boxed())
        }
        MetricType::Gauge => (
            Value::Single(gauge.and_then(|g| g.value).unwrap_or(0.0)),
            None,
        ),
        MetricType::Untyped => (
            Value::Single(untyped.and_then(|u| u.value).unwrap_or(0.0)),
            None,
        ),
        MetricType::Summary => {
            let summary = summary.unwrap_or_default();
            let extras = Extras {
                created: summary.created_timestamp.map(timestamp_from_pb),
                ..Default::default()
            };
            let value = Value::Summary {
                sample_count: summary.sample_count.unwrap_or(0) as f64,
                sample_sum: summary.sample_sum.unwrap_or(0.0),
                quantiles: summary
                    .quantile
                    .iter()
                    .map(|q| (q.quantile.unwrap_or(0.0), q.value.unwrap_or(0.0)))
                    .collect(),
            };
            (value, extras.boxed())
        }
        MetricType::Histogram | MetricType::GaugeHistogram => histogram_from_pb(histogram?),
    })
}

fn histogram_from_pb(h: pb::Histogram) -> (Value, Option<Box<Extras>>) {
    let native = is_native(&h).then(|| Native {
        sample_count: h.sample_count,
        sample_count_float: h.sample_count_float,
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        zero_count: h.zero_count,
        zero_count_float: h.zero_count_float,
        negative_spans: h.negative_span.iter().map(span_from_pb).collect(),
        negative_deltas: h.negative_delta,
        negative_counts: h.negative_count,
        positive_spans: h.positive_span.iter().map(span_from_pb).collect(),
        positive_deltas: h.positive_delta,
        positive_counts: h.positive_count,
    });
    let mut bucket_exemplars = Vec::new();
    let buckets = h
        .bucket
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            if let Some(e) = b.exemplar {
                bucket_exemplars.resize(i, None);
                bucket_exemplars.push(Some(exemplar_from_pb(e)));
            }
            (
                b.upper_bound.unwrap_or(0.0),
                count(b.cumulative_count, b.cumulative_count_float),
            )
        })
        .collect();
    let extras = Extras {
        created: h.created_timestamp.map(timestamp_from_pb),
        exemplar: None,
        bucket_exemplars,
        exemplars: h.exemplars.into_iter().map(exemplar_from_pb).collect(),
        native,
    };
    let value = Value::Histogram {
        sample_count: count(h.sample_count, h.sample_count_float),
        sample_sum: h.sample_sum.unwrap_or(0.0),
        buckets,
    };
    (value, extras.boxed())
}

fn span_from_pb(s: &pb::BucketSpan) -> Span {
    Span {
        offset: s.offset.unwrap_or(0),
        length: s.length.unwrap_or(0),
    }
}

fn span_to_pb(s: &Span) -> pb::BucketSpan {
    pb::BucketSpan {
        offset: Some(s.offset),
        length: Some(s.length),
    }
}

fn timestamp_from_pb(t: pb::Timestamp) -> Timestamp {
    Timestamp {
        seconds: t.seconds,
        nanos: t.nanos,
    }
}

fn timestamp_to_pb(t: &Timestamp) -> pb::Timestamp {
    pb::Timestamp {
        seconds: t.seconds,
        nanos: t.nanos,
    }
}

/// Label pairs as the model holds them; an absent name or value reads as
/// empty, as Go's getters do.
fn labels_from_pb(pairs: Vec<pb::LabelPair>) -> Vec<Label<'static>> {
    pairs
        .into_iter()
        .map(|pair| {
            Label::new(
                pair.name.unwrap_or_default(),
                pair.value.unwrap_or_default(),
            )
        })
        .collect()
}

fn exemplar_from_pb(e: pb::Exemplar) -> Exemplar {
    Exemplar {
        labels: labels_from_pb(e.label),
        value: e.value.unwrap_or(0.0),
        timestamp: e.timestamp.map(timestamp_from_pb),
    }
}

fn exemplar_to_pb(e: &Exemplar) -> pb::Exemplar {
    pb::Exemplar {
        label: e.labels.iter().map(label_to_pb).collect(),
        value: Some(e.value),
        timestamp: e.timestamp.as_ref().map(timestamp_to_pb),
    }
}

fn label_to_pb(l: &Label<'_>) -> pb::LabelPair {
    pb::LabelPair {
        name: Some(l.name.to_string()),
        value: Some(l.value.to_string()),
    }
}

/// An integer count unless its float twin overrides it. metrics.proto says
/// the float field "overrides ... if > 0", which is how the Go text encoder
/// reads it too, so a float count of 0 next to an integer one keeps the
/// integer.
fn count(integer: Option<u64>, float: Option<f64>) -> f64 {
    match float {
        Some(f) if f > 0.0 => f,
        _ => integer.unwrap_or(0) as f64,
    }
}

/// Any native-histogram field present. Classic histograms written by the Go
/// and Python clients leave all of them unset.
fn is_native(h: &pb::Histogram) -> bool {
    h.schema.is_some()
        || h.zero_threshold.is_some()
        || h.zero_count.is_some()
        || h.zero_count_float.is_some()
        || !h.negative_span.is_empty()
        || !h.negative_delta.is_empty()
        || !h.negative_count.is_empty()
        || !h.positive_span.is_empty()
        || !h.positive_delta.is_empty()
        || !h.positive_count.is_empty()
}

/// Appends one series as field 4 of a `MetricFamily`, tag and length
/// included. A family's series encoded this way, written after the family's
/// own name, help and type fields, make the whole message: so a scrape can
/// copy them as they are, and families of one name from several groups join
/// by concatenation.
pub(crate) fn encode_series(out: &mut Vec<u8>, kind: MetricType, metric: &Metric<'_>) {
    if metric.extras.is_some() {
        // Native histograms, exemplars, created timestamps: protobuf pushes
        // only, rare enough to go through prost's messages.
        prost::encoding::message::encode(4, &metric_to_pb(kind, metric), out);
    } else {
        series::encode(out, kind, metric);
    }
}

/// The series that [`encode_series`] wrote for a family of `kind`, read
/// back into the model.
pub(crate) fn decode_series(
    name: &str,
    kind: MetricType,
    series: &[u8],
) -> Result<Family<'static>, DecodeError> {
    let header = pb::MetricFamily {
        name: Some(name.to_string()),
        r#type: Some(kind_to_pb(kind) as i32),
        ..Default::default()
    };
    let mut message = Vec::with_capacity(header.encoded_len() + series.len());
    header
        .encode(&mut message)
        .expect("a Vec<u8> has unbounded capacity");
    message.extend_from_slice(series);
    decode_family(&message)
}

/// Encodes families as a delimited stream.
pub fn encode_delimited(families: &[Family<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for family in families {
        let message = family_to_pb(family);
        // Writing to a Vec grows it as needed, so this cannot fail.
        message
            .encode_length_delimited(&mut out)
            .expect("a Vec<u8> has unbounded capacity");
    }
    out
}

pub(crate) fn kind_to_pb(kind: MetricType) -> pb::MetricType {
    match kind {
        MetricType::Counter => pb::MetricType::Counter,
        MetricType::Gauge => pb::MetricType::Gauge,
        MetricType::Summary => pb::MetricType::Summary,
        MetricType::Untyped => pb::MetricType::Untyped,
        MetricType::Histogram => pb::MetricType::Histogram,
        MetricType::GaugeHistogram => pb::MetricType::GaugeHistogram,
    }
}

fn family_to_pb(family: &Family<'_>) -> pb::MetricFamily {
    pb::MetricFamily {
        name: Some(family.name.to_string()),
        help: family.help.as_ref().map(|h| h.to_string()),
        r#type: Some(kind_to_pb(family.kind) as i32),
        metric: family
            .metrics
            .iter()
            .map(|m| metric_to_pb(family.kind, m))
            .collect(),
        unit: None,
    }
}

fn metric_to_pb(kind: MetricType, metric: &Metric<'_>) -> pb::Metric {
    let mut out = pb::Metric {
        label: metric.labels.iter().map(label_to_pb).collect(),
        timestamp_ms: metric.timestamp_ms,
        ..Default::default()
    };
    let none = Extras::default();
    let extras = metric.extras.as_deref().unwrap_or(&none);
    let created = extras.created.as_ref().map(timestamp_to_pb);
    match (&metric.value, kind) {
        (&Value::Single(v), MetricType::Counter) => {
            out.counter = Some(pb::Counter {
                value: Some(v),
                exemplar: extras.exemplar.as_ref().map(exemplar_to_pb),
                created_timestamp: created,
            })
        }
        (&Value::Single(v), MetricType::Gauge) => out.gauge = Some(pb::Gauge { value: Some(v) }),
        // A single value in a compound family has no field of its own; untyped
        // is the one that keeps the number.
        (&Value::Single(v), _) => out.untyped = Some(pb::Untyped { value: Some(v) }),
        (
            Value::Summary {
                sample_count,
                sample_sum,
                quantiles,
            },
            _,
        ) => {
            out.summary = Some(pb::Summary {
                // The schema has no float count for summaries; `as` saturates.
                sample_count: Some(*sample_count as u64),
                sample_sum: Some(*sample_sum),
                quantile: quantiles
                    .iter()
                    .map(|&(quantile, value)| pb::Quantile {
                        quantile: Some(quantile),
                        value: Some(value),
                    })
                    .collect(),
                created_timestamp: created,
            })
        }
        (
            Value::Histogram {
                sample_count,
                sample_sum,
                buckets,
            },
            _,
        ) => {
            let (count, count_float) = match &extras.native {
                // As pushed: the kind of a native histogram is the pusher's.
                Some(native) => (native.sample_count, native.sample_count_float),
                None => split_count(*sample_count),
            };
            let mut histogram = pb::Histogram {
                sample_count: count,
                sample_count_float: count_float,
                sample_sum: Some(*sample_sum),
                bucket: buckets
                    .iter()
                    .enumerate()
                    .map(|(i, &(upper_bound, cumulative))| {
                        let (count, count_float) = split_count(cumulative);
                        pb::Bucket {
                            cumulative_count: count,
                            cumulative_count_float: count_float,
                            upper_bound: Some(upper_bound),
                            exemplar: extras
                                .bucket_exemplars
                                .get(i)
                                .and_then(Option::as_ref)
                                .map(exemplar_to_pb),
                        }
                    })
                    .collect(),
                created_timestamp: created,
                exemplars: extras.exemplars.iter().map(exemplar_to_pb).collect(),
                ..Default::default()
            };
            if let Some(n) = &extras.native {
                histogram.schema = n.schema;
                histogram.zero_threshold = n.zero_threshold;
                histogram.zero_count = n.zero_count;
                histogram.zero_count_float = n.zero_count_float;
                histogram.negative_span = n.negative_spans.iter().map(span_to_pb).collect();
                histogram.negative_delta = n.negative_deltas.clone();
                histogram.negative_count = n.negative_counts.clone();
                histogram.positive_span = n.positive_spans.iter().map(span_to_pb).collect();
                histogram.positive_delta = n.positive_deltas.clone();
                histogram.positive_count = n.positive_counts.clone();
            }
            out.histogram = Some(histogram);
        }
    }
    out
}

/// A histogram count as the integer field when it is a whole number that
/// fits a u64, else as the float field (a float histogram).
fn split_count(count: f64) -> (Option<u64>, Option<f64>) {
    // 2^64 as f64; every f64 below it and >= 0 with no fraction fits a u64.
    const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;
    if (0.0..TWO_POW_64).contains(&count) && count.fract() == 0.0 {
        (Some(count as u64), None)
    } else {
        (None, Some(count))
    }
}

#[cfg(test)]
mod native_tests;
mod series;
#[cfg(test)]
mod tests;

/// The remote-write 1.0 messages (`prometheus.WriteRequest` in
/// prometheus/prometheus `prompb/remote.proto` and `types.proto`), field
/// numbers as there. Only what a sender fills in: no metadata, exemplars or
/// native histograms. The body on the wire is the encoded `WriteRequest`
/// compressed with the snappy *block* format.
pub(crate) mod prompb {
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct WriteRequest {
        #[prost(message, repeated, tag = "1")]
        pub(crate) timeseries: Vec<TimeSeries>,
    }

    /// One series: its labels sorted by name, `__name__` among them.
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct TimeSeries {
        #[prost(message, repeated, tag = "1")]
        pub(crate) labels: Vec<Label>,
        #[prost(message, repeated, tag = "2")]
        pub(crate) samples: Vec<Sample>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Label {
        #[prost(string, tag = "1")]
        pub(crate) name: String,
        #[prost(string, tag = "2")]
        pub(crate) value: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Sample {
        #[prost(double, tag = "1")]
        pub(crate) value: f64,
        /// Milliseconds since the Unix epoch.
        #[prost(int64, tag = "2")]
        pub(crate) timestamp: i64,
    }
}
