//! The harness every integration test uses: spawning `pgw serve` on port 0
//! (the port is read from its "listening" log line), spawning the official
//! `prometheus-pushgateway` on a free port, a blocking HTTP helper that hands
//! back any status instead of erroring on 4xx/5xx, a parser that turns a
//! `/metrics` body into a comparable set of pushed series, private temporary
//! directories, and `require`, which fails loudly when an interop binary is
//! missing (a skipped interop test would hide a broken setup).
//!
//! `PGW_TEST_SERVER=official cargo test --test tests serve::` runs the
//! `serve` tests against the official server instead, to check what they
//! expect: there, only the tests of pgw's deliberate differences (and the
//! exact `web.listen-address` in the status test) should fail.
//!
//! Nothing here sleeps to wait for a process: every wait polls a condition
//! against a deadline.

#![allow(dead_code)] // Each test module uses a different part of the harness.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a server gets to come up before the test fails.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Fails the test (never skips it) when an interop binary is not installed.
pub(crate) fn require(bin: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(bin).is_file()));
    assert!(
        found,
        "`{bin}` is not installed: run .ci/install-deps.sh (the interop tests need it)"
    );
}

/// Fails the test when `python3` cannot import `prometheus_client`.
pub(crate) fn require_python_client() {
    require("python3");
    let ok = Command::new("python3")
        .args(["-c", "import prometheus_client"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "python3 cannot import prometheus_client: run .ci/install-deps.sh"
    );
}

/// A port nobody listens on right now. Only for programs that cannot be told
/// to bind port 0 and report it (the official gateway, Prometheus); the short
/// window between dropping the listener and the program binding is accepted.
pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().unwrap().port()
}

/// Polls `cond` every 20 ms until it returns `Some` or `timeout` passes.
pub(crate) fn poll<T>(timeout: Duration, mut cond: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = cond() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A child process that is killed (and reaped) when the guard is dropped, so
/// a failing test never leaves a server behind.
pub(crate) struct Proc {
    pub(crate) child: Child,
    /// What the process wrote to stderr so far (drained by a thread so that the
    /// pipe never fills and blocks the process).
    pub(crate) log: Arc<Mutex<String>>,
}

impl Proc {
    /// Waits for the process to exit by itself within `timeout`.
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        poll(timeout, || self.child.try_wait().ok().flatten())
    }

    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Sends `SIG<name>` ("TERM", "HUP", "INT") and returns at once.
    pub(crate) fn signal(&self, name: &str) {
        signal(self.child.id(), name);
    }

    /// SIGTERM, and a clean exit within 20 s: pgw drains and flushes then,
    /// and the official server writes its persistence file.
    pub(crate) fn terminate(&mut self) {
        self.signal("TERM");
        let exit = self.wait_exit(Duration::from_secs(20));
        assert!(
            exit.is_some_and(|s| s.success()),
            "exit after SIGTERM: {exit:?}\n{}",
            self.log()
        );
    }
}

/// Sends `SIG<name>` to process `pid` with kill(1), the way an operator or
/// a service manager would.
pub(crate) fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name} {pid}: {status}");
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `cmd` with stderr piped; every stderr line is appended to the log
/// and sent over the returned channel.
fn spawn_logged(mut cmd: Command) -> (Proc, mpsc::Receiver<String>) {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {:?}: {e}", cmd.get_program()));
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = mpsc::channel();
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
            // The receiver goes away once the port is known; keep draining.
            let _ = tx.send(line);
        }
    });
    (Proc { child, log }, rx)
}

/// A running `pgw serve`.
pub(crate) struct Pgw {
    pub(crate) proc: Proc,
    pub(crate) port: u16,
}

