//! `pgw push` against real gateways: `pgw serve` on port 0 and the official
//! Pushgateway for every flag that reaches a gateway, small raw TCP servers
//! for what no gateway can show (a 503, a silent server, the request headers
//! as sent), and wrapped commands with their output, exit codes and signals.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use crate::util::{
    self, code, get, group_labels, labels, poll, put, scrape_pushed, stderr, stdout, Official, Pgw,
    TempDir,
};

/// Runs `pgw push -g GATEWAY ARGS...` with `stdin` (empty when `None`) and a
/// clean environment for the variables pgw reads.
fn push_with(gateway: &str, args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgw"));
    cmd.arg("push").arg("-g").arg(gateway).args(args);
    for var in ["PGW_GATEWAY", "PGW_USER", "PGW_PASSWORD", "PGW_TOKEN"] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn pgw push");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.unwrap_or_default().to_vec();
    let writer = std::thread::spawn(move || {
        // A command that does not read stdin closes the pipe early.
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait for pgw push");
    writer.join().unwrap();
    out
}

fn push(gateway: &str, args: &[&str], stdin: Option<&[u8]>) -> Output {
    push_with(gateway, args, stdin, &[])
}

#[track_caller]
fn assert_ok(out: &Output) {
    assert_eq!(code(out), 0, "stderr: {}", stderr(out));
}

/// Pushed series of a gateway as name → (labels → value), for assertions.
fn series(url: &str) -> BTreeMap<String, BTreeMap<Vec<(String, String)>, String>> {
    let mut out: BTreeMap<_, BTreeMap<_, _>> = BTreeMap::new();
    for (name, mut labels, value) in scrape_pushed(&format!("{url}/metrics")) {
        // The gateways add `instance=""`; an empty label is no label.
        labels.retain(|(_, v)| !v.is_empty());
        out.entry(name).or_default().insert(labels, value);
    }
    out
}

fn value(url: &str, name: &str, pairs: &[(&str, &str)]) -> Option<f64> {
    series(url)
        .get(name)?
        .get(&labels(pairs))
        .map(|v| v.parse().unwrap())
}

fn groups(url: &str) -> Vec<BTreeMap<String, String>> {
    group_labels(&get(&format!("{url}/api/v1/metrics")).json())
}

/// Runs `check` against `pgw serve` and against the official Pushgateway.
macro_rules! on_both {
    ($pgw:ident, $official:ident, $check:ident) => {
        #[test]
        fn $pgw() {
            let server = Pgw::start(&[]);
            $check(&server.url());
        }
        #[test]
        fn $official() {
            let server = Official::start(&[]);
            $check(&server.url());
        }
    };
}

fn argument_metrics(url: &str) {
    let out = push(
        url,
        &[
            "-j",
            "backup",
            "-l",
            "instance=db1",
            "--type=gauge",
            "--help-text=Set by the backup.",
            "last_success_seconds=1764000000",
            "bytes=123",
            r#"files{kind="log"}=3"#,
            r#"files{kind="tmp"}=4"#,
        ],
        None,
    );
    assert_ok(&out);
    let base = [("job", "backup"), ("instance", "db1")];
    assert_eq!(value(url, "last_success_seconds", &base), Some(1.764e9));
    assert_eq!(value(url, "bytes", &base), Some(123.0));
    let log = [("job", "backup"), ("instance", "db1"), ("kind", "log")];
    assert_eq!(value(url, "files", &log), Some(3.0));
    let text = get(&format!("{url}/metrics")).text();
    assert!(text.contains("# TYPE files gauge"), "{text}");
    assert!(text.contains("# HELP bytes Set by the backup."), "{text}");

    let out = push(url, &["-j", "c", "--type=counter", "n_total=5"], None);
    assert_ok(&out);
    assert!(get(&format!("{url}/metrics"))
        .text()
        .contains("# TYPE n_total counter"));
}
on_both!(
    argument_metrics_pgw,
    argument_metrics_official,
    argument_metrics
);

fn stdin_and_files(url: &str) {
    let dir = TempDir::new("push-files");
    let file = dir.path().join("a.prom");
    // A Windows file: byte-order mark, CRLF, no final newline.
    std::fs::write(&file, b"\xEF\xBB\xBF# TYPE a gauge\r\na 1\r\nb{x=\"y\"} 2").unwrap();
    let file = file.to_str().unwrap();
    let out = push(
        url,
        &["-j", "files", "-f", file, "-f", "-", "c=3"],
        Some(b"\xEF\xBB\xBFd 4\r\n"),
    );
    assert_ok(&out);
    let job = [("job", "files")];
    assert_eq!(value(url, "a", &job), Some(1.0));
    assert_eq!(value(url, "b", &[("job", "files"), ("x", "y")]), Some(2.0));
    assert_eq!(value(url, "c", &job), Some(3.0));
    assert_eq!(value(url, "d", &job), Some(4.0));

    // stdin without -f, as `curl --data-binary @-` is used.
    let out = push(url, &["-j", "piped"], Some(b"e 5\r\nf 6"));
    assert_ok(&out);
    assert_eq!(value(url, "f", &[("job", "piped")]), Some(6.0));
}
on_both!(
    stdin_and_files_pgw,
    stdin_and_files_official,
    stdin_and_files
);

fn replace_and_add(url: &str) {
    assert_ok(&push(url, &["-j", "r", "a=1", "b=2"], None));
    assert_ok(&push(url, &["-j", "r", "--add", "a=3"], None));
    assert_eq!(value(url, "a", &[("job", "r")]), Some(3.0));
    assert_eq!(value(url, "b", &[("job", "r")]), Some(2.0));
    assert_ok(&push(url, &["-j", "r", "--replace", "a=4"], None));
    assert_eq!(value(url, "a", &[("job", "r")]), Some(4.0));
    assert_eq!(value(url, "b", &[("job", "r")]), None);
    // PUT is the default.
    assert_ok(&push(url, &["-j", "r", "b=5"], None));
    assert_eq!(value(url, "a", &[("job", "r")]), None);
}
on_both!(
    replace_and_add_pgw,
    replace_and_add_official,
    replace_and_add
);

fn base64_grouping_keys(url: &str) {
    let out = push(
        url,
        &[
            "-j",
            "nightly/backup",
            "-l",
            "path=/var/x",
            "-l",
            "empty=",
            "-l",
            "space=a b",
            "-l",
            "uni=Προμηθεύς",
            "x=1",
        ],
        None,
    );
    assert_ok(&out);
    let expected: BTreeMap<String, String> = [
        ("job", "nightly/backup"),
        ("path", "/var/x"),
        ("empty", ""),
        ("space", "a b"),
        ("uni", "Προμηθεύς"),
    ]
    .iter()
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect();
    assert_eq!(groups(url), vec![expected]);
}
on_both!(
    base64_grouping_keys_pgw,
    base64_grouping_keys_official,
    base64_grouping_keys
);

fn timestamps(url: &str) {
    let out = push(url, &["-j", "ts"], Some(b"a 1\nb 2 1764000000000\n"));
    assert_eq!(code(&out), 3);
    assert!(
        stderr(&out).contains("stdin, line 2: b has a timestamp"),
        "{}",
        stderr(&out)
    );
    assert!(groups(url).is_empty());
    let out = push(
        url,
        &["-j", "ts", "--strip-timestamps"],
        Some(b"a 1\nb 2 1764000000000\n"),
    );
    assert_ok(&out);
    assert_eq!(value(url, "b", &[("job", "ts")]), Some(2.0));
}
on_both!(timestamps_pgw, timestamps_official, timestamps);

/// Bad input exits 3 (a wrong flag, 2), names the problem and leaves the gateway
/// untouched.
fn bad_input(url: &str) {
    let cases: &[(&[&str], &[u8], &str, i32)] = &[
        (
            &["-j", "x"],
            b"a 1\nb{ 2\n",
            "stdin: text format parsing error in line 2",
            3,
        ),
        (&["-j", "x", "a=zz"], b"", "metric argument \"a=zz\"", 3),
        (&["-j", "x"], b"a{__n=\"1\"} 1\n", "invalid name", 3),
        (
            &["-j", "x", "-l", "instance=a"],
            b"a{instance=\"b\"} 1\n",
            "would overwrite",
            3,
        ),
        (&["-j", "x"], b"", "no metrics in the input (stdin)", 3),
        (
            &["-j", "x", "-f", "/nonexistent/a.prom"],
            b"",
            "cannot read /nonexistent/a.prom",
            3,
        ),
        (
            &["-j", "x", "-l", "a-b=1", "a=1"],
            b"",
            "not a valid label name",
            2,
        ),
        (&["-j", "x", "a=1", "a=2"], b"", "duplicate series", 3),
    ];
    for (args, stdin, needle, want) in cases {
        let out = push(url, args, Some(stdin));
        assert_eq!(code(&out), *want, "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.starts_with("pgw: error: "), "{err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    assert!(groups(url).is_empty(), "{:?}", groups(url));
}
on_both!(bad_input_pgw, bad_input_official, bad_input);

/// Nothing reaches the network when the input is bad: a listener that would
/// see any connection sees none.
#[test]
fn bad_input_opens_no_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let out = push(&url, &["-j", "x", "--retries=0"], Some(b"a 1 1000\n"));
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(
        listener.accept().is_err(),
        "pgw connected despite bad input"
    );
}

fn rejected(url: &str) {
    assert_ok(&push(url, &["-j", "a", "--type=gauge", "shared=1"], None));
    // The same name as a counter in another group: both servers refuse it.
    let out = push(url, &["-j", "b", "--type=counter", "shared=1"], None);
    assert_eq!(code(&out), 6, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("cannot push to group {job=\"b\"}"), "{err}");
    assert!(
        err.contains("refused PUT /metrics/job/b with 400 Bad Request: "),
        "{err}"
    );
    assert!(err.contains("shared"), "the gateway's own words: {err}");
}
on_both!(rejected_pgw, rejected_official, rejected);

fn large_bodies_are_gzipped(url: &str) {
    let mut body = String::from("# TYPE big gauge\n");
    for i in 0..5000 {
        body.push_str(&format!(
            "big{{i=\"{i}\",pad=\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}} {i}\n"
        ));
    }
    assert!(body.len() > 200 << 10);
    let out = push(url, &["-j", "big"], Some(body.as_bytes()));
    assert_ok(&out);
    assert_eq!(series(url)["big"].len(), 5000);
    let size = |url: &str| {
        let text = get(&format!("{url}/metrics")).text();
        text.lines()
            .find_map(|l| l.strip_prefix("pushgateway_http_push_size_bytes_sum{method=\"put\"} "))
            .map(|v| v.parse::<f64>().unwrap())
            .expect("push size sum")
    };
    let compressed = size(url);
    assert!(
        compressed < (body.len() / 4) as f64,
        "{compressed} bytes for {}",
        body.len()
    );
    let out = push(url, &["-j", "big", "--gzip=never"], Some(body.as_bytes()));
    assert_ok(&out);
    let plain = size(url) - compressed;
    assert!(
        plain >= body.len() as f64,
        "{plain} bytes for {}",
        body.len()
    );
    // Small bodies compressed on demand work too.
    assert_ok(&push(url, &["-j", "small", "--gzip=always", "a=1"], None));
    assert_eq!(value(url, "a", &[("job", "small")]), Some(1.0));
}
on_both!(
    large_bodies_are_gzipped_pgw,
    large_bodies_are_gzipped_official,
    large_bodies_are_gzipped
);

fn expire_after_is_accepted(url: &str) {
    let out = push(url, &["-j", "exp", "--expire-after=1h30m", "a=1"], None);
    assert_ok(&out);
    assert_eq!(value(url, "a", &[("job", "exp")]), Some(1.0));
}
on_both!(
    expire_after_is_accepted_pgw,
    expire_after_is_accepted_official,
    expire_after_is_accepted
);

/// `pgw serve` takes the time to live from the header, and drops the group
/// when it runs out.
#[test]
fn expire_after_sets_the_groups_time_to_live() {
    let server = Pgw::start(&[]);
    let url = server.url();
    assert_ok(&push(
        &url,
        &["-j", "long", "--expire-after=1h30m", "a=1"],
        None,
    ));
    let api = get(&format!("{url}/api/v1/metrics")).json();
    let group = &api["data"][0];
    assert_eq!(group["labels"]["job"], "long");
    assert_eq!(group["expire_after_seconds"].as_f64(), Some(5400.0));
    let left = group["expires_in_seconds"].as_f64().unwrap();
    assert!(left > 5300.0 && left <= 5400.0, "{left}");

    assert_ok(&push(
        &url,
        &["-j", "short", "--expire-after=1s", "a=1"],
        None,
    ));
    assert!(groups(&url).iter().any(|g| g["job"] == "short"));
    let gone = poll(Duration::from_secs(10), || {
        groups(&url)
            .iter()
            .all(|g| g["job"] != "short")
            .then_some(())
    });
    assert!(
        gone.is_some(),
        "the group did not expire: {:?}",
        groups(&url)
    );
    assert!(groups(&url).iter().any(|g| g["job"] == "long"));
}

#[test]
fn dry_run_prints_the_body_and_sends_nothing() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let out = push(
        &url,
        &[
            "-j",
            "x",
            "--dry-run",
            "--strip-timestamps",
            "-f",
            "-",
            "z=1e6",
        ],
        Some(b"\xEF\xBB\xBFa{b=\"c\"} 1 17\r\n"),
    );
    assert_ok(&out);
    assert_eq!(
        stdout(&out),
        "# TYPE z untyped\nz 1e+06\n# TYPE a untyped\na{b=\"c\"} 1\n"
    );
    assert!(listener.accept().is_err());
}

#[test]
fn unreachable_exits_4() {
    let port = util::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let out = push(&url, &["-j", "x", "--retries=0", "a=1"], None);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot reach the gateway"),
        "{}",
        stderr(&out)
    );
}

/// A raw HTTP server on port 0: answers every request with `answer` (or
/// never, when `None`) and hands each request's head and body to the test.
struct RawServer {
    url: String,
    requests: mpsc::Receiver<(String, Vec<u8>)>,
    count: Arc<Mutex<usize>>,
}

impl RawServer {
    fn start(answer: Option<&'static str>) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, requests) = mpsc::channel();
        let count = Arc::new(Mutex::new(0));
        let seen = count.clone();
        std::thread::spawn(move || {
            // Silent connections are kept open until the test ends.
            let mut held = Vec::new();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { break };
                *seen.lock().unwrap() += 1;
                let request = read_request(&mut stream);
                let _ = tx.send(request);
                match answer {
                    Some(a) => {
                        let _ = stream.write_all(a.as_bytes());
                    }
                    None => held.push(stream),
                }
            }
        });
        RawServer {
            url,
            requests,
            count,
        }
    }

    fn next(&self) -> (String, Vec<u8>) {
        self.requests
            .recv_timeout(Duration::from_secs(10))
            .expect("a request")
    }
}

/// Reads one request: its head as text and a body of Content-Length bytes.
fn read_request(stream: &mut TcpStream) -> (String, Vec<u8>) {
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let length = head
        .lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (head, body)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

const OK_204: &str = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";

#[test]
fn server_errors_exit_7_after_retries() {
    let server = RawServer::start(Some(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 9\r\nConnection: close\r\n\r\nbusy now\n",
    ));
    let out = push(&server.url, &["-j", "x", "--retries=1", "a=1"], None);
    assert_eq!(code(&out), 7, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("503 Service Unavailable: busy now"), "{err}");
    assert!(err.contains("gave up after 2 attempts"), "{err}");
    assert_eq!(*server.count.lock().unwrap(), 2);
}

#[test]
fn a_silent_gateway_times_out_with_5() {
    let server = RawServer::start(None);
    let out = push(
        &server.url,
        &["-j", "x", "--retries=0", "--timeout=300ms", "a=1"],
        None,
    );
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("did not answer PUT /metrics/job/x within 300ms"),
        "{}",
        stderr(&out)
    );
}

/// What goes over the wire: method, path, headers and credentials (no
/// gateway with authentication exists to test against, so the request is
/// read as sent).
#[test]
fn request_as_sent() {
    let server = RawServer::start(Some(OK_204));
    let out = push_with(
        &server.url,
        &[
            "-j",
            "x",
            "-l",
            "path=/var/x",
            "-u",
            "alice",
            "--expire-after=90s",
            "a=1",
        ],
        None,
        &[("PGW_PASSWORD", "s3cret")],
    );
    assert_ok(&out);
    let (head, body) = server.next();
    assert!(
        head.starts_with("PUT /metrics/job/x/path@base64/L3Zhci94 HTTP/1.1\r\n"),
        "{head}"
    );
    assert_eq!(
        header(&head, "authorization"),
        Some("Basic YWxpY2U6czNjcmV0")
    );
    assert_eq!(header(&head, "pgw-expire-after"), Some("90s"));
    assert_eq!(
        header(&head, "content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert_eq!(header(&head, "content-encoding"), None);
    assert_eq!(body, b"# TYPE a untyped\na 1\n");

    let dir = TempDir::new("push-token");
    let token = dir.path().join("token");
    std::fs::write(&token, "t0ken\n").unwrap();
    let out = push(
        &server.url,
        &[
            "-j",
            "x",
            "--add",
            "--gzip=always",
            "--token-file",
            token.to_str().unwrap(),
            "a=1",
        ],
        None,
    );
    assert_ok(&out);
    let (head, body) = server.next();
    assert!(
        head.starts_with("POST /metrics/job/x HTTP/1.1\r\n"),
        "{head}"
    );
    assert_eq!(header(&head, "authorization"), Some("Bearer t0ken"));
    assert_eq!(header(&head, "content-encoding"), Some("gzip"));
    assert_eq!(util::gunzip(&body), b"# TYPE a untyped\na 1\n");

    // --password-file, and the gateway from PGW_GATEWAY.
    let password = dir.path().join("password");
    std::fs::write(&password, "pw\n").unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgw"));
    cmd.args(["push", "-j", "x", "-u", "bob", "--password-file"])
        .arg(&password)
        .arg("a=1")
        .env("PGW_GATEWAY", &server.url)
        .env_remove("PGW_TOKEN")
        .env_remove("PGW_PASSWORD")
        .stdin(Stdio::null());
    let out = cmd.output().unwrap();
    assert_ok(&out);
    let (head, _) = server.next();
    assert_eq!(header(&head, "authorization"), Some("Basic Ym9iOnB3"));
}

/// A gateway that does not decompress (Pushgateway before 1.5) reads gzip as
/// bad text; in auto mode the push is sent again uncompressed.
#[test]
fn gzip_refused_falls_back_to_plain() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let (head, body) = read_request(&mut stream);
            let answer = if header(&head, "content-encoding").is_some() {
                let words = "text format parsing error in line 1: invalid metric name";
                format!(
                    "HTTP/1.1 400 Bad Request\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{words}",
                    words.len()
                )
            } else {
                OK_204.to_string()
            };
            let _ = stream.write_all(answer.as_bytes());
            let _ = tx.send((head, body));
        }
    });
    let big: String = (0..20000).map(|i| format!("b{{i=\"{i}\"}} 1\n")).collect();
    let out = push(&url, &["-j", "x"], Some(big.as_bytes()));
    assert_ok(&out);
    let (first, _) = rx.recv().unwrap();
    assert_eq!(header(&first, "content-encoding"), Some("gzip"));
    let (second, body) = rx.recv().unwrap();
    assert_eq!(header(&second, "content-encoding"), None);
    assert!(body.len() > 64 << 10);
}

