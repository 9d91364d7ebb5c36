//! The checks a pushed body must pass before anything is stored: what the
//! official Pushgateway finds with its push-time `Gather()` (client_golang's
//! `checkMetricConsistency` and friends), restricted to one body. Conflicts
//! with what other groups hold are the store's business.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::{Family, Label, Metric, MetricType, Value};

/// Legacy metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub(crate) fn is_valid_metric_name(name: &str) -> bool {
    legacy(name, METRIC)
}

/// Legacy label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub(crate) fn is_valid_label_name(name: &str) -> bool {
    legacy(name, LABEL)
}

/// Bits of [`LEGACY`]: the byte may continue a metric name, a label name.
const METRIC: u8 = 1;
const LABEL: u8 = 2;

/// What each byte may be in a legacy name. Every series a push renders is
/// tested against it (names decide between the plain and the quoted text
/// form), so one table load per byte, without branches, is worth having.
static LEGACY: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphanumeric() || b == b'_' {
            t[c] = METRIC | LABEL;
        } else if b == b':' {
            t[c] = METRIC;
        }
        c += 1;
    }
    t
};

fn legacy(name: &str, kind: u8) -> bool {
    match name.as_bytes().split_first() {
        Some((&first, rest)) => {
            !first.is_ascii_digit()
                && rest.iter().fold(LEGACY[usize::from(first)], |all, &c| {
                    all & LEGACY[usize::from(c)]
                }) & kind
                    != 0
        }
        None => false,
    }
}

