//! Strict parser for the Prometheus text format 0.0.4, with the semantics of
//! Go's `expfmt.TextParser` (what the official Pushgateway runs on every
//! push): the same grouping of `_sum`/`_count`/`_bucket` lines into summary
//! and histogram series, the same rules for HELP and TYPE lines, the same
//! error classes, each reported with its 1-based line.
//!
//! It is zero-copy: names, label values and HELP texts borrow from the input
//! unless they contain escape sequences. It scans bytes (memchr for the line
//! ends and label values) and never uses a regex.
//!
//! Names may be quoted (`"my.metric" 1`, `{"my.metric","a.b"="v"} 1`,
//! `# TYPE "my.metric" counter`), as in Go's parser since UTF-8 names came;
//! the names inside must still be legacy-valid unless
//! [`ParseLimits::utf8_names`] is set. The quoted forms are only looked at
//! when a `"` or `{` stands where a name starts, so unquoted bodies take the
//! same path as before.
//!
//! Deliberately more lenient than Go, where Go's behaviour is only an
//! accident of its byte reader: a leading UTF-8 byte-order mark, CRLF line
//! ends, a missing final newline and trailing blanks at the end of a line are
//! accepted.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::borrow::Cow;

use super::validate::{
    is_valid_label_name, is_valid_metric_name, prefix, OverLimit, ParseFailure, ParseLimits,
};
use super::{Family, Label, Metric, MetricType, Value};

/// A parse error, naming the 1-based line where it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("text format parsing error in line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

/// Parses a whole body. Accepts a UTF-8 byte-order mark, CRLF line endings and a
/// missing final newline.
pub fn parse(input: &str) -> Result<Vec<Family<'_>>, ParseError> {
    parse_with(input, &ParseLimits::NONE).map_err(unlimited)
}

/// Like [`parse`], for raw bytes: invalid UTF-8 is reported with its line.
pub fn parse_bytes(input: &[u8]) -> Result<Vec<Family<'_>>, ParseError> {
    parse_bytes_with(input, &ParseLimits::NONE).map_err(unlimited)
}

/// The error of a parse without limits, which cannot go over one.
fn unlimited(e: ParseFailure<ParseError>) -> ParseError {
    match e {
        ParseFailure::Invalid(e) => e,
        ParseFailure::OverLimit(over) => unreachable!("no limits, yet {over}"),
    }
}

/// Like [`parse`], stopping at the first line that goes over `limits`.
pub fn parse_with<'a>(
    input: &'a str,
    limits: &ParseLimits,
) -> Result<Vec<Family<'a>>, ParseFailure<ParseError>> {
    let input = input.strip_prefix('\u{FEFF}').unwrap_or(input);
    // Sized for the families a body of this length holds when it is an
    // exporter's (a HELP, a TYPE and a sample or two each: 200 bytes or
    // so), so that they go in without the table and its index growing
    // again and again, moving what they hold. Bounded, so that a long body
    // of one family reserves little for nothing.
    let families = (input.len() / FAMILY_BYTES).min(MAX_RESERVED_FAMILIES);
    let mut parser = Parser {
        families: Vec::with_capacity(families),
        by_name: HashMap::with_capacity_and_hasher(families, Default::default()),
        limits: *limits,
        ..Parser::default()
    };
    let mut line_no = 0;
    let mut rest = input;
    while !rest.is_empty() {
        line_no += 1;
        let (line, next) = match memchr::memchr(b'\n', rest.as_bytes()) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        rest = next;
        let line = line.strip_suffix('\r').unwrap_or(line);
        parser.line(line, line_no).map_err(|stop| match stop {
            Stop::Syntax(message) => ParseFailure::Invalid(ParseError {
                line: line_no,
                message,
            }),
            Stop::Limit(over) => ParseFailure::OverLimit(over),
        })?;
    }
    Ok(parser.finish())
}

/// The fewest bytes per family [`parse_with`] reserves room for.
const FAMILY_BYTES: usize = 128;
/// The most families [`parse_with`] reserves room for before it reads any.
const MAX_RESERVED_FAMILIES: usize = 4096;

