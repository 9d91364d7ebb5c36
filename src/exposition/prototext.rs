//! The protobuf text format of a `MetricFamily`, for the two scrape
//! encodings that ask for it: `encoding=text` (Go's `prototext.Format`, one
//! field a line, nested messages indented) and `encoding=compact-text` (Go's
//! `Message.String()`, a family on one line).
//!
//! Fields are written in the order metrics.proto declares them, under their
//! names there; unset optional fields are left out; repeated fields repeat
//! their name; floats are written as Go writes them (`nan`, `inf`, `-inf`,
//! else `strconv` `'g'` shortest). Go keeps its whitespace deliberately
//! unstable, so only the syntax is the same, not the bytes.

use crate::exposition::proto::pb;
use crate::exposition::render::format_float;

/// Appends one family in the protobuf text format: multi-line, or on one
/// line when `compact`; either way followed by a newline.
pub(crate) fn write_family(out: &mut Vec<u8>, family: &pb::MetricFamily, compact: bool) {
    let mut p = Printer {
        out,
        compact,
        depth: 0,
        first: true,
    };
    p.family(family);
    if compact || family == &pb::MetricFamily::default() {
        p.out.push(b'\n');
    }
}

struct Printer<'o> {
    out: &'o mut Vec<u8>,
    compact: bool,
    depth: usize,
    /// No field written yet at this nesting level (compact: no space).
    first: bool,
}

