//! `pgw push --aggregate`, the client side of aggregation: what goes on the
//! wire (method, path, the `Pgw-Aggregate` headers, the wrapper's run
//! counters and duration histogram), seen by a small recording HTTP server;
//! the local refusals, which send nothing; and the official Pushgateway,
//! which ignores the header and merges the push as a plain POST.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::util::{
    self, assert_series, code, run_pgw, scrape_pushed, stderr, Input, Official, TempDir,
};

/// One request as the recorder read it.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    /// Names in lower case.
    headers: Vec<(String, String)>,
    body: String,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP server on port 0 that keeps every request and answers each with
/// an empty 200, as a gateway answers a push. A request is kept before it
/// is answered, so once `pgw push` has exited, every request it made is here.
struct Recorder {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Recorder {
    fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or_default().to_string();
                let path = parts.next().unwrap_or_default().to_string();
                let mut headers = Vec::new();
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).unwrap();
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    let (n, v) = h.split_once(':').expect("header line");
                    headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
                let len: usize = headers
                    .iter()
                    .find(|(n, _)| n == "content-length")
                    .map_or(0, |(_, v)| v.parse().unwrap());
                let mut body = vec![0; len];
                reader.read_exact(&mut body).unwrap();
                seen.lock().unwrap().push(Request {
                    method,
                    path,
                    headers,
                    body: String::from_utf8(body).unwrap(),
                });
                let mut stream = stream;
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        Recorder { port, requests }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// The one request a push made.
    #[track_caller]
    fn only(&self) -> Request {
        let all = self.requests();
        assert_eq!(all.len(), 1, "{all:#?}");
        all.into_iter().next().unwrap()
    }
}

/// `pgw push -g URL ARGS` with stdin at `/dev/null`.
fn push(url: &str, args: &[&str]) -> util::Run {
    let mut full = vec!["push", "-g", url];
    full.extend_from_slice(args);
    run_pgw(&full, Input::Null, &[])
}

/// The value of the sample line `series` (name and labels as written) in
/// `body`.
fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines().find_map(|l| {
        let rest = l.strip_prefix(series)?.strip_prefix(' ')?;
        Some(rest.parse().unwrap())
    })
}

#[test]
fn aggregate_sends_a_post_with_the_header() {
    let rec = Recorder::start();
    let run = push(
        &rec.url(),
        &[
            "--aggregate",
            "-j",
            "fleet",
            "-l",
            "shard=7",
            "--type=counter",
            "rows_total=5",
        ],
    );
    assert_eq!(code(&run), 0, "{run:#?}");
    let req = rec.only();
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/metrics/job/fleet/shard/7");
    assert_eq!(req.header("pgw-aggregate"), Some("sum"));
    assert_eq!(req.header("pgw-aggregate-gauges"), None);
    assert_eq!(req.body, "# TYPE rows_total counter\nrows_total 5\n");
    // Nothing extra is said: pgw cannot tell whether the gateway aggregates.
    assert_eq!(stderr(&run), "");

    for how in ["sum", "max", "min", "last"] {
        let rec = Recorder::start();
        let gauges = format!("--aggregate-gauges={how}");
        let run = push(
            &rec.url(),
            &["--aggregate", &gauges, "-j", "fleet", "--type=gauge", "t=1"],
        );
        assert_eq!(code(&run), 0, "{run:#?}");
        let req = rec.only();
        assert_eq!(req.method, "POST");
        assert_eq!(req.header("pgw-aggregate"), Some("sum"));
        assert_eq!(req.header("pgw-aggregate-gauges"), Some(how));
    }

    // Without --aggregate nothing changes: a PUT without the headers.
    let rec = Recorder::start();
    let run = push(
        &rec.url(),
        &["-j", "fleet", "--type=counter", "rows_total=5"],
    );
    assert_eq!(code(&run), 0, "{run:#?}");
    let req = rec.only();
    assert_eq!(req.method, "PUT");
    assert_eq!(req.header("pgw-aggregate"), None);
}

#[test]
fn aggregate_with_replace_is_a_wrong_command_line() {
    let rec = Recorder::start();
    let run = push(
        &rec.url(),
        &[
            "--aggregate",
            "--replace",
            "-j",
            "x",
            "--type=counter",
            "a=1",
        ],
    );
    assert_eq!(code(&run), 2, "{run:#?}");
    let err = stderr(&run);
    assert!(
        err.contains("--aggregate") && err.contains("--replace"),
        "{err}"
    );
    let run = push(
        &rec.url(),
        &["--aggregate-gauges=max", "-j", "x", "--type=gauge", "a=1"],
    );
    assert_eq!(code(&run), 2, "{run:#?}");
    assert!(stderr(&run).contains("--aggregate"), "{}", stderr(&run));
    assert!(rec.requests().is_empty());
}

