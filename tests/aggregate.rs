//! Aggregation (`Pgw-Aggregate: sum`, `--push.aggregate-jobs`) on real
//! processes: twenty Python workers at once add up in one group, a real
//! Prometheus computes the exact totals, and they survive SIGKILL and
//! SIGTERM with persistence; every refusal is a 400 that names its cause and
//! leaves the group as it was; gauges by mode, summaries without quantiles,
//! native histograms of two schemas added as protobuf; the flag; the
//! group's mark in the JSON API; expiry and DELETE of aggregated groups.

use std::process::Command;
use std::time::Duration;

use prost::Message;

use crate::pb;
use crate::util::*;

const SUM: (&str, &str) = ("Pgw-Aggregate", "sum");
const PROTO_CT: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

fn aggregate(base: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
    request("POST", &format!("{base}{path}"), headers, body.as_bytes())
}

/// The text of the group of job `job` without its failure time, which
/// every refusal sets.
fn scrape(base: &str, job: &str) -> String {
    let r = get(&format!("{base}/api/v1/group/job/{job}"));
    assert_eq!(r.status, 200);
    r.text()
        .lines()
        .filter(|l| !l.contains("push_failure_time_seconds"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The value of the series that a scrape line starts with.
fn value(base: &str, series: &str) -> Option<f64> {
    get(&format!("{base}/metrics"))
        .text()
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Runs the workers 1..=n of tests/python/aggregate_push.py at once.
fn python_workers(base: &str, n: u32) {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/aggregate_push.py"
    );
    let children: Vec<_> = (1..=n)
        .map(|i| {
            Command::new("python3")
                .arg(script)
                .arg(base)
                .arg(i.to_string())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("run python3")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a worker failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn groups_entry(base: &str, job: &str) -> serde_json::Value {
    let r = get(&format!("{base}/api/v1/groups")).json();
    r["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["labels"]["job"] == job)
        .cloned()
        .unwrap_or_else(|| panic!("no group of job {job} in {r}"))
}

#[test]
fn twenty_python_workers_add_up_and_the_totals_survive_restarts() {
    require_python_client();
    let dir = TempDir::new("aggregate");
    let file = format!("--persistence.file={}", dir.path().join("store").display());
    let mut g = Pgw::start(&[&file]);
    python_workers(&g.url(), 20);
    // 1 + 2 + ... + 20 rows; as many observations of 0.25 s, and one of 5 s
    // per worker.
    let prometheus = Prometheus::scraping_gateway(g.port);
    let query = |q: &str| -> f64 {
        let r = prometheus.query_until(q, 1);
        assert_eq!(r.len(), 1, "{q}: {r:?}");
        r[0]["value"][1].as_str().unwrap().parse().unwrap()
    };
    assert_eq!(query("agg_rows_total{job=\"agg-py\"}"), 210.0);
    assert_eq!(query("agg_duration_seconds_count{job=\"agg-py\"}"), 230.0);
    assert_eq!(query("agg_duration_seconds_sum{job=\"agg-py\"}"), 152.5);
    assert_eq!(
        query("agg_duration_seconds_bucket{job=\"agg-py\",le=\"0.5\"}"),
        210.0
    );
    assert_eq!(
        query("sum(agg_duration_seconds_bucket{job=\"agg-py\",le=\"+Inf\"})"),
        230.0
    );
    assert_eq!(groups_entry(&g.url(), "agg-py")["aggregate"], "sum");
    drop(prometheus);

    let rows = "agg_rows_total{instance=\"\",job=\"agg-py\"}";
    let count = "agg_duration_seconds_count{instance=\"\",job=\"agg-py\"}";
    // SIGKILL: the journal replays every aggregated push in order.
    g.proc.signal("KILL");
    g.proc.wait_exit(Duration::from_secs(20)).expect("killed");
    let mut g = Pgw::start(&[&file]);
    assert_eq!(value(&g.url(), rows), Some(210.0));
    assert_eq!(value(&g.url(), count), Some(230.0));
    assert_eq!(groups_entry(&g.url(), "agg-py")["aggregate"], "sum");
    // Further pushes continue from the totals.
    python_workers(&g.url(), 2);
    assert_eq!(value(&g.url(), rows), Some(213.0));
    // SIGTERM: the store is written as a snapshot, the mark with it.
    g.terminate();
    let mut g = Pgw::start(&[&file]);
    assert_eq!(value(&g.url(), rows), Some(213.0));
    assert_eq!(value(&g.url(), count), Some(235.0));
    assert_eq!(groups_entry(&g.url(), "agg-py")["aggregate"], "sum");
    python_workers(&g.url(), 1);
    assert_eq!(value(&g.url(), rows), Some(214.0));
    g.terminate();
}

#[test]
fn every_refusal_is_a_400_that_names_it_and_leaves_the_group_as_it_was() {
    let g = Pgw::start(&[]);
    let base = g.url();
    let path = "/metrics/job/w";
    let first = "# TYPE c counter\nc{k=\"a\"} 3\n# TYPE g gauge\ng 1\n\
                 # TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n";
    assert_eq!(aggregate(&base, path, &[SUM], first).status, 200);
    assert_eq!(aggregate(&base, path, &[SUM], first).status, 200);
    assert_eq!(
        value(&base, "c{instance=\"\",job=\"w\",k=\"a\"}"),
        Some(6.0)
    );
    let before = scrape(&base, "w");
    let failure = "push_failure_time_seconds{instance=\"\",job=\"w\"}";
    assert_eq!(value(&base, failure), Some(0.0));
    for (body, headers, named) in [
        (
            "# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
            &[SUM][..],
            "bucket bounds [2] but the group has [1]",
        ),
        (
            "# TYPE c counter\nc{k=\"a\"} -1\n",
            &[SUM][..],
            "counter c{instance=\"\",job=\"w\",k=\"a\"} goes down",
        ),
        ("u 1\n", &[SUM][..], "metric family u is untyped"),
        (
            "# TYPE g counter\ng 1\n",
            &[SUM][..],
            "g is pushed as counter but the group has it as gauge",
        ),
        // A good family beside a bad one: nothing is applied.
        (
            "# TYPE g gauge\ng 7\n# TYPE c counter\nc{k=\"a\"} -2\n",
            &[SUM][..],
            "goes down",
        ),
        (
            "# TYPE c counter\nc{k=\"a\"} 1\n",
            &[("Pgw-Aggregate", "avg")][..],
            "Pgw-Aggregate header must be sum, got \"avg\"",
        ),
        (
            "# TYPE c counter\nc{k=\"a\"} 1\n",
            &[SUM, ("Pgw-Aggregate-Gauges", "mean")][..],
            "Pgw-Aggregate-Gauges header must be one of sum, max, min or last, got \"mean\"",
        ),
    ] {
        let r = aggregate(&base, path, headers, body);
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        assert!(r.text().contains(named), "{body}: {}", r.text());
        assert_eq!(scrape(&base, "w"), before, "{body}");
        // As every refused push, it sets the failure time.
        assert!(value(&base, failure).unwrap() > 0.0, "{body}");
    }
    // DELETE ignores the header.
    let r = request(
        "DELETE",
        &format!("{base}{path}"),
        &[("Pgw-Aggregate", "avg")],
        b"",
    );
    assert_eq!(r.status, 202);
    assert!(g.jobs().is_empty());
}

#[test]
fn gauges_follow_their_header_and_summaries_lose_their_quantiles() {
    let g = Pgw::start(&[]);
    let base = g.url();
    for (mode, want) in [("last", 2.0), ("sum", 5.0), ("max", 3.0), ("min", 2.0)] {
        let path = format!("/metrics/job/{mode}");
        let headers = [SUM, ("Pgw-Aggregate-Gauges", mode)];
        assert_eq!(
            aggregate(&base, &path, &headers, "# TYPE g gauge\ng 3\n").status,
            200
        );
        assert_eq!(
            aggregate(&base, &path, &headers, "# TYPE g gauge\ng 2\n").status,
            200
        );
        assert_eq!(
            value(&base, &format!("g{{instance=\"\",job=\"{mode}\"}}")),
            Some(want),
            "{mode}"
        );
    }
    // Without the gauges header: last.
    let path = "/metrics/job/default";
    aggregate(&base, path, &[SUM], "# TYPE g gauge\ng 3\n");
    aggregate(&base, path, &[SUM], "# TYPE g gauge\ng 4\n");
    assert_eq!(value(&base, "g{instance=\"\",job=\"default\"}"), Some(4.0));

    let summary = "# TYPE s summary\ns{quantile=\"0.5\"} 0.2\ns{quantile=\"0.9\"} 0.7\ns_sum 1.5\ns_count 3\n";
    let path = "/metrics/job/s";
    assert_eq!(aggregate(&base, path, &[SUM], summary).status, 200);
    assert_eq!(aggregate(&base, path, &[SUM], summary).status, 200);
    assert_eq!(value(&base, "s_sum{instance=\"\",job=\"s\"}"), Some(3.0));
    assert_eq!(value(&base, "s_count{instance=\"\",job=\"s\"}"), Some(6.0));
    let s = scrape(&base, "s");
    assert!(s.contains("s_count") && !s.contains("quantile"), "{s}");
}

fn native(
    schema: i32,
    spans: &[(i32, u32)],
    deltas: &[i64],
    zero: u64,
    count: u64,
    sum: f64,
) -> pb::Histogram {
    pb::Histogram {
        sample_count: Some(count),
        sample_sum: Some(sum),
        schema: Some(schema),
        zero_threshold: Some(0.001),
        zero_count: Some(zero),
        positive_span: spans
            .iter()
            .map(|&(offset, length)| pb::BucketSpan {
                offset: Some(offset),
                length: Some(length),
            })
            .collect(),
        positive_delta: deltas.to_vec(),
        ..Default::default()
    }
}

fn push_native(base: &str, h: pb::Histogram) -> Resp {
    let family = pb::MetricFamily {
        name: Some("rpc_seconds".into()),
        help: Some("RPC latency.".into()),
        r#type: Some(4),
        metric: vec![pb::Metric {
            histogram: Some(h),
            ..Default::default()
        }],
    };
    let mut body = Vec::new();
    family.encode_length_delimited(&mut body).unwrap();
    request(
        "POST",
        &format!("{base}/metrics/job/n"),
        &[("Content-Type", PROTO_CT), SUM],
        &body,
    )
}

#[test]
fn native_histograms_add_and_a_finer_schema_is_reduced_to_the_coarser() {
    let g = Pgw::start(&[]);
    let base = g.url();
    // Schema 0: zero bucket 1, (0.5,1] 2, (1,2] 1.
    let r = push_native(&base, native(0, &[(0, 2)], &[2, -1], 1, 4, 3.5));
    assert_eq!(r.status, 200, "{}", r.text());
    // Schema 1: (1,1.41] 1 and (1.41,2] 2, which are (1,2] of schema 0.
    let r = push_native(&base, native(1, &[(1, 2)], &[1, 1], 0, 3, 4.0));
    assert_eq!(r.status, 200, "{}", r.text());
    let page = get(&format!("{base}/api/v1/group/job/n")).text();
    assert!(
        page.contains("{count:7, sum:7.5, [-0.001,0.001]:1, (0.5,1]:2, (1,2]:4}"),
        "{page}"
    );
    assert_eq!(
        value(&base, "rpc_seconds_count{instance=\"\",job=\"n\"}"),
        Some(7.0)
    );
    // A different zero threshold is refused, naming both.
    let mut other = native(0, &[(0, 1)], &[1], 0, 1, 1.0);
    other.zero_threshold = Some(0.5);
    let r = push_native(&base, other);
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("zero threshold 0.5 and the group 0.001"),
        "{}",
        r.text()
    );
    // A classic histogram into a native one is refused.
    let classic = pb::Histogram {
        sample_count: Some(1),
        sample_sum: Some(1.0),
        ..Default::default()
    };
    let r = push_native(&base, classic);
    assert_eq!(r.status, 400);
    assert!(
        r.text()
            .contains("pushed classic but the group has it native"),
        "{}",
        r.text()
    );
}

#[test]
fn the_flag_makes_plain_posts_of_matching_jobs_aggregate_and_a_bad_regex_stops_the_start() {
    let e = refused_start_with(2, &["--push.aggregate-jobs=fn-("]);
    assert!(
        e.contains("--push.aggregate-jobs: \"fn-(\" is not a valid regex"),
        "{e}"
    );
    let g = Pgw::start(&["--push.aggregate-jobs=fn-.*"]);
    let base = g.url();
    for job in ["fn-a", "xfn-a"] {
        for _ in 0..2 {
            let r = post(
                &format!("{base}/metrics/job/{job}"),
                "# TYPE c counter\nc 2\n",
            );
            assert_eq!(r.status, 200);
        }
    }
    // Anchored: only fn-a matches.
    assert_eq!(value(&base, "c{instance=\"\",job=\"fn-a\"}"), Some(4.0));
    assert_eq!(value(&base, "c{instance=\"\",job=\"xfn-a\"}"), Some(2.0));
    assert_eq!(groups_entry(&base, "fn-a")["aggregate"], "sum");
    assert!(groups_entry(&base, "xfn-a").get("aggregate").is_none());
    // A PUT of a matching job resets the group and keeps it aggregating.
    assert_eq!(
        put(
            &format!("{base}/metrics/job/fn-a"),
            "# TYPE c counter\nc 1\n"
        )
        .status,
        200
    );
    assert_eq!(value(&base, "c{instance=\"\",job=\"fn-a\"}"), Some(1.0));
    assert_eq!(groups_entry(&base, "fn-a")["aggregate"], "sum");
    // The gauges header still applies.
    let r = aggregate(
        &base,
        "/metrics/job/fn-a",
        &[("Pgw-Aggregate-Gauges", "sum")],
        "# TYPE g gauge\ng 1\n",
    );
    assert_eq!(r.status, 200);
    aggregate(
        &base,
        "/metrics/job/fn-a",
        &[("Pgw-Aggregate-Gauges", "sum")],
        "# TYPE g gauge\ng 1\n",
    );
    assert_eq!(value(&base, "g{instance=\"\",job=\"fn-a\"}"), Some(2.0));
}

#[test]
fn the_mark_shows_in_both_json_apis_and_a_plain_put_resets_and_clears_it() {
    let g = Pgw::start(&[]);
    let base = g.url();
    let url = format!("{base}/metrics/job/m");
    assert_eq!(
        aggregate(&base, "/metrics/job/m", &[SUM], "# TYPE c counter\nc 1\n").status,
        200
    );
    let group = |api: serde_json::Value| api["data"][0].clone();
    assert_eq!(group(g.api())["aggregate"], "sum");
    assert_eq!(groups_entry(&base, "m")["aggregate"], "sum");
    // pgw's own client still reads the group.
    let listed = stdout(&expect(0, &["list", "-g", &base, "-o", "json"]));
    assert!(listed.contains("\"path\": \"/metrics/job/m\""), "{listed}");
    // PUT with the header: a reset, still aggregating.
    let r = request("PUT", &url, &[SUM], b"# TYPE c counter\nc 5\n");
    assert_eq!(r.status, 200);
    aggregate(&base, "/metrics/job/m", &[SUM], "# TYPE c counter\nc 1\n");
    assert_eq!(value(&base, "c{instance=\"\",job=\"m\"}"), Some(6.0));
    assert_eq!(group(g.api())["aggregate"], "sum");
    // PUT without it: replaced, and no longer marked.
    assert_eq!(put(&url, "# TYPE c counter\nc 1\n").status, 200);
    assert!(group(g.api()).get("aggregate").is_none());
    assert!(groups_entry(&base, "m").get("aggregate").is_none());
    // A plain POST then replaces, as always.
    post(&url, "# TYPE c counter\nc 1\n");
    assert_eq!(value(&base, "c{instance=\"\",job=\"m\"}"), Some(1.0));
}

#[test]
fn expiry_resets_an_idle_aggregated_group_and_delete_removes_it() {
    let g = Pgw::start(&["--expire-after=1s"]);
    let base = g.url();
    let path = "/metrics/job/idle";
    aggregate(&base, path, &[SUM], "# TYPE c counter\nc 2\n");
    aggregate(&base, path, &[SUM], "# TYPE c counter\nc 2\n");
    assert_eq!(value(&base, "c{instance=\"\",job=\"idle\"}"), Some(4.0));
    // Idle past its time to live: gone, and the next push starts from zero.
    let gone = poll(Duration::from_secs(20), || {
        g.jobs().is_empty().then_some(())
    });
    assert!(
        gone.is_some(),
        "the idle group did not expire: {:?}",
        g.jobs()
    );
    aggregate(&base, path, &[SUM], "# TYPE c counter\nc 2\n");
    assert_eq!(value(&base, "c{instance=\"\",job=\"idle\"}"), Some(2.0));
    assert_eq!(delete(&format!("{base}{path}")).status, 202);
    assert!(g.jobs().is_empty());
    // The clean-up API selects aggregated groups like any other.
    aggregate(&base, path, &[SUM], "# TYPE c counter\nc 2\n");
    let r = delete(&format!("{base}/api/v1/groups?match=job%3D%22idle%22"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["data"]["groups"][0]["labels"]["job"], "idle");
    assert!(g.jobs().is_empty());
}

#[test]
fn the_page_shows_which_groups_aggregate() {
    require("chromium");
    require("chromedriver");
    let g = Pgw::start(&[]);
    let base = g.url();
    aggregate(
        &base,
        "/metrics/job/summed",
        &[SUM],
        "# TYPE c counter\nc 1\n",
    );
    post(
        &format!("{base}/metrics/job/plain"),
        "# TYPE c counter\nc 1\n",
    );
    let shots = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("aggregate-page");
    std::fs::create_dir_all(&shots).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/ui_check.py");
    let out = Command::new("python3")
        .args([script, "badges", &base, shots.to_str().unwrap(), "2"])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "ui_check.py badges failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let badges = |job: &str| -> Vec<serde_json::Value> {
        let (_, b) = seen
            .as_object()
            .unwrap()
            .iter()
            .find(|(k, _)| k.contains(job))
            .unwrap_or_else(|| panic!("no row of {job}: {seen}"));
        b.as_array().unwrap().clone()
    };
    assert_eq!(
        badges("summed"),
        vec![serde_json::json!("aggregate: sum")],
        "{seen}"
    );
    assert!(badges("plain").is_empty(), "{seen}");
}