/// Like [`parse_with`], for raw bytes, as [`parse_bytes`].
pub fn parse_bytes_with<'a>(
    input: &'a [u8],
    limits: &ParseLimits,
) -> Result<Vec<Family<'a>>, ParseFailure<ParseError>> {
    match std::str::from_utf8(input) {
        Ok(text) => parse_with(text, limits),
        Err(err) => {
            let bad = err.valid_up_to();
            let line_start = memchr::memrchr(b'\n', &input[..bad]).map_or(0, |i| i + 1);
            // Errors are reported in line order, as Go does: a syntax error
            // (or a limit) before the bad line wins over the bad encoding.
            let before = std::str::from_utf8(&input[..line_start]).expect("checked prefix");
            parse_with(before, limits)?;
            Err(ParseFailure::Invalid(ParseError {
                line: memchr::memchr_iter(b'\n', &input[..bad]).count() + 1,
                message: format!("invalid UTF-8 byte sequence at byte {}", bad - line_start),
            }))
        }
    }
}

/// How a sample line relates to the family it was resolved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The family's own name (or `_bucket` of a histogram): a plain value, a
    /// quantile or a bucket, by family type.
    Plain,
    Sum,
    Count,
}

#[derive(Debug)]
struct FamilyState<'a> {
    family: Family<'a>,
    /// A TYPE line was seen, or samples were (Go then fixes the type as
    /// untyped), so a TYPE line now is an error.
    type_fixed: bool,
    has_help: bool,
    /// For summaries and histograms: series by label set, sorted by name,
    /// because Go merges lines by label *set* whatever their order.
    series: HashMap<Vec<Label<'a>>, usize>,
}

#[derive(Debug, Default)]
struct Parser<'a> {
    families: Vec<FamilyState<'a>>,
    /// Names borrow from the input, except quoted names with escapes.
    by_name: HashMap<Cow<'a, str>, usize>,
    /// The family the previous line named: its HELP, TYPE and sample lines
    /// almost always come one after the other, so this skips the map
    /// lookups. Only an exact name is taken from it, which the map would
    /// have given the same family for.
    last: Option<usize>,
    limits: ParseLimits,
    /// Series built so far, for `limits.max_series`.
    series: usize,
}

type LineResult = Result<(), String>;

/// Why a line stopped the parse.
enum Stop {
    Syntax(String),
    Limit(OverLimit),
}

impl From<String> for Stop {
    fn from(message: String) -> Stop {
        Stop::Syntax(message)
    }
}

impl From<OverLimit> for Stop {
    fn from(over: OverLimit) -> Stop {
        Stop::Limit(over)
    }
}