/// Checks one push body on its own: valid names, no reserved `__` labels, no
/// duplicate label names in a series, no duplicate series, no timestamps.
///
/// Names are held to what upstream's gather checks, whatever
/// `--push.enable-utf8-names` says: label names must be non-empty UTF-8 (a
/// `&str` always is), and metric names are not tested beyond being
/// non-empty, so a protobuf body may carry UTF-8 names without the flag, as
/// upstream. The text parser is what keeps legacy names for text bodies.
pub fn check_families(families: &[Family<'_>]) -> Result<(), String> {
    check(families, Known::Nothing)
}

/// [`check_families`] for families whose series each have their labels
/// sorted by name, by a caller that finds duplicate series itself: the
/// store, whose preparation sorts every label set and fingerprints every
/// series anyway, and finds duplicates among the fingerprints (naming
/// them with [`duplicate_series`]). Every other check is made.
pub(crate) fn check_sorted_families_but_duplicates(families: &[Family<'_>]) -> Result<(), String> {
    check(families, Known::SortedAndDuplicatesFoundLater)
}

/// What the caller of [`check`] has made sure of already.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Known {
    Nothing,
    SortedAndDuplicatesFoundLater,
}

fn check(families: &[Family<'_>], known: Known) -> Result<(), String> {
    // The timestamp check comes first, as in the Pushgateway, where it runs
    // before the gather that finds everything else.
    for family in families {
        for metric in &family.metrics {
            if let Some(ts) = metric.timestamp_ms {
                return Err(format!(
                    "pushed metrics must not have timestamps (found {ts} on {})",
                    series_name(&family.name, &metric.labels)
                ));
            }
        }
    }

    check_suffix_collisions(families)?;
    let mut family_names = HashSet::with_capacity_and_hasher(families.len(), Default::default());
    // Reused buffers: sorted label refs and the serialised label set.
    let mut sorted: Vec<(&str, &str)> = Vec::new();
    let mut keys: Vec<(u64, usize)> = Vec::new();
    let mut key_buf: Vec<u8> = Vec::new();
    for family in families {
        let name = &*family.name;
        if name.is_empty() {
            return Err(format!("{name:?} is not a valid metric name"));
        }
        if !family_names.insert(name) {
            return Err(format!(
                "metric family {name:?} appears twice in the pushed body"
            ));
        }
        keys.clear();
        for (index, metric) in family.metrics.iter().enumerate() {
            check_value_type(family, metric)?;
            if let Some(native) = metric.extras.as_ref().and_then(|e| e.native.as_ref()) {
                check_native(native, metric).map_err(|e| {
                    format!(
                        "invalid native histogram in metric family {name:?}, series {}: {e}",
                        super::proto::label_set(&metric.labels)
                    )
                })?;
            }
            let reserved = match family.kind {
                MetricType::Summary => Some("quantile"),
                MetricType::Histogram | MetricType::GaugeHistogram => Some("le"),
                _ => None,
            };
            if known == Known::SortedAndDuplicatesFoundLater {
                debug_assert!(metric.labels.is_sorted_by(|a, b| a.name <= b.name));
                let names = metric.labels.iter().map(|l| &*l.name);
                check_label_names(names, reserved, family, metric)?;
                continue;
            }
            sorted.clear();
            sorted.extend(metric.labels.iter().map(|l| (&*l.name, &*l.value)));
            // The server hands labels over sorted; a sort would still
            // shift through them.
            if !sorted.is_sorted_by(|a, b| a.0 <= b.0) {
                sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
            }
            check_label_names(sorted.iter().map(|l| l.0), reserved, family, metric)?;
            // A family of one series (most of a node_exporter scrape)
            // cannot repeat one.
            if family.metrics.len() > 1 {
                keys.push((label_set_hash(&sorted, &mut key_buf), index));
            }
        }
        // Duplicates: sort the label-set hashes and compare neighbours for
        // real, so a hash collision can never reject a valid push.
        keys.sort_unstable();
        for pair in keys.windows(2) {
            if pair[0].0 == pair[1].0 {
                let a = &family.metrics[pair[0].1];
                let b = &family.metrics[pair[1].1];
                if same_label_set(&a.labels, &b.labels) {
                    return Err(duplicate_series(name, &b.labels));
                }
            }
        }
    }
    Ok(())
}

/// The label names of one series, given sorted: none empty or starting
/// with `__`, none twice, none the one its family's type reserves.
fn check_label_names<'b>(
    sorted: impl Iterator<Item = &'b str>,
    reserved: Option<&str>,
    family: &Family<'_>,
    metric: &Metric<'_>,
) -> Result<(), String> {
    let name = &*family.name;
    let mut previous = None;
    for label in sorted {
        if label.is_empty() || label.starts_with("__") {
            return Err(format!(
                "{} has a label with an invalid name: {label}",
                series_name(name, &metric.labels)
            ));
        }
        if previous == Some(label) {
            return Err(format!(
                "{} has two or more labels with the same name: {label}",
                series_name(name, &metric.labels)
            ));
        }
        if reserved == Some(label) {
            return Err(format!(
                "{} of type {} has a label named {label:?}, which is reserved",
                series_name(name, &metric.labels),
                family.kind
            ));
        }
        previous = Some(label);
    }
    Ok(())
}

/// A summary or histogram `x` owns the sample names `x_sum` and `x_count`
/// (and `x_bucket` for a histogram): another family with such a name would
/// be exposed as lines of `x`. client_golang's gather refuses this
/// (`checkSuffixCollisions`), so the Pushgateway refuses such a push.
pub fn check_suffix_collisions(families: &[Family<'_>]) -> Result<(), String> {
    // The summaries and histograms by name: each suffixed name is looked
    // up, not compared with every family (a body of many `_count` families
    // beside one summary would cost their square).
    let compound: HashMap<&str, MetricType> = families
        .iter()
        .filter(|f| f.kind.is_compound())
        .map(|f| (&*f.name, f.kind))
        .collect();
    if compound.is_empty() {
        return Ok(());
    }
    for family in families {
        for suffix in ["_sum", "_count", "_bucket"] {
            let Some(base) = family.name.strip_suffix(suffix) else {
                continue;
            };
            let Some(&owner) = compound.get(base) else {
                continue;
            };
            if suffix == "_bucket" && owner == MetricType::Summary {
                continue;
            }
            return Err(format!(
                "collected metric named {:?} collides with collected {} named {base:?}",
                family.name,
                owner.as_text()
            ));
        }
    }
    Ok(())
}

/// The value must be of the family's type (only a protobuf body can get
/// this wrong). Go: `collected metric ... is not a COUNTER`.
fn check_value_type(family: &Family<'_>, metric: &Metric<'_>) -> Result<(), String> {
    let fits = match family.kind {
        MetricType::Counter | MetricType::Gauge | MetricType::Untyped => {
            matches!(metric.value, Value::Single(_))
        }
        MetricType::Summary => matches!(metric.value, Value::Summary { .. }),
        MetricType::Histogram | MetricType::GaugeHistogram => {
            matches!(metric.value, Value::Histogram { .. })
        }
    };
    if fits {
        Ok(())
    } else {
        Err(format!(
            "collected metric {} is not a {}",
            series_name(&family.name, &metric.labels),
            family.kind.as_json()
        ))
    }
}

/// The schemas of exponential buckets. -53 (custom buckets) needs the
/// `custom_values` that client_model v0.6.2 cannot carry.
const SCHEMAS: std::ops::RangeInclusive<i32> = -4..=8;

/// The rules of Prometheus's `model/histogram` validation, which the
/// official Pushgateway never applies: it stores any native histogram, and a
/// bad one later breaks its JSON API or the scrape. Each error names the
/// field at fault.
fn check_native(n: &super::Native, metric: &Metric<'_>) -> Result<(), String> {
    let schema = n.schema();
    if !SCHEMAS.contains(&schema) {
        let custom = if schema == -53 {
            " (custom buckets, schema -53, need custom_values, which this protobuf schema has not)"
        } else {
            ""
        };
        return Err(format!("schema {schema} is outside -4..8{custom}"));
    }
    let threshold = n.zero_threshold();
    if threshold.is_nan() || threshold < 0.0 {
        return Err(format!(
            "zero_threshold is {}, it must be 0 or more",
            super::render::format_float(threshold)
        ));
    }
    if let Some(z) = n.zero_count_float {
        if z < 0.0 {
            return Err(format!(
                "zero_count_float is {}, a count cannot be negative",
                super::render::format_float(z)
            ));
        }
    }
    let integer = !n.negative_deltas.is_empty() || !n.positive_deltas.is_empty();
    let float = !n.negative_counts.is_empty() || !n.positive_counts.is_empty();
    if integer && float {
        return Err(
            "it has both *_delta (integer) and *_count (float) buckets; a histogram is one or the other"
                .to_owned(),
        );
    }
    let mut in_buckets: u128 = u128::from(n.zero_count.unwrap_or(0));
    for (side, spans, deltas, counts) in [
        (
            "negative",
            &n.negative_spans,
            &n.negative_deltas,
            &n.negative_counts,
        ),
        (
            "positive",
            &n.positive_spans,
            &n.positive_deltas,
            &n.positive_counts,
        ),
    ] {
        let (values, field) = if float {
            (counts.len(), "count")
        } else {
            (deltas.len(), "delta")
        };
        let mut total: u64 = 0;
        for (i, span) in spans.iter().enumerate() {
            if i > 0 && span.offset < 0 {
                return Err(format!(
                    "{side}_span {} has offset {}; only the first span may have a negative offset",
                    i + 1,
                    span.offset
                ));
            }
            total += u64::from(span.length);
        }
        if total != values as u64 {
            return Err(format!(
                "{side}_span lengths add up to {total} but there are {values} {side}_{field} values"
            ));
        }
        let mut running: i128 = 0;
        for (i, &d) in deltas.iter().enumerate() {
            running += i128::from(d);
            if running < 0 {
                return Err(format!(
                    "{side}_delta {} makes bucket {} count {running}; a count cannot be negative",
                    i + 1,
                    i + 1
                ));
            }
            in_buckets += running as u128;
        }
        for (i, &c) in counts.iter().enumerate() {
            if c < 0.0 {
                return Err(format!(
                    "{side}_count {} is {}; a count cannot be negative",
                    i + 1,
                    super::render::format_float(c)
                ));
            }
        }
    }
    // As Prometheus: for an integer histogram the buckets hold every
    // observation, unless the sum is NaN (a NaN observation is counted
    // but lands in no bucket). Float counts are not compared: rounding
    // would make false alarms.
    if !float && !n.is_float() {
        let Value::Histogram {
            sample_count,
            sample_sum,
            ..
        } = &metric.value
        else {
            return Ok(());
        };
        let count = *sample_count as u128;
        let bad = if sample_sum.is_nan() {
            in_buckets > count
        } else {
            in_buckets != count
        };
        if bad {
            return Err(format!(
                "its buckets hold {in_buckets} observations but sample_count is {count}"
            ));
        }
    }
    Ok(())
}

/// A hash of a sorted label set. Names and values are separated by 0xFF,
/// which never occurs in UTF-8, so equal bytes mean equal sets.
fn label_set_hash(sorted: &[(&str, &str)], buf: &mut Vec<u8>) -> u64 {
    buf.clear();
    for (name, value) in sorted {
        buf.extend_from_slice(name.as_bytes());
        buf.push(0xFF);
        buf.extend_from_slice(value.as_bytes());
        buf.push(0xFF);
    }
    xxhash_rust::xxh3::xxh3_64(buf)
}

/// Whether two series have the same labels, in any order. Both are sorted
/// first, so that two series of many labels cost their number, not its
/// square.
fn same_label_set(a: &[Label<'_>], b: &[Label<'_>]) -> bool {
    a.len() == b.len() && sorted_pairs(a) == sorted_pairs(b)
}

fn sorted_pairs<'b>(labels: &'b [Label<'_>]) -> Vec<(&'b str, &'b str)> {
    let mut pairs: Vec<(&str, &str)> = labels.iter().map(|l| (&*l.name, &*l.value)).collect();
    pairs.sort_unstable();
    pairs
}

/// The error for a series that a body holds twice.
pub(crate) fn duplicate_series(name: &str, labels: &[Label<'_>]) -> String {
    format!(
        "duplicate series {} in the pushed body \
         (collected before with the same name and label values)",
        series_name(name, labels)
    )
}

/// `name{a="1",b="2"}` for error messages, with values escaped as in the
/// text format.
pub(crate) fn series_name(name: &str, labels: &[Label<'_>]) -> String {
    let mut out = Vec::with_capacity(name.len() + 16 * labels.len());
    out.extend_from_slice(name.as_bytes());
    if !labels.is_empty() {
        out.push(b'{');
        for (i, l) in labels.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(l.name.as_bytes());
            out.extend_from_slice(b"=\"");
            for c in l.value.chars() {
                match c {
                    '\\' => out.extend_from_slice(b"\\\\"),
                    '"' => out.extend_from_slice(b"\\\""),
                    '\n' => out.extend_from_slice(b"\\n"),
                    c => {
                        let mut tmp = [0u8; 4];
                        out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                    }
                }
            }
            out.push(b'"');
        }
        out.push(b'}');
    }
    String::from_utf8(out).expect("built from str")
}

/// The limits the parsers enforce as they read, so that a hostile body is
/// refused after only as many series as the limits allow have been built:
/// a count taken after parsing would first hold every series in memory.
/// 0 means no limit. It also carries what the text parser accepts as a
/// name (`utf8_names`), the one parse option a push has besides its limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseLimits {
    pub max_series: usize,
    pub max_label_name_length: usize,
    pub max_label_value_length: usize,
    /// Quoted names in a text body may be any UTF-8 (`--push.enable-utf8-names`);
    /// without it they must be legacy-valid, as upstream.
    pub utf8_names: bool,
}

/// Which of the [`ParseLimits`] a body went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    Series,
    LabelNameLength,
    LabelValueLength,
}

/// A body over one of the [`ParseLimits`]: the parser stopped there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OverLimit {
    pub exceeded: Exceeded,
    pub max: usize,
    /// What went over and where, such as "the push has more than 100
    /// series; parsing stopped at line 101".
    pub message: String,
}