impl Pgw {
    /// Starts `pgw serve --web.listen-address=127.0.0.1:0 <args>` and waits for
    /// the `msg="listening" address=127.0.0.1:PORT` line.
    pub(crate) fn start(args: &[&str]) -> Pgw {
        if std::env::var_os("PGW_TEST_SERVER").is_some_and(|v| v == "official") {
            let official = Official::start(args);
            return Pgw {
                proc: official.proc,
                port: official.port,
            };
        }
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgw"));
        cmd.arg("serve")
            .arg("--web.listen-address=127.0.0.1:0")
            .args(args);
        let (mut proc, lines) = spawn_logged(cmd);
        let deadline = Instant::now() + START_TIMEOUT;
        let port = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(port) = listening_port(&line) {
                        break port;
                    }
                }
                Err(_) => {
                    let status = proc.child.try_wait().ok().flatten();
                    panic!(
                        "pgw serve {args:?} did not report its address (exit: {status:?}); stderr:\n{}",
                        proc.log()
                    );
                }
            }
        };
        Pgw { proc, port }
    }

    /// `http://127.0.0.1:PORT`, without any route prefix.
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `GET /api/v1/metrics`, which must answer 200.
    pub(crate) fn api(&self) -> serde_json::Value {
        api_at(&self.url(), None)
    }

    /// `GET /api/v1/metrics` with this `Authorization` header, if any.
    pub(crate) fn api_as(&self, auth: Option<&str>) -> serde_json::Value {
        api_at(&self.url(), auth)
    }

    /// The `job` label of every group, in the order the API answers: pgw's
    /// grouping-key order, so comparing with a literal checks the order too.
    pub(crate) fn jobs(&self) -> Vec<String> {
        jobs(&self.api())
    }

    /// The jobs, read with this `Authorization` header, if any.
    pub(crate) fn jobs_as(&self, auth: Option<&str>) -> Vec<String> {
        jobs(&self.api_as(auth))
    }

    /// The grouping labels of every group, as a set.
    pub(crate) fn groups(&self) -> BTreeSet<BTreeMap<String, String>> {
        groups_at(&self.url())
    }

    /// Waits until the store holds exactly these groups.
    pub(crate) fn wait_groups(&self, want: &[&[(&str, &str)]]) {
        wait_groups(&self.url(), want);
    }

    /// SIGTERM, and a clean exit (see [`Proc::terminate`]).
    pub(crate) fn terminate(&mut self) {
        self.proc.terminate();
    }
}

/// Runs `pgw serve --web.listen-address=127.0.0.1:0 <args>`, which must
/// refuse to start (exit 1) within 20 s; returns its stderr.
pub(crate) fn refused_start(args: &[&str]) -> String {
    refused_start_with(1, args)
}

/// Runs `pgw serve` with `args`, which must refuse to start with exit `code`;
/// its stderr.
pub(crate) fn refused_start_with(code: i32, args: &[&str]) -> String {
    let dir = TempDir::new("refused-log");
    let log = dir.path().join("stderr");
    // stderr goes to a file, not a pipe, so that a server that does start
    // after all is killed at the deadline instead of hanging the test.
    let mut child = Command::new(env!("CARGO_BIN_EXE_pgw"))
        .arg("serve")
        .arg("--web.listen-address=127.0.0.1:0")
        .args(args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let status = poll(START_TIMEOUT, || child.try_wait().unwrap());
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(code),
        "{args:?} must be refused: {stderr}"
    );
    stderr
}

/// How a finished client run went, whether the test ran it through
/// [`run_pgw`] or built the command itself.
pub(crate) trait Outcome {
    fn exit_code(&self) -> i32;
    fn out(&self) -> String;
    fn err(&self) -> String;
}

