//! Writes the text format 0.0.4 byte for byte as the Go client library
//! (`expfmt.MetricFamilyToText`) does, so a scrape of pgw can be diffed against
//! a scrape of the official Pushgateway.
//!
//! This is a hot path: every push is pre-rendered once (hundreds of series,
//! thousands of pushes a second), so everything appends straight into a
//! `Vec<u8>` with `itoa` and `ryu` and nothing allocates per line.

use std::borrow::Cow;

use super::names::{escape_name, is_legacy_name, write_name, write_quoted, Escaping};
use super::{Family, Label, Metric, MetricType};

/// Appends `v` formatted like Go's `strconv.FormatFloat(v, 'g', -1, 64)`.
///
/// Go's rule for the shortest `'g'` format (`strconv/ftoa.go`): take the
/// shortest digits that round-trip, let `x` be the decimal exponent of the
/// first digit, and use `%e` iff `x < -4 || x >= 6` (for shortest output the
/// precision used in that decision is fixed at 6, whatever the digit count).
/// `%e` writes at least two exponent digits and always a sign.
pub(crate) fn write_float(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
    } else if v == 0.0 {
        out.extend_from_slice(if v.is_sign_negative() { b"-0" } else { b"0" });
    } else if v.fract() == 0.0 && v.abs() < 1e6 {
        // Integers below 10^6 are always written in full: the common case
        // for counters and gauges, and much cheaper than digit generation.
        out.extend_from_slice(itoa::Buffer::new().format(v as i64).as_bytes());
    } else {
        write_general(out, v);
    }
}

/// The general case of [`write_float`]: `v` is finite and non-zero.
fn write_general(out: &mut Vec<u8>, v: f64) {
    let mut ryu_buf = ryu::Buffer::new();
    let text = ryu_buf.format_finite(v).as_bytes();
    // ryu picks its own layout ("1e21", "0.0001", "123.0", "1.5e-7"), so
    // reduce it to Go's representation: digits d1d2...dn with no leading or
    // trailing zeros, and `dp`, where the value is 0.d1d2...dn * 10^dp.
    let (neg, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let (mantissa, exp) = match text.iter().position(|&b| b == b'e' || b == b'E') {
        Some(i) => (&text[..i], parse_exp(&text[i + 1..])),
        None => (text, 0),
    };
    let mut digits = [0u8; 32];
    let mut nd = 0usize;
    let mut int_len = 0i32;
    let mut seen_point = false;
    for &b in mantissa {
        if b == b'.' {
            seen_point = true;
            continue;
        }
        if !seen_point {
            int_len += 1;
        }
        if nd == 0 && b == b'0' {
            // A leading zero moves the decimal point, it is not a digit.
            int_len -= 1;
            continue;
        }
        digits[nd] = b;
        nd += 1;
    }
    while nd > 1 && digits[nd - 1] == b'0' {
        nd -= 1;
    }
    let digits = &digits[..nd];
    let dp = int_len + exp;
    let x = dp - 1;

    if neg {
        out.push(b'-');
    }
    if !(-4..6).contains(&x) {
        out.push(digits[0]);
        if nd > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if x < 0 { b'-' } else { b'+' });
        let ax = x.unsigned_abs();
        if ax < 10 {
            out.push(b'0');
        }
        out.extend_from_slice(itoa::Buffer::new().format(ax).as_bytes());
    } else if dp <= 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-dp) as usize));
        out.extend_from_slice(digits);
    } else {
        let dp = dp as usize;
        if dp >= nd {
            out.extend_from_slice(digits);
            out.extend(std::iter::repeat_n(b'0', dp - nd));
        } else {
            out.extend_from_slice(&digits[..dp]);
            out.push(b'.');
            out.extend_from_slice(&digits[dp..]);
        }
    }
}

fn parse_exp(b: &[u8]) -> i32 {
    let (neg, b) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, b),
    };
    let mut e = 0i32;
    for &c in b {
        e = e * 10 + i32::from(c - b'0');
    }
    if neg {
        -e
    } else {
        e
    }
}

/// `v` formatted like Go's `strconv.FormatFloat(v, 'g', -1, 64)`.
pub(crate) fn format_float(v: f64) -> String {
    let mut out = Vec::new();
    write_float(&mut out, v);
    String::from_utf8(out).expect("ascii")
}

