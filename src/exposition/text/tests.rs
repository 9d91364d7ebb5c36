//! Tests of the text parser: every rule of the format, the errors it names,
//! and property tests that what the renderer writes parses back the same.

use super::*;
use crate::exposition::render::write_family;
use proptest::prelude::*;

fn single(labels: &[(&'static str, &'static str)], v: f64) -> Metric<'static> {
    Metric {
        labels: labels.iter().map(|&(n, v)| Label::new(n, v)).collect(),
        value: Value::Single(v),
        timestamp_ms: None,
        extras: None,
    }
}

fn err(input: &str) -> ParseError {
    match parse(input) {
        Ok(f) => panic!("{input:?} parsed: {f:?}"),
        Err(e) => e,
    }
}

/// Asserts `input` fails on `line` with a message containing `needle`.
fn fails(input: &str, line: usize, needle: &str) {
    let e = err(input);
    assert_eq!(e.line, line, "{input:?}: {e}");
    assert!(
        e.message.contains(needle),
        "{input:?}: {e} lacks {needle:?}"
    );
}

#[test]
fn simple_families_with_help_and_type() {
    let input = "# HELP a The a.\n# TYPE a counter\na{x=\"1\",y=\"2\"} 3\na 4 1000\n\
                 \n# just a comment\nb 5\n";
    let f = parse(input).unwrap();
    assert_eq!(f.len(), 2);
    assert_eq!(f[0].name, "a");
    assert_eq!(f[0].help.as_deref(), Some("The a."));
    assert_eq!(f[0].kind, MetricType::Counter);
    assert_eq!(f[0].metrics[0], single(&[("x", "1"), ("y", "2")], 3.0));
    assert_eq!(f[0].metrics[1].timestamp_ms, Some(1000));
    assert_eq!(f[1].name, "b");
    assert_eq!(f[1].kind, MetricType::Untyped);
    assert_eq!(f[1].help, None);
}

#[test]
fn names_and_values_borrow_from_the_input() {
    let input = "# HELP a plain help\na{x=\"plain\",y=\"esc\\\"aped\"} 1\n";
    let f = parse(input).unwrap();
    assert!(matches!(f[0].name, Cow::Borrowed(_)));
    assert!(matches!(f[0].help, Some(Cow::Borrowed(_))));
    let l = &f[0].metrics[0].labels;
    assert!(matches!(l[0].name, Cow::Borrowed(_)));
    assert!(matches!(l[0].value, Cow::Borrowed(_)));
    assert!(matches!(l[1].value, Cow::Owned(_)));
    assert_eq!(l[1].value, "esc\"aped");
}

#[test]
fn whitespace_commas_and_empty_label_sets() {
    let f = parse("  a \t{ x = \"1\" , y=\"2\", } \t 3 \t 7 \na{} 4\nb{}5\n").unwrap();
    assert_eq!(f[0].metrics[0], {
        let mut m = single(&[("x", "1"), ("y", "2")], 3.0);
        m.timestamp_ms = Some(7);
        m
    });
    assert_eq!(f[0].metrics[1], single(&[], 4.0));
    assert_eq!(f[1].metrics[0], single(&[], 5.0));
}

#[test]
fn label_value_escapes_and_unicode() {
    let f = parse("a{x=\"q\\\"b\\\\s\\nn Προμηθεύς ✓\"} 1\n").unwrap();
    assert_eq!(f[0].metrics[0].labels[0].value, "q\"b\\s\nn Προμηθεύς ✓");
}

#[test]
fn help_escapes() {
    let f = parse("# HELP a x\\\\y\\nz\\q\\\" \\\na 1\n").unwrap();
    assert_eq!(f[0].help.as_deref(), Some("x\\y\nz\\q\" \\"));
}

#[test]
fn empty_help_and_bare_keywords_are_comments_as_in_go() {
    let f = parse("# HELP a\n# TYPE a\n# HELP\n# TYPE\n#\na 1\n# HELP a real\n").unwrap();
    assert_eq!(f[0].help.as_deref(), Some("real"));
    assert_eq!(f[0].kind, MetricType::Untyped);
}

#[test]
fn float_values_like_go_parse_float() {
    let cases: &[(&str, f64)] = &[
        ("1", 1.0),
        ("-1.5e3", -1500.0),
        ("1E-3", 0.001),
        (".5", 0.5),
        ("5.", 5.0),
        ("+Inf", f64::INFINITY),
        ("-Inf", f64::NEG_INFINITY),
        ("Inf", f64::INFINITY),
        ("inf", f64::INFINITY),
        ("+infinity", f64::INFINITY),
        ("1e-400", 0.0),
        ("0x", f64::NAN),
    ];
    for &(tok, want) in cases {
        let input = format!("a {tok}\n");
        if tok == "0x" {
            fails(
                &input,
                1,
                "expected float as value for metric \"a\", got \"0x\"",
            );
            continue;
        }
        let f = parse(&input).unwrap();
        assert_eq!(f[0].metrics[0].value, Value::Single(want), "{tok}");
    }
    for tok in ["NaN", "nan", "NAN"] {
        let input = format!("a {tok}\n");
        let f = parse(&input).unwrap();
        assert!(matches!(f[0].metrics[0].value, Value::Single(v) if v.is_nan()));
    }
    for tok in [
        "+NaN", "-nan", "1e400", "-1e400", "1_000", "infinit", "x", "1,5",
    ] {
        fails(&format!("a {tok}\n"), 1, "expected float as value");
    }
}