impl<'a> Parser<'a> {
    fn finish(self) -> Vec<Family<'a>> {
        // Go drops families that got a HELP or TYPE line but no sample.
        self.families
            .into_iter()
            .filter(|s| !s.family.metrics.is_empty())
            .map(|s| s.family)
            .collect()
    }

    fn line(&mut self, line: &'a str, line_no: usize) -> Result<(), Stop> {
        let b = line.as_bytes();
        let start = skip_blanks(b, 0);
        match b.get(start) {
            None => Ok(()),
            Some(b'#') => Ok(self.comment(line, start + 1)?),
            Some(b'"' | b'{') => self.quoted_sample(line, start, line_no),
            Some(_) => self.sample(line, start, line_no),
        }
    }

    /// The family a name belongs to, as Go's `setOrCreateCurrentMF` decides:
    /// an exact name first, then `x_sum`/`x_count` of a summary `x`, then
    /// `x_sum`/`x_count`/`x_bucket` of a histogram `x`, else a new family.
    /// HELP and TYPE lines go through this too, so `# TYPE x_count ...` after
    /// a summary `x` is about `x` (as in Go).
    fn resolve(&mut self, name: Cow<'a, str>) -> (usize, Role) {
        if let Some(i) = self.last {
            if self.families[i].family.name == name {
                return (i, Role::Plain);
            }
        }
        if let Some(&i) = self.by_name.get(name.as_ref()) {
            self.last = Some(i);
            return (i, Role::Plain);
        }
        let compound = [
            ("_sum", Role::Sum, false),
            ("_count", Role::Count, false),
            ("_bucket", Role::Plain, true),
        ];
        for (suffix, role, histogram_only) in compound {
            if let Some(base) = name.strip_suffix(suffix) {
                if let Some(&i) = self.by_name.get(base) {
                    let kind = self.families[i].family.kind;
                    let fits = match kind {
                        MetricType::Summary => !histogram_only,
                        MetricType::Histogram => true,
                        _ => false,
                    };
                    if fits && self.families[i].type_fixed {
                        return (i, role);
                    }
                }
            }
        }
        let i = self.families.len();
        self.families.push(FamilyState {
            family: Family::new(name.clone(), MetricType::Untyped),
            type_fixed: false,
            has_help: false,
            series: HashMap::default(),
        });
        self.by_name.insert(name, i);
        self.last = Some(i);
        (i, Role::Plain)
    }

    /// A line starting with `#` (`pos` is just after it).
    fn comment(&mut self, line: &'a str, pos: usize) -> LineResult {
        let b = line.as_bytes();
        let pos = skip_blanks(b, pos);
        let kw_end = token_end(b, pos);
        let keyword = &line[pos..kw_end];
        if keyword != "HELP" && keyword != "TYPE" {
            return Ok(());
        }
        let name_start = skip_blanks(b, kw_end);
        if name_start == b.len() {
            // `# HELP` alone is only a comment in Go.
            return Ok(());
        }
        let (name, name_end) = if b[name_start] == b'"' {
            let (name, end) = read_quoted(line, name_start, "metric name")?;
            self.check_metric_name(&name)
                .map_err(|e| format!("{e} in comment"))?;
            if !matches!(b.get(end), None | Some(b' ' | b'\t')) {
                return Err(format!(
                    "invalid metric name {:?} in comment",
                    &line[name_start..token_end(b, name_start)]
                ));
            }
            (name, end)
        } else {
            let name_end = scan_metric_name(b, name_start);
            let after = b.get(name_end).copied();
            if name_end == name_start || !matches!(after, None | Some(b' ' | b'\t')) {
                let tok = &line[name_start..token_end(b, name_start)];
                return Err(format!("invalid metric name {tok:?} in comment"));
            }
            (Cow::Borrowed(&line[name_start..name_end]), name_end)
        };
        let text_start = skip_blanks(b, name_end);
        if text_start == b.len() {
            // `# HELP name` with no text, or `# TYPE name` with no type:
            // Go ignores the line, but after blanks it has already created
            // the family (dropped at the end unless samples follow).
            if text_start > name_end {
                self.resolve(name);
            }
            return Ok(());
        }
        let (i, _) = self.resolve(name.clone());
        let state = &mut self.families[i];
        if keyword == "HELP" {
            if state.has_help {
                return Err(format!(
                    "second HELP line for metric name {:?}",
                    state.family.name
                ));
            }
            state.has_help = true;
            state.family.help = Some(unescape_help(&line[text_start..]));
            return Ok(());
        }
        if state.type_fixed {
            return Err(format!(
                "second TYPE line for metric name {:?}, or TYPE reported after samples",
                state.family.name
            ));
        }
        let word = line[text_start..].trim_end_matches([' ', '\t']);
        state.family.kind = type_from_word(word)
            .ok_or_else(|| format!("unknown metric type {word:?} for metric {name:?}"))?;
        state.type_fixed = true;
        Ok(())
    }

    /// A sample line; `pos` is its first non-blank byte.
    fn sample(&mut self, line: &'a str, pos: usize, line_no: usize) -> Result<(), Stop> {
        let b = line.as_bytes();
        let name_end = scan_metric_name(b, pos);
        if name_end == pos || !matches!(b.get(name_end), None | Some(b' ' | b'\t' | b'{')) {
            let mut end = token_end(b, pos);
            if let Some(brace) = memchr::memchr(b'{', &b[pos + 1..end.max(pos + 1)]) {
                end = pos + 1 + brace;
            }
            return Err(format!("invalid metric name {:?}", &line[pos..end]).into());
        }
        let name = &line[pos..name_end];
        let mut pos = skip_blanks(b, name_end);
        let mut labels = Vec::new();
        if b.get(pos) == Some(&b'{') {
            pos = parse_labels(
                line,
                pos + 1,
                name,
                &mut labels,
                None,
                self.limits.utf8_names,
            )?;
            pos = skip_blanks(b, pos);
        }
        self.sample_value(line, Cow::Borrowed(name), labels, pos, line_no)
    }

    /// A sample line whose metric name is quoted (`"my.metric" 1`), or
    /// given inside the braces (`{"my.metric",job="x"} 1`, where an item
    /// without `=` is the name, as in Go).
    fn quoted_sample(&mut self, line: &'a str, pos: usize, line_no: usize) -> Result<(), Stop> {
        let b = line.as_bytes();
        let utf8 = self.limits.utf8_names;
        let mut labels = Vec::new();
        if b[pos] == b'"' {
            let (name, end) = read_quoted(line, pos, "metric name")?;
            self.check_metric_name(&name)?;
            let mut pos = skip_blanks(b, end);
            if b.get(pos) == Some(&b'{') {
                pos = parse_labels(line, pos + 1, &name, &mut labels, None, utf8)?;
                pos = skip_blanks(b, pos);
            }
            return self.sample_value(line, name, labels, pos, line_no);
        }
        let mut slot = None;
        let end = parse_labels(line, pos + 1, "", &mut labels, Some(&mut slot), utf8)?;
        let name = slot.ok_or_else(|| {
            format!(
                "no metric name in the label set {:?}",
                &line[pos..end.min(line.len())]
            )
        })?;
        self.check_metric_name(&name)?;
        self.sample_value(line, name, labels, skip_blanks(b, end), line_no)
    }

    /// A metric name read from quotes or braces: non-empty, and legacy-valid
    /// unless UTF-8 names are allowed.
    fn check_metric_name(&self, name: &str) -> LineResult {
        if name.is_empty() || (!self.limits.utf8_names && !is_valid_metric_name(name)) {
            return Err(format!("invalid metric name {name:?}"));
        }
        Ok(())
    }

    /// The rest of a sample line after its name and labels: the value, an
    /// optional timestamp, and the series it adds to its family.
    fn sample_value(
        &mut self,
        line: &'a str,
        name: Cow<'a, str>,
        labels: Vec<Label<'a>>,
        pos: usize,
        line_no: usize,
    ) -> Result<(), Stop> {
        let b = line.as_bytes();
        let value_end = token_end(b, pos);
        let value_tok = &line[pos..value_end];
        let value = parse_go_float(value_tok).ok_or_else(|| {
            format!("expected float as value for metric {name:?}, got {value_tok:?}")
        })?;
        let ts_start = skip_blanks(b, value_end);
        let mut timestamp_ms = None;
        if ts_start < b.len() {
            let ts_end = token_end(b, ts_start);
            let tok = &line[ts_start..ts_end];
            let ts: i64 = tok.parse().map_err(|_| {
                format!("expected integer as timestamp for metric {name:?}, got {tok:?}")
            })?;
            timestamp_ms = Some(ts);
            let spurious = skip_blanks(b, ts_end);
            if spurious < b.len() {
                return Err(format!(
                    "spurious string after timestamp for metric {name:?}: {:?}",
                    &line[spurious..]
                )
                .into());
            }
        }
        let at = || format!("at line {line_no}");
        self.limits.check_labels(
            labels.iter().map(|l| (l.name.as_ref(), l.value.as_ref())),
            || format!("metric {} at line {line_no}", prefix(&name)),
        )?;

        let (i, role) = self.resolve(name.clone());
        let state = &mut self.families[i];
        // Samples fix the type: a TYPE line for this family is now an error.
        state.type_fixed = true;
        let before = state.family.metrics.len();
        match state.family.kind {
            MetricType::Counter | MetricType::Gauge | MetricType::Untyped => {
                state.family.metrics.push(Metric {
                    labels,
                    value: Value::Single(value),
                    timestamp_ms,
                    extras: None,
                });
            }
            MetricType::Summary | MetricType::Histogram => {
                add_compound(state, &name, role, labels, value, timestamp_ms)?;
            }
            MetricType::GaugeHistogram => {
                return Err(
                    format!("unexpected type for metric name {:?}", state.family.name).into(),
                )
            }
        }
        // A line of a summary or histogram adds a series only when its
        // label set is new.
        self.series += state.family.metrics.len() - before;
        Ok(self.limits.check_series(self.series, at)?)
    }
}