/// Why a parser with limits stopped: the body is invalid (`E`, the format's
/// own error), or it went over a limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseFailure<E> {
    #[error(transparent)]
    Invalid(E),
    #[error(transparent)]
    OverLimit(OverLimit),
}

impl<E> From<OverLimit> for ParseFailure<E> {
    fn from(over: OverLimit) -> Self {
        ParseFailure::OverLimit(over)
    }
}

impl ParseLimits {
    /// No limit, for bodies that are not pushes (what the store rendered
    /// itself, a file given to `pgw push`).
    pub const NONE: ParseLimits = ParseLimits {
        max_series: 0,
        max_label_name_length: 0,
        max_label_value_length: 0,
        utf8_names: false,
    };

    /// `series` is the count so far, the new one included; `at` says where
    /// the parser is, and is only made when the limit is hit.
    pub(crate) fn check_series(
        &self,
        series: usize,
        at: impl FnOnce() -> String,
    ) -> Result<(), OverLimit> {
        if self.max_series > 0 && series > self.max_series {
            return Err(OverLimit {
                exceeded: Exceeded::Series,
                max: self.max_series,
                message: format!(
                    "the push has more than {} series; parsing stopped {}",
                    self.max_series,
                    at()
                ),
            });
        }
        Ok(())
    }

