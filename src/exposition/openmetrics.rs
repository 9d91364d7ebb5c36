//! OpenMetrics text to Prometheus text 0.0.4, line by line, so that the strict
//! 0.0.4 parser can read an exporter that answers OpenMetrics although
//! `pgw relay` asked for 0.0.4. Pure.
//!
//! What changes: `# EOF` and `# UNIT` lines go; a counter family `x` is
//! announced as `x_total` (its samples are already called so); `_created`
//! samples of counters, summaries and histograms go, since 0.0.4 has no place
//! for them; exemplars (` # {...} v [ts]` after a sample) go; timestamps,
//! seconds in OpenMetrics, become the milliseconds of 0.0.4 (the caller drops
//! and counts them like any other); `info` and `stateset` families become
//! gauges, `gaugehistogram` a histogram (`_gcount`/`_gsum` renamed),
//! `unknown` untyped.

use std::collections::HashMap;

/// True when an answer is OpenMetrics: by its Content-Type, or (for an
/// exporter that mislabels it) by the `# EOF` line that ends every
/// OpenMetrics exposition and never appears in 0.0.4.
pub(crate) fn is_openmetrics(content_type: Option<&str>, body: &str) -> bool {
    if content_type.is_some_and(|c| {
        c.trim_start()
            .to_ascii_lowercase()
            .starts_with("application/openmetrics-text")
    }) {
        return true;
    }
    body.trim_end().lines().next_back() == Some("# EOF")
}

/// The OpenMetrics family types the conversion treats specially.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OmType {
    Counter,
    Summary,
    Histogram,
    GaugeHistogram,
    Info,
    Other,
}

/// Converts an OpenMetrics exposition to the 0.0.4 text format.
pub(crate) fn to_text_004(input: &str) -> String {
    // HELP may come before TYPE, so the types are read first.
    let mut types: HashMap<&str, OmType> = HashMap::new();
    for line in input.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut words = rest.split_whitespace();
            if let (Some(name), Some(kind)) = (words.next(), words.next()) {
                let t = match kind {
                    "counter" => OmType::Counter,
                    "summary" => OmType::Summary,
                    "histogram" => OmType::Histogram,
                    "gaugehistogram" => OmType::GaugeHistogram,
                    "info" => OmType::Info,
                    _ => OmType::Other,
                };
                types.insert(name, t);
            }
        }
    }
    let mut out = String::with_capacity(input.len());
    for line in input.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            convert_comment(comment, &types, &mut out);
            continue;
        }
        convert_sample(line, &types, &mut out);
    }
    out
}

/// The 0.0.4 name of a family's header lines.
fn family_name(name: &str, t: Option<OmType>) -> String {
    match t {
        Some(OmType::Counter) => format!("{name}_total"),
        Some(OmType::Info) => format!("{name}_info"),
        _ => name.to_string(),
    }
}

fn convert_comment(comment: &str, types: &HashMap<&str, OmType>, out: &mut String) {
    let comment = comment.trim_start();
    if let Some(rest) = comment.strip_prefix("TYPE ") {
        let mut words = rest.split_whitespace();
        let (Some(name), Some(kind)) = (words.next(), words.next()) else {
            return;
        };
        let kind = match kind {
            "counter" | "summary" | "histogram" | "gauge" => kind,
            "gaugehistogram" => "histogram",
            "info" | "stateset" => "gauge",
            _ => "untyped",
        };
        let name = family_name(name, types.get(name).copied());
        out.push_str(&format!("# TYPE {name} {kind}\n"));
    } else if let Some(rest) = comment.strip_prefix("HELP ") {
        let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
        if text.is_empty() {
            return;
        }
        // OpenMetrics escapes `"` in HELP; 0.0.4 knows only `\\` and `\n` there.
        let text = unescape_quotes(text);
        let name = family_name(name, types.get(name).copied());
        out.push_str(&format!("# HELP {name} {text}\n"));
    }
    // `# EOF`, `# UNIT` and anything else have no 0.0.4 counterpart.
}

/// Replaces `\"` with `"`, leaving `\\` and `\n` as they are.
fn unescape_quotes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('"') => out.push('"'),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The family a sample name belongs to, with the suffix it carries.
fn owner<'a>(
    sample: &'a str,
    types: &HashMap<&str, OmType>,
) -> Option<(OmType, &'a str /* suffix */)> {
    for suffix in [
        "_created", "_total", "_bucket", "_count", "_sum", "_gcount", "_gsum", "_info",
    ] {
        if let Some(base) = sample.strip_suffix(suffix) {
            if let Some(&t) = types.get(base) {
                return Some((t, suffix));
            }
        }
    }
    None
}

