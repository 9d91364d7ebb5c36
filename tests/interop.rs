//! pgw next to the real ecosystem: the same request sequence sent to the
//! official Pushgateway and to `pgw serve` must give the same status codes,
//! the same exposed series and the same JSON; a real Prometheus scraping pgw
//! with `honor_labels: true` must store the pushed labels untouched; and the
//! official Python client must see the same groups on both servers. The
//! binaries come from `.ci/install-deps.sh`; a missing one fails the test.

use std::collections::BTreeSet;
use std::process::Command;

use pgw::exposition::{proto, Family, Label, Metric, MetricType, Value};
use serde_json::{json, Value as Json};

use crate::util::*;

const PROTO_CT: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// One step of the differential sequence.
struct Step {
    method: &'static str,
    path: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    body: Vec<u8>,
}

fn step(method: &'static str, path: &'static str, body: &str) -> Step {
    Step {
        method,
        path,
        headers: Vec::new(),
        body: body.as_bytes().to_vec(),
    }
}

fn protobuf_body() -> Vec<u8> {
    let mut f = Family::new("pb_requests_total", MetricType::Counter);
    f.help = Some("Requests.".into());
    f.metrics.push(Metric {
        labels: vec![Label::new("code", "200")],
        value: Value::Single(7.0),
        timestamp_ms: None,
        extras: None,
    });
    let mut s = Family::new("pb_latency_seconds", MetricType::Summary);
    s.metrics.push(Metric {
        labels: vec![],
        value: Value::Summary {
            sample_count: 40.0,
            sample_sum: 12.5,
            quantiles: vec![(0.5, 0.2), (0.9, 0.7)],
        },
        timestamp_ms: None,
        extras: None,
    });
    proto::encode_delimited(&[f, s])
}

/// The sequence: good and bad pushes of every kind. It leaves out what pgw
/// changes on purpose (CRLF/BOM bodies, pushes that poison the official
/// store, `go_*` names, differing HELP, snappy) and, because the official
/// server creates a failed group for any push refused by its consistency
/// check, sends such pushes only to groups that exist already.
fn sequence() -> Vec<Step> {
    let batch = "# HELP job_runs_total Runs.\n# TYPE job_runs_total counter\n\
        job_runs_total{job=\"ignored\",instance=\"x\"} 7\n\
        # HELP job_duration_seconds Duration.\n# TYPE job_duration_seconds histogram\n\
        job_duration_seconds_bucket{le=\"0.5\"} 1\njob_duration_seconds_bucket{le=\"1\"} 3\n\
        job_duration_seconds_bucket{le=\"+Inf\"} 4\njob_duration_seconds_sum 2.5\njob_duration_seconds_count 4\n\
        # TYPE rpc_seconds summary\nrpc_seconds{quantile=\"0.5\"} 0.2\nrpc_seconds_sum 12.5\nrpc_seconds_count 40\n";
    vec![
        step("PUT", "/metrics/job/batch", batch),
        step(
            "PUT",
            "/metrics/job/batch/instance/i1",
            "# TYPE temp gauge\ntemp{room=\"a\"} 21.5\ntemp{room=\"b\"} NaN\n",
        ),
        step("POST", "/metrics/job/batch", "extra 1\n"),
        step(
            "POST",
            "/metrics/job/batch/instance/i1",
            "# TYPE temp gauge\ntemp{room=\"b\"} 19\n",
        ),
        step(
            "PUT",
            "/metrics/job@base64/dGVzdC9qb2I/path@base64/L3Zhci90bXA",
            "b64 1\n",
        ),
        step(
            "PUT",
            "/metrics/job/lbl/foo/bar",
            "m1{foo=\"baz\",job=\"zzz\",instance=\"body\"} 1\n",
        ),
        step(
            "PUT",
            "/metrics/job/empty/first@base64/=/second/x",
            "e 1e+06\n",
        ),
        step("PUT", "/metrics/job/plus/l/a+b%20c", "p +Inf\n"),
        step(
            "PUT",
            "/metrics/job/utf/name@base64/zqDPgc6_zrzOt864zrXPjc-C",
            "u 0.00001\n",
        ),
        step("PUT", "/metrics/job/batch", "bad{\n"),
        step(
            "PUT",
            "/metrics/job/other",
            "# TYPE temp gauge\ntemp{room=\"c\"} 5\n",
        ),
        // `extra` is untyped in {job=batch}.
        step(
            "POST",
            "/metrics/job/other",
            "# TYPE extra counter\nextra 2\n",
        ),
        step("PUT", "/metrics/job/other", "ts 1 1000\n"),
        step("PUT", "/metrics/job/other/a", "m 1\n"),
        step("PUT", "/metrics/job/x/lbl@base64/Pz8+", "m 1\n"),
        step("PUT", "/metrics/job@base64/=", "m 1\n"),
        step("GET", "/metrics/job/x", ""),
        step(
            "PUT",
            "/metrics/job/lbl/foo/bar",
            "m1{foo=\"x\"} 1\nm1{foo=\"y\"} 2\n",
        ),
        step("PUT", "/metrics/job/other", "m{__foo=\"x\"} 1\n"),
        step("PUT", "/metrics/job/dup", "first 1\n"),
        step("PUT", "/metrics/job/dup/instance/i", "d 1\n"),
        step("PUT", "/metrics/job/dup", "d{instance=\"i\"} 2\n"),
        step("DELETE", "/metrics/job/batch", ""),
        step("DELETE", "/metrics/job/nonexistent", ""),
        Step {
            method: "PUT",
            path: "/metrics/job/zip",
            headers: vec![("Content-Encoding", "gzip")],
            body: gzip(b"# HELP zipped Compressed.\nzipped{a=\"1\"} 1\n"),
        },
        step("POST", "/metrics/job/zip", ""),
        Step {
            method: "PUT",
            path: "/metrics/job/pb",
            headers: vec![("Content-Type", PROTO_CT)],
            body: protobuf_body(),
        },
        step("PUT", "/metrics/job/x/", "slash 1\n"),
        step(
            "PUT",
            "/metrics/job/other",
            "# TYPE temp gauge\ntemp{room=\"c\"} 6\n",
        ),
    ]
}