    /// Checks the label names and values of one series; `whose` names it
    /// and says where it is ("metric m at line 3"), made only when a limit
    /// is hit.
    pub(crate) fn check_labels<'l>(
        &self,
        labels: impl IntoIterator<Item = (&'l str, &'l str)>,
        whose: impl FnOnce() -> String,
    ) -> Result<(), OverLimit> {
        if self.max_label_name_length == 0 && self.max_label_value_length == 0 {
            return Ok(());
        }
        for (name, value) in labels {
            if self.max_label_name_length > 0 && name.len() > self.max_label_name_length {
                return Err(OverLimit {
                    exceeded: Exceeded::LabelNameLength,
                    max: self.max_label_name_length,
                    message: format!(
                        "a label name of {} is {} bytes long ({}...)",
                        whose(),
                        name.len(),
                        prefix(name)
                    ),
                });
            }
            if self.max_label_value_length > 0 && value.len() > self.max_label_value_length {
                return Err(OverLimit {
                    exceeded: Exceeded::LabelValueLength,
                    max: self.max_label_value_length,
                    message: format!(
                        "the value of label {} of {} is {} bytes long",
                        prefix(name),
                        whose(),
                        value.len()
                    ),
                });
            }
        }
        Ok(())
    }
}

/// The first characters of a long name, enough to recognise it.
pub(crate) fn prefix(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::text::parse;

    fn check(body: &str) -> Result<(), String> {
        check_families(&parse(body).expect("test bodies parse"))
    }

    #[test]
    fn names() {
        for ok in ["a", "_", ":", "a:b_c9", "A"] {
            assert!(is_valid_metric_name(ok), "{ok}");
        }
        for bad in ["", "1a", "a-b", "a.b", "é", "a b"] {
            assert!(!is_valid_metric_name(bad), "{bad}");
        }
        for ok in ["a", "_", "__x", "a_9", "Z"] {
            assert!(is_valid_label_name(ok), "{ok}");
        }
        for bad in ["", "1a", "a:b", "a-b", "é", ":a"] {
            assert!(!is_valid_label_name(bad), "{bad}");
        }
        // The table agrees with the grammar on every byte, first and after.
        for c in 0..=255u8 {
            let alpha = c.is_ascii_alphabetic() || c == b'_';
            let metric = alpha || c == b':';
            for (name, first) in [(vec![c], true), (vec![b'a', c], false)] {
                let Ok(name) = std::str::from_utf8(&name) else {
                    continue;
                };
                let digit = !first && c.is_ascii_digit();
                assert_eq!(is_valid_metric_name(name), metric || digit, "{name:?}");
                assert_eq!(is_valid_label_name(name), alpha || digit, "{name:?}");
            }
        }
    }

    #[test]
    fn a_clean_body_passes() {
        check(
            "# TYPE a counter\na{x=\"1\"} 1\na{x=\"2\"} 1\na 3\n# TYPE s summary\n\
             s{quantile=\"0.5\"} 1\ns_sum 1\ns_count 1\ns{k=\"v\",quantile=\"0.5\"} 1\nb{_x=\"\"} 1\n",
        )
        .unwrap();
        check_families(&[]).unwrap();
    }

    #[test]
    fn timestamps_are_refused_naming_the_series() {
        let e = check("a 1\nb{x=\"1\"} 2 1000\n").unwrap_err();
        assert!(e.contains("pushed metrics must not have timestamps"), "{e}");
        assert!(e.contains("b{x=\"1\"}"), "{e}");
        // Even when something else is also wrong, as in the Pushgateway.
        let e = check("a{__x=\"1\"} 1\nb 2 1000\n").unwrap_err();
        assert!(e.contains("timestamps"), "{e}");
    }

    #[test]
    fn reserved_and_invalid_label_names() {
        let e = check("a{__foo=\"1\"} 1\n").unwrap_err();
        assert!(
            e.contains("a{__foo=\"1\"} has a label with an invalid name: __foo"),
            "{e}"
        );
        let mut fams = parse("a{x=\"1\"} 1\n").unwrap();
        fams[0].metrics[0].labels[0].name = "".into();
        let e = check_families(&fams).unwrap_err();
        assert!(e.ends_with("has a label with an invalid name: "), "{e}");
        // UTF-8 label names pass, as in upstream's gather.
        fams[0].metrics[0].labels[0].name = "x-y.é".into();
        check_families(&fams).unwrap();
        fams[0].metrics[0].labels[0].name = "__x.y".into();
        let e = check_families(&fams).unwrap_err();
        assert!(e.contains("invalid name: __x.y"), "{e}");
    }

    #[test]
    fn invalid_metric_names() {
        let mut fams = parse("a 1\n").unwrap();
        fams[0].name = "".into();
        let e = check_families(&fams).unwrap_err();
        assert_eq!(e, "\"\" is not a valid metric name");
        // UTF-8 metric names pass, as in upstream's gather.
        fams[0].name = "my.metric".into();
        check_families(&fams).unwrap();
    }

    #[test]
    fn duplicate_label_names() {
        let mut fams = parse("a{x=\"1\",y=\"2\"} 1\n").unwrap();
        fams[0].metrics[0].labels[1].name = "x".into();
        let e = check_families(&fams).unwrap_err();
        assert!(
            e.contains("two or more labels with the same name: x"),
            "{e}"
        );
    }

    #[test]
    fn duplicate_series_in_any_label_order() {
        let e = check("a{x=\"1\",y=\"2\"} 1\nb 1\na{y=\"2\",x=\"1\"} 2\n").unwrap_err();
        assert!(
            e.contains("duplicate series a{y=\"2\",x=\"1\"} in the pushed body"),
            "{e}"
        );
        let e = check("a 1\na 2\n").unwrap_err();
        assert!(e.contains("duplicate series a in the pushed body"), "{e}");
        // Different label names with equal serialisations are different.
        check("a{x=\"1\"} 1\na{x=\"1\",y=\"\"} 2\na{xy=\"1\"} 3\n").unwrap();
    }

    #[test]
    fn duplicate_series_of_many_labels_in_another_order() {
        let labels = |order: &mut dyn Iterator<Item = usize>, last: &str| {
            let set: Vec<String> = order.map(|i| format!("l{i}=\"{i}\"")).collect();
            format!("a{{{},z=\"{last}\"}} 1\n", set.join(","))
        };
        let forward = labels(&mut (0..3000), "1");
        let e = check(&format!("{forward}{}", labels(&mut (0..3000).rev(), "1"))).unwrap_err();
        assert!(e.contains("duplicate series a{l2999=\"2999\","), "{e}");
        check(&format!("{forward}{}", labels(&mut (0..3000).rev(), "2"))).unwrap();
    }

    #[test]
    fn duplicate_families_and_wrong_value_types() {
        let mut fams = parse("a 1\nb 2\n").unwrap();
        fams[1].name = "a".into();
        let e = check_families(&fams).unwrap_err();
        assert!(e.contains("\"a\" appears twice"), "{e}");

        let mut fams = parse("a 1\n").unwrap();
        fams[0].kind = MetricType::Summary;
        let e = check_families(&fams).unwrap_err();
        assert!(e.contains("collected metric a is not a SUMMARY"), "{e}");
    }

    #[test]
    fn suffix_collisions_with_summaries_and_histograms() {
        let e = check("x_sum 1\n# TYPE x summary\nx{quantile=\"0.5\"} 1\n").unwrap_err();
        assert!(
            e.contains("\"x_sum\" collides with collected summary named \"x\""),
            "{e}"
        );
        let e = check("h_bucket 1\n# TYPE h histogram\nh{le=\"1\"} 1\n").unwrap_err();
        assert!(
            e.contains("\"h_bucket\" collides with collected histogram"),
            "{e}"
        );
        // A summary has no buckets, and counters own no suffixes.
        check("x_bucket 1\n# TYPE x summary\nx_sum 1\nx{quantile=\"1\"} 1\n").unwrap();
        check("c_sum 1\n# TYPE c counter\nc 1\n").unwrap();
        // Many suffixed families beside one summary: none collides but the
        // one named after it.
        let many: String = (0..2000).map(|i| format!("a{i}_count 1\n")).collect();
        let summary = "# TYPE s summary\ns{quantile=\"1\"} 1\n";
        check(&format!("{many}{summary}")).unwrap();
        let e = check(&format!("{many}s_count_total 1\ns_count 2\n{summary}")).unwrap_err();
        assert!(
            e.contains("\"s_count\" collides with collected summary named \"s\""),
            "{e}"
        );
    }

    #[test]
    fn reserved_labels_of_summaries_and_histograms() {
        let mut fams = parse("# TYPE s summary\ns{quantile=\"0.5\",k=\"v\"} 1\n").unwrap();
        fams[0].metrics[0].labels[0].name = "quantile".into();
        let e = check_families(&fams).unwrap_err();
        assert!(e.contains("has a label named \"quantile\""), "{e}");
        let mut fams = parse("# TYPE h histogram\nh_bucket{le=\"1\",k=\"v\"} 1\n").unwrap();
        fams[0].metrics[0].labels[0].name = "le".into();
        let e = check_families(&fams).unwrap_err();
        assert!(e.contains("has a label named \"le\""), "{e}");
        // On other types they are ordinary labels.
        check("a{le=\"1\",quantile=\"2\"} 1\n").unwrap();
    }
}