/// Adds one line of a summary or histogram to the series with the same label
/// set (without `quantile` / `le`), creating it on first sight.
fn add_compound<'a>(
    state: &mut FamilyState<'a>,
    name: &str,
    role: Role,
    mut labels: Vec<Label<'a>>,
    value: f64,
    timestamp_ms: Option<i64>,
) -> LineResult {
    let summary = state.family.kind == MetricType::Summary;
    let special = if summary { "quantile" } else { "le" };
    // Go reads (and checks) the special label on every line of the family,
    // but only uses it on quantile and bucket lines.
    let mut bound = None;
    if let Some(at) = labels.iter().position(|l| l.name == special) {
        let label = labels.remove(at);
        bound = Some(parse_go_float(&label.value).ok_or_else(|| {
            format!(
                "invalid {special:?} value {:?} for metric {name:?}",
                label.value
            )
        })?);
    }
    if role == Role::Plain && bound.is_none() {
        return Err(if summary {
            format!("summary line without \"quantile\" label for metric {name:?}")
        } else {
            format!("histogram bucket line without \"le\" label for metric {name:?}")
        });
    }

    let metrics = &mut state.family.metrics;
    let index = match metrics.last() {
        // Lines of one series usually follow each other in the same order.
        Some(last) if last.labels == labels => metrics.len() - 1,
        _ => {
            let mut key = labels.clone();
            key.sort_unstable();
            let next = metrics.len();
            let index = *state.series.entry(key).or_insert(next);
            if index == next {
                metrics.push(Metric {
                    labels,
                    value: if summary {
                        Value::Summary {
                            sample_count: 0.0,
                            sample_sum: 0.0,
                            quantiles: Vec::new(),
                        }
                    } else {
                        Value::Histogram {
                            sample_count: 0.0,
                            sample_sum: 0.0,
                            buckets: Vec::new(),
                        }
                    },
                    timestamp_ms: None,
                    extras: None,
                });
            }
            index
        }
    };
    let metric = &mut metrics[index];
    if timestamp_ms.is_some() {
        metric.timestamp_ms = timestamp_ms;
    }
    match &mut metric.value {
        Value::Summary {
            sample_count,
            sample_sum,
            quantiles: points,
        }
        | Value::Histogram {
            sample_count,
            sample_sum,
            buckets: points,
        } => match role {
            Role::Sum => *sample_sum = value,
            Role::Count => *sample_count = value,
            Role::Plain => points.push((bound.unwrap_or(f64::NAN), value)),
        },
        Value::Single(_) => unreachable!("compound families only hold compound values"),
    }
    Ok(())
}