#[test]
fn the_wrapper_counts_runs_and_failures_with_aggregate() {
    let rec = Recorder::start();
    let run = push(&rec.url(), &["--aggregate", "-j", "ci", "--", "true"]);
    assert_eq!(code(&run), 0, "{run:#?}");
    let ok = rec.only();
    assert_eq!(ok.method, "POST");
    assert_eq!(ok.path, "/metrics/job/ci");
    assert_eq!(ok.header("pgw-aggregate"), Some("sum"));
    let body = &ok.body;
    assert!(
        body.contains("# TYPE pgw_job_runs_total counter\n"),
        "{body}"
    );
    assert!(
        body.contains("# TYPE pgw_job_failed_runs_total counter\n"),
        "{body}"
    );
    assert!(
        body.contains("# TYPE pgw_job_duration_seconds histogram\n"),
        "{body}"
    );
    assert!(
        body.contains("# TYPE pgw_job_last_duration_seconds gauge\n"),
        "{body}"
    );
    assert_eq!(sample(body, "pgw_job_runs_total"), Some(1.0));
    assert_eq!(sample(body, "pgw_job_failed_runs_total"), Some(0.0));
    assert_eq!(sample(body, "pgw_job_exit_code"), Some(0.0));
    assert!(sample(body, "pgw_job_last_success_time_seconds").is_some());
    // `true` takes far less than a second: in every bucket.
    for le in [
        "1", "5", "15", "30", "60", "120", "300", "600", "1800", "3600", "7200", "+Inf",
    ] {
        let bucket = format!("pgw_job_duration_seconds_bucket{{le=\"{le}\"}}");
        assert_eq!(sample(body, &bucket), Some(1.0), "{bucket}\n{body}");
    }
    assert_eq!(sample(body, "pgw_job_duration_seconds_count"), Some(1.0));
    let sum = sample(body, "pgw_job_duration_seconds_sum").unwrap();
    assert_eq!(sample(body, "pgw_job_last_duration_seconds"), Some(sum));
    assert!((0.0..1.0).contains(&sum), "{body}");

    // A failing run: its exit code passes through, and it counts as failed.
    let rec = Recorder::start();
    let run = push(
        &rec.url(),
        &["--aggregate", "-j", "ci", "--", "sh", "-c", "exit 3"],
    );
    assert_eq!(code(&run), 3, "{run:#?}");
    let body = rec.only().body;
    assert_eq!(sample(&body, "pgw_job_runs_total"), Some(1.0));
    assert_eq!(sample(&body, "pgw_job_failed_runs_total"), Some(1.0));
    assert_eq!(sample(&body, "pgw_job_exit_code"), Some(3.0));
    assert_eq!(sample(&body, "pgw_job_duration_seconds_count"), Some(1.0));
    assert!(
        !body.contains("pgw_job_last_success_time_seconds"),
        "{body}"
    );
}

#[test]
fn the_wrapper_without_aggregate_pushes_what_it_always_did() {
    let rec = Recorder::start();
    let run = push(&rec.url(), &["-j", "ci", "--", "true"]);
    assert_eq!(code(&run), 0, "{run:#?}");
    let req = rec.only();
    assert_eq!(req.method, "POST");
    assert_eq!(req.header("pgw-aggregate"), None);
    let types: Vec<&str> = req
        .body
        .lines()
        .filter(|l| l.starts_with("# TYPE"))
        .collect();
    assert_eq!(
        types,
        [
            "# TYPE pgw_job_start_time_seconds gauge",
            "# TYPE pgw_job_duration_seconds gauge",
            "# TYPE pgw_job_exit_code gauge",
            "# TYPE pgw_job_last_success_time_seconds gauge",
        ],
        "{}",
        req.body
    );
}

