//! Tests of `pgw list`'s pure parts: the table, wide and JSON renderings
//! (as snapshots), the one-group view, sorting and partial keys.

use super::*;
use crate::client::groups::JobOutcome;

const NOW: f64 = 1_764_000_000.0;

fn group(labels: &[(&str, &str)], push: Option<f64>, ok: bool) -> Listed {
    Listed {
        group: Group {
            key: GroupingKey::new(labels.iter().copied()),
            push_time: push,
            failure_time: None,
            last_push_ok: ok,
            metrics: 2,
            series: 5,
            expire_after: None,
            expires_in: None,
        },
        job: JobOutcome::default(),
    }
}

fn fixture() -> Vec<Listed> {
    let mut failed = group(
        &[("job", "node"), ("instance", "db 1")],
        Some(NOW - 7_512.0),
        false,
    );
    failed.group.failure_time = Some(NOW - 30.0);
    let mut v = vec![
        group(
            &[("job", "node"), ("instance", "web-10")],
            Some(NOW - 192.4),
            true,
        ),
        failed,
        group(
            &[("job", "backup"), ("path", "/var/tmp"), ("instance", "")],
            Some(NOW - 3.0 * 86_400.0),
            true,
        ),
        group(&[("job", "ghost")], None, false),
        group(
            &[("job", "node"), ("instance", "web-2")],
            Some(NOW - 86_400.0),
            true,
        ),
    ];
    sort(&mut v, SortOrder::Labels, false);
    v
}

/// A group `pgw push -- COMMAND` pushed, whose last run exited `code`.
fn wrapped(job: &str, code: i64, success: Option<f64>) -> Listed {
    let mut l = group(&[("job", job)], Some(NOW - 60.0), true);
    l.job = JobOutcome {
        exit_code: Some(code),
        last_success: success,
    };
    l
}

#[test]
fn table_snapshot() {
    let text = render_table(&fixture(), NOW, false, &Style::plain(100));
    let expected = "\
JOB     LABELS                     METRICS  SERIES  LAST PUSH   STATUS
backup  instance=\"\" path=/var/tmp        2       5  3d ago      ok
ghost   -                                2       5  never       push failed
node    instance=\"db 1\"                  2       5  2h 5m ago   push failed
node    instance=web-2                   2       5  24h ago     ok
node    instance=web-10                  2       5  3m 12s ago  ok
";
    assert_eq!(text, expected, "\n{text}");
}

#[test]
fn default_order_is_failed_first_then_natural_labels() {
    let mut v = fixture();
    v.push(wrapped("nightly", 2, Some(NOW - 90_000.0)));
    v.push(wrapped("hourly", 0, Some(NOW - 60.0)));
    sort(&mut v, SortOrder::Status, false);
    let keys: Vec<String> = v.iter().map(|l| l.group.key.to_string()).collect();
    assert_eq!(
        keys,
        [
            r#"{job="ghost"}"#,
            r#"{instance="db 1",job="node"}"#,
            r#"{job="nightly"}"#,
            r#"{instance="",job="backup",path="/var/tmp"}"#,
            r#"{job="hourly"}"#,
            r#"{instance="web-2",job="node"}"#,
            r#"{instance="web-10",job="node"}"#,
        ]
    );
}

#[test]
fn a_failed_wrapped_job_shows_its_exit_code_and_last_success() {
    let v = [
        wrapped("nightly", 2, Some(NOW - 90_000.0)),
        wrapped("never-ran-well", 1, None),
        group(&[("job", "plain")], Some(NOW - 5.0), true),
    ];
    let text = render_table(&v, NOW, true, &Style::plain(200));
    let expected = "\
JOB             LABELS  METRICS  SERIES  LAST PUSH  STATUS  PUSHED AT             LAST FAILURE  LAST SUCCESS  PATH
nightly         -             2       5  1m ago     exit 2  2025-11-24T15:59:00Z  never         25h ago       /metrics/job/nightly
never-ran-well  -             2       5  1m ago     exit 1  2025-11-24T15:59:00Z  never         never         /metrics/job/never-ran-well
plain           -             2       5  5s ago     ok      2025-11-24T15:59:55Z  never         -             /metrics/job/plain
";
    assert_eq!(text, expected, "\n{text}");
    let doc: Value = serde_json::from_str(&render_json(&v, NOW)).unwrap();
    let nightly = &doc["groups"][0];
    assert_eq!(nightly["status"], "exit 2");
    assert_eq!(nightly["job_exit_code"], 2);
    assert_eq!(nightly["job_last_success_unix"], NOW - 90_000.0);
    assert_eq!(nightly["job_last_success_age_seconds"], 90_000.0);
    assert_eq!(doc["groups"][2]["job_exit_code"], Value::Null);
    assert_eq!(doc["groups"][2]["status"], "ok");
}