/// Parses `name="value",...}` starting just after the `{`; returns the
/// position after the `}`. A label name may be quoted (`"a.b"="v"`), and must
/// then be legacy-valid unless `utf8`. With `metric_name` (a line that starts
/// with `{`), an item without `=` is the metric name, put there.
fn parse_labels<'a>(
    line: &'a str,
    mut pos: usize,
    metric: &str,
    labels: &mut Vec<Label<'a>>,
    mut metric_name: Option<&mut Option<Cow<'a, str>>>,
    utf8: bool,
) -> Result<usize, String> {
    // Messages name the metric, which in braces is known once read.
    let mut metric = Cow::Borrowed(metric);
    let b = line.as_bytes();
    let mut seen = SeenLabels::default();
    loop {
        pos = skip_blanks(b, pos);
        match b.get(pos) {
            Some(b'}') => return Ok(pos + 1),
            None => return Err(format!("unexpected end of label set for metric {metric:?}")),
            _ => {}
        }
        let quoted = b[pos] == b'"';
        let (name, name_end) = if b[pos] == b'"' {
            read_quoted(line, pos, "label name")?
        } else {
            let name_end = scan_label_name(b, pos);
            (Cow::Borrowed(&line[pos..name_end]), name_end)
        };
        let after = skip_blanks(b, name_end);
        if b.get(name_end).is_none() {
            return Err(format!("unexpected end of label set for metric {metric:?}"));
        }
        if name_end == pos || (!quoted && !matches!(b[name_end], b'=' | b' ' | b'\t' | b',' | b'}'))
        {
            let end = b[pos..]
                .iter()
                .position(|c| matches!(c, b'=' | b',' | b'}' | b' ' | b'\t'))
                .map_or(b.len(), |n| pos + n);
            return Err(format!(
                "invalid label name {:?} for metric {metric:?}",
                &line[pos..end]
            ));
        }
        if let Some(slot) = metric_name.as_deref_mut() {
            if matches!(b.get(after), Some(b',' | b'}')) {
                // The metric name, given inside the braces.
                if slot.is_some() {
                    return Err(format!("multiple metric names for metric {name:?}"));
                }
                if name.is_empty() || (!utf8 && !is_valid_metric_name(&name)) {
                    return Err(format!("invalid metric name {name:?}"));
                }
                metric = Cow::Owned(name.to_string());
                *slot = Some(name);
                pos = after + usize::from(b[after] == b',');
                continue;
            }
        }
        if quoted && (name.is_empty() || (!utf8 && !is_valid_label_name(&name))) {
            return Err(format!("invalid label name {name:?} for metric {metric:?}"));
        }
        if b.get(after) != Some(&b'=') {
            return Err(format!(
                "expected '=' after label name {name:?} for metric {metric:?}"
            ));
        }
        if name == "__name__" {
            return Err(format!(
                "label name \"__name__\" is reserved (metric {metric:?})"
            ));
        }
        if seen.repeats(labels, &name) {
            return Err(format!(
                "duplicate label name {name:?} for metric {metric:?}"
            ));
        }
        pos = skip_blanks(b, after + 1);
        if b.get(pos) != Some(&b'"') {
            return Err(format!(
                "expected '\"' to start the value of label {name:?} for metric {metric:?}"
            ));
        }
        let (value, end) = parse_label_value(line, pos + 1)?;
        pos = skip_blanks(b, end);
        match b.get(pos) {
            Some(b',') => pos += 1,
            Some(b'}') => {}
            _ => {
                return Err(format!(
                    "expected ',' or '}}' after the value of label {name:?} for metric {metric:?}"
                ))
            }
        }
        labels.push(Label { name, value });
    }
}