#[test]
fn what_cannot_be_added_is_refused_before_sending() {
    let rec = Recorder::start();
    let dir = TempDir::new("aggregate-refusals");
    let file = dir.path().join("batch.prom");
    std::fs::write(
        &file,
        "# TYPE rows_total counter\nrows_total 5\n\n# HELP took Seconds.\ntook 3\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let url = rec.url();
    let refused = |args: &[&str], input: Input<'_>, needles: &[&str]| {
        let mut full = vec!["push", "-g", &url, "--aggregate", "-j", "batch"];
        full.extend_from_slice(args);
        let run = run_pgw(&full, input, &[]);
        assert_eq!(code(&run), 3, "{full:?}: {run:#?}");
        for needle in needles {
            assert!(stderr(&run).contains(needle), "{needle}: {}", stderr(&run));
        }
    };
    // From a file: the family and its line (its HELP line comes first).
    refused(
        &["-f", file],
        Input::Null,
        &[
            &format!("{file}, line 4: took is untyped"),
            "use a counter or gauge",
            "nothing was sent",
        ],
    );
    // From stdin.
    refused(
        &[],
        Input::Pipe("# TYPE ok gauge\nok 1\nrows 3\n"),
        &["stdin, line 3: rows is untyped", "use a counter or gauge"],
    );
    // An argument without --type is untyped: the message names the flag.
    refused(
        &["rows=3"],
        Input::Null,
        &["rows is untyped", "--type=counter or --type=gauge"],
    );
    // Beside a wrapped command, before it runs: the marker is never made.
    let marker = dir.path().join("ran");
    let script = format!("touch {}", marker.display());
    refused(
        &["rows=3", "--", "sh", "-c", &script],
        Input::Null,
        &["rows is untyped"],
    );
    assert!(!marker.exists());
    // A counter that goes down, named by its series.
    refused(
        &[],
        Input::Pipe(
            "# TYPE rows_total counter\nrows_total{shard=\"1\"} 2\nrows_total{shard=\"2\"} -1\n",
        ),
        &[
            "stdin: the counter rows_total{shard=\"2\"} is -1",
            "cannot go down",
        ],
    );
    refused(
        &["--type=counter", "rows_total=-4"],
        Input::Null,
        &["the counter rows_total is -4"],
    );
    assert!(rec.requests().is_empty(), "{:#?}", rec.requests());
}

#[test]
fn the_official_server_merges_an_aggregated_push_as_a_post() {
    let official = Official::start(&[]);
    let url = official.url();
    let run = push(&url, &["-j", "fleet", "--type=gauge", "kept=1"]);
    assert_eq!(code(&run), 0, "{run:#?}");
    for n in ["5", "7"] {
        let metric = format!("rows_total={n}");
        let run = push(
            &url,
            &["--aggregate", "-j", "fleet", "--type=counter", &metric],
        );
        assert_eq!(code(&run), 0, "{run:#?}");
        assert_eq!(stderr(&run), "");
    }
    // The header is ignored: the last push replaced rows_total (no sum),
    // and the POST kept the group's other family.
    let got: std::collections::BTreeSet<_> = scrape_pushed(&format!("{url}/metrics"))
        .into_iter()
        .filter(|(name, _, _)| !name.starts_with("push_"))
        .collect();
    assert_series(
        &got,
        "kept{instance=\"\",job=\"fleet\"} 1\nrows_total{instance=\"\",job=\"fleet\"} 7\n",
    );

    // The wrapper's counters and histogram are accepted too.
    let run = push(&url, &["--aggregate", "-j", "ci", "--", "true"]);
    assert_eq!(code(&run), 0, "{run:#?}");
    let body = util::get(&format!("{url}/metrics")).text();
    let ci = |series: &str| sample(&body, &series.replace("{}", "{instance=\"\",job=\"ci\"}"));
    assert_eq!(ci("pgw_job_runs_total{}"), Some(1.0));
    assert_eq!(ci("pgw_job_failed_runs_total{}"), Some(0.0));
    assert_eq!(ci("pgw_job_duration_seconds_count{}"), Some(1.0));
    assert_eq!(
        sample(
            &body,
            "pgw_job_duration_seconds_bucket{instance=\"\",job=\"ci\",le=\"+Inf\"}"
        ),
        Some(1.0)
    );
}

/// `pgw push --aggregate` against `pgw serve`: runs of a wrapped job from
/// several copies add up in one group, failures included.
#[test]
fn pgw_serve_adds_up_the_runs_of_a_fleet() {
    let g = util::Pgw::start(&[]);
    let url = g.url();
    for command in ["true", "true", "exit 4"] {
        let run = push(
            &url,
            &["--aggregate", "-j", "fleet", "--", "sh", "-c", command],
        );
        let want = if command == "true" { 0 } else { 4 };
        assert_eq!(code(&run), want, "{run:#?}");
    }
    let run = push(
        &url,
        &[
            "--aggregate",
            "-j",
            "fleet",
            "--type=counter",
            "rows_total=5",
        ],
    );
    assert_eq!(code(&run), 0, "{}", stderr(&run));
    let run = push(
        &url,
        &[
            "--aggregate",
            "-j",
            "fleet",
            "--type=counter",
            "rows_total=7",
        ],
    );
    assert_eq!(code(&run), 0, "{}", stderr(&run));
    let body = util::get(&format!("{url}/metrics")).text();
    let series = |name: &str| sample(&body, &format!("{name}{{instance=\"\",job=\"fleet\"}}"));
    assert_eq!(series("pgw_job_runs_total"), Some(3.0), "{body}");
    assert_eq!(series("pgw_job_failed_runs_total"), Some(1.0), "{body}");
    assert_eq!(
        series("pgw_job_duration_seconds_count"),
        Some(3.0),
        "{body}"
    );
    assert_eq!(series("rows_total"), Some(12.0), "{body}");
    // The last run's own gauges: the failing one.
    assert_eq!(series("pgw_job_exit_code"), Some(4.0), "{body}");
}