#[test]
fn summary_lines_merge_by_label_set_in_any_order() {
    let input = "# TYPE s summary\n\
                 s_sum{b=\"2\",a=\"1\"} 10\n\
                 s{a=\"1\",quantile=\"0.5\",b=\"2\"} 0.3\n\
                 s{a=\"9\",b=\"2\",quantile=\"0.9\"} 7\n\
                 s_count{a=\"1\",b=\"2\"} 5\n\
                 s{b=\"2\",a=\"1\",quantile=\"0.99\"} 0.9\n\
                 s_count 1\n";
    let f = parse(input).unwrap();
    assert_eq!(f.len(), 1);
    let m = &f[0].metrics;
    assert_eq!(m.len(), 3);
    assert_eq!(
        m[0].labels,
        vec![Label::new("b", "2"), Label::new("a", "1")]
    );
    assert_eq!(
        m[0].value,
        Value::Summary {
            sample_count: 5.0,
            sample_sum: 10.0,
            quantiles: vec![(0.5, 0.3), (0.99, 0.9)],
        }
    );
    assert_eq!(
        m[1].labels,
        vec![Label::new("a", "9"), Label::new("b", "2")]
    );
    assert_eq!(m[2].labels, vec![]);
    assert_eq!(
        m[2].value,
        Value::Summary {
            sample_count: 1.0,
            sample_sum: 0.0,
            quantiles: vec![],
        }
    );
}

#[test]
fn histogram_lines_merge() {
    let input = "# HELP h Hist.\n# TYPE h histogram\n\
                 h_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 4\n\
                 h_sum 2.5\nh_count 4\n\
                 h_bucket{j=\"x\",le=\"1e+06\"} 2\nh_count{j=\"x\"} 2\nh{j=\"x\",le=\"2e6\"} 2 9\n";
    let f = parse(input).unwrap();
    assert_eq!(f[0].kind, MetricType::Histogram);
    assert_eq!(
        f[0].metrics[0].value,
        Value::Histogram {
            sample_count: 4.0,
            sample_sum: 2.5,
            buckets: vec![(0.5, 1.0), (f64::INFINITY, 4.0)],
        }
    );
    assert_eq!(
        f[0].metrics[1].value,
        Value::Histogram {
            sample_count: 2.0,
            sample_sum: 0.0,
            buckets: vec![(1e6, 2.0), (2e6, 2.0)],
        }
    );
    assert_eq!(f[0].metrics[1].timestamp_ms, Some(9));
}

#[test]
fn suffixes_without_a_typed_base_are_their_own_untyped_families() {
    let input = "foo_sum 1\nfoo_count 2\n# TYPE c counter\nc 1\nc_sum 2\n\
                 # TYPE s summary\ns_bucket 3\n";
    let f = parse(input).unwrap();
    let names: Vec<_> = f.iter().map(|f| f.name.as_ref()).collect();
    assert_eq!(names, ["foo_sum", "foo_count", "c", "c_sum", "s_bucket"]);
    assert!(f
        .iter()
        .filter(|f| f.name != "c")
        .all(|f| f.kind == MetricType::Untyped));
}

#[test]
fn interleaved_families_append_and_keep_first_order() {
    let f = parse("a 1\nb 2\na{x=\"y\"} 3\n# TYPE c gauge\n# HELP b late help\n").unwrap();
    assert_eq!(f.len(), 2);
    assert_eq!(f[0].metrics.len(), 2);
    assert_eq!(f[1].help.as_deref(), Some("late help"));
}

#[test]
fn families_without_samples_are_dropped() {
    assert!(parse("# HELP a x\n# TYPE a counter\n").unwrap().is_empty());
    assert!(parse("").unwrap().is_empty());
    assert!(parse("\n\n  \n").unwrap().is_empty());
}

#[test]
fn type_words_any_case() {
    let f = parse("# TYPE a COUNTER\na 1\n# TYPE b Gauge \nb 1\n").unwrap();
    assert_eq!(f[0].kind, MetricType::Counter);
    assert_eq!(f[1].kind, MetricType::Gauge);
}

#[test]
fn lenient_bom_crlf_and_missing_final_newline() {
    let f = parse("\u{FEFF}# TYPE a gauge\r\na{x=\"1\"} 1\r\nb 2").unwrap();
    assert_eq!(f.len(), 2);
    assert_eq!(f[0].kind, MetricType::Gauge);
    assert_eq!(f[1].metrics[0], single(&[], 2.0));
    let f = parse_bytes(b"\xEF\xBB\xBFa 1\r\n").unwrap();
    assert_eq!(f[0].name, "a");
}