/// The label names of one series read so far, for the duplicate check:
/// the labels themselves are searched while there are few (nearly every
/// series), a set once there are many, so that a hostile series of tens of
/// thousands of labels costs their number, not its square.
#[derive(Default)]
struct SeenLabels<'a>(Option<HashSet<Cow<'a, str>>>);

impl<'a> SeenLabels<'a> {
    /// Labels from which on the set is used.
    const MANY: usize = 16;

    /// Whether `name` is among `labels` (the series' labels so far, to
    /// which the caller adds `name` when it is not).
    // `name` is a Cow because the set keeps a copy of it, borrowed from
    // the input as the labels are.
    #[allow(clippy::ptr_arg)]
    fn repeats(&mut self, labels: &[Label<'a>], name: &Cow<'a, str>) -> bool {
        if labels.len() < Self::MANY {
            return labels.iter().any(|l| l.name == *name);
        }
        let set = self
            .0
            .get_or_insert_with(|| labels.iter().map(|l| l.name.clone()).collect());
        !set.insert(name.clone())
    }
}

/// Reads a quoted name (`what` is "metric name" or "label name") from its
/// opening quote at `start`; returns it and the position after the closing
/// quote. Spaces are allowed inside; the escapes are `\\`, `\"` and `\n`,
/// as in Go. A name that is not closed on its line holds a newline, which
/// must be escaped.
fn read_quoted<'a>(
    line: &'a str,
    start: usize,
    what: &str,
) -> Result<(Cow<'a, str>, usize), String> {
    let b = line.as_bytes();
    let start = start + 1;
    let unclosed = |so_far: &str| format!("{what} {so_far:?} contains unescaped new-line");
    let Some(first) = memchr::memchr2(b'"', b'\\', &b[start..]).map(|i| start + i) else {
        return Err(unclosed(&line[start..]));
    };
    if b[first] == b'"' {
        return Ok((Cow::Borrowed(&line[start..first]), first + 1));
    }
    let mut owned = String::with_capacity(first - start + 16);
    owned.push_str(&line[start..first]);
    let mut pos = first;
    loop {
        // `pos` is at a backslash.
        match b.get(pos + 1) {
            Some(b'\\') => owned.push('\\'),
            Some(b'"') => owned.push('"'),
            Some(b'n') => owned.push('\n'),
            Some(_) => {
                let c = line[pos + 1..].chars().next().expect("non-empty");
                return Err(format!("invalid escape sequence '\\{c}'"));
            }
            None => return Err(unclosed(&owned)),
        }
        pos += 2;
        let Some(next) = memchr::memchr2(b'"', b'\\', &b[pos..]).map(|i| pos + i) else {
            owned.push_str(&line[pos..]);
            return Err(unclosed(&owned));
        };
        owned.push_str(&line[pos..next]);
        if b[next] == b'"' {
            return Ok((Cow::Owned(owned), next + 1));
        }
        pos = next;
    }
}

