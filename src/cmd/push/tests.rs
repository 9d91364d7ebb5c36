//! Tests of `pgw push`'s pure parts: sources, checks, gateway URLs and
//! push URLs, and the flags that must agree with them.

use super::*;
use crate::exposition::Value;
use clap::Parser as _;

fn config(argv: &[&str], terminal: bool) -> anyhow::Result<Config> {
    let mut full = vec!["pgw", "push"];
    full.extend_from_slice(argv);
    let cli = crate::cli::Cli::try_parse_from(full).expect("valid command line");
    let crate::cli::Command::Push(args) = cli.command else {
        panic!("not push")
    };
    Config::from_args(args, terminal, &|| false)
}

fn single(f: &Family<'_>, i: usize) -> f64 {
    match f.metrics[i].value {
        Value::Single(v) => v,
        _ => panic!("not a single value"),
    }
}

#[test]
fn argument_metrics_become_families() {
    let args: Vec<String> = [
        "last_success_seconds=1764000000",
        "bytes_total=123",
        r#"files{kind="log",path="/a=b"}=4"#,
        r#"files{kind="tmp"}=1e3"#,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let fams = parse_arg_metrics(&args, MetricType::Gauge, Some("h"), false).unwrap();
    assert_eq!(fams.len(), 3);
    assert_eq!(fams[0].name, "last_success_seconds");
    assert_eq!(single(&fams[0], 0), 1764000000.0);
    assert_eq!(fams[2].metrics.len(), 2);
    assert_eq!(fams[2].metrics[0].labels[1].value, "/a=b");
    assert_eq!(single(&fams[2], 1), 1000.0);
    assert!(fams.iter().all(|f| f.kind == MetricType::Gauge));
    assert_eq!(fams[1].help.as_deref(), Some("h"));
    let body = String::from_utf8(render_body(&fams)).unwrap();
    assert!(body.starts_with("# HELP last_success_seconds h\n# TYPE last_success_seconds gauge\nlast_success_seconds 1.764e+09\n"), "{body}");
}

#[test]
fn bad_argument_metrics_name_the_argument() {
    for (arg, needle) in [
        ("novalue", "expected NAME=VALUE"),
        ("x=", "expected NAME=VALUE"),
        ("x=abc", "\"x=abc\""),
        ("1x=3", "\"1x=3\""),
        ("x=1 2", "blank"),
        (r#"x{a="1"=2"#, "x{a"),
    ] {
        let err =
            parse_arg_metrics(&[arg.to_string()], MetricType::Untyped, None, false).unwrap_err();
        assert!(err.0.contains(needle), "{arg}: {}", err.0);
    }
}

#[test]
fn grouping_key_from_flags() {
    let key = grouping_key("backup", &["path=/var/x".into(), "empty=".into()], false).unwrap();
    assert_eq!(key.get("path"), Some("/var/x"));
    assert_eq!(key.get("empty"), Some(""));
    assert!(key.to_path().contains("path@base64/"));
    for (job, labels, needle) in [
        ("", vec![], "must not be empty"),
        ("j", vec!["x".to_string()], "NAME=VALUE"),
        ("j", vec!["job=y".to_string()], "--job"),
        ("j", vec!["__a=1".to_string()], "not a valid label name"),
        ("j", vec!["a-b=1".to_string()], "not a valid label name"),
        ("j", vec!["a=1".to_string(), "a=2".to_string()], "twice"),
    ] {
        let err = grouping_key(job, &labels, false).unwrap_err();
        assert!(err.0.contains(needle), "{labels:?}: {}", err.0);
    }
}

#[test]
fn input_sources_and_methods() {
    let c = config(&["-j", "x", "a=1"], true).unwrap();
    assert!(c.sources.is_empty());
    assert_eq!(c.method, Method::Put);
    let c = config(&["-j", "x"], false).unwrap();
    assert_eq!(c.sources, vec![Source::Stdin]);
    let err = config(&["-j", "x"], true).unwrap_err();
    assert!(err.to_string().contains("no metrics to push"), "{err}");
    let c = config(&["-j", "x", "--add", "-f", "a.prom", "-f", "-"], true).unwrap();
    assert_eq!(c.method, Method::Post);
    assert_eq!(c.sources.len(), 2);
    assert!(config(&["-j", "x", "-f", "-", "-f", "-"], false).is_err());
    let c = config(&["-j", "x", "--", "true"], true).unwrap();
    assert_eq!(c.method, Method::Post);
    assert!(c.sources.is_empty());
    assert!(config(&["-j", "x", "-f", "-", "--", "true"], false).is_err());
    assert!(config(&["-j", "x", "--expire-after=0s", "a=1"], true).is_err());
}

#[test]
fn a_push_url_names_the_group() {
    let c = config(&["http://gw:9091/metrics/job/x/instance/y", "a=1"], true).unwrap();
    assert_eq!(c.key, GroupingKey::new([("job", "x"), ("instance", "y")]));
    assert_eq!(c.gateways.unwrap()[0].url, "http://gw:9091");
    let c = config(&["-g", "gw/metrics/job/x", "-j", "x", "a=1"], true).unwrap();
    assert_eq!(c.key, GroupingKey::new([("job", "x")]));
    let err = |argv: &[&str]| format!("{:#}", config(argv, true).unwrap_err());
    assert!(err(&["-g", "gw/metrics/job/x", "-j", "y", "a=1"]).contains("name the group once"));
    assert!(
        err(&["-g", "gw/metrics/job/x", "-j", "x", "-l", "a=b", "a=1"])
            .contains("name the group once")
    );
    assert!(
        err(&["-g", "a/metrics/job/x", "-g", "b/metrics/job/y", "a=1"])
            .contains("different groups")
    );
    assert!(err(&["a=1"]).contains("no group to push to"));
    assert!(err(&["-l", "a=b", "a=1"]).contains("--label needs --job"));
}

#[test]
fn stdin_with_data_is_never_dropped() {
    let piped = |argv: &[&str]| {
        let mut full = vec!["pgw", "push"];
        full.extend_from_slice(argv);
        let cli = crate::cli::Cli::try_parse_from(full).expect("valid command line");
        let crate::cli::Command::Push(args) = cli.command else {
            panic!("not push")
        };
        Config::from_args(args, false, &|| true)
    };
    let err = piped(&["-j", "x", "a=1"]).unwrap_err();
    assert!(err.to_string().contains("add -f -"), "{err}");
    assert!(piped(&["-j", "x", "-f", "a.prom"]).is_err());
    assert_eq!(
        piped(&["-j", "x", "a=1", "-f", "-"]).unwrap().sources,
        [Source::Stdin]
    );
    assert_eq!(piped(&["-j", "x"]).unwrap().sources, [Source::Stdin]);
    // A wrapped command keeps stdin for itself.
    assert!(piped(&["-j", "x", "--", "true"]).is_ok());
}

#[test]
fn replace_conflicts_with_add_and_a_command() {
    for argv in [
        &["pgw", "push", "-j", "x", "--replace", "--add", "a=1"][..],
        &["pgw", "push", "-j", "x", "--replace", "--", "true"][..],
    ] {
        assert!(crate::cli::Cli::try_parse_from(argv).is_err(), "{argv:?}");
    }
}

#[test]
fn timestamps_are_found_by_line() {
    assert_eq!(
        first_timestamp_line("a 1\n# x 1 2\nb{c=\"} 1 2\"} 3\nd 1 17\n"),
        Some(4)
    );
    assert_eq!(first_timestamp_line("a{b=\"x\"} 1 17\n"), Some(1));
    assert_eq!(first_timestamp_line("a 1\n"), None);
}

#[test]
fn grouping_labels_in_the_body_must_agree() {
    let key = grouping_key("backup", &["instance=db1".into()], false).unwrap();
    let ok = text::parse("a{instance=\"db1\"} 1\nb 2\n").unwrap();
    check(&ok, &key).unwrap();
    let clash = text::parse("a{instance=\"db2\"} 1\n").unwrap();
    let err = check(&clash, &key).unwrap_err();
    assert!(err.0.contains("would overwrite"), "{}", err.0);
    let job = text::parse("a{job=\"other\"} 1\n").unwrap();
    assert!(check(&job, &key).unwrap_err().0.contains("--job"));
    let own = text::parse("push_time_seconds 1\n").unwrap();
    assert!(check(&own, &key).is_err());
    let reserved = text::parse("a{__x=\"1\"} 1\n").unwrap();
    assert!(check(&reserved, &key).is_err());
}

#[test]
fn gzip_above_the_threshold_only_in_auto() {
    assert!(!wants_gzip(GzipMode::Auto, GZIP_THRESHOLD));
    assert!(wants_gzip(GzipMode::Auto, GZIP_THRESHOLD + 1));
    assert!(wants_gzip(GzipMode::Always, 1));
    assert!(!wants_gzip(GzipMode::Never, 1 << 30));
}

#[test]
fn expire_header_is_compact() {
    assert_eq!(expire_header(Duration::from_secs(5400)), "5400s");
    assert_eq!(expire_header(Duration::from_millis(1500)), "1500ms");
}

#[test]
fn utf8_names_need_the_flag() {
    let err = grouping_key("j", &["a.b=1".into()], false).unwrap_err();
    assert!(err.0.contains("UTF-8 names need --utf8-names"), "{}", err.0);
    let key = grouping_key("j", &["a.b=1".into()], true).unwrap();
    assert_eq!(key.get("a.b"), Some("1"));
    assert_eq!(key.to_path(), "/metrics/job/j/U__a_2e_b/1");
    for bad in ["=1", "__a.b=1"] {
        let err = grouping_key("j", &[bad.into()], true).unwrap_err();
        assert!(err.0.contains("with --utf8-names"), "{}", err.0);
    }
    let arg = ["{\"my.metric\",\"a.b\"=\"v\"}=1".to_string()];
    let err = parse_arg_metrics(&arg, MetricType::Gauge, None, false).unwrap_err();
    assert!(
        err.0.contains("invalid metric name \"my.metric\""),
        "{}",
        err.0
    );
    let fams = parse_arg_metrics(&arg, MetricType::Gauge, None, true).unwrap();
    assert_eq!(fams[0].name, "my.metric");
    assert_eq!(fams[0].metrics[0].labels[0].name, "a.b");
}

#[test]
fn aggregate_is_a_post_with_its_headers() {
    let c = config(&["-j", "x", "--aggregate", "--type=counter", "a=1"], true).unwrap();
    assert_eq!(c.method, Method::Post);
    assert!(!c.default_replace);
    assert_eq!(c.aggregate.unwrap().headers(), [("Pgw-Aggregate", "sum")]);
    let c = config(
        &[
            "-j",
            "x",
            "--aggregate",
            "--aggregate-gauges=max",
            "--type=gauge",
            "a=1",
        ],
        true,
    )
    .unwrap();
    assert_eq!(
        c.aggregate.unwrap().headers(),
        [("Pgw-Aggregate", "sum"), ("Pgw-Aggregate-Gauges", "max")]
    );
    let c = config(&["-j", "x", "--aggregate", "--", "true"], true).unwrap();
    assert_eq!(c.method, Method::Post);
    assert!(c.aggregate.is_some());
    assert!(config(&["-j", "x", "--type=gauge", "a=1"], true)
        .unwrap()
        .aggregate
        .is_none());
}

#[test]
fn aggregate_flags_that_cannot_go_together() {
    for (argv, names) in [
        (
            &["pgw", "push", "-j", "x", "--aggregate", "--replace", "a=1"][..],
            &["--aggregate", "--replace"][..],
        ),
        (
            &["pgw", "push", "-j", "x", "--aggregate-gauges=sum", "a=1"][..],
            &["--aggregate-gauges", "--aggregate"][..],
        ),
        (
            &[
                "pgw",
                "push",
                "-j",
                "x",
                "--aggregate",
                "--aggregate-gauges=avg",
                "a=1",
            ][..],
            &["avg", "--aggregate-gauges"][..],
        ),
    ] {
        let err = crate::cli::Cli::try_parse_from(argv).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{argv:?}");
        let text = err.to_string();
        for name in names {
            assert!(text.contains(name), "{argv:?}: {name} not in {text}");
        }
    }
}

#[test]
fn aggregate_refuses_untyped_and_falling_counters_in_arguments() {
    let err = |argv: &[&str]| {
        let e = config(argv, true).unwrap_err();
        let text = format!("{e:#}");
        assert!(e.downcast_ref::<BadInput>().is_some(), "{text}");
        text
    };
    // Untyped is the default --type: the message says which flag fixes it.
    let text = err(&["-j", "x", "--aggregate", "rows=3"]);
    assert!(text.contains("rows is untyped"), "{text}");
    assert!(
        text.contains("use a counter or gauge (--type=counter"),
        "{text}"
    );
    let text = err(&[
        "-j",
        "x",
        "--aggregate",
        "--type=counter",
        r#"rows{a="b"}=-3"#,
    ]);
    assert!(text.contains(r#"the counter rows{a="b"} is -3"#), "{text}");
    assert!(text.contains("cannot go down"), "{text}");
    let text = err(&["-j", "x", "--aggregate", "--type=counter", "rows=NaN"]);
    assert!(text.contains("the counter rows is NaN"), "{text}");
    // Gauges may be anything, and without --aggregate nothing changes.
    config(&["-j", "x", "--aggregate", "--type=gauge", "t=-3"], true).unwrap();
    config(&["-j", "x", "--type=counter", "rows=-3"], true).unwrap();
    config(&["-j", "x", "rows=3"], true).unwrap();
}

#[test]
fn not_addable_finds_untyped_and_bad_counters() {
    fn fams(t: &str) -> Vec<Family<'_>> {
        text::parse(t).unwrap()
    }
    assert_eq!(
        not_addable(&fams(
            "# TYPE c counter\nc 0\nc{a=\"1\"} 2.5\n# TYPE g gauge\ng -1\n\
             # TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum -2\nh_count 1\n\
             # TYPE s summary\ns_sum 1\ns_count 1\n"
        )),
        None
    );
    assert_eq!(
        not_addable(&fams("# TYPE c counter\nc 1\nu 3\n")),
        Some(NotAddable::Untyped { family: "u".into() })
    );
    assert_eq!(
        not_addable(&fams("# TYPE c counter\nc{a=\"1\"} 1\nc{a=\"2\"} -0.5\n")),
        Some(NotAddable::Counter {
            series: "c{a=\"2\"}".into(),
            value: -0.5
        })
    );
    assert!(matches!(
        not_addable(&fams("# TYPE c counter\nc +Inf\n")),
        Some(NotAddable::Counter { .. })
    ));
}

#[test]
fn family_lines_for_messages() {
    let text = "# TYPE c counter\nc 1\n\nu_total{a=\"1\"} 3\n# TYPE v untyped\nv 1\n";
    assert_eq!(family_line(text, "c"), Some(1));
    assert_eq!(family_line(text, "u_total"), Some(4));
    assert_eq!(family_line(text, "v"), Some(5));
    assert_eq!(family_line(text, "u"), None);
    assert_eq!(family_line("x 1\n{\"my.m\",a=\"b\"} 2\n", "my.m"), Some(2));
}