fn convert_sample(line: &str, types: &HashMap<&str, OmType>, out: &mut String) {
    let name_end = line.find(['{', ' ']).unwrap_or(line.len());
    let name = &line[..name_end];
    let mut rest = &line[name_end..];
    let mut labels = "";
    if rest.starts_with('{') {
        let Some(end) = label_set_end(rest) else {
            // Broken line: passed on, so the parser reports it with context.
            out.push_str(line);
            out.push('\n');
            return;
        };
        labels = &rest[..end];
        rest = &rest[end..];
    }
    // Exemplars follow ` # ` after the value and timestamp.
    let rest = match rest.find(" # ") {
        Some(i) => &rest[..i],
        None => rest,
    };
    let mut words = rest.split_whitespace();
    let value = words.next().unwrap_or("");
    let timestamp = words.next();

    let mut name = name.to_string();
    if let Some((t, suffix)) = owner(&name, types) {
        match (t, suffix) {
            (OmType::Counter | OmType::Summary | OmType::Histogram, "_created") => return,
            (OmType::GaugeHistogram, "_gcount") => {
                name.truncate(name.len() - suffix.len());
                name.push_str("_count");
            }
            (OmType::GaugeHistogram, "_gsum") => {
                name.truncate(name.len() - suffix.len());
                name.push_str("_sum");
            }
            _ => {}
        }
    }
    out.push_str(&name);
    out.push_str(labels);
    out.push(' ');
    out.push_str(value);
    if let Some(ts) = timestamp.and_then(|t| t.parse::<f64>().ok()) {
        out.push(' ');
        out.push_str(&((ts * 1000.0).round() as i64).to_string());
    }
    out.push('\n');
}

/// The byte index just after the `}` closing the label set that `s` starts
/// with, skipping quoted values (which may hold `}` and escaped quotes).
fn label_set_end(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 1;
    let mut quoted = false;
    while i < bytes.len() {
        match (quoted, bytes[i]) {
            (true, b'\\') => i += 1,
            (true, b'"') | (false, b'"') => quoted = !quoted,
            (false, b'}') => return Some(i + 1),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::text;

    const OM: &str = "\
# TYPE http_requests counter
# HELP http_requests Requests with a \\\"quote\\\".
# UNIT http_requests requests
http_requests_total{code=\"200\",path=\"/a } # b\"} 10 1700000000.5 # {trace_id=\"abc\"} 1 1700000000.1
http_requests_created{code=\"200\",path=\"/a } # b\"} 1700000000
# TYPE latency_seconds histogram
latency_seconds_bucket{le=\"0.5\"} 1
latency_seconds_bucket{le=\"+Inf\"} 2 # {trace_id=\"x\"} 0.7
latency_seconds_count 2
latency_seconds_sum 1.2
latency_seconds_created 1700000000
# TYPE build info
build_info{version=\"1.0\"} 1
# TYPE queue gaugehistogram
queue_bucket{le=\"+Inf\"} 3
queue_gcount 3
queue_gsum 9
# TYPE temp gauge
temp 21.5
# TYPE thing unknown
thing 1
# EOF
";

    #[test]
    fn detects_openmetrics() {
        assert!(is_openmetrics(
            Some("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            ""
        ));
        assert!(is_openmetrics(Some("text/plain"), "a 1\n# EOF\n"));
        assert!(!is_openmetrics(
            Some("text/plain; version=0.0.4"),
            "# HELP a x\na 1\n"
        ));
    }

    #[test]
    fn converts_to_text_the_strict_parser_reads() {
        let text = to_text_004(OM);
        let families = text::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let names: Vec<&str> = families.iter().map(|f| f.name.as_ref()).collect();
        assert_eq!(
            names,
            [
                "http_requests_total",
                "latency_seconds",
                "build_info",
                "queue",
                "temp",
                "thing"
            ]
        );
        let counter = &families[0];
        assert_eq!(counter.help.as_deref(), Some("Requests with a \"quote\"."));
        assert_eq!(counter.metrics.len(), 1, "the _created sample is gone");
        assert_eq!(counter.metrics[0].labels[1].value, "/a } # b");
        assert_eq!(counter.metrics[0].timestamp_ms, Some(1_700_000_000_500));
        assert!(!text.contains("trace_id"), "exemplars are gone:\n{text}");
        assert!(!text.contains("EOF") && !text.contains("UNIT"));
        assert!(text.contains("queue_count 3\nqueue_sum 9\n"));
    }
}