#[test]
fn error_lines_and_messages() {
    fails("a 1\n1abc 2\n", 2, "invalid metric name \"1abc\"");
    fails("a.b 1\n", 1, "invalid metric name \"a.b\"");
    fails("{\"my.metric\"} 1\n", 1, "invalid metric name");
    fails(
        "\n\na x\n",
        3,
        "expected float as value for metric \"a\", got \"x\"",
    );
    fails(
        "a\n",
        1,
        "expected float as value for metric \"a\", got \"\"",
    );
    fails("a{x=\"1\"}\n", 1, "expected float as value");
    fails(
        "a 1 x\n",
        1,
        "expected integer as timestamp for metric \"a\", got \"x\"",
    );
    fails("a 1 1.5\n", 1, "expected integer as timestamp");
    fails("a 1 2 3\n", 1, "spurious string after timestamp");
    fails(
        "# TYPE a gauge\n# TYPE a gauge\n",
        2,
        "second TYPE line for metric name \"a\", or TYPE reported after samples",
    );
    fails(
        "a 1\n# TYPE a gauge\n",
        2,
        "second TYPE line for metric name \"a\", or TYPE reported after samples",
    );
    fails(
        "# HELP a x\n# HELP a y\n",
        2,
        "second HELP line for metric name \"a\"",
    );
    fails("# TYPE a countr\n", 1, "unknown metric type \"countr\"");
    fails(
        "# TYPE a counter extra\n",
        1,
        "unknown metric type \"counter extra\"",
    );
    fails(
        "# HELP a.b x\n",
        1,
        "invalid metric name \"a.b\" in comment",
    );
    fails("a{x=\"1\n", 1, "unterminated label value");
    fails("a{x=\"1\\", 1, "unterminated label value");
    fails(
        "a 1\na{x=\"\\q\"} 1\n",
        2,
        "invalid escape sequence '\\q' in label value",
    );
    fails(
        "a{x=\"\\é\"} 1\n",
        1,
        "invalid escape sequence '\\é' in label value",
    );
    fails(
        "a{a=\"1\",b=\"2\",a=\"3\"} 1\n",
        1,
        "duplicate label name \"a\"",
    );
    // Series of many labels: a repeat is found on either side of the point
    // where the check moves from the labels to a set, and none is where
    // every name differs.
    for n in [15, 16, 17, 40] {
        let names: Vec<String> = (0..n).map(|i| format!("l{i}")).collect();
        let line = |names: &[String]| {
            let labels: Vec<String> = names.iter().map(|l| format!("{l}=\"v\"")).collect();
            format!("a{{{}}} 1\n", labels.join(","))
        };
        let distinct = line(&names);
        let parsed = parse(&distinct).unwrap();
        assert_eq!(parsed[0].metrics[0].labels.len(), n);
        for repeated in [0, n / 2, n - 1] {
            let mut twice = names.clone();
            twice.push(names[repeated].clone());
            twice.push("after".into());
            let message = format!("duplicate label name \"{}\"", names[repeated]);
            fails(&line(&twice), 1, &message);
        }
    }
    fails("a{1x=\"1\"} 1\n", 1, "invalid label name \"1x\"");
    fails("a{x.y=\"1\"} 1\n", 1, "invalid label name \"x.y\"");
    fails("a{x \"1\"} 1\n", 1, "expected '=' after label name \"x\"");
    fails(
        "a{x=1} 1\n",
        1,
        "expected '\"' to start the value of label \"x\"",
    );
    fails("a{x=\"1\" y=\"2\"} 1\n", 1, "expected ',' or '}'");
    fails("a{x=\"1\",\n", 1, "unexpected end of label set");
    fails(
        "a{__name__=\"b\"} 1\n",
        1,
        "label name \"__name__\" is reserved",
    );
    fails(
        "# TYPE h histogram\nh_bucket{x=\"1\"} 1\n",
        2,
        "histogram bucket line without \"le\" label",
    );
    fails(
        "# TYPE h histogram\nh 1\n",
        2,
        "histogram bucket line without \"le\" label",
    );
    fails(
        "# TYPE s summary\ns{x=\"1\"} 1\n",
        2,
        "summary line without \"quantile\" label",
    );
    fails(
        "# TYPE h histogram\nh_bucket{le=\"abc\"} 1\n",
        2,
        "invalid \"le\" value \"abc\"",
    );
    fails(
        "# TYPE s summary\n\ns_sum{quantile=\"x\"} 1\n",
        3,
        "invalid \"quantile\" value \"x\"",
    );
    fails(
        "# TYPE g gauge_histogram\ng 1\n",
        2,
        "unexpected type for metric name \"g\"",
    );
    // Go's quirk: a TYPE for `x_count` after a summary `x` is about `x`.
    fails(
        "# TYPE x summary\n# TYPE x_count counter\n",
        2,
        "second TYPE line for metric name \"x\"",
    );
}