/// Reads back sample lines the store rendered for a family of single
/// numbers with legacy-valid names (`name{a="x",b="y"} value [timestamp]`,
/// see `render::write_series_with`), calling `f` with each series. `None`
/// at the first line of another shape (a quoted name, say): the caller then
/// reads the text with the parser. Several times cheaper than the parser,
/// which keeps families, maps and a type per name: this is one pass that
/// reuses one label vector.
pub(crate) fn read_single_series<'a>(text: &'a str, mut f: impl FnMut(&Metric<'a>)) -> Option<()> {
    let mut labels: Vec<Label<'a>> = Vec::new();
    for line in text.split_terminator('\n') {
        let b = line.as_bytes();
        let mut pos = scan_metric_name(b, 0);
        if pos == 0 {
            return None;
        }
        if b.get(pos) == Some(&b'{') {
            pos += 1;
            loop {
                let name_end = scan_label_name(b, pos);
                if name_end == pos || b.get(name_end..name_end + 2) != Some(b"=\"") {
                    return None;
                }
                let (value, after) = parse_label_value(line, name_end + 2).ok()?;
                labels.push(Label {
                    name: Cow::Borrowed(&line[pos..name_end]),
                    value,
                });
                pos = after + 1;
                match b.get(after) {
                    Some(b',') => {}
                    Some(b'}') => break,
                    _ => return None,
                }
            }
        }
        if b.get(pos) != Some(&b' ') {
            return None;
        }
        let value_end = token_end(b, pos + 1);
        let value = parse_go_float(&line[pos + 1..value_end])?;
        let timestamp_ms = match b.get(value_end) {
            None => None,
            Some(b' ') => Some(line[value_end + 1..].parse().ok()?),
            Some(_) => return None,
        };
        let metric = Metric {
            labels: std::mem::take(&mut labels),
            value: Value::Single(value),
            timestamp_ms,
            extras: None,
        };
        f(&metric);
        labels = metric.labels;
        labels.clear();
    }
    Some(())
}

/// Reads a label value starting just after its opening quote; returns it
/// and the position after the closing quote. Only `\\`, `\"` and `\n` are
/// escapes, as in Go.
fn parse_label_value(line: &str, start: usize) -> Result<(Cow<'_, str>, usize), String> {
    let b = line.as_bytes();
    let first = memchr::memchr2(b'"', b'\\', &b[start..])
        .map(|i| start + i)
        .ok_or("unterminated label value")?;
    if b[first] == b'"' {
        return Ok((Cow::Borrowed(&line[start..first]), first + 1));
    }
    let mut owned = String::with_capacity(first - start + 16);
    owned.push_str(&line[start..first]);
    let mut pos = first;
    loop {
        // `pos` is at a backslash.
        let escaped = match b.get(pos + 1) {
            Some(b'\\') => '\\',
            Some(b'"') => '"',
            Some(b'n') => '\n',
            Some(_) => {
                let c = line[pos + 1..].chars().next().expect("non-empty");
                return Err(format!("invalid escape sequence '\\{c}' in label value"));
            }
            None => return Err("unterminated label value".to_string()),
        };
        owned.push(escaped);
        pos += 2;
        let next = memchr::memchr2(b'"', b'\\', &b[pos..])
            .map(|i| pos + i)
            .ok_or("unterminated label value")?;
        owned.push_str(&line[pos..next]);
        if b[next] == b'"' {
            return Ok((Cow::Owned(owned), next + 1));
        }
        pos = next;
    }
}