/// Writes a count (`_count`, cumulative bucket counts). The Go library keeps
/// them as `uint64` and writes them as integers, so `1000000` stays
/// `1000000` and not `1e+06`; counts that are not integers (only possible
/// from float histograms or a hand-written body) fall back to the float form.
fn write_count(out: &mut Vec<u8>, v: f64) {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if v.fract() == 0.0 && v.abs() < LIMIT {
        out.extend_from_slice(itoa::Buffer::new().format(v as i64).as_bytes());
    } else {
        write_float(out, v);
    }
}

/// Appends `s` with `\` and newline escaped (HELP text), and `"` too when
/// `quote` is set (label values).
fn write_escaped(out: &mut Vec<u8>, s: &str, quote: bool) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'"' if quote => b"\\\"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends the `# HELP` (when `help` is non-empty) and `# TYPE` lines; a
/// name that is not legacy-valid is quoted (`# TYPE "my.metric" counter`).
pub(crate) fn write_header(out: &mut Vec<u8>, name: &str, help: Option<&str>, kind: MetricType) {
    if let Some(help) = help.filter(|h| !h.is_empty()) {
        out.extend_from_slice(b"# HELP ");
        write_name(out, name);
        out.push(b' ');
        write_escaped(out, help, false);
        out.push(b'\n');
    }
    out.extend_from_slice(b"# TYPE ");
    write_name(out, name);
    out.push(b' ');
    out.extend_from_slice(kind.as_text().as_bytes());
    out.push(b'\n');
}

/// As [`write_header`], with the name escaped by `escaping` first.
pub(crate) fn write_header_escaped(
    out: &mut Vec<u8>,
    name: &str,
    help: Option<&str>,
    kind: MetricType,
    escaping: Escaping,
) {
    write_header(out, &escape_name(name, escaping), help, kind);
}