#[test]
fn invalid_utf8_names_its_line() {
    let e = parse_bytes(b"a 1\nb{x=\"\xff\"} 1\n").unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.message.contains("invalid UTF-8"), "{e}");
    // An earlier syntax error wins, as it would in a streaming parser.
    let e = parse_bytes(b"a x\nb{x=\"\xff\"} 1\n").unwrap_err();
    assert_eq!(e.line, 1);
    assert_eq!(
        e.to_string(),
        "text format parsing error in line 1: \
         expected float as value for metric \"a\", got \"x\""
    );
}

// ---- round trips and cross-checks ----

fn render(families: &[Family<'_>]) -> String {
    let mut out = Vec::new();
    for f in families {
        write_family(&mut out, f);
    }
    String::from_utf8(out).unwrap()
}

/// Equality with NaN equal to NaN (by bit pattern class, not payload).
fn same_f64(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b
}

fn same_value(a: &Value, b: &Value) -> bool {
    let pairs = |x: &[(f64, f64)], y: &[(f64, f64)]| {
        x.len() == y.len()
            && x.iter()
                .zip(y)
                .all(|(p, q)| same_f64(p.0, q.0) && same_f64(p.1, q.1))
    };
    match (a, b) {
        (Value::Single(x), Value::Single(y)) => same_f64(*x, *y),
        (
            Value::Summary {
                sample_count: c1,
                sample_sum: s1,
                quantiles: q1,
            },
            Value::Summary {
                sample_count: c2,
                sample_sum: s2,
                quantiles: q2,
            },
        )
        | (
            Value::Histogram {
                sample_count: c1,
                sample_sum: s1,
                buckets: q1,
            },
            Value::Histogram {
                sample_count: c2,
                sample_sum: s2,
                buckets: q2,
            },
        ) => same_f64(*c1, *c2) && same_f64(*s1, *s2) && pairs(q1, q2),
        _ => false,
    }
}

/// Families equal up to NaN, and with an empty HELP the same as none
/// (the renderer writes neither).
pub(crate) fn same_families(a: &[Family<'_>], b: &[Family<'_>]) -> bool {
    let help = |f: &Family<'_>| {
        f.help
            .as_deref()
            .filter(|h| !h.is_empty())
            .map(String::from)
    };
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.name == y.name
                && help(x) == help(y)
                && x.kind == y.kind
                && x.metrics.len() == y.metrics.len()
                && x.metrics.iter().zip(&y.metrics).all(|(m, n)| {
                    m.labels == n.labels
                        && m.timestamp_ms == n.timestamp_ms
                        && same_value(&m.value, &n.value)
                })
        })
}

fn arb_name() -> impl Strategy<Value = String> {
    "[a-zA-Z_:][a-zA-Z0-9_:]{0,12}"
}

fn arb_label_name() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,8}".prop_filter("reserved", |n| {
        n != "__name__" && n != "quantile" && n != "le"
    })
}

fn arb_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        Just(-0.0),
        (-1e9f64..1e9),
        (0u32..1_000_000).prop_map(f64::from),
    ]
}

fn arb_count() -> impl Strategy<Value = f64> {
    prop_oneof![
        (0u64..1 << 53).prop_map(|c| c as f64),
        Just(0.5),
        Just(1e300)
    ]
}

fn arb_labels() -> impl Strategy<Value = Vec<Label<'static>>> {
    proptest::collection::btree_map(arb_label_name(), "(\\PC|[\"\\\\\n\t ]){0,10}", 0..4)
        .prop_map(|m| m.into_iter().map(|(n, v)| Label::new(n, v)).collect())
}

fn arb_value(kind: MetricType) -> BoxedStrategy<Value> {
    let points = || proptest::collection::vec((arb_f64(), arb_f64()), 0..4);
    match kind {
        MetricType::Summary => (arb_count(), arb_f64(), points())
            .prop_map(|(c, s, q)| Value::Summary {
                sample_count: c,
                sample_sum: s,
                quantiles: q,
            })
            .boxed(),
        MetricType::Histogram => (
            arb_count(),
            arb_f64(),
            proptest::collection::vec((arb_f64(), arb_count()), 0..4),
        )
            .prop_map(|(c, s, mut b)| {
                // The renderer adds a `+Inf` bucket when there is none,
                // as expfmt does; generate histograms that have one.
                if !b.iter().any(|x| x.0 == f64::INFINITY) {
                    b.push((f64::INFINITY, c));
                }
                Value::Histogram {
                    sample_count: c,
                    sample_sum: s,
                    buckets: b,
                }
            })
            .boxed(),
        _ => arb_f64().prop_map(Value::Single).boxed(),
    }
}

