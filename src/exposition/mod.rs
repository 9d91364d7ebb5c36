//! The Prometheus exposition formats, as pure code with no I/O: the data model
//! shared by every format, the strict text parser (`text`), the delimited
//! protobuf decoder and encoder (`proto`), the renderer that writes the text
//! format the way the Go client library does (`render`), the checks a push must
//! pass (`validate`), the decompression of bodies by their Content-Encoding
//! (`compression`), the conversion of OpenMetrics text into the text format
//! (`openmetrics`, for the relay's exporters), the bucket bounds of native
//! histograms (`native`), the scrape's content negotiation (`negotiate`)
//! and the protobuf text format (`prototext`).
//!
//! The model borrows from the request body wherever it can (`Cow<'a, str>`), so
//! a push is parsed, checked and rendered without copying its names and values.

use std::borrow::Cow;
use std::fmt;

pub(crate) mod compression;
pub mod names;
pub mod native;
pub(crate) mod negotiate;
pub(crate) mod openmetrics;
pub mod proto;
pub(crate) mod prototext;
pub mod render;
pub mod text;
pub mod validate;

/// The type of a metric family, as in `io.prometheus.client.MetricType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    Counter,
    Gauge,
    Summary,
    Untyped,
    Histogram,
    GaugeHistogram,
}

impl MetricType {
    /// The word used on a `# TYPE` line. The text format has no gauge
    /// histogram, so it is written as `histogram` (as the Go library does).
    pub(crate) fn as_text(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Summary => "summary",
            MetricType::Untyped => "untyped",
            MetricType::Histogram | MetricType::GaugeHistogram => "histogram",
        }
    }

    /// The upper-case name used by the JSON API (`"COUNTER"`, ...).
    pub(crate) fn as_json(self) -> &'static str {
        match self {
            MetricType::Counter => "COUNTER",
            MetricType::Gauge => "GAUGE",
            MetricType::Summary => "SUMMARY",
            MetricType::Untyped => "UNTYPED",
            MetricType::Histogram => "HISTOGRAM",
            MetricType::GaugeHistogram => "GAUGE_HISTOGRAM",
        }
    }

    /// Summaries and histograms are written as several lines per series.
    pub(crate) fn is_compound(self) -> bool {
        matches!(
            self,
            MetricType::Summary | MetricType::Histogram | MetricType::GaugeHistogram
        )
    }
}

impl fmt::Display for MetricType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_text())
    }
}

/// One label pair of a series.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label<'a> {
    pub name: Cow<'a, str>,
    pub value: Cow<'a, str>,
}

impl<'a> Label<'a> {
    pub fn new(name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) -> Self {
        Label {
            name: name.into(),
            value: value.into(),
        }
    }

    pub(crate) fn into_owned(self) -> Label<'static> {
        Label {
            name: Cow::Owned(self.name.into_owned()),
            value: Cow::Owned(self.value.into_owned()),
        }
    }
}

/// What a series holds, by family type. Counters, gauges and untyped series
/// hold one number; a summary or histogram series is one object made of the
/// `_sum`, `_count` and quantile or bucket lines that share its labels.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Single(f64),
    Summary {
        sample_count: f64,
        sample_sum: f64,
        /// (quantile, value), in the order pushed.
        quantiles: Vec<(f64, f64)>,
    },
    Histogram {
        sample_count: f64,
        sample_sum: f64,
        /// (upper bound `le`, cumulative count), in the order pushed.
        buckets: Vec<(f64, f64)>,
    },
}

/// One series of a family: its labels (without `quantile` or `le`, which
/// belong to the value), its value, an optional timestamp in milliseconds,
/// and what only protobuf carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric<'a> {
    pub labels: Vec<Label<'a>>,
    pub value: Value,
    pub timestamp_ms: Option<i64>,
    /// Native histogram buckets, exemplars and created timestamps. Boxed
    /// and absent for every series of a text push, so those cost one word.
    pub extras: Option<Box<Extras>>,
}

/// The parts of a series that the text format 0.0.4 cannot carry, kept as
/// the protobuf push gave them so that they go out again unchanged.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Extras {
    /// `created_timestamp` of a counter, summary or histogram.
    pub created: Option<Timestamp>,
    /// A counter's exemplar.
    pub exemplar: Option<Exemplar>,
    /// The exemplar of each classic bucket, by position in `buckets`; empty
    /// when no bucket has one.
    pub bucket_exemplars: Vec<Option<Exemplar>>,
    /// A histogram's own `exemplars` (those of native buckets).
    pub exemplars: Vec<Exemplar>,
    pub native: Option<Native>,
}

impl Extras {
    /// `None` when there is nothing to keep, so that a plain series stays plain.
    pub(crate) fn boxed(self) -> Option<Box<Extras>> {
        (self != Extras::default()).then(|| Box::new(self))
    }
}

/// `google.protobuf.Timestamp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timestamp {
    pub seconds: i64,
    pub nanos: i32,
}