/// Push and failure times differ between runs; whether they are 0 does not.
fn normalise_series(set: BTreeSet<Series>) -> BTreeSet<Series> {
    set.into_iter()
        .map(|(name, labels, value)| {
            if name == "push_time_seconds" || name == "push_failure_time_seconds" {
                let v = if value == "0" { "0" } else { "nonzero" };
                (name, labels, v.to_string())
            } else {
                (name, labels, value)
            }
        })
        .collect()
}

/// `/api/v1/metrics` without what may differ: group order (random upstream),
/// family time stamps, push/failure time values (only zero or not is kept)
/// and the order of series inside a family. What is kept of the time stamps
/// is whether the failure time's equals the push time's: upstream stamps
/// each only when it changes.
fn normalise_api(mut v: Json) -> Json {
    let groups = v["data"].as_array_mut().expect("data array");
    for group in groups.iter_mut() {
        let stamp = |name: &str| group[name]["time_stamp"].as_str().map(str::to_owned);
        let same = stamp("push_time_seconds") == stamp("push_failure_time_seconds");
        group["failure_stamped_with_push"] = json!(same);
        for (name, family) in group.as_object_mut().unwrap() {
            if name == "failure_stamped_with_push" {
                continue;
            }
            if name == "labels" || name == "last_push_successful" {
                continue;
            }
            family["time_stamp"] = json!("T");
            let synthetic = name == "push_time_seconds" || name == "push_failure_time_seconds";
            let metrics = family["metrics"].as_array_mut().unwrap();
            for m in metrics.iter_mut() {
                if synthetic {
                    let zero = m["value"] == json!("0");
                    m["value"] = json!(if zero { "0" } else { "nonzero" });
                }
            }
            metrics.sort_by_key(|m| m.to_string());
        }
    }
    groups.sort_by_key(|g| g["labels"].to_string());
    v
}

#[test]
fn same_requests_same_answers_as_the_official_pushgateway() {
    let official = Official::start(&[]);
    let pgw = Pgw::start(&[]);
    let mut failures = Vec::new();
    for (i, s) in sequence().iter().enumerate() {
        let send =
            |base: &str| request(s.method, &format!("{base}{}", s.path), &s.headers, &s.body);
        let want = send(&official.url());
        let got = send(&pgw.url());
        if want.status != got.status {
            failures.push(format!(
                "step {i}: {} {}: official {} {:?}, pgw {} {:?}",
                s.method,
                s.path,
                want.status,
                want.text(),
                got.status,
                got.text()
            ));
        }
    }
    let want = normalise_series(scrape_pushed(&format!("{}/metrics", official.url())));
    let got = normalise_series(scrape_pushed(&format!("{}/metrics", pgw.url())));
    for missing in want.difference(&got) {
        failures.push(format!("series only in official: {missing:?}"));
    }
    for extra in got.difference(&want) {
        failures.push(format!("series only in pgw: {extra:?}"));
    }
    let want = normalise_api(get(&format!("{}/api/v1/metrics", official.url())).json());
    let got = normalise_api(get(&format!("{}/api/v1/metrics", pgw.url())).json());
    // The sequence refuses pushes to groups that exist: some group's two
    // time stamps differ, or the comparison of stamps would prove nothing.
    let stamps = |v: &Json| -> Vec<bool> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["failure_stamped_with_push"].as_bool().unwrap())
            .collect()
    };
    assert!(stamps(&want).contains(&false), "{want}");
    if want != got {
        failures.push(format!(
            "/api/v1/metrics differs:\nofficial: {}\npgw:      {}",
            serde_json::to_string_pretty(&want).unwrap(),
            serde_json::to_string_pretty(&got).unwrap()
        ));
    }
    assert!(
        failures.is_empty(),
        "{} difference(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn metric_labels(sample: &Json) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = sample["metric"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    v.sort();
    v
}