fn arb_family() -> impl Strategy<Value = Family<'static>> {
    let kinds = prop_oneof![
        Just(MetricType::Counter),
        Just(MetricType::Gauge),
        Just(MetricType::Untyped),
        Just(MetricType::Summary),
        Just(MetricType::Histogram),
    ];
    // Go (and so this parser) skips the blanks before a HELP text.
    let help = proptest::option::of("((\\PC|[\\\\\n\"]){0,20})")
        .prop_filter("leading blank", |h| {
            !h.as_deref().is_some_and(|h| h.starts_with([' ', '\t']))
        });
    (arb_name(), kinds, help).prop_flat_map(|(name, kind, help)| {
        let metric = (
            arb_labels(),
            arb_value(kind),
            proptest::option::of(any::<i64>()),
        )
            .prop_map(|(labels, value, timestamp_ms)| Metric {
                labels,
                value,
                timestamp_ms,
                extras: None,
            });
        proptest::collection::vec(metric, 1..4).prop_map(move |metrics| {
            // A label set may appear only once per compound family, or
            // the parser would (rightly) merge the two series.
            let mut seen = std::collections::HashSet::new();
            let metrics = metrics
                .into_iter()
                .filter(|m| !kind.is_compound() || seen.insert(m.labels.clone()))
                .collect();
            Family {
                name: name.clone().into(),
                help: help.clone().map(Cow::Owned),
                kind,
                metrics,
            }
        })
    })
}

/// Families whose names cannot capture each other's lines
/// (`x_sum` next to a summary `x`) and are unique.
fn arb_families() -> impl Strategy<Value = Vec<Family<'static>>> {
    proptest::collection::vec(arb_family(), 0..5).prop_map(|fams| {
        let mut out: Vec<Family<'static>> = Vec::new();
        for f in fams {
            let clash = out.iter().any(|o| {
                let related = |a: &str, b: &str| a.starts_with(b) || b.starts_with(a);
                related(&o.name, &f.name)
            });
            if !clash {
                out.push(f);
            }
        }
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_of_render_is_identity(fams in arb_families()) {
        let text = render(&fams);
        let back = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert!(same_families(&fams, &back), "{text}\n{fams:#?}\n{back:#?}");
        // And rendering is stable.
        prop_assert_eq!(render(&back), text);
    }

    #[test]
    fn parse_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_bytes(&bytes);
    }

    #[test]
    fn parse_never_panics_on_near_valid_text(
        text in "([a-z_{}=\",# \\\\\n]|HELP|TYPE|summary|histogram|quantile|le|_sum|_count|_bucket|[0-9.e+-]|Inf|NaN|\\PC){0,80}"
    ) {
        if let Ok(fams) = parse(&text) {
            let again = render(&fams);
            let back = parse(&again).map_err(|e| TestCaseError::fail(format!("{e}\n{again}")))?;
            // A body that parses renders to text that parses to the
            // same families, unless the renderer had to add `+Inf`.
            let added_inf = fams.iter().any(|f| f.metrics.iter().any(|m| matches!(
                &m.value, Value::Histogram { buckets, .. }
                    if !buckets.iter().any(|b| b.0 == f64::INFINITY))));
            // Suffix collisions are ambiguous and refused at push time.
            let ambiguous =
                crate::exposition::validate::check_suffix_collisions(&fams).is_err();
            prop_assert!(
                added_inf || ambiguous || same_families(&fams, &back),
                "{text:?}\n{again}"
            );
        }
    }
}

fn data_file(name: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = root.join("../shared/bench").join(name);
    let local = root.join("benches/data").join(name);
    std::fs::read_to_string(&shared)
        .or_else(|_| std::fs::read_to_string(&local))
        .unwrap_or_else(|e| panic!("read {}: {e}", local.display()))
}

/// Our parse and prometheus-parse agree on every series and value.
fn cross_check(text: &str) -> usize {
    use prometheus_parse::{Scrape, Value as PV};
    use std::collections::BTreeMap;

    fn key(name: &str, labels: impl IntoIterator<Item = (String, String)>) -> String {
        let sorted: BTreeMap<_, _> = labels.into_iter().collect();
        format!("{name}{sorted:?}")
    }
    let ours = parse(text).unwrap();
    let mut mine: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for f in &ours {
        for m in &f.metrics {
            let labels = || {
                m.labels
                    .iter()
                    .map(|l| (l.name.to_string(), l.value.to_string()))
            };
            match &m.value {
                Value::Single(v) => {
                    mine.insert(key(&f.name, labels()), vec![*v]);
                }
                Value::Summary {
                    sample_count,
                    sample_sum,
                    quantiles: points,
                }
                | Value::Histogram {
                    sample_count,
                    sample_sum,
                    buckets: points,
                } => {
                    let flat = points.iter().flat_map(|p| [p.0, p.1]).collect();
                    mine.insert(key(&f.name, labels()), flat);
                    mine.insert(key(&format!("{}_sum", f.name), labels()), vec![*sample_sum]);
                    let count = key(&format!("{}_count", f.name), labels());
                    mine.insert(count, vec![*sample_count]);
                }
            }
        }
    }
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = Scrape::parse(lines).unwrap();
    let mut theirs: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for s in scrape.samples {
        let labels = s.labels.iter().map(|(k, v)| (k.clone(), v.clone()));
        let values = match s.value {
            PV::Counter(v) | PV::Gauge(v) | PV::Untyped(v) => vec![v],
            PV::Summary(q) => q.iter().flat_map(|q| [q.quantile, q.count]).collect(),
            PV::Histogram(b) => b.iter().flat_map(|b| [b.less_than, b.count]).collect(),
        };
        theirs.insert(key(&s.metric, labels), values);
    }
    assert_eq!(mine.len(), theirs.len());
    for (k, v) in &mine {
        let t = theirs
            .get(k)
            .unwrap_or_else(|| panic!("{k} missing in prometheus-parse"));
        assert_eq!(v.len(), t.len(), "{k}");
        assert!(
            v.iter().zip(t).all(|(a, b)| same_f64(*a, *b)),
            "{k}: {v:?} vs {t:?}"
        );
    }
    ours.iter().map(|f| f.metrics.len()).sum()
}