impl Outcome for Output {
    fn exit_code(&self) -> i32 {
        self.status.code().expect("pgw exited by itself")
    }
    fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    fn err(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

impl Outcome for Run {
    fn exit_code(&self) -> i32 {
        self.code
    }
    fn out(&self) -> String {
        self.stdout.clone()
    }
    fn err(&self) -> String {
        self.stderr.clone()
    }
}

/// The exit code of a client run (`pgw push`, `pgw relay`), which must have
/// exited by itself rather than by a signal.
pub(crate) fn code(out: &impl Outcome) -> i32 {
    out.exit_code()
}

pub(crate) fn stdout(out: &impl Outcome) -> String {
    out.out()
}

pub(crate) fn stderr(out: &impl Outcome) -> String {
    out.err()
}

/// The environment variables that would change where a client command goes
/// or how it prints; every client run of the tests is without them, unless
/// a test sets one on purpose.
pub(crate) const CLIENT_ENV: [&str; 5] = [
    "PGW_GATEWAY",
    "PGW_USER",
    "PGW_PASSWORD",
    "PGW_TOKEN",
    "NO_COLOR",
];

/// What `pgw` printed and how it ended.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// What a client run's stdin is.
pub(crate) enum Input<'a> {
    /// `/dev/null`: readable, and at its end at once (cron, systemd).
    Null,
    /// A pipe that carries these bytes, then closes.
    Pipe(&'a str),
    /// A regular file (`< file`).
    File(&'a Path),
}

/// Runs `pgw ARGS` with `input` as stdin (never a terminal), without the
/// [`CLIENT_ENV`] variables but with those in `env`.
pub(crate) fn run_pgw(args: &[&str], input: Input<'_>, env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgw"));
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    for var in CLIENT_ENV {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    match &input {
        Input::Null => cmd.stdin(Stdio::null()),
        Input::Pipe(_) => cmd.stdin(Stdio::piped()),
        Input::File(path) => cmd.stdin(std::fs::File::open(path).unwrap()),
    };
    let mut child = cmd.spawn().expect("run pgw");
    let writer = match input {
        Input::Pipe(data) => {
            let mut stdin = child.stdin.take().unwrap();
            let data = data.as_bytes().to_vec();
            // pgw may refuse before it reads, closing the pipe early.
            Some(std::thread::spawn(move || {
                let _ = stdin.write_all(&data);
            }))
        }
        _ => None,
    };
    let out = child.wait_with_output().expect("wait for pgw");
    if let Some(w) = writer {
        w.join().unwrap();
    }
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `pgw ARGS` with stdin at `/dev/null`.
pub(crate) fn pgw(args: &[&str]) -> Run {
    run_pgw(args, Input::Null, &[])
}

/// `pgw ARGS` with stdin at `/dev/null`, and its exit code checked.
#[track_caller]
pub(crate) fn expect(code: i32, args: &[&str]) -> Run {
    let run = pgw(args);
    assert_eq!(run.code, code, "pgw {args:?}: {run:#?}");
    run
}

/// [`expect`] with environment variables set.
#[track_caller]
pub(crate) fn expect_env(code: i32, args: &[&str], env: &[(&str, &str)]) -> Run {
    let run = run_pgw(args, Input::Null, env);
    assert_eq!(run.code, code, "pgw {args:?} with {env:?}: {run:#?}");
    run
}

/// Runs a shell command line on a pseudo-terminal (`script` from
/// util-linux gives it one), typing `answer` when given, without the
/// [`CLIENT_ENV`] variables; its exit code and everything the terminal
/// showed (stdout and stderr together, as a person sees them).
pub(crate) fn on_pty(command: &str, answer: Option<&str>) -> (i32, String) {
    require("script");
    let mut cmd = Command::new("script");
    cmd.args(["-qec", command, "/dev/null"])
        .stdin(if answer.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in CLIENT_ENV {
        cmd.env_remove(var);
    }
    let mut child = cmd.spawn().expect("run script");
    if let Some(answer) = answer {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answer.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n"),
    )
}

/// A shell-quoted `pgw ARGS` command line, for [`on_pty`].
pub(crate) fn pgw_line(args: &[&str]) -> String {
    let quoted: Vec<String> = args
        .iter()
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    format!("{} {}", env!("CARGO_BIN_EXE_pgw"), quoted.join(" "))
}

/// `pgw serve` and the official Pushgateway, each started with `args`, as
/// (name, process guard, base URL).
pub(crate) fn both(args: &[&str]) -> Vec<(&'static str, Proc, String)> {
    let p = Pgw::start(args);
    let p_url = p.url();
    let o = Official::start(args);
    let o_url = o.url();
    vec![("pgw", p.proc, p_url), ("official", o.proc, o_url)]
}

/// A tmpfs file system mounted on a fresh directory, unmounted when dropped
/// (also when the test fails).
pub(crate) struct Tmpfs {
    pub(crate) dir: PathBuf,
    _parent: TempDir,
}

impl Tmpfs {
    pub(crate) fn mount(tag: &str, size: &str) -> Tmpfs {
        let uid = String::from_utf8(Command::new("id").arg("-u").output().unwrap().stdout).unwrap();
        assert_eq!(
            uid.trim(),
            "0",
            "the disk tests mount tmpfs file systems and must run as root (as CI does)"
        );
        let parent = TempDir::new(tag);
        let dir = parent.path().join("disk");
        std::fs::create_dir(&dir).unwrap();
        mount(
            &["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"],
            &dir,
        );
        Tmpfs {
            dir,
            _parent: parent,
        }
    }

    /// `mount -o remount,OPTIONS`: a new size, `ro` or `rw`.
    pub(crate) fn remount(&self, options: &str) {
        mount(&["-o", &format!("remount,{options}")], &self.dir);
    }
}

fn mount(args: &[&str], dir: &Path) {
    let out = Command::new("mount").args(args).arg(dir).output().unwrap();
    assert!(
        out.status.success(),
        "mount {args:?} {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a server still running on it must not keep it mounted.
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// The value of the first line of a server's scrape that starts with
/// `line_start` (its own metrics, say `pgw_limit_hits_total{limit="series"} `).
pub(crate) fn own_metric(g: &Pgw, line_start: &str) -> Option<f64> {
    get(&format!("{}/metrics", g.url()))
        .text()
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// A running node_exporter, killed on drop.
pub(crate) struct NodeExporter {
    _proc: Proc,
    pub(crate) port: u16,
}

impl NodeExporter {
    /// On a free port.
    pub(crate) fn start() -> NodeExporter {
        NodeExporter::start_on(free_port())
    }

    pub(crate) fn start_on(port: u16) -> NodeExporter {
        require("prometheus-node-exporter");
        let proc = spawn(
            "prometheus-node-exporter",
            &[format!("--web.listen-address=127.0.0.1:{port}")],
        );
        let url = format!("http://127.0.0.1:{port}/metrics");
        let up = poll(START_TIMEOUT, || {
            try_request("GET", &url, &[], b"").filter(|r| r.status == 200)
        });
        assert!(up.is_some(), "node_exporter did not start:\n{}", proc.log());
        NodeExporter { _proc: proc, port }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}/metrics", self.port)
    }
}

/// The port of a `msg="listening" address=127.0.0.1:PORT` log line.
fn listening_port(line: &str) -> Option<u16> {
    if !line.contains("msg=\"listening\"") && !line.contains("msg=listening") {
        return None;
    }
    let addr = line.split("address=").nth(1)?;
    let addr = addr.split_whitespace().next()?.trim_matches('"');
    addr.rsplit(':').next()?.parse().ok()
}

/// A running official Pushgateway (`prometheus-pushgateway`), memory only.
pub(crate) struct Official {
    pub(crate) proc: Proc,
    pub(crate) port: u16,
}

impl Official {
    pub(crate) fn start(args: &[&str]) -> Official {
        require("prometheus-pushgateway");
        let port = free_port();
        let mut cmd = Command::new("prometheus-pushgateway");
        cmd.arg(format!("--web.listen-address=127.0.0.1:{port}"));
        // Debian's default persistence file is shared by every run: turn it
        // off unless the test brings its own (kingpin refuses a repeated flag).
        if !args.iter().any(|a| a.starts_with("--persistence.file")) {
            cmd.arg("--persistence.file=");
        }
        cmd.args(args);
        let (mut proc, _lines) = spawn_logged(cmd);
        let url = format!("http://127.0.0.1:{port}{}", route_prefix(args));
        let up = poll(START_TIMEOUT, || {
            if let Ok(Some(status)) = proc.child.try_wait() {
                return Some(Err(status));
            }
            try_request("GET", &format!("{url}/-/healthy"), &[], b"")
                .filter(|r| r.status == 200)
                .map(|_| Ok(()))
        });
        match up {
            Some(Ok(())) => Official { proc, port },
            other => panic!(
                "prometheus-pushgateway did not become healthy on port {port} ({other:?}); stderr:\n{}",
                proc.log()
            ),
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// The route prefix that `args` give the official server: `--web.route-prefix`,
/// else the path of `--web.external-url`, without a trailing `/`.
fn route_prefix(args: &[&str]) -> String {
    let flag = |name: &str| {
        args.iter()
            .find_map(|a| a.strip_prefix(name)?.strip_prefix('='))
    };
    let prefix = match (flag("--web.route-prefix"), flag("--web.external-url")) {
        (Some(p), _) => p.to_string(),
        (None, Some(url)) => {
            let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
            after_scheme
                .find('/')
                .map_or(String::new(), |i| after_scheme[i..].to_string())
        }
        (None, None) => String::new(),
    };
    prefix.trim_end_matches('/').to_string()
}

/// An HTTP response, whatever its status.
#[derive(Debug, Clone)]
pub(crate) struct Resp {
    pub(crate) status: u16,
    /// Header names in lower case, in the order received.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Resp {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

fn agent() -> ureq::Agent {
    // No redirects: a 301/307 is something to assert, not to follow.
    ureq::AgentBuilder::new()
        .redirects(0)
        .timeout(Duration::from_secs(30))
        .build()
}

/// Sends one request; `None` only on a transport error (connection refused).
pub(crate) fn try_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<Resp> {
    let mut req = agent().request(method, url);
    // ureq asks for gzip and decompresses silently, dropping Content-Encoding;
    // tests that look at compression ask for it themselves (see `raw_get`).
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("accept-encoding"))
    {
        req = req.set("Accept-Encoding", "identity");
    }
    for (name, value) in headers {
        req = req.set(name, value);
    }
    let resp = match req.send_bytes(body) {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(ureq::Error::Transport(_)) => return None,
    };
    let status = resp.status();
    let headers = resp
        .headers_names()
        .into_iter()
        .flat_map(|name| {
            resp.all(&name)
                .into_iter()
                .map(|v| (name.to_ascii_lowercase(), v.to_string()))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut body = Vec::new();
    resp.into_reader()
        .read_to_end(&mut body)
        .expect("read response body");
    Some(Resp {
        status,
        headers,
        body,
    })
}

/// Sends one request and returns the response, whatever its status.
pub(crate) fn request(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    try_request(method, url, headers, body)
        .unwrap_or_else(|| panic!("{method} {url}: connection failed"))
}

pub(crate) fn get(url: &str) -> Resp {
    request("GET", url, &[], b"")
}

pub(crate) fn put(url: &str, body: &str) -> Resp {
    request("PUT", url, &[], body.as_bytes())
}

pub(crate) fn post(url: &str, body: &str) -> Resp {
    request("POST", url, &[], body.as_bytes())
}

pub(crate) fn delete(url: &str) -> Resp {
    request("DELETE", url, &[], b"")
}

/// A GET over a bare TCP connection, for what ureq hides: it decompresses
/// gzip bodies itself and removes `Content-Encoding`. Returns the status, the
/// lower-cased headers and the raw (possibly compressed) body.
pub(crate) fn raw_get(base: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut rest = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        rest = dechunk(&rest);
    }
    Resp {
        status,
        headers,
        body: rest,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .expect("chunk size");
        data = &data[eol + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Gzips `data`, for compressed push bodies.
pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

pub(crate) fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

/// One exposed series: name, label pairs sorted by name, value as written.
pub(crate) type Series = (String, Vec<(String, String)>, String);

/// Every series of a `/metrics` text body, in order, with its family's
/// comment lines skipped. Written for the well-formed output of a server,
/// not as a general parser.
pub(crate) fn parse_exposition(body: &str) -> Vec<Series> {
    let mut out = Vec::new();
    for line in body.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, labels, rest) = match line.find(['{', ' ']) {
            Some(i) if line.as_bytes()[i] == b'{' => {
                let (labels, rest) = parse_labels(&line[i + 1..]);
                (&line[..i], labels, rest)
            }
            Some(i) => (&line[..i], Vec::new(), &line[i..]),
            None => panic!("series line without value: {line:?}"),
        };
        let value = rest
            .split_whitespace()
            .next()
            .unwrap_or_else(|| panic!("no value in {line:?}"));
        let mut labels = labels;
        labels.sort();
        out.push((name.to_string(), labels, value.to_string()));
    }
    out
}

/// Parses `a="x",b="y"} rest` into the pairs and `rest`.
fn parse_labels(mut s: &str) -> (Vec<(String, String)>, &str) {
    let mut labels = Vec::new();
    loop {
        s = s.trim_start_matches(',');
        if let Some(rest) = s.strip_prefix('}') {
            return (labels, rest);
        }
        let eq = s.find("=\"").expect("label =\"");
        let name = s[..eq].to_string();
        let mut value = String::new();
        let mut chars = s[eq + 2..].char_indices();
        let end = loop {
            let (i, c) = chars.next().expect("closing quote");
            match c {
                '\\' => match chars.next().expect("escape").1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                '"' => break eq + 2 + i + 1,
                c => value.push(c),
            }
        };
        labels.push((name, value));
        s = &s[end..];
    }
}

/// The series of a `/metrics` body that belong to pushed groups (they carry a
/// `job` label; the server's own metrics do not), as a set: the order of
/// series inside a family may legitimately differ between servers.
pub(crate) fn pushed_series(body: &str) -> BTreeSet<Series> {
    parse_exposition(body)
        .into_iter()
        .filter(|(_, labels, _)| labels.iter().any(|(n, _)| n == "job"))
        .collect()
}

/// Scrapes `url` (a full `/metrics` URL) and returns the pushed series.
pub(crate) fn scrape_pushed(url: &str) -> BTreeSet<Series> {
    let r = get(url);
    assert_eq!(r.status, 200, "scrape {url}: {}", r.text());
    pushed_series(&r.text())
}

/// One series as an exposition line, labels in name order.
pub(crate) fn series_line((name, labels, value): &Series) -> String {
    if labels.is_empty() {
        return format!("{name} {value}");
    }
    let labels: Vec<String> = labels
        .iter()
        .map(|(n, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{n}=\"{v}\"")
        })
        .collect();
    format!("{name}{{{}}} {value}", labels.join(","))
}

/// Checks that `got` holds exactly the series written in `want`, an
/// exposition text (labels in any order, values as the server writes them).
/// They compare as sets: the order of series inside a family may differ
/// between servers. A failure prints both sides and the lines only one has.
#[track_caller]
pub(crate) fn assert_series(got: &BTreeSet<Series>, want: &str) {
    let listed = parse_exposition(want);
    let wanted: BTreeSet<Series> = listed.iter().cloned().collect();
    assert_eq!(
        listed.len(),
        wanted.len(),
        "the expectation lists a series twice:\n{want}"
    );
    if *got == wanted {
        return;
    }
    let lines = |set: &BTreeSet<Series>, other: &BTreeSet<Series>, mark: char| {
        set.iter()
            .map(|s| {
                let m = if other.contains(s) { ' ' } else { mark };
                format!("{m} {}\n", series_line(s))
            })
            .collect::<String>()
    };
    panic!(
        "the series differ ('-' only wanted, '+' only got)\nwant:\n{}got:\n{}",
        lines(&wanted, got, '-'),
        lines(got, &wanted, '+'),
    );
}

/// Builds a label list from pairs, sorted, for comparing with `Series`.
pub(crate) fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<_> = pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    v.sort();
    v
}

/// A grouping key (or any label map) from pairs.
pub(crate) fn key(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// `/api/v1/metrics` of the server at `base`, read with this
/// `Authorization` header if any; it must answer 200.
pub(crate) fn api_at(base: &str, auth: Option<&str>) -> serde_json::Value {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
    let r = request("GET", &format!("{base}/api/v1/metrics"), &headers, b"");
    assert_eq!(r.status, 200, "GET {base}/api/v1/metrics: {}", r.text());
    r.json()
}

/// An `/api/v1/metrics` reply with its groups sorted by their labels, for
/// comparing replies of the official server, whose group order is random.
pub(crate) fn sorted_groups(mut api: serde_json::Value) -> serde_json::Value {
    api["data"]
        .as_array_mut()
        .expect("data array")
        .sort_by_key(|g| g["labels"].to_string());
    api
}

/// The `job` label of every group of an `/api/v1/metrics` reply, in its order.
pub(crate) fn jobs(api: &serde_json::Value) -> Vec<String> {
    group_labels(api)
        .into_iter()
        .map(|l| l["job"].clone())
        .collect()
}

/// The grouping labels of every group of the server at `base`, as a set:
/// the official server answers in random order.
pub(crate) fn groups_at(base: &str) -> BTreeSet<BTreeMap<String, String>> {
    group_labels(&api_at(base, None)).into_iter().collect()
}

/// Waits until the gateway at `base` holds exactly these groups: the
/// official server applies a DELETE or a wipe after answering 202, so the
/// checks after one poll.
pub(crate) fn wait_groups(base: &str, want: &[&[(&str, &str)]]) {
    let want: BTreeSet<_> = want.iter().map(|pairs| key(pairs)).collect();
    let got = poll(Duration::from_secs(10), || {
        (groups_at(base) == want).then_some(())
    });
    assert!(
        got.is_some(),
        "groups at {base}: want {want:?}, have {:?}",
        groups_at(base)
    );
}

/// The grouping labels of every group in a `/api/v1/metrics` reply.
pub(crate) fn group_labels(api: &serde_json::Value) -> Vec<BTreeMap<String, String>> {
    api["data"]
        .as_array()
        .expect("data array")
        .iter()
        .map(|g| serde_json::from_value(g["labels"].clone()).expect("labels is a string map"))
        .collect()
}

/// A name no other test of any run on this machine uses now:
/// `pgw-test-TAG-PID-N-NANOS`.
pub(crate) fn unique_name(tag: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("pgw-test-{tag}-{}-{n}-{nanos}", std::process::id())
}

/// A directory under the system temp dir, removed with its content on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> TempDir {
        let path = std::env::temp_dir().join(unique_name(tag));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Spawns any program as a killed-on-drop `Proc` (stderr kept in its log).
pub(crate) fn spawn(program: &str, args: &[String]) -> Proc {
    let mut cmd = Command::new(program);
    cmd.args(args);
    spawn_logged(cmd).0
}

/// A running Prometheus (the Debian package) on a free port, scraping every
/// second with the `scrape_configs` the test gives (YAML list items, or
/// nothing); killed, and its TSDB removed, on drop.
pub(crate) struct Prometheus {
    pub(crate) proc: Proc,
    pub(crate) port: u16,
    _dir: TempDir,
}

impl Prometheus {
    /// Starts Prometheus; `scrape_configs` is the YAML under
    /// `scrape_configs:` (empty for none), `args` extra flags.
    pub(crate) fn start(scrape_configs: &str, args: &[&str]) -> Prometheus {
        require("prometheus");
        let dir = TempDir::new("prometheus");
        let config = dir.path().join("prometheus.yml");
        let mut yml = "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n".to_string();
        if !scrape_configs.is_empty() {
            yml.push_str("scrape_configs:\n");
            yml.push_str(scrape_configs);
        }
        std::fs::write(&config, yml).unwrap();
        let port = free_port();
        let mut all = vec![
            format!("--config.file={}", config.display()),
            format!("--storage.tsdb.path={}", dir.path().join("data").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
        ];
        all.extend(args.iter().map(|a| a.to_string()));
        let proc = spawn("prometheus", &all);
        let url = format!("http://127.0.0.1:{port}/-/ready");
        let ready = poll(Duration::from_secs(30), || {
            try_request("GET", &url, &[], b"").filter(|r| r.status == 200)
        });
        assert!(
            ready.is_some(),
            "prometheus did not get ready on port {port}:\n{}",
            proc.log()
        );
        Prometheus {
            proc,
            port,
            _dir: dir,
        }
    }

    /// Scraping a gateway on `port` with `honor_labels: true`, as a
    /// Pushgateway must be scraped.
    pub(crate) fn scraping_gateway(port: u16) -> Prometheus {
        Prometheus::start(
            &format!(
                "  - job_name: pushgateway\n    honor_labels: true\n    \
                 static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
            ),
            &[],
        )
    }

    /// The series an instant query returns now (`None` if it failed).
    pub(crate) fn query_once(&self, query: &str) -> Option<Vec<serde_json::Value>> {
        let q: String = query
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        let url = format!("http://127.0.0.1:{}/api/v1/query?query={q}", self.port);
        let r = try_request("GET", &url, &[], b"").filter(|r| r.status == 200)?;
        r.json()["data"]["result"].as_array().cloned()
    }

    /// Polls an instant query until it returns at least `n` series.
    pub(crate) fn query_until(&self, query: &str, n: usize) -> Vec<serde_json::Value> {
        let mut last = None;
        poll(Duration::from_secs(40), || {
            let result = self.query_once(query)?;
            let enough = result.len() >= n;
            last = Some(result.clone());
            enough.then_some(result)
        })
        .unwrap_or_else(|| {
            panic!(
                "query {query}: fewer than {n} series after 40 s; last result {last:?}\n{}",
                self.proc.log()
            )
        })
    }
}

/// Ports handed out to etcd members by this test binary, so that two
/// clusters started by parallel tests never pick the same one (another
/// program taking one in the window is caught by retrying the start).
static ETCD_PORTS: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

fn etcd_port() -> u16 {
    loop {
        let port = free_port();
        if ETCD_PORTS.lock().unwrap().insert(port) {
            return port;
        }
    }
}

/// One member of an `EtcdCluster`.
struct EtcdMember {
    name: String,
    client: u16,
    peer: u16,
    /// `/health` over plain HTTP, whatever the client port speaks.
    metrics: u16,
    proc: Option<Proc>,
}

/// Real etcd (`/usr/bin/etcd`, the Debian package `etcd-server`) of 1 or 3
/// members on loopback: free ports, data dirs in a `TempDir` (on tmpfs
/// `/dev/shm` where it exists, for speed), each member's log in
/// `<data dir>/etcd.log`. Drop kills every member.
pub(crate) struct EtcdCluster {
    members: Vec<EtcdMember>,
    token: String,
    extra: Vec<String>,
    /// "https" when the extra flags give the client port a certificate.
    scheme: &'static str,
    dir: TempDir,
}

impl EtcdCluster {
    pub(crate) fn start(members: usize) -> EtcdCluster {
        EtcdCluster::start_with(members, &[])
    }

    /// A cluster with `extra` flags for every member (auth, TLS, limits).
    /// A `--cert-file` among them makes the client URLs https.
    pub(crate) fn start_with(members: usize, extra: &[&str]) -> EtcdCluster {
        require("etcd");
        assert!(
            members == 1 || members == 3,
            "1 or 3 members, not {members}"
        );
        let mut last = String::new();
        // A port taken by another program between picking and binding fails
        // the start: try again on new ports.
        for _ in 0..3 {
            let mut cluster = EtcdCluster::new(members, extra);
            for i in 0..members {
                cluster.spawn(i, "new");
            }
            match cluster.poll_healthy(Duration::from_secs(30)) {
                Ok(()) => return cluster,
                Err(e) => last = e,
            }
        }
        panic!("etcd did not start:\n{last}");
    }

    fn new(members: usize, extra: &[&str]) -> EtcdCluster {
        let token = unique_name("etcd");
        let shm = Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            let path = shm.join(&token);
            std::fs::create_dir_all(&path).expect("create etcd dir in /dev/shm");
            TempDir(path)
        } else {
            TempDir::new("etcd")
        };
        let members = (0..members)
            .map(|i| EtcdMember {
                name: format!("m{i}"),
                client: etcd_port(),
                peer: etcd_port(),
                metrics: etcd_port(),
                proc: None,
            })
            .collect();
        let scheme = if extra.iter().any(|a| a.starts_with("--cert-file")) {
            "https"
        } else {
            "http"
        };
        EtcdCluster {
            members,
            token,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            scheme,
            dir,
        }
    }

    fn data_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(&self.members[i].name)
    }

    fn log_tail(&self, i: usize) -> String {
        let log = std::fs::read_to_string(self.data_dir(i).join("etcd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(30)..].join("\n");
        let stderr = self.members[i]
            .proc
            .as_ref()
            .map(Proc::log)
            .unwrap_or_default();
        format!("--- member {i} log tail:\n{tail}\n--- stderr:\n{stderr}")
    }

    fn spawn(&mut self, i: usize, state: &str) {
        let initial: Vec<String> = self
            .members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer))
            .collect();
        let m = &self.members[i];
        let data = self.data_dir(i);
        std::fs::create_dir_all(&data).unwrap();
        let client = format!("{}://127.0.0.1:{}", self.scheme, m.client);
        let peer = format!("http://127.0.0.1:{}", m.peer);
        let mut args = vec![
            format!("--name={}", m.name),
            format!("--data-dir={}", data.join("data").display()),
            format!("--listen-client-urls={client}"),
            format!("--advertise-client-urls={client}"),
            format!("--listen-peer-urls={peer}"),
            format!("--initial-advertise-peer-urls={peer}"),
            format!("--listen-metrics-urls=http://127.0.0.1:{}", m.metrics),
            format!("--initial-cluster={}", initial.join(",")),
            format!("--initial-cluster-state={state}"),
            format!("--initial-cluster-token={}", self.token),
            // Faster elections than the defaults (100 ms, 1 s), still far
            // from spurious ones on a busy machine.
            "--heartbeat-interval=50".into(),
            "--election-timeout=500".into(),
            "--logger=zap".into(),
            format!("--log-outputs={}", data.join("etcd.log").display()),
        ];
        args.extend(self.extra.iter().cloned());
        self.members[i].proc = Some(spawn("etcd", &args));
    }

    fn member_healthy(&self, i: usize) -> bool {
        let url = format!("http://127.0.0.1:{}/health", self.members[i].metrics);
        try_request("GET", &url, &[], b"")
            .is_some_and(|r| r.status == 200 && r.json()["health"] == "true")
    }

    fn running(&self) -> Vec<usize> {
        (0..self.members.len())
            .filter(|&i| self.members[i].proc.is_some())
            .collect()
    }

    fn poll_healthy(&mut self, timeout: Duration) -> Result<(), String> {
        let running = self.running();
        let ok = poll(timeout, || {
            let exited = running.iter().copied().find(|&i| {
                let p = self.members[i].proc.as_mut().unwrap();
                p.child.try_wait().ok().flatten().is_some()
            });
            if exited.is_some() {
                return Some(exited);
            }
            running
                .iter()
                .all(|&i| self.member_healthy(i))
                .then_some(None)
        });
        match ok {
            Some(None) => Ok(()),
            Some(Some(i)) => Err(format!("member {i} exited\n{}", self.log_tail(i))),
            None => Err(running
                .iter()
                .map(|&i| self.log_tail(i))
                .collect::<Vec<_>>()
                .join("\n")),
        }
    }

    /// Waits until every running member's `/health` says healthy.
    pub(crate) fn wait_healthy(&self) {
        let running = self.running();
        let ok = poll(Duration::from_secs(30), || {
            running
                .iter()
                .all(|&i| self.member_healthy(i))
                .then_some(())
        });
        if ok.is_none() {
            let logs: Vec<String> = running.iter().map(|&i| self.log_tail(i)).collect();
            panic!("etcd did not get healthy:\n{}", logs.join("\n"));
        }
    }

    /// "http://127.0.0.1:p1,http://127.0.0.1:p2,..."
    pub(crate) fn endpoints(&self) -> String {
        (0..self.members.len())
            .map(|i| self.endpoint(i))
            .collect::<Vec<_>>()
            .join(",")
    }

    pub(crate) fn endpoint(&self, i: usize) -> String {
        format!("{}://127.0.0.1:{}", self.scheme, self.members[i].client)
    }

    /// SIGKILL member i.
    pub(crate) fn kill(&mut self, i: usize) {
        if let Some(mut p) = self.members[i].proc.take() {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }

    /// SIGTERM member i, and wait for it to exit.
    pub(crate) fn stop(&mut self, i: usize) {
        if let Some(mut p) = self.members[i].proc.take() {
            p.signal("TERM");
            let exit = p.wait_exit(Duration::from_secs(20));
            assert!(exit.is_some(), "etcd member {i} did not exit after SIGTERM");
        }
    }

    /// SIGSTOP member i: its sockets still accept connections, and nothing
    /// answers (a hung member, unlike a dead one).
    pub(crate) fn pause(&self, i: usize) {
        let p = self.members[i].proc.as_ref().expect("member is running");
        p.signal("STOP");
    }

    /// SIGCONT member i after `pause`.
    pub(crate) fn resume(&self, i: usize) {
        let p = self.members[i].proc.as_ref().expect("member is running");
        p.signal("CONT");
    }

    /// Starts member i again on its data dir and ports; waits until it is
    /// healthy when enough members run for a quorum, else until its client
    /// port accepts connections.
    pub(crate) fn restart(&mut self, i: usize) {
        assert!(self.members[i].proc.is_none(), "member {i} is running");
        self.spawn(i, "existing");
        let quorum = self.members.len() / 2 + 1;
        if self.running().len() >= quorum {
            self.wait_healthy();
        } else {
            let addr = format!("127.0.0.1:{}", self.members[i].client);
            let up = poll(Duration::from_secs(30), || TcpStream::connect(&addr).ok());
            assert!(
                up.is_some(),
                "etcd member {i} did not listen\n{}",
                self.log_tail(i)
            );
        }
    }

    pub(crate) fn stop_all(&mut self) {
        for i in 0..self.members.len() {
            self.stop(i);
        }
    }

    pub(crate) fn restart_all(&mut self) {
        for i in 0..self.members.len() {
            if self.members[i].proc.is_none() {
                self.spawn(i, "existing");
            }
        }
        self.wait_healthy();
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
    }
}

/// Serves `app` (a fake gateway or proxy of a test) on a port of its own,
/// on a thread with its own runtime, until the test binary exits; its URL.
pub(crate) fn serve_app(app: axum::Router) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    url
}