#[test]
fn wide_table_snapshot_with_expiry() {
    let mut groups = fixture();
    groups[4].group.expire_after = Some(86_400.0);
    groups[4].group.expires_in = Some(407.6);
    let text = render_table(&groups, NOW, true, &Style::plain(250));
    let expected = "\
JOB     LABELS                     METRICS  SERIES  LAST PUSH   STATUS       EXPIRES    PUSHED AT             LAST FAILURE  TTL  PATH
backup  instance=\"\" path=/var/tmp        2       5  3d ago      ok           -          2025-11-21T16:00:00Z  never         -    /metrics/job/backup/instance@base64/=/path@base64/L3Zhci90bXA
ghost   -                                2       5  never       push failed  -          -                     never         -    /metrics/job/ghost
node    instance=\"db 1\"                  2       5  2h 5m ago   push failed  -          2025-11-24T13:54:48Z  30s ago       -    /metrics/job/node/instance@base64/ZGIgMQ
node    instance=web-2                   2       5  24h ago     ok           -          2025-11-23T16:00:00Z  never         -    /metrics/job/node/instance/web-2
node    instance=web-10                  2       5  3m 12s ago  ok           in 6m 47s  2025-11-24T15:56:47Z  never         24h  /metrics/job/node/instance/web-10
";
    assert_eq!(text, expected, "\n{text}");
}

#[test]
fn eighty_columns_wrap_whole_labels_and_drop_wide_columns() {
    let mut groups = fixture();
    groups[0].group.key = GroupingKey::new([
        ("job", "backup"),
        ("path", "/var/lib/backups/nightly/full/and/a/very/long/tail"),
        ("host", "db-primary-1.eu-west.example.com"),
        ("branch", "feature/very-long-branch-name-for-testing"),
    ]);
    for wide in [false, true] {
        let text = render_table(&groups, NOW, wide, &Style::plain(80));
        assert!(text.lines().all(|l| l.chars().count() <= 80), "\n{text}");
        assert!(text.contains("3m 12s ago"), "ages are whole\n{text}");
        // Every label is whole on one line, or cut with `…`.
        for label in [
            "host=db-primary-1.eu-west.example.com",
            "branch=feature/very-long-branch-name-for-testing",
            "instance=web-10",
        ] {
            let whole_or_cut = |w: &&str| {
                *w == label || (w.ends_with('…') && label.starts_with(w.trim_end_matches('…')))
            };
            let words: Vec<&str> = text.split_whitespace().collect();
            assert!(words.iter().any(whole_or_cut), "{label}\n{text}");
            let broken = words
                .iter()
                .any(|w| w.len() < label.len() && label.starts_with(w) && !w.ends_with('='));
            assert!(!broken, "{label} is broken\n{text}");
        }
        assert!(text.contains("path=/var/lib/backups/n"), "\n{text}");
        assert!(!text.contains("PATH"), "PATH goes first\n{text}");
    }
    // A terminal too narrow for anything keeps the floors.
    let tiny = render_table(&groups, NOW, false, &Style::plain(10));
    assert!(tiny.contains("instance=web-10"), "\n{tiny}");
}

#[test]
fn json_snapshot() {
    let groups = fixture();
    let text = render_json(&groups[2..3], NOW);
    let expected = r#"{
  "groups": [
    {
      "labels": {
        "instance": "db 1",
        "job": "node"
      },
      "path": "/metrics/job/node/instance@base64/ZGIgMQ",
      "metrics": 2,
      "series": 5,
      "last_push": "2025-11-24T13:54:48Z",
      "last_push_unix": 1763992488.0,
      "last_push_age_seconds": 7512.0,
      "last_push_ok": false,
      "last_failure_unix": 1763999970.0,
      "expire_after_seconds": null,
      "expires_in_seconds": null,
      "status": "push failed",
      "job_exit_code": null,
      "job_last_success_unix": null,
      "job_last_success_age_seconds": null
    }
  ]
}
"#;
    assert_eq!(text, expected, "\n{text}");
    assert_eq!(render_json(&[], NOW), "{\n  \"groups\": []\n}\n");
}

#[test]
fn age_order_puts_the_oldest_first() {
    let mut groups = fixture();
    sort(&mut groups, SortOrder::Age, false);
    let jobs: Vec<_> = groups.iter().map(|l| l.group.key.to_string()).collect();
    assert_eq!(
        jobs,
        [
            r#"{job="ghost"}"#,
            r#"{instance="",job="backup",path="/var/tmp"}"#,
            r#"{instance="web-2",job="node"}"#,
            r#"{instance="db 1",job="node"}"#,
            r#"{instance="web-10",job="node"}"#,
        ]
    );
    sort(&mut groups, SortOrder::Age, true);
    assert_eq!(groups[0].group.key.get("instance"), Some("web-10"));
}