#[test]
fn node_exporter_agrees_with_prometheus_parse() {
    let text = data_file("node_exporter.prom");
    // 507 sample lines: 500 single values and one summary of 7 lines.
    assert_eq!(cross_check(&text), 501);
    let fams = parse(&text).unwrap();
    let rendered = render(&fams);
    assert_eq!(
        rendered.lines().filter(|l| !l.starts_with('#')).count(),
        507
    );
    // Every family there has HELP and TYPE; rendering reproduces the
    // body up to float formatting, so a second round trip is exact.
    let once = render(&fams);
    let twice = render(&parse(&once).unwrap());
    assert_eq!(once, twice);
    assert!(same_families(&fams, &parse(&once).unwrap()));
}

#[test]
fn batch_job_agrees_with_prometheus_parse_and_renders_verbatim() {
    let text = data_file("batch_job.prom");
    assert_eq!(cross_check(&text), 5);
    assert_eq!(render(&parse(&text).unwrap()), text);
}

#[test]
fn histograms_agree_with_prometheus_parse() {
    let text = "# HELP h H.\n# TYPE h histogram\nh_bucket{a=\"1\",le=\"0.5\"} 1\n\
                h_bucket{a=\"1\",le=\"+Inf\"} 3\nh_sum{a=\"1\"} 2\nh_count{a=\"1\"} 3\n\
                # TYPE s summary\ns{quantile=\"0.5\"} 1\ns{quantile=\"0.9\"} 2\ns_sum 3\ns_count 4\n";
    assert_eq!(cross_check(text), 2);
}

fn over(input: &str, limits: ParseLimits) -> OverLimit {
    match parse_with(input, &limits) {
        Err(ParseFailure::OverLimit(over)) => over,
        other => panic!("{input:?} was not over {limits:?}: {other:?}"),
    }
}

#[test]
fn the_series_limit_stops_at_the_first_series_over_it() {
    let limits = ParseLimits {
        max_series: 2,
        ..ParseLimits::NONE
    };
    // The bad fourth line is never reached: parsing stopped at the third.
    let o = over("a 1\nb 2\nc 3\n{{{\n", limits);
    assert_eq!(o.exceeded, crate::exposition::validate::Exceeded::Series);
    assert_eq!(o.max, 2);
    assert_eq!(
        o.message,
        "the push has more than 2 series; parsing stopped at line 3"
    );
    // A syntax error before the limit is still the answer.
    assert!(matches!(
        parse_with("a 1\n{{{\nc 3\n", &limits),
        Err(ParseFailure::Invalid(ParseError { line: 2, .. }))
    ));
    // The lines of one summary series count once.
    let summary = "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n\
                   s{x=\"1\",quantile=\"0.5\"} 1\ns_sum{x=\"1\"} 2\n";
    assert_eq!(parse_with(summary, &limits).unwrap()[0].metrics.len(), 2);
    let o = over(&format!("{summary}s_count{{x=\"2\"}} 1\n"), limits);
    assert!(o.message.ends_with("line 7"), "{o}");
}

#[test]
fn label_limits_stop_at_the_line() {
    let limits = ParseLimits {
        max_label_name_length: 4,
        max_label_value_length: 4,
        ..ParseLimits::NONE
    };
    let o = over("a{x=\"1\"} 1\na{x=\"12345\"} 2\n", limits);
    assert_eq!(
        o.exceeded,
        crate::exposition::validate::Exceeded::LabelValueLength
    );
    assert_eq!(
        o.message,
        "the value of label x of metric a at line 2 is 5 bytes long"
    );
    let o = over("a{abcde=\"1\"} 1\n", limits);
    assert_eq!(
        o.exceeded,
        crate::exposition::validate::Exceeded::LabelNameLength
    );
    // Without limits, the same bodies parse as before.
    assert!(parse_bytes_with(b"a{abcde=\"12345\"} 1\n", &ParseLimits::NONE).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A limit changes nothing about a body within it, and refuses one
    /// beyond it as over the limit, never as something else.
    #[test]
    fn a_series_limit_takes_or_stops_and_nothing_else(fams in arb_families(), max in 1usize..12) {
        let text = render(&fams);
        let whole = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let series: usize = whole.iter().map(|f| f.metrics.len()).sum();
        let limits = ParseLimits { max_series: max, ..ParseLimits::NONE };
        match parse_with(&text, &limits) {
            Ok(limited) => {
                prop_assert!(series <= max, "{series} series taken under {max}\n{text}");
                // Compared as text: NaN is not equal to itself.
                prop_assert_eq!(render(&limited), render(&whole));
            }
            Err(ParseFailure::OverLimit(over)) => {
                prop_assert!(series > max, "{series} series refused under {max}: {over}\n{text}");
            }
            Err(e) => prop_assert!(false, "{e}\n{text}"),
        }
    }
}

const UTF8: ParseLimits = ParseLimits {
    utf8_names: true,
    ..ParseLimits::NONE
};

fn parse_utf8(input: &str) -> Vec<Family<'_>> {
    parse_with(input, &UTF8).unwrap_or_else(|e| panic!("{input:?}: {e}"))
}