impl Printer<'_> {
    fn name(&mut self, name: &str) {
        if self.compact {
            if !self.first {
                self.out.push(b' ');
            }
        } else {
            for _ in 0..self.depth {
                self.out.extend_from_slice(b"  ");
            }
        }
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(b':');
        if !self.compact {
            self.out.push(b' ');
        }
        self.first = false;
    }

    fn end_line(&mut self) {
        if !self.compact {
            self.out.push(b'\n');
        }
    }

    fn raw(&mut self, name: &str, value: &str) {
        self.name(name);
        self.out.extend_from_slice(value.as_bytes());
        self.end_line();
    }

    fn float(&mut self, name: &str, v: Option<f64>) {
        if let Some(v) = v {
            let text = if v.is_nan() {
                "nan".to_string()
            } else if v.is_infinite() {
                if v > 0.0 { "inf" } else { "-inf" }.to_string()
            } else {
                format_float(v)
            };
            self.raw(name, &text);
        }
    }

    fn int(&mut self, name: &str, v: Option<impl ToString>) {
        if let Some(v) = v {
            self.raw(name, &v.to_string());
        }
    }

    fn string(&mut self, name: &str, v: Option<&str>) {
        let Some(v) = v else { return };
        self.name(name);
        self.out.push(b'"');
        for c in v.chars() {
            match c {
                '"' => self.out.extend_from_slice(b"\\\""),
                '\\' => self.out.extend_from_slice(b"\\\\"),
                '\n' => self.out.extend_from_slice(b"\\n"),
                '\r' => self.out.extend_from_slice(b"\\r"),
                '\t' => self.out.extend_from_slice(b"\\t"),
                // Other control characters as octal escapes, which every
                // protobuf text parser reads.
                c if (c as u32) < 0x20 || c == '\u{7f}' => {
                    self.out
                        .extend_from_slice(format!("\\{:03o}", c as u32).as_bytes());
                }
                c => {
                    let mut buf = [0; 4];
                    self.out
                        .extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        self.out.push(b'"');
        self.end_line();
    }

    fn message(&mut self, name: &str, body: impl FnOnce(&mut Self)) {
        self.name(name);
        self.out.push(b'{');
        self.end_line();
        self.depth += 1;
        self.first = true;
        body(self);
        self.depth -= 1;
        if !self.compact {
            for _ in 0..self.depth {
                self.out.extend_from_slice(b"  ");
            }
        }
        self.out.push(b'}');
        self.end_line();
        self.first = false;
    }

    fn family(&mut self, f: &pb::MetricFamily) {
        self.string("name", f.name.as_deref());
        self.string("help", f.help.as_deref());
        if let Some(t) = f.r#type {
            let name = match pb::MetricType::try_from(t) {
                Ok(pb::MetricType::Counter) => "COUNTER".to_string(),
                Ok(pb::MetricType::Gauge) => "GAUGE".to_string(),
                Ok(pb::MetricType::Summary) => "SUMMARY".to_string(),
                Ok(pb::MetricType::Untyped) => "UNTYPED".to_string(),
                Ok(pb::MetricType::Histogram) => "HISTOGRAM".to_string(),
                Ok(pb::MetricType::GaugeHistogram) => "GAUGE_HISTOGRAM".to_string(),
                // An enum value this schema does not know is written as its
                // number, as Go writes it.
                Err(_) => t.to_string(),
            };
            self.raw("type", &name);
        }
        for m in &f.metric {
            self.message("metric", |p| p.metric(m));
        }
        self.string("unit", f.unit.as_deref());
    }

    fn labels(&mut self, labels: &[pb::LabelPair]) {
        for l in labels {
            self.message("label", |p| {
                p.string("name", l.name.as_deref());
                p.string("value", l.value.as_deref());
            });
        }
    }

    fn metric(&mut self, m: &pb::Metric) {
        self.labels(&m.label);
        if let Some(g) = &m.gauge {
            self.message("gauge", |p| p.float("value", g.value));
        }
        if let Some(c) = &m.counter {
            self.message("counter", |p| {
                p.float("value", c.value);
                p.exemplar("exemplar", c.exemplar.as_ref());
                p.timestamp("created_timestamp", c.created_timestamp.as_ref());
            });
        }
        if let Some(s) = &m.summary {
            self.message("summary", |p| {
                p.int("sample_count", s.sample_count);
                p.float("sample_sum", s.sample_sum);
                for q in &s.quantile {
                    p.message("quantile", |p| {
                        p.float("quantile", q.quantile);
                        p.float("value", q.value);
                    });
                }
                p.timestamp("created_timestamp", s.created_timestamp.as_ref());
            });
        }
        if let Some(u) = &m.untyped {
            self.message("untyped", |p| p.float("value", u.value));
        }
        if let Some(h) = &m.histogram {
            self.message("histogram", |p| p.histogram(h));
        }
        self.int("timestamp_ms", m.timestamp_ms);
    }

    fn histogram(&mut self, h: &pb::Histogram) {
        self.int("sample_count", h.sample_count);
        self.float("sample_count_float", h.sample_count_float);
        self.float("sample_sum", h.sample_sum);
        for b in &h.bucket {
            self.message("bucket", |p| {
                p.int("cumulative_count", b.cumulative_count);
                p.float("cumulative_count_float", b.cumulative_count_float);
                p.float("upper_bound", b.upper_bound);
                p.exemplar("exemplar", b.exemplar.as_ref());
            });
        }
        self.timestamp("created_timestamp", h.created_timestamp.as_ref());
        self.int("schema", h.schema);
        self.float("zero_threshold", h.zero_threshold);
        self.int("zero_count", h.zero_count);
        self.float("zero_count_float", h.zero_count_float);
        self.spans("negative_span", &h.negative_span);
        for d in &h.negative_delta {
            self.int("negative_delta", Some(d));
        }
        for &c in &h.negative_count {
            self.float("negative_count", Some(c));
        }
        self.spans("positive_span", &h.positive_span);
        for d in &h.positive_delta {
            self.int("positive_delta", Some(d));
        }
        for &c in &h.positive_count {
            self.float("positive_count", Some(c));
        }
        for e in &h.exemplars {
            self.exemplar("exemplars", Some(e));
        }
    }

    fn spans(&mut self, name: &str, spans: &[pb::BucketSpan]) {
        for s in spans {
            self.message(name, |p| {
                p.int("offset", s.offset);
                p.int("length", s.length);
            });
        }
    }

    fn exemplar(&mut self, name: &str, e: Option<&pb::Exemplar>) {
        let Some(e) = e else { return };
        self.message(name, |p| {
            p.labels(&e.label);
            p.float("value", e.value);
            p.timestamp("timestamp", e.timestamp.as_ref());
        });
    }

    fn timestamp(&mut self, name: &str, t: Option<&pb::Timestamp>) {
        let Some(t) = t else { return };
        self.message(name, |p| {
            // proto3 fields: a zero is not written, as Go leaves it out.
            if t.seconds != 0 {
                p.int("seconds", Some(t.seconds));
            }
            if t.nanos != 0 {
                p.int("nanos", Some(t.nanos));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(name: &str, value: &str) -> pb::LabelPair {
        pb::LabelPair {
            name: Some(name.into()),
            value: Some(value.into()),
        }
    }

    fn counter() -> pb::MetricFamily {
        pb::MetricFamily {
            name: Some("jobs_total".into()),
            help: Some("Jobs \"run\"\\\nso far.".into()),
            r#type: Some(pb::MetricType::Counter as i32),
            metric: vec![pb::Metric {
                label: vec![label("job", "a"), label("x", "tab\there")],
                counter: Some(pb::Counter {
                    value: Some(1e6),
                    exemplar: Some(pb::Exemplar {
                        label: vec![label("trace_id", "abc")],
                        value: Some(0.5),
                        timestamp: Some(pb::Timestamp {
                            seconds: 1_700_000_000,
                            nanos: 5,
                        }),
                    }),
                    created_timestamp: Some(pb::Timestamp {
                        seconds: 1_600_000_000,
                        nanos: 0,
                    }),
                }),
                timestamp_ms: Some(-3),
                ..Default::default()
            }],
            unit: None,
        }
    }

    fn text(f: &pb::MetricFamily, compact: bool) -> String {
        let mut out = Vec::new();
        write_family(&mut out, f, compact);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn multi_line_nests_and_escapes() {
        assert_eq!(
            text(&counter(), false),
            r#"name: "jobs_total"
help: "Jobs \"run\"\\\nso far."
type: COUNTER
metric: {
  label: {
    name: "job"
    value: "a"
  }
  label: {
    name: "x"
    value: "tab\there"
  }
  counter: {
    value: 1e+06
    exemplar: {
      label: {
        name: "trace_id"
        value: "abc"
      }
      value: 0.5
      timestamp: {
        seconds: 1700000000
        nanos: 5
      }
    }
    created_timestamp: {
      seconds: 1600000000
    }
  }
  timestamp_ms: -3
}
"#
        );
    }

    #[test]
    fn compact_is_one_line() {
        assert_eq!(
            text(&counter(), true),
            concat!(
                r#"name:"jobs_total" help:"Jobs \"run\"\\\nso far." type:COUNTER "#,
                r#"metric:{label:{name:"job" value:"a"} label:{name:"x" value:"tab\there"} "#,
                r#"counter:{value:1e+06 exemplar:{label:{name:"trace_id" value:"abc"} value:0.5 "#,
                r#"timestamp:{seconds:1700000000 nanos:5}} created_timestamp:{seconds:1600000000}} "#,
                "timestamp_ms:-3}\n"
            )
        );
    }

    #[test]
    fn histograms_print_every_field_in_declared_order() {
        let f = pb::MetricFamily {
            name: Some("h".into()),
            r#type: Some(pb::MetricType::Histogram as i32),
            metric: vec![pb::Metric {
                histogram: Some(pb::Histogram {
                    sample_count: Some(4),
                    sample_sum: Some(f64::NAN),
                    bucket: vec![pb::Bucket {
                        cumulative_count: Some(1),
                        upper_bound: Some(f64::INFINITY),
                        ..Default::default()
                    }],
                    schema: Some(-1),
                    zero_threshold: Some(0.001),
                    zero_count: Some(1),
                    positive_span: vec![pb::BucketSpan {
                        offset: Some(0),
                        length: Some(2),
                    }],
                    positive_delta: vec![2, -1],
                    negative_count: vec![f64::NEG_INFINITY],
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            text(&f, true),
            "name:\"h\" type:HISTOGRAM metric:{histogram:{sample_count:4 sample_sum:nan \
             bucket:{cumulative_count:1 upper_bound:inf} schema:-1 zero_threshold:0.001 \
             zero_count:1 negative_count:-inf positive_span:{offset:0 length:2} \
             positive_delta:2 positive_delta:-1}}\n"
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        let f = pb::MetricFamily {
            name: Some("a\u{1}b\u{7f}é".into()),
            ..Default::default()
        };
        assert_eq!(text(&f, true), "name:\"a\\001b\\177é\"\n");
    }
}