fn families() -> Vec<Family> {
    let series = |v: Value| vec![v];
    vec![
        Family {
            name: "job_duration_seconds".into(),
            kind: "HISTOGRAM".into(),
            help: Some("Duration.".into()),
            time_stamp: Some("2025-11-24T15:56:47.6Z".into()),
            series: series(serde_json::json!({
                "labels": {"instance": "web-10", "job": "node"},
                "buckets": {"+Inf": "4", "0.5": "1", "1": "3"},
                "count": "4", "sum": "2.5"
            })),
        },
        Family {
            name: "job_runs_total".into(),
            kind: "COUNTER".into(),
            help: None,
            time_stamp: None,
            series: vec![
                serde_json::json!({"labels": {"instance": "web-10", "job": "node"}, "value": "7"}),
                serde_json::json!({"labels": {"instance": "web-10", "job": "node", "result": "fail ed"}, "value": "1"}),
            ],
        },
        Family {
            name: "pgw_job_last_success_time_seconds".into(),
            kind: "GAUGE".into(),
            help: None,
            time_stamp: None,
            series: series(
                serde_json::json!({"labels": {"job": "node"}, "value": "1.7639998076e+09"}),
            ),
        },
    ]
}

#[test]
fn metrics_snapshot() {
    let groups = fixture();
    let g = &groups[4];
    let text = render_metrics(g, &families(), NOW, false, &Style::plain(100));
    let expected = "\
{instance=\"web-10\",job=\"node\"}  2 metrics, 5 series, last push 3m 12s ago, ok

METRIC                             TYPE       LABELS            VALUE
job_duration_seconds               histogram  -                 count=4 sum=2.5
job_runs_total                     counter    -                 7
job_runs_total                     counter    result=\"fail ed\"  1
pgw_job_last_success_time_seconds  gauge      -                 2025-11-24T15:56:47Z (3m 12s ago)
";
    assert_eq!(text, expected, "\n{text}");
    let wide = render_metrics(g, &families(), NOW, true, &Style::plain(200));
    let line = wide
        .lines()
        .find(|l| l.starts_with("job_duration"))
        .unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        words[3..],
        [
            "count=4",
            "sum=2.5",
            "0.5=1",
            "1=3",
            "+Inf=4",
            "2025-11-24T15:56:47.6Z",
            "Duration."
        ],
        "\n{wide}"
    );
}

#[test]
fn metrics_at_eighty_columns_keep_names_whole() {
    let groups = fixture();
    let g = &groups[4];
    let text = render_metrics(g, &families(), NOW, true, &Style::plain(80));
    assert!(text.lines().all(|l| l.chars().count() <= 80), "\n{text}");
    let names = text
        .lines()
        .filter(|l| l.starts_with("pgw_job_last_success_time_seconds "));
    assert_eq!(names.count(), 1, "one line starts with the name\n{text}");
    assert!(text.contains("2025-11-24T15:56:47Z"), "\n{text}");
    assert!(!text.contains("1.7639998076e+09"), "\n{text}");
}

#[test]
fn times_show_only_where_the_name_says_so() {
    let t = |f: &str, v: &str| show_time(f, v, NOW);
    assert_eq!(
        t("process_start_time_seconds", "1763999000"),
        Some(vec![
            "2025-11-24T15:43:20Z".to_string(),
            "(16m 40s ago)".to_string()
        ])
    );
    assert_eq!(
        t("x_timestamp_seconds", "1764000060")
            .unwrap()
            .last()
            .unwrap(),
        "(in 1m)"
    );
    assert_eq!(t("job_duration_seconds", "1763999000"), None);
    assert_eq!(t("push_failure_time_seconds", "0"), None);
}

#[test]
fn metrics_json_keeps_the_gateway_series() {
    let groups = fixture();
    let text = render_metrics_json(&groups[4], &families(), NOW);
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["group"]["labels"]["instance"], "web-10");
    assert_eq!(doc["metrics"][0]["type"], "HISTOGRAM");
    assert_eq!(doc["metrics"][0]["series"][0]["buckets"]["+Inf"], "4");
    assert_eq!(doc["metrics"][1]["help"], Value::Null);
    assert_eq!(doc["metrics"][2]["series"][0]["value"], "1.7639998076e+09");
}

#[test]
fn values_that_need_it_are_quoted() {
    assert_eq!(show_value("web-1"), "web-1");
    assert_eq!(show_value("/var/tmp"), "/var/tmp");
    assert_eq!(show_value(""), "\"\"");
    assert_eq!(show_value("a b"), "\"a b\"");
    assert_eq!(show_value("a,b"), "\"a,b\"");
    assert_eq!(show_value("Προμηθεύς"), "Προμηθεύς");
}