fn wrapped_command(url: &str) {
    let job = ["-j", "nightly-backup"];
    let run = |cmd: &[&str]| {
        let mut args = job.to_vec();
        args.push("--");
        args.extend_from_slice(cmd);
        push(url, &args, None)
    };
    let l = [("job", "nightly-backup")];
    let out = run(&["sh", "-c", "echo to-stdout; echo to-stderr >&2"]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "to-stdout\n");
    assert_eq!(stderr(&out), "to-stderr\n");
    assert_eq!(value(url, "pgw_job_exit_code", &l), Some(0.0));
    let success = value(url, "pgw_job_last_success_time_seconds", &l).unwrap();
    let start = value(url, "pgw_job_start_time_seconds", &l).unwrap();
    let duration = value(url, "pgw_job_duration_seconds", &l).unwrap();
    assert!(success >= start && (0.0..30.0).contains(&duration));

    // A failure passes its code through and keeps the last success.
    let out = run(&["sh", "-c", "exit 3"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert_eq!(value(url, "pgw_job_exit_code", &l), Some(3.0));
    assert_eq!(
        value(url, "pgw_job_last_success_time_seconds", &l),
        Some(success)
    );
    assert!(value(url, "pgw_job_start_time_seconds", &l).unwrap() >= start);

    // Killed by a signal: 128+N, as a shell reports it.
    let out = run(&["sh", "-c", "kill -9 $$"]);
    assert_eq!(code(&out), 137, "{}", stderr(&out));
    assert_eq!(value(url, "pgw_job_exit_code", &l), Some(137.0));

    // Metrics given beside the command are pushed with the run's.
    let out = push(
        url,
        &["-j", "nightly-backup", "bytes=42", "--", "true"],
        None,
    );
    assert_ok(&out);
    assert_eq!(value(url, "bytes", &l), Some(42.0));
    assert!(value(url, "pgw_job_last_success_time_seconds", &l).unwrap() >= success);

    // A command that cannot start is an error naming it; nothing is pushed.
    let out = push(
        url,
        &["-j", "never-ran", "--", "/nonexistent/backup.sh"],
        None,
    );
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("cannot run \"/nonexistent/backup.sh\""),
        "{}",
        stderr(&out)
    );
    assert!(groups(url).iter().all(|g| g["job"] != "never-ran"));
}
on_both!(
    wrapped_command_pgw,
    wrapped_command_official,
    wrapped_command
);

#[test]
fn wrapped_command_with_an_unreachable_gateway() {
    let url = format!("http://127.0.0.1:{}", util::free_port());
    // Success, then the push fails: the push failure's code.
    let out = push(&url, &["-j", "x", "--retries=0", "--", "true"], None);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    // Failure and a failed push: the command's code, and the push error.
    let out = push(
        &url,
        &["-j", "x", "--retries=0", "--", "sh", "-c", "exit 9"],
        None,
    );
    assert_eq!(code(&out), 9);
    assert!(
        stderr(&out).contains("cannot reach the gateway"),
        "{}",
        stderr(&out)
    );
    // Bad metrics beside the command: the command never runs.
    let dir = TempDir::new("push-norun");
    let marker = dir.path().join("ran");
    let script = format!("touch {}", marker.display());
    let out = push(
        &url,
        &["-j", "x", "pgw_job_exit_code=1", "--", "sh", "-c", &script],
        None,
    );
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(!marker.exists());
}

/// SIGTERM to pgw reaches the command, whose run is still reported.
#[test]
fn sigterm_is_forwarded_to_the_command() {
    let server = Pgw::start(&[]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_pgw"))
        .args(["push", "-g", &server.url(), "-j", "term", "--", "sh", "-c"])
        .arg("trap 'kill $!; exit 42' TERM; sleep 30 & echo ready; wait")
        .env_remove("PGW_GATEWAY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    lines.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let status = poll(Duration::from_secs(20), || child.try_wait().unwrap()).expect("pgw exits");
    assert_eq!(status.code(), Some(42));
    assert_eq!(
        value(&server.url(), "pgw_job_exit_code", &[("job", "term")]),
        Some(42.0)
    );
}

#[test]
fn help_has_examples() {
    let out = Command::new(env!("CARGO_BIN_EXE_pgw"))
        .args(["push", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "17 3 * * * pgw push",
        "node_exporter/textfile",
        "last_success_seconds=$(date +%s)",
        "--replace (PUT, the default)",
    ] {
        assert!(help.contains(needle), "{needle}: {help}");
    }
}

#[test]
fn the_gateway_keeps_a_group_pushed_by_put_untouched_on_bad_input() {
    let server = Pgw::start(&[]);
    let url = server.url();
    assert_eq!(put(&format!("{url}/metrics/job/keep"), "a 1\n").status, 200);
    let out = push(&url, &["-j", "keep"], Some(b"a 2\nb{\n"));
    assert_eq!(code(&out), 3);
    assert_eq!(value(&url, "a", &[("job", "keep")]), Some(1.0));
}

/// Every block of alert rules in the README (the guide's, `pgw push`'s,
/// `pgw relay`'s) is valid for Prometheus.
#[test]
fn readme_alert_rules_pass_promtool() {
    util::require("promtool");
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let blocks: Vec<&str> = readme
        .split("```yaml\n")
        .skip(1)
        .map(|b| &b[..b.find("```").unwrap()])
        .filter(|b| b.contains("rules:"))
        .collect();
    assert!(blocks.len() >= 3, "{} blocks of rules", blocks.len());
    assert!(blocks
        .iter()
        .any(|b| b.contains("pgw_job_last_success_time_seconds")));
    let dir = TempDir::new("push-rules");
    for (i, rules) in blocks.iter().enumerate() {
        let file = dir.path().join(format!("rules{i}.yml"));
        std::fs::write(&file, rules).unwrap();
        let out = Command::new("promtool")
            .args(["check", "rules"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{rules}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Ctrl-C on a terminal signals the whole process group: the command ends,
/// pgw stays to push the run and exits with the command's code.
#[test]
fn ctrl_c_ends_the_command_and_the_run_is_reported() {
    use std::os::unix::process::CommandExt as _;
    let server = Pgw::start(&[]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_pgw"))
        .args([
            "push",
            "-g",
            &server.url(),
            "-j",
            "int",
            "--",
            "sleep",
            "30",
        ])
        .env_remove("PGW_GATEWAY")
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Signal only once the command runs as `sleep`: a shell between commands
    // may catch SIGINT and go on.
    let tasks = format!("/proc/{}/task", child.id());
    poll(Duration::from_secs(20), || {
        std::fs::read_dir(&tasks).ok()?.flatten().find_map(|task| {
            let pids = std::fs::read_to_string(task.path().join("children")).ok()?;
            let pid = pids.split_whitespace().next()?.to_string();
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            (comm.trim() == "sleep").then_some(())
        })
    })
    .expect("the command runs");
    let group = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process_group(group, rustix::process::Signal::INT).unwrap();
    let status = poll(Duration::from_secs(20), || child.try_wait().unwrap()).expect("pgw exits");
    assert_eq!(status.code(), Some(130));
    assert_eq!(
        value(&server.url(), "pgw_job_exit_code", &[("job", "int")]),
        Some(130.0)
    );
}

/// Once the command has ended, a signal stops a push that hangs.
#[test]
fn a_signal_stops_a_hanging_push() {
    let server = RawServer::start(None);
    let mut child = Command::new(env!("CARGO_BIN_EXE_pgw"))
        .args([
            "push",
            "-g",
            &server.url,
            "-j",
            "x",
            "--timeout=60s",
            "--",
            "true",
        ])
        .env_remove("PGW_GATEWAY")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (head, _) = server.next();
    assert!(head.starts_with("POST /metrics/job/x "), "{head}");
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    // Signals in the first second after the command ended are taken as part
    // of its end, so keep sending until one stops the push.
    let status = poll(Duration::from_secs(20), || {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        child.try_wait().unwrap()
    })
    .expect("pgw stops");
    assert_eq!(status.code(), Some(143));
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("stopped by signal 15 while pushing"), "{err}");
}