fn utf8_err(input: &str) -> String {
    match parse_with(input, &UTF8) {
        Ok(f) => panic!("{input:?} parsed: {f:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn quoted_utf8_names_in_every_place() {
    let input = "# HELP \"my.metric\" Dotted \\\"help\\\".\n# TYPE \"my.metric\" counter\n\
                 {\"my.metric\",\"a.b\"=\"v\",job=\"x\"} 1\n\
                 \"my.metric\"{\"a.b\"=\"w\"} 2\n\
                 {job=\"y\", \"my.metric\"} 3\n\
                 \"with space\" 4\n\
                 \"esc\\\\\\\"\\n\" 5\n\
                 {\"Προμηθεύς\"} 6\n";
    let f = parse_utf8(input);
    assert_eq!(f.len(), 4);
    assert_eq!(f[0].name, "my.metric");
    assert_eq!(f[0].kind, MetricType::Counter);
    assert_eq!(f[0].help.as_deref(), Some("Dotted \"help\"."));
    assert_eq!(
        f[0].metrics,
        vec![
            single(&[("a.b", "v"), ("job", "x")], 1.0),
            single(&[("a.b", "w")], 2.0),
            single(&[("job", "y")], 3.0),
        ]
    );
    assert_eq!(f[1].name, "with space");
    assert_eq!(f[2].name, "esc\\\"\n");
    assert_eq!(f[3].name, "Προμηθεύς");
    // Names without escapes borrow from the body.
    assert!(matches!(f[0].name, Cow::Borrowed(_)));
    assert!(matches!(f[2].name, Cow::Owned(_)));
}

#[test]
fn quoted_names_of_summaries_keep_their_suffixes() {
    let f = parse_utf8(
        "# TYPE \"s.x\" summary\n{\"s.x\",quantile=\"0.5\"} 1\n{\"s.x_sum\"} 2\n\"s.x_count\" 3\n",
    );
    assert_eq!(f.len(), 1);
    assert_eq!(
        f[0].metrics[0].value,
        Value::Summary {
            sample_count: 3.0,
            sample_sum: 2.0,
            quantiles: vec![(0.5, 1.0)]
        }
    );
}

#[test]
fn without_utf8_names_quoted_names_must_be_legacy() {
    // The quoted syntax itself parses.
    let f = parse("{\"foo\"} 1\n\"bar\"{\"x\"=\"1\"} 2\n# TYPE \"baz\" gauge\nbaz 3\n").unwrap();
    assert_eq!(f[0].name, "foo");
    assert_eq!(f[1].metrics[0].labels[0].name, "x");
    assert_eq!(f[2].kind, MetricType::Gauge);
    assert_eq!(
        err("a 1\n\"my.metric\" 1\n").to_string(),
        "text format parsing error in line 2: invalid metric name \"my.metric\""
    );
    assert_eq!(
        err("{\"my.metric\"} 1\n").to_string(),
        "text format parsing error in line 1: invalid metric name \"my.metric\""
    );
    assert_eq!(
        err("m{\"a.b\"=\"v\"} 1\n").to_string(),
        "text format parsing error in line 1: invalid label name \"a.b\" for metric \"m\""
    );
    fails(
        "# TYPE \"my.metric\" counter\n",
        1,
        "invalid metric name \"my.metric\" in comment",
    );
    // The same bodies parse with UTF-8 names.
    parse_utf8("\"my.metric\" 1\nm{\"a.b\"=\"v\"} 1\n# TYPE \"x.y\" counter\n");
}

#[test]
fn errors_of_the_quoted_syntax() {
    let cases = [
        (
            "{\"a\",\"b\"} 1\n",
            "multiple metric names for metric \"b\"",
        ),
        (
            "{\"a\",x=\"1\",c} 1\n",
            "multiple metric names for metric \"c\"",
        ),
        ("\"a\\t\" 1\n", "invalid escape sequence '\\t'"),
        ("m{\"a\\x\"=\"1\"} 1\n", "invalid escape sequence '\\x'"),
        (
            "\"abc 1\n",
            "metric name \"abc 1\" contains unescaped new-line",
        ),
        ("m{\"ab=\"1\"} 1\n", "expected '=' after label name \"ab=\""),
        (
            "m{\"a\\\"b 1\n",
            "label name \"a\\\"b 1\" contains unescaped new-line",
        ),
        ("\"\" 1\n", "invalid metric name \"\""),
        ("{\"\"} 1\n", "invalid metric name \"\""),
        (
            "m{\"\"=\"v\"} 1\n",
            "invalid label name \"\" for metric \"m\"",
        ),
        (
            "m{\"__name__\"=\"v\"} 1\n",
            "label name \"__name__\" is reserved",
        ),
        ("{x=\"1\"} 1\n", "no metric name in the label set"),
        ("m{\"x\"} 1\n", "expected '=' after label name \"x\""),
        (
            "m{\"x\"=\"1\",\"x\"=\"2\"} 1\n",
            "duplicate label name \"x\"",
        ),
    ];
    for (input, want) in cases {
        let e = utf8_err(input);
        assert!(e.contains(want), "{input:?}: {e} lacks {want:?}");
        assert!(
            e.starts_with("text format parsing error in line 1: "),
            "{e}"
        );
    }
}

#[test]
fn quoted_names_parse_back_from_the_renderer() {
    let mut family = Family::new("my.metric", MetricType::Summary);
    family.help = Some("h".into());
    family.metrics.push(Metric {
        labels: vec![Label::new("a.b", "v\"\n"), Label::new("q\"x", "")],
        value: Value::Summary {
            sample_count: 1.0,
            sample_sum: 2.0,
            quantiles: vec![(0.5, 3.0)],
        },
        timestamp_ms: None,
        extras: None,
    });
    let mut out = Vec::new();
    write_family(&mut out, &family);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(parse_utf8(&text), vec![family]);
}

#[test]
fn errors_in_braces_name_the_metric_once_read() {
    let e = utf8_err("{\"m.x\",a=1} 1\n");
    assert!(e.ends_with("for metric \"m.x\""), "{e}");
    // Without UTF-8 names the name is refused where it stands.
    assert_eq!(
        err("{\"m.x\",\"a.b\"=\"1\"} 1\n").message,
        "invalid metric name \"m.x\""
    );
}

/// What the property test below appends to names to make them UTF-8
/// names: nothing, a dot, a letter beyond ASCII, a blank, and the three
/// characters that must be escaped.
const UTF8_SUFFIXES: [&str; 5] = ["", ".", "é", " x", "\"q\\\n"];

/// Families with UTF-8 names: those of `arb_families` with a suffix on
/// some names, which keeps them unique and unable to capture each other's
/// lines (no suffix holds a legacy character first).
fn arb_utf8_families() -> impl Strategy<Value = Vec<Family<'static>>> {
    (
        arb_families(),
        proptest::collection::vec(0..UTF8_SUFFIXES.len(), 32),
    )
        .prop_map(|(mut fams, picks)| {
            let mut pick = picks.into_iter().cycle();
            let mut next = || UTF8_SUFFIXES[pick.next().expect("cycles")];
            for f in &mut fams {
                f.name = format!("{}{}", f.name, next()).into();
                let suffix = next();
                for m in &mut f.metrics {
                    for l in &mut m.labels {
                        l.name = format!("{}{suffix}", l.name).into();
                    }
                }
            }
            fams
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_of_render_is_identity_with_utf8_names(fams in arb_utf8_families()) {
        let text = render(&fams);
        let back = parse_with(&text, &UTF8)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert!(same_families(&fams, &back), "{text}\n{fams:#?}\n{back:#?}");
        prop_assert_eq!(render(&back), text);
    }
}

#[test]
fn a_family_named_like_a_suffix_keeps_its_own_lines() {
    // `a_count` is a family of its own, declared first: its name wins over
    // the summary `a`'s `_count`, however the lines are ordered.
    let body = "# TYPE a_count gauge\na_count{x=\"1\"} 1\n# TYPE a summary\na_sum 2\na_count{x=\"2\"} 3\na_count 4\n";
    let families = parse(body).unwrap();
    let gauge = families.iter().find(|f| f.name == "a_count").unwrap();
    assert_eq!(gauge.metrics.len(), 3, "{families:?}");
    let summary = families.iter().find(|f| f.name == "a").unwrap();
    assert_eq!(summary.metrics.len(), 1);
    assert_eq!(
        summary.metrics[0].value,
        Value::Summary {
            sample_count: 0.0,
            sample_sum: 2.0,
            quantiles: vec![],
        }
    );
}

#[test]
fn rendered_single_series_read_back_without_the_parser() {
    let text = "a 1\na{b=\"x\\\"y\\\\z\\nw\",c=\"é\"} -2.5e-07 -5\na{d=\"\"} +Inf\n";
    let mut seen = Vec::new();
    assert_eq!(
        super::read_single_series(text, |m| seen.push(m.clone())),
        Some(())
    );
    let body = format!("# TYPE a gauge\n{text}");
    let want = parse(&body).unwrap();
    assert_eq!(seen, want[0].metrics);
    // Quoted names and lines of other shapes are left to the parser.
    for other in [
        "{\"a.b\"} 1\n",
        "a{\"b.c\"=\"x\"} 1\n",
        "a  1\n",
        "a{b=\"x\"}1\n",
        "a 1 x\n",
    ] {
        assert_eq!(super::read_single_series(other, |_| {}), None, "{other:?}");
    }
}