/// HELP text: `\\` and `\n` are escapes, and `\"` (newer Go parsers decode
/// it); any other backslash is kept as it is, as older Go parsers did.
fn unescape_help(text: &str) -> Cow<'_, str> {
    let b = text.as_bytes();
    let Some(first) = memchr::memchr(b'\\', b) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..first]);
    let mut pos = first;
    while pos < b.len() {
        match memchr::memchr(b'\\', &b[pos..]) {
            None => {
                out.push_str(&text[pos..]);
                break;
            }
            Some(i) => {
                let at = pos + i;
                out.push_str(&text[pos..at]);
                match b.get(at + 1) {
                    Some(b'\\') => out.push('\\'),
                    Some(b'n') => out.push('\n'),
                    Some(b'"') => out.push('"'),
                    _ => {
                        out.push('\\');
                        pos = at + 1;
                        continue;
                    }
                }
                pos = at + 2;
            }
        }
    }
    Cow::Owned(out)
}

/// The word of a TYPE line. Go upper-cases it and looks it up among the
/// protobuf enum names, so any case is accepted, and `gauge_histogram` too
/// (whose samples it then cannot parse).
fn type_from_word(word: &str) -> Option<MetricType> {
    const WORDS: [(&str, MetricType); 6] = [
        ("counter", MetricType::Counter),
        ("gauge", MetricType::Gauge),
        ("summary", MetricType::Summary),
        ("untyped", MetricType::Untyped),
        ("histogram", MetricType::Histogram),
        ("gauge_histogram", MetricType::GaugeHistogram),
    ];
    WORDS
        .iter()
        .find(|(w, _)| w.eq_ignore_ascii_case(word))
        .map(|&(_, kind)| kind)
}

/// Parses a number the way Go's `strconv.ParseFloat(s, 64)` does for the
/// forms a text exposition can hold: decimal with optional exponent,
/// `Inf`/`Infinity` with an optional sign and `NaN` without one, in any case.
/// Overflow (`1e400`) is an error in Go, so it is here. Go's hexadecimal
/// floats and `_` digit separators are not accepted.
pub(crate) fn parse_go_float(s: &str) -> Option<f64> {
    let v: f64 = s.parse().ok()?;
    if v.is_finite() {
        return Some(v);
    }
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let named = if v.is_nan() {
        // Go has no signed NaN.
        unsigned.len() == s.len()
    } else {
        unsigned.eq_ignore_ascii_case("inf") || unsigned.eq_ignore_ascii_case("infinity")
    };
    named.then_some(v)
}

fn skip_blanks(b: &[u8], mut pos: usize) -> usize {
    while matches!(b.get(pos), Some(b' ' | b'\t')) {
        pos += 1;
    }
    pos
}

/// The end of the token at `pos`: the next blank or the end of the line.
fn token_end(b: &[u8], pos: usize) -> usize {
    b[pos..]
        .iter()
        .position(|c| matches!(c, b' ' | b'\t'))
        .map_or(b.len(), |n| pos + n)
}

const NAME_START: u8 = 1;
const NAME_CONT: u8 = 2;
const LABEL_START: u8 = 4;
const LABEL_CONT: u8 = 8;

/// Character classes of metric and label names, by byte.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        let alpha = b.is_ascii_alphabetic() || b == b'_';
        let digit = b.is_ascii_digit();
        let mut v = 0;
        if alpha || b == b':' {
            v |= NAME_START | NAME_CONT;
        }
        if digit {
            v |= NAME_CONT | LABEL_CONT;
        }
        if alpha {
            v |= LABEL_START | LABEL_CONT;
        }
        t[c] = v;
        c += 1;
    }
    t
};

/// The end of a legacy metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`) at `pos`;
/// `pos` itself when there is none.
fn scan_metric_name(b: &[u8], pos: usize) -> usize {
    scan(b, pos, NAME_START, NAME_CONT)
}

/// The end of a legacy label name (`[a-zA-Z_][a-zA-Z0-9_]*`) at `pos`.
fn scan_label_name(b: &[u8], pos: usize) -> usize {
    scan(b, pos, LABEL_START, LABEL_CONT)
}

fn scan(b: &[u8], pos: usize, start: u8, cont: u8) -> usize {
    match b.get(pos) {
        Some(&c) if CLASS[c as usize] & start != 0 => {}
        _ => return pos,
    }
    b[pos + 1..]
        .iter()
        .position(|&c| CLASS[c as usize] & cont == 0)
        .map_or(b.len(), |n| pos + 1 + n)
}

#[cfg(test)]
mod tests;