/// An exemplar: its labels, value and (optional, though the schema asks for
/// one) timestamp.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exemplar {
    pub labels: Vec<Label<'static>>,
    pub value: f64,
    pub timestamp: Option<Timestamp>,
}

/// A run of `length` consecutive native buckets, starting `offset` buckets
/// after the end of the previous span (after index 0 for the first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub offset: i32,
    pub length: u32,
}

/// The native part of a histogram, field by field as in metrics.proto:
/// integer histograms carry `*_deltas` (each bucket's count as a difference
/// from the previous one) and `zero_count`, float histograms `*_counts` and
/// `zero_count_float`. Which fields were present is kept as it came, so the
/// kind (integer or float) is the pusher's, never a guess.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Native {
    /// The sample count as pushed; the histogram's `sample_count` in
    /// [`Value::Histogram`] is what these two mean together.
    pub sample_count: Option<u64>,
    pub sample_count_float: Option<f64>,
    pub schema: Option<i32>,
    pub zero_threshold: Option<f64>,
    pub zero_count: Option<u64>,
    pub zero_count_float: Option<f64>,
    pub negative_spans: Vec<Span>,
    pub negative_deltas: Vec<i64>,
    pub negative_counts: Vec<f64>,
    pub positive_spans: Vec<Span>,
    pub positive_deltas: Vec<i64>,
    pub positive_counts: Vec<f64>,
}

impl Native {
    /// A float histogram, by the test upstream's JSON API applies.
    pub(crate) fn is_float(&self) -> bool {
        self.sample_count_float.is_some_and(|c| c > 0.0)
            || self.zero_count_float.is_some_and(|c| c > 0.0)
    }

    /// Has buckets of its own: upstream's test for showing it as native.
    pub(crate) fn has_spans(&self) -> bool {
        !self.negative_spans.is_empty() || !self.positive_spans.is_empty()
    }

    pub(crate) fn schema(&self) -> i32 {
        self.schema.unwrap_or(0)
    }

    pub(crate) fn zero_threshold(&self) -> f64 {
        self.zero_threshold.unwrap_or(0.0)
    }
}

/// One line of a series in the text format (one sample in remote write):
/// the suffix of its name, the label it adds (`quantile` or `le`), its
/// value, and whether that value is a count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sample {
    pub(crate) suffix: &'static str,
    pub(crate) extra: Option<(&'static str, f64)>,
    pub(crate) value: f64,
    pub(crate) count: bool,
}

impl Metric<'_> {
    /// Calls `f` with each sample of the series, in the order of the text
    /// format. Like expfmt, a histogram always has a `+Inf` bucket: when
    /// none was given it is the total count.
    pub(crate) fn for_each_sample(&self, mut f: impl FnMut(Sample)) {
        let sample = |suffix, extra, value, count| Sample {
            suffix,
            extra,
            value,
            count,
        };
        match &self.value {
            Value::Single(v) => f(sample("", None, *v, false)),
            Value::Summary {
                sample_count,
                sample_sum,
                quantiles,
            } => {
                for &(q, v) in quantiles {
                    f(sample("", Some(("quantile", q)), v, false));
                }
                f(sample("_sum", None, *sample_sum, false));
                f(sample("_count", None, *sample_count, true));
            }
            Value::Histogram {
                sample_count,
                sample_sum,
                buckets,
            } => {
                for &(le, c) in buckets {
                    f(sample("_bucket", Some(("le", le)), c, true));
                }
                if !buckets.iter().any(|&(le, _)| le == f64::INFINITY) {
                    f(sample(
                        "_bucket",
                        Some(("le", f64::INFINITY)),
                        *sample_count,
                        true,
                    ));
                }
                f(sample("_sum", None, *sample_sum, false));
                f(sample("_count", None, *sample_count, true));
            }
        }
    }
}

/// A metric family: every series of one metric name.
#[derive(Debug, Clone, PartialEq)]
pub struct Family<'a> {
    pub name: Cow<'a, str>,
    /// `None` when no HELP was given. A `# HELP name` line without text is a
    /// comment to the text parser, as in Go; `Some("")` (possible from
    /// protobuf or code) is rendered like `None`.
    pub help: Option<Cow<'a, str>>,
    pub kind: MetricType,
    pub metrics: Vec<Metric<'a>>,
}

impl<'a> Family<'a> {
    pub fn new(name: impl Into<Cow<'a, str>>, kind: MetricType) -> Self {
        Family {
            name: name.into(),
            help: None,
            kind,
            metrics: Vec::new(),
        }
    }

    pub(crate) fn into_owned(self) -> Family<'static> {
        Family {
            name: Cow::Owned(self.name.into_owned()),
            help: self.help.map(|h| Cow::Owned(h.into_owned())),
            kind: self.kind,
            metrics: self
                .metrics
                .into_iter()
                .map(|m| Metric {
                    labels: m.labels.into_iter().map(Label::into_owned).collect(),
                    value: m.value,
                    timestamp_ms: m.timestamp_ms,
                    extras: m.extras,
                })
                .collect(),
        }
    }
}
