//! Writes the text format 0.0.4 as the Go client library does.
use super::{Family, Metric, MetricType};

/// Appends `v` formatted like Go's `strconv.FormatFloat(v, 'g', -1, 64)`.
pub fn write_float(_out: &mut Vec<u8>, _v: f64) {
    todo!()
}

/// `v` formatted like Go's `strconv.FormatFloat(v, 'g', -1, 64)`.
pub fn format_float(v: f64) -> String {
    let mut out = Vec::new();
    write_float(&mut out, v);
    String::from_utf8(out).expect("ascii")
}

/// Appends the `# HELP` (when `help` is non-empty) and `# TYPE` lines.
pub fn write_header(_out: &mut Vec<u8>, _name: &str, _help: Option<&str>, _kind: MetricType) {
    todo!()
}

/// Appends the sample lines of one series (several for a summary or histogram).
pub fn write_series(_out: &mut Vec<u8>, _name: &str, _kind: MetricType, _metric: &Metric<'_>) {
    todo!()
}

/// Appends a whole family: header, then every series in order.
pub fn write_family(_out: &mut Vec<u8>, _family: &Family<'_>) {
    todo!()
}