/// Whether a series' names are all legacy-valid, so that its lines are
/// written without quotes and read the same under every escaping scheme.
pub(crate) fn has_legacy_names(name: &str, labels: &[Label<'_>]) -> bool {
    is_legacy_name(name) && has_legacy_label_names(labels)
}

/// [`has_legacy_names`] of the labels alone, for a caller that tested the
/// metric name once for all its series.
pub(crate) fn has_legacy_label_names(labels: &[Label<'_>]) -> bool {
    labels.iter().all(|l| is_legacy_name(&l.name))
}

/// Writes `name{labels,extra="v"}`, without braces when there is no label.
/// `legacy` says every name is legacy-valid (checked once per series):
/// otherwise, as Go's text encoder, a metric name that is not moves into the
/// braces quoted (`{"my.metric",job="j"}`) and such label names are quoted.
fn write_name_and_labels(
    out: &mut Vec<u8>,
    name: &str,
    suffix: &str,
    labels: &[Label<'_>],
    extra: Option<(&str, f64)>,
    legacy: bool,
) {
    let mut first = true;
    if legacy || is_legacy_name(name) {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(suffix.as_bytes());
        if labels.is_empty() && extra.is_none() {
            return;
        }
        out.push(b'{');
    } else {
        out.push(b'{');
        write_quoted(out, &format!("{name}{suffix}"));
        first = false;
    }
    for label in labels {
        if !first {
            out.push(b',');
        }
        first = false;
        if legacy {
            out.extend_from_slice(label.name.as_bytes());
        } else {
            write_name(out, &label.name);
        }
        out.extend_from_slice(b"=\"");
        write_escaped(out, &label.value, true);
        out.push(b'"');
    }
    if let Some((extra_name, extra_value)) = extra {
        if !first {
            out.push(b',');
        }
        out.extend_from_slice(extra_name.as_bytes());
        out.extend_from_slice(b"=\"");
        write_float(out, extra_value);
        out.push(b'"');
    }
    out.push(b'}');
}

/// Ends a sample line: the optional timestamp and the newline.
fn write_line_end(out: &mut Vec<u8>, timestamp_ms: Option<i64>) {
    if let Some(ts) = timestamp_ms {
        out.push(b' ');
        out.extend_from_slice(itoa::Buffer::new().format(ts).as_bytes());
    }
    out.push(b'\n');
}

/// Appends the sample lines of one series (several for a summary or histogram).
///
/// The layout follows the value, not `kind`: the two agree for anything that
/// passed validation, and following the value never loses data.
pub(crate) fn write_series(out: &mut Vec<u8>, name: &str, _kind: MetricType, metric: &Metric<'_>) {
    write_series_with(out, name, metric, has_legacy_names(name, &metric.labels));
}

/// [`write_series`] for a caller that has tested the names already
/// (`legacy`: [`has_legacy_names`] of `name` and the series' labels).
pub(crate) fn write_series_with(out: &mut Vec<u8>, name: &str, metric: &Metric<'_>, legacy: bool) {
    metric.for_each_sample(|sample| {
        write_name_and_labels(
            out,
            name,
            sample.suffix,
            &metric.labels,
            sample.extra,
            legacy,
        );
        out.push(b' ');
        if sample.count {
            write_count(out, sample.value);
        } else {
            write_float(out, sample.value);
        }
        write_line_end(out, metric.timestamp_ms);
    });
}

/// Appends a whole family: header, then every series in order.
pub fn write_family(out: &mut Vec<u8>, family: &Family<'_>) {
    write_header(out, &family.name, family.help.as_deref(), family.kind);
    for metric in &family.metrics {
        write_series(out, &family.name, family.kind, metric);
    }
}

/// Appends the sample lines of one series with its names escaped by
/// `escaping`, as Go's `EscapeMetricFamily` does before encoding: the family
/// name is escaped and then given its `_sum`/`_count`/`_bucket` suffix.
pub(crate) fn write_series_escaped(
    out: &mut Vec<u8>,
    name: &str,
    kind: MetricType,
    metric: &Metric<'_>,
    escaping: Escaping,
) {
    if escaping == Escaping::AllowUtf8 || has_legacy_names(name, &metric.labels) {
        return write_series(out, name, kind, metric);
    }
    let escaped = Metric {
        labels: metric
            .labels
            .iter()
            .map(|l| Label {
                name: Cow::Owned(escape_name(&l.name, escaping).into_owned()),
                value: Cow::Borrowed(l.value.as_ref()),
            })
            .collect(),
        value: metric.value.clone(),
        timestamp_ms: metric.timestamp_ms,
        extras: metric.extras.clone(),
    };
    write_series(out, &escape_name(name, escaping), kind, &escaped);
}

/// Whether sample lines this renderer wrote hold a quoted name (a metric
/// or label name that is not legacy-valid), read back from the bytes alone,
/// for text restored from persistence. Label values are skipped as the
/// renderer escaped them, so a value such as `x{` or `a,` is never taken for
/// the start of a name.
pub(crate) fn has_quoted_names(text: &[u8]) -> bool {
    use memchr::memmem::find;
    // Without `{"` or `,"` nothing can be quoted: the common case, decided
    // by two fast scans.
    if find(text, b"{\"").is_none() && find(text, b",\"").is_none() {
        return false;
    }
    for line in text.split(|&b| b == b'\n') {
        let Some(open) = line.iter().position(|&b| b == b'{' || b == b' ') else {
            continue;
        };
        if line[open] != b'{' {
            continue;
        }
        let mut pos = open + 1;
        loop {
            // At the start of a label name (or of the quoted metric name).
            match line.get(pos) {
                Some(b'"') => return true,
                Some(b'}') | None => break,
                Some(_) => {}
            }
            let Some(eq) = line[pos..].iter().position(|&b| b == b'=') else {
                break;
            };
            // The value starts after `="`; skip it with its escapes.
            pos += eq + 2;
            while let Some(&b) = line.get(pos) {
                pos += 1;
                match b {
                    b'\\' => pos += 1,
                    b'"' => break,
                    _ => {}
                }
            }
            match line.get(pos) {
                Some(b',') => pos += 1,
                _ => break,
            }
        }
    }
    false
}

/// Appends a whole family with its names escaped by `escaping`.
#[cfg(test)]
pub(crate) fn write_family_escaped(out: &mut Vec<u8>, family: &Family<'_>, escaping: Escaping) {
    write_header_escaped(
        out,
        &family.name,
        family.help.as_deref(),
        family.kind,
        escaping,
    );
    for metric in &family.metrics {
        write_series_escaped(out, &family.name, family.kind, metric, escaping);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::Value;
    use proptest::prelude::*;

    #[test]
    fn floats_match_go_format_float_g_shortest() {
        let cases: &[(f64, &str)] = &[
            (1795389525.6667845, "1.7953895256667845e+09"),
            (120034.0, "120034"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.234e10, "1.234e+10"),
            (42.7, "42.7"),
            (0.0, "0"),
            (-0.0, "-0"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (100000.0, "100000"),
            (1e21, "1e+21"),
            (123456789.0, "1.23456789e+08"),
            (999999.0, "999999"),
            (999999.5, "999999.5"),
            (-1234567.0, "-1.234567e+06"),
            (-42.5, "-42.5"),
            (0.5, "0.5"),
            (0.1, "0.1"),
            (0.00012345, "0.00012345"),
            (1.5e-7, "1.5e-07"),
            (1e100, "1e+100"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (1763800000.0, "1.7638e+09"),
            (12345.678, "12345.678"),
            (1e-4, "0.0001"),
            (9.5e-5, "9.5e-05"),
        ];
        for &(v, want) in cases {
            assert_eq!(format_float(v), want, "formatting {v:?}");
        }
    }

    /// An independent, slow reference for Go's rule, built on std's
    /// shortest `{:e}` output instead of ryu.
    fn reference(v: f64) -> String {
        if v.is_nan() {
            return "NaN".into();
        }
        if v.is_infinite() {
            return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
        }
        if v == 0.0 {
            return if v.is_sign_negative() { "-0" } else { "0" }.into();
        }
        let e = format!("{:e}", v.abs());
        let (mant, exp) = e.split_once('e').unwrap();
        let x: i32 = exp.parse().unwrap();
        let digits: String = mant.chars().filter(|c| *c != '.').collect();
        let sign = if v < 0.0 { "-" } else { "" };
        if !(-4..6).contains(&x) {
            let rest = &digits[1..];
            let dot = if rest.is_empty() { "" } else { "." };
            let es = if x < 0 { '-' } else { '+' };
            format!("{sign}{}{dot}{rest}e{es}{:02}", &digits[..1], x.abs())
        } else {
            let dp = x + 1;
            if dp <= 0 {
                format!("{sign}0.{}{digits}", "0".repeat((-dp) as usize))
            } else if dp as usize >= digits.len() {
                format!("{sign}{digits}{}", "0".repeat(dp as usize - digits.len()))
            } else {
                let (a, b) = digits.split_at(dp as usize);
                format!("{sign}{a}.{b}")
            }
        }
    }

    /// Checks `format_float(v)` against the reference: same layout (where
    /// the digits, point and exponent go) and a round trip to the same bits.
    /// The digits themselves may differ in the last place on exact ties:
    /// std picks one of two equally close shortest candidates, ryu and Go
    /// round half to even (`-99430303798846.625` below).
    fn agrees(v: f64) -> Result<(), TestCaseError> {
        let ours = format_float(v);
        let want = reference(v);
        let shape = |s: &str| -> String {
            s.chars()
                .map(|c| if c.is_ascii_digit() { 'd' } else { c })
                .collect()
        };
        prop_assert_eq!(shape(&ours), shape(&want), "{} vs {}", ours, want);
        if v.is_finite() {
            let back: f64 = ours.parse().unwrap();
            prop_assert_eq!(back.to_bits(), v.to_bits(), "{}", ours);
        }
        Ok(())
    }

    #[test]
    fn ties_round_half_to_even_like_go() {
        assert_eq!(format_float(-99430303798846.62), "-9.943030379884662e+13");
    }

    proptest! {
        #[test]
        fn floats_agree_with_reference(bits in any::<u64>()) {
            agrees(f64::from_bits(bits))?;
        }

        #[test]
        fn small_floats_agree_with_reference(v in -1e7f64..1e7, scale in -8i32..8) {
            agrees(v * 10f64.powi(scale))?;
        }

        #[test]
        fn integers_agree_with_reference(v in any::<i64>()) {
            agrees(v as f64)?;
        }
    }

    fn render(f: &Family<'_>) -> String {
        let mut out = Vec::new();
        write_family(&mut out, f);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn header_escapes_help_and_skips_empty_help() {
        let mut out = Vec::new();
        write_header(&mut out, "a", Some("x\\y\nz \"q\""), MetricType::Counter);
        write_header(&mut out, "b", Some(""), MetricType::Gauge);
        write_header(&mut out, "c", None, MetricType::Untyped);
        write_header(&mut out, "d", None, MetricType::GaugeHistogram);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "# HELP a x\\\\y\\nz \"q\"\n# TYPE a counter\n# TYPE b gauge\n\
             # TYPE c untyped\n# TYPE d histogram\n"
        );
    }

    #[test]
    fn single_values_with_labels_and_timestamps() {
        let mut f = Family::new("up", MetricType::Gauge);
        f.help = Some("Up.".into());
        f.metrics.push(Metric {
            labels: vec![],
            value: Value::Single(1.0),
            timestamp_ms: None,
            extras: None,
        });
        f.metrics.push(Metric {
            labels: vec![Label::new("a", "x\"y\\z\nw"), Label::new("b", "é")],
            value: Value::Single(1e6),
            timestamp_ms: Some(-5),
            extras: None,
        });
        assert_eq!(
            render(&f),
            "# HELP up Up.\n# TYPE up gauge\nup 1\n\
             up{a=\"x\\\"y\\\\z\\nw\",b=\"é\"} 1e+06 -5\n"
        );
    }

    #[test]
    fn summary_layout() {
        let mut f = Family::new("rpc", MetricType::Summary);
        f.metrics.push(Metric {
            labels: vec![Label::new("m", "get")],
            value: Value::Summary {
                sample_count: 1000000.0,
                sample_sum: 12.5,
                quantiles: vec![(0.5, 0.2), (0.99, f64::NAN)],
            },
            timestamp_ms: None,
            extras: None,
        });
        f.metrics.push(Metric {
            labels: vec![],
            value: Value::Summary {
                sample_count: 2.5,
                sample_sum: 0.0,
                quantiles: vec![],
            },
            timestamp_ms: Some(7),
            extras: None,
        });
        assert_eq!(
            render(&f),
            "# TYPE rpc summary\n\
             rpc{m=\"get\",quantile=\"0.5\"} 0.2\n\
             rpc{m=\"get\",quantile=\"0.99\"} NaN\n\
             rpc_sum{m=\"get\"} 12.5\n\
             rpc_count{m=\"get\"} 1000000\n\
             rpc_sum 0 7\n\
             rpc_count 2.5 7\n"
        );
    }

    #[test]
    fn histogram_layout_adds_inf_bucket_like_expfmt() {
        let mut f = Family::new("d", MetricType::Histogram);
        f.metrics.push(Metric {
            labels: vec![Label::new("j", "b")],
            value: Value::Histogram {
                sample_count: 4.0,
                sample_sum: 2.5,
                buckets: vec![(0.5, 1.0), (1.0, 3.0), (f64::INFINITY, 4.0)],
            },
            timestamp_ms: None,
            extras: None,
        });
        f.metrics.push(Metric {
            labels: vec![],
            value: Value::Histogram {
                sample_count: 3.0,
                sample_sum: 1.0,
                buckets: vec![(1e6, 2.0)],
            },
            timestamp_ms: None,
            extras: None,
        });
        assert_eq!(
            render(&f),
            "# TYPE d histogram\n\
             d_bucket{j=\"b\",le=\"0.5\"} 1\n\
             d_bucket{j=\"b\",le=\"1\"} 3\n\
             d_bucket{j=\"b\",le=\"+Inf\"} 4\n\
             d_sum{j=\"b\"} 2.5\n\
             d_count{j=\"b\"} 4\n\
             d_bucket{le=\"1e+06\"} 2\n\
             d_bucket{le=\"+Inf\"} 3\n\
             d_sum 1\n\
             d_count 3\n"
        );
    }

    #[test]
    fn counts_fall_back_to_floats_when_not_integers() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (3.0, "3"),
            (-3.0, "-3"),
            (1e18, "1000000000000000000"),
            (9.3e18, "9.3e+18"),
            (0.5, "0.5"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
        ];
        for &(v, want) in cases {
            let mut out = Vec::new();
            write_count(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), want, "count {v:?}");
        }
    }

    fn utf8_family(kind: MetricType, value: Value) -> Family<'static> {
        let mut f = Family::new("my.metric", kind);
        f.help = Some("Dotted.".into());
        f.metrics.push(Metric {
            labels: vec![
                Label::new("a.b", "v"),
                Label::new("a:b", "w"),
                Label::new("job", "j"),
            ],
            value,
            timestamp_ms: None,
            extras: None,
        });
        f
    }

    fn rendered(family: &Family<'_>, escaping: Escaping) -> String {
        let mut out = Vec::new();
        write_family_escaped(&mut out, family, escaping);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn utf8_names_under_each_scheme() {
        let f = utf8_family(MetricType::Counter, Value::Single(1.0));
        assert_eq!(
            rendered(&f, Escaping::AllowUtf8),
            "# HELP \"my.metric\" Dotted.\n# TYPE \"my.metric\" counter\n\
             {\"my.metric\",\"a.b\"=\"v\",a:b=\"w\",job=\"j\"} 1\n"
        );
        assert_eq!(
            rendered(&f, Escaping::Underscores),
            "# HELP my_metric Dotted.\n# TYPE my_metric counter\n\
             my_metric{a_b=\"v\",a:b=\"w\",job=\"j\"} 1\n"
        );
        assert_eq!(
            rendered(&f, Escaping::Dots),
            "# HELP my_dot_metric Dotted.\n# TYPE my_dot_metric counter\n\
             my_dot_metric{a_dot_b=\"v\",a:b=\"w\",job=\"j\"} 1\n"
        );
        assert_eq!(
            rendered(&f, Escaping::Values),
            "# HELP U__my_2e_metric Dotted.\n# TYPE U__my_2e_metric counter\n\
             U__my_2e_metric{U__a_2e_b=\"v\",a:b=\"w\",job=\"j\"} 1\n"
        );
        // write_family writes the allow-utf-8 form.
        let mut out = Vec::new();
        write_family(&mut out, &f);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            rendered(&f, Escaping::AllowUtf8)
        );
    }

    #[test]
    fn utf8_names_of_compound_families_keep_their_suffixes() {
        let f = utf8_family(
            MetricType::Summary,
            Value::Summary {
                sample_count: 2.0,
                sample_sum: 3.0,
                quantiles: vec![(0.5, 1.0)],
            },
        );
        assert_eq!(
            rendered(&f, Escaping::AllowUtf8),
            "# HELP \"my.metric\" Dotted.\n# TYPE \"my.metric\" summary\n\
             {\"my.metric\",\"a.b\"=\"v\",a:b=\"w\",job=\"j\",quantile=\"0.5\"} 1\n\
             {\"my.metric_sum\",\"a.b\"=\"v\",a:b=\"w\",job=\"j\"} 3\n\
             {\"my.metric_count\",\"a.b\"=\"v\",a:b=\"w\",job=\"j\"} 2\n"
        );
        // The family name is escaped, then suffixed: `_sum`, not `__sum`.
        let dots = rendered(&f, Escaping::Dots);
        assert!(dots.contains("\nmy_dot_metric_sum{a_dot_b=\"v\""), "{dots}");
        assert!(dots.contains("\nmy_dot_metric_count{"), "{dots}");
    }

    #[test]
    fn legacy_families_are_the_same_under_every_scheme() {
        let mut f = Family::new("my_metric", MetricType::Gauge);
        f.metrics.push(Metric {
            labels: vec![Label::new("a_b", "x.y"), Label::new("c:d", "")],
            value: Value::Single(2.0),
            timestamp_ms: None,
            extras: None,
        });
        let want = "# TYPE my_metric gauge\nmy_metric{a_b=\"x.y\",c:d=\"\"} 2\n";
        for e in [
            Escaping::AllowUtf8,
            Escaping::Underscores,
            Escaping::Dots,
            Escaping::Values,
        ] {
            assert_eq!(rendered(&f, e), want, "{e:?}");
        }
        // A quoted name without labels keeps its braces.
        let mut f = Family::new("a.b", MetricType::Untyped);
        f.metrics.push(Metric {
            labels: vec![],
            value: Value::Single(1.0),
            timestamp_ms: None,
            extras: None,
        });
        assert!(rendered(&f, Escaping::AllowUtf8).ends_with("\n{\"a.b\"} 1\n"));
        assert!(rendered(&f, Escaping::Underscores).ends_with("\na_b 1\n"));
    }

    #[test]
    fn quoted_names_are_found_in_rendered_text_and_values_are_not() {
        let text = |labels: Vec<Label<'static>>, name: &str| {
            let mut out = Vec::new();
            let metric = Metric {
                labels,
                value: Value::Single(1.0),
                timestamp_ms: None,
                extras: None,
            };
            write_series(&mut out, name, MetricType::Gauge, &metric);
            out
        };
        let legacy = [
            text(vec![Label::new("a", "x{"), Label::new("b", "\",\"")], "m"),
            text(
                vec![Label::new("a", "{\"b\"=\"c\"}"), Label::new("z", ",")],
                "m",
            ),
            text(vec![Label::new("a:b", "\\"), Label::new("c", "")], "m"),
            text(vec![], "m"),
        ];
        for t in &legacy {
            assert!(!has_quoted_names(t), "{}", String::from_utf8_lossy(t));
        }
        let quoted = [
            text(vec![Label::new("a", "x{"), Label::new("b.c", "")], "m"),
            text(vec![Label::new("a.b", "")], "m"),
            text(vec![Label::new("a", "v")], "m.x"),
            text(vec![], "m.x"),
        ];
        for t in &quoted {
            assert!(has_quoted_names(t), "{}", String::from_utf8_lossy(t));
        }
    }
}