#[test]
fn prometheus_scrapes_pushed_series_with_their_own_labels() {
    let pgw = Pgw::start(&[]);
    let prometheus = Prometheus::scraping_gateway(pgw.port);
    let u = pgw.url();
    assert_eq!(
        put(
            &format!("{u}/metrics/job/thermo/instance/box1"),
            "# TYPE interop_temp gauge\ninterop_temp{room=\"kitchen\"} 21.5\n"
        )
        .status,
        200
    );
    assert_eq!(
        put(
            &format!("{u}/metrics/job/nightly"),
            "# TYPE interop_runs_total counter\ninterop_runs_total{result=\"ok\"} 7\n"
        )
        .status,
        200
    );

    let temp = prometheus.query_until("interop_temp", 1);
    assert_eq!(temp.len(), 1, "{temp:?}");
    assert_eq!(
        metric_labels(&temp[0]),
        labels(&[
            ("__name__", "interop_temp"),
            ("job", "thermo"),
            ("instance", "box1"),
            ("room", "kitchen")
        ])
    );
    assert_eq!(temp[0]["value"][1], json!("21.5"));

    // instance="" keeps Prometheus from filling in the gateway's address,
    // and an empty label is no label at all in Prometheus.
    let runs = prometheus.query_until("interop_runs_total", 1);
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(
        metric_labels(&runs[0]),
        labels(&[
            ("__name__", "interop_runs_total"),
            ("job", "nightly"),
            ("result", "ok")
        ])
    );
    assert_eq!(runs[0]["value"][1], json!("7"));

    let times = prometheus.query_until("push_time_seconds", 2);
    let mut jobs: Vec<Vec<(String, String)>> = times.iter().map(metric_labels).collect();
    jobs.sort();
    let mut want = vec![
        labels(&[("__name__", "push_time_seconds"), ("job", "nightly")]),
        labels(&[
            ("__name__", "push_time_seconds"),
            ("job", "thermo"),
            ("instance", "box1"),
        ]),
    ];
    want.sort();
    assert_eq!(jobs, want);
    let exported = prometheus.query_until("{exported_job=~\".+\"}", 0);
    assert!(exported.is_empty(), "exported_job appeared: {exported:?}");
}

/// A group as the Python test sees it: grouping labels and family names.
type GroupSummary = (Vec<(String, String)>, Vec<String>);

/// Runs tests/python/client_push.py against `base` and returns the groups it
/// left.
fn python_push(base: &str) -> BTreeSet<GroupSummary> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/client_push.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(base)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "client_push.py against {base} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let api = get(&format!("{base}/api/v1/metrics")).json();
    api["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let labels: Vec<(String, String)> = g["labels"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect();
            let mut families: Vec<String> = g
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| {
                    ![
                        "labels",
                        "last_push_successful",
                        "push_time_seconds",
                        "push_failure_time_seconds",
                    ]
                    .contains(&k.as_str())
                })
                .cloned()
                .collect();
            families.sort();
            (labels, families)
        })
        .collect()
}

#[test]
fn python_client_pushes_and_deletes_with_escaped_grouping_keys() {
    require_python_client();
    let pgw = Pgw::start(&[]);
    let got = python_push(&pgw.url());
    let grp = |pairs: &[(&str, &str)], families: &[&str]| {
        let mut fams: Vec<String> = families.iter().map(|s| s.to_string()).collect();
        fams.sort();
        (labels(pairs), fams)
    };
    let want: BTreeSet<_> = [
        grp(
            &[
                ("job", "py/batch"),
                ("path", "/var/tmp"),
                ("note", "two words"),
                ("empty", ""),
            ],
            &["py_last_success_unixtime", "py_rows"],
        ),
        grp(
            &[
                ("job", "py-other"),
                ("instance", "host:9100"),
                ("tag", "ü&x"),
            ],
            &["py_runs_total"],
        ),
        grp(
            &[("job", "py-gone"), ("instance", "kept")],
            &["py_runs_total"],
        ),
    ]
    .into();
    assert_eq!(got, want);
    let series = scrape_pushed(&format!("{}/metrics", pgw.url()));
    let rows = (
        "py_rows".to_string(),
        labels(&[
            ("job", "py/batch"),
            ("path", "/var/tmp"),
            ("note", "two words"),
            ("empty", ""),
            ("instance", ""),
            ("table", "users"),
        ]),
        "42".to_string(),
    );
    assert!(series.contains(&rows), "{series:?}");

    let official = Official::start(&[]);
    assert_eq!(
        python_push(&official.url()),
        got,
        "the official server ended with other groups"
    );
}
