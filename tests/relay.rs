//! `pgw relay` end to end with real parts: the Debian node_exporter on a free
//! port, `pgw serve` and the official Pushgateway as gateways, a real
//! Prometheus scraping the gateway with `honor_labels: true` and, with its
//! remote-write receiver on, receiving the samples directly. The exporter is
//! killed mid-run and must turn into the health series, and back.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::Duration;

use crate::util::*;

fn hostname() -> String {
    let out = Command::new("hostname").output().expect("run hostname");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn relay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pgw"))
        .arg("relay")
        .args(args)
        .output()
        .expect("run pgw relay")
}

/// The value of `name{job=..,instance=..}` on a gateway's /metrics, if present.
fn gateway_value(gateway: &str, name: &str, job: &str, instance: &str) -> Option<f64> {
    let body = get(&format!("{gateway}/metrics")).text();
    parse_exposition(&body)
        .into_iter()
        .find_map(|(n, labels, value)| {
            let labels: BTreeMap<_, _> = labels.into_iter().collect();
            (n == name
                && labels.get("job").map(String::as_str) == Some(job)
                && labels.get("instance").map(String::as_str) == Some(instance))
            .then(|| value.parse().unwrap())
        })
}

#[test]
fn daemon_relays_node_exporter_and_reports_its_death_and_return() {
    let port = free_port();
    let exporter = NodeExporter::start_on(port);
    let pgw = Pgw::start(&[]);
    let prometheus = Prometheus::scraping_gateway(pgw.port);
    let host = hostname();
    let gw = pgw.url();
    // A second gateway that is down all along: logged, retried, never fatal.
    let down = format!("http://127.0.0.1:{}", free_port());
    let mut daemon = spawn(
        env!("CARGO_BIN_EXE_pgw"),
        &[
            "relay".into(),
            "--from".into(),
            exporter.url(),
            "-g".into(),
            gw.clone(),
            "-g".into(),
            down.clone(),
            "--job".into(),
            "node".into(),
            "--every".into(),
            "1s".into(),
        ],
    );
    let success = |v: f64| {
        poll(Duration::from_secs(20), || {
            (gateway_value(&gw, "pgw_relay_scrape_success", "node", &host) == Some(v)).then_some(())
        })
    };
    assert!(
        success(1.0).is_some(),
        "no successful push:\n{}",
        daemon.log()
    );
    assert!(gateway_value(&gw, "node_boot_time_seconds", "node", &host).is_some());

    let found = prometheus.query_until(
        &format!("node_boot_time_seconds{{job=\"node\",instance=\"{host}\"}}"),
        1,
    );
    assert_eq!(found.len(), 1);
    let health = prometheus.query_until(
        &format!("pgw_relay_scrape_success{{job=\"node\",instance=\"{host}\"}}"),
        1,
    );
    assert_eq!(health[0]["value"][1], "1");

    // The exporter dies: the group holds only the health series, at 0.
    drop(exporter);
    assert!(
        success(0.0).is_some(),
        "no failure reported:\n{}",
        daemon.log()
    );
    assert_eq!(
        gateway_value(&gw, "node_boot_time_seconds", "node", &host),
        None,
        "stale exporter metrics left in the group"
    );
    assert_eq!(
        gateway_value(&gw, "pgw_relay_scrape_size_bytes", "node", &host),
        Some(0.0)
    );
    assert!(daemon.log().contains("scrape failed"));

    // It comes back on the same port: so do its metrics.
    let _exporter = NodeExporter::start_on(port);
    assert!(success(1.0).is_some(), "no recovery:\n{}", daemon.log());
    assert!(gateway_value(&gw, "node_boot_time_seconds", "node", &host).is_some());
    assert!(daemon.log().contains("scrape recovered"));
    let down_logged = poll(Duration::from_secs(10), || {
        daemon
            .log()
            .lines()
            .any(|l| l.contains("push failed") && l.contains(&down))
            .then_some(())
    });
    assert!(down_logged.is_some(), "{}", daemon.log());

    // pgw serve was asked for an expiry of three intervals.
    let groups = get(&format!("{gw}/api/v1/metrics")).json();
    assert_eq!(groups["data"][0]["expire_after_seconds"], 3.0);

    daemon.signal("TERM");
    let status = daemon
        .wait_exit(Duration::from_secs(10))
        .expect("exits on SIGTERM");
    assert!(status.success(), "{status:?}\n{}", daemon.log());
    assert!(daemon.log().contains("relay stopped"));
}

#[test]
fn once_into_the_official_pushgateway_and_pgw_with_fanout_all() {
    let exporter = NodeExporter::start_on(free_port());
    let official = Official::start(&[]);
    let pgw = Pgw::start(&[]);
    let out = relay(&[
        "--from",
        &format!("nodes={}", exporter.url()),
        "-g",
        &official.url(),
        "-g",
        &pgw.url(),
        "--instance",
        "box-1",
        "-l",
        "dc=eu west",
        "--fanout",
        "all",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    for gw in [official.url(), pgw.url()] {
        assert!(
            gateway_value(&gw, "node_boot_time_seconds", "nodes", "box-1").is_some(),
            "{gw} lacks the node metrics"
        );
        assert_eq!(
            gateway_value(&gw, "pgw_relay_scrape_success", "nodes", "box-1"),
            Some(1.0)
        );
        let groups = get(&format!("{gw}/api/v1/metrics")).json();
        assert_eq!(groups["data"][0]["labels"]["dc"], "eu west");
    }

    // One gateway down: the other still gets the push, the log names both,
    // and the exit code is the failure's.
    let down = format!("http://127.0.0.1:{}", free_port());
    let out = relay(&[
        "--from",
        &exporter.url(),
        "--job",
        "half",
        "-g",
        &down,
        "-g",
        &pgw.url(),
        "--retries",
        "0",
    ]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("1 of 2 targets failed"), "{err}");
    assert!(err.contains(&pgw.url()) && err.contains(&down), "{err}");
    assert!(gateway_value(&pgw.url(), "node_boot_time_seconds", "half", &hostname()).is_some());
}

#[test]
fn once_with_a_dead_exporter_pushes_health_and_exits_9() {
    let pgw = Pgw::start(&[]);
    let gw = pgw.url();
    // A first push with metrics, then the exporter is gone.
    let (url, _server) = fixed_exporter("text/plain; version=0.0.4", "m_total 3\n");
    let out = relay(&["--from", &url, "-g", &gw, "-j", "dead", "--instance", "h"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(gateway_value(&gw, "m_total", "dead", "h"), Some(3.0));
    let nothing = format!("http://127.0.0.1:{}/metrics", free_port());
    let out = relay(&[
        "--from",
        &nothing,
        "-g",
        &gw,
        "-j",
        "dead",
        "--instance",
        "h",
    ]);
    assert_eq!(code(&out), 9, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot reach the exporter"),
        "{}",
        stderr(&out)
    );
    assert_eq!(gateway_value(&gw, "m_total", "dead", "h"), None);
    assert_eq!(
        gateway_value(&gw, "pgw_relay_scrape_success", "dead", "h"),
        Some(0.0)
    );
    // A wrong command line exits 2, before anything is sent.
    let out = relay(&["--from", &nothing, "-g", &gw]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("--job"));
}

/// Serves the same answer to every request, on a port of its own.
fn fixed_exporter(content_type: &str, body: &str) -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    let answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let handle = std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { break };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(answer.as_bytes());
        }
    });
    (url, handle)
}

#[test]
fn openmetrics_with_timestamps_and_body_labels_is_made_acceptable() {
    let body = "\
# TYPE jobs counter
# HELP jobs Jobs done.
jobs_total{job=\"inner\",kind=\"a\"} 5 1700000000.250 # {trace_id=\"t\"} 1
jobs_created{job=\"inner\",kind=\"a\"} 1700000000
# TYPE temp gauge
temp{instance=\"x\"} 20 1700000000
temp{instance=\"y\"} 21 1700000000
# TYPE keep_me gauge
keep_me 1
# EOF
";
    let (url, _server) = fixed_exporter("application/openmetrics-text; version=1.0.0", body);
    for gw in [Pgw::start(&[]).url(), Official::start(&[]).url()] {
        let out = relay(&[
            "--from",
            &url,
            "-g",
            &gw,
            "-j",
            "om",
            "--instance",
            "i",
            "--drop",
            "keep_.*",
            "--log.level",
            "debug",
        ]);
        assert_eq!(code(&out), 0, "{gw}: {}", stderr(&out));
        let series = scrape_pushed(&format!("{gw}/metrics"));
        let names: Vec<&str> = series.iter().map(|s| s.0.as_str()).collect();
        assert!(names.contains(&"jobs_total"), "{gw}: {names:?}");
        assert!(!names.contains(&"keep_me") && !names.contains(&"jobs_created"));
        assert_eq!(gateway_value(&gw, "temp", "om", "i"), Some(20.0));
        assert_eq!(
            gateway_value(&gw, "pgw_relay_timestamps_dropped", "om", "i"),
            Some(3.0)
        );
        assert_eq!(
            gateway_value(&gw, "pgw_relay_series_dropped", "om", "i"),
            Some(1.0)
        );
        assert_eq!(
            gateway_value(&gw, "pgw_relay_families_filtered", "om", "i"),
            Some(1.0)
        );
    }
}

#[test]
fn fanout_hash_puts_each_group_on_one_gateway() {
    let (url, _server) = fixed_exporter("text/plain", "x 1\n");
    let gateways = [Pgw::start(&[]), Pgw::start(&[]), Pgw::start(&[])];
    let mut args: Vec<String> = vec!["--fanout".into(), "hash".into()];
    for g in &gateways {
        args.extend(["-g".into(), g.url()]);
    }
    // The gateways' URLs (random ports) seed the hash, so the split differs
    // from run to run: with 60 groups the chance that a gateway gets none
    // is 3 * (2/3)^60, about 10^-10.
    let jobs: Vec<String> = (0..60).map(|i| format!("j{i:02}")).collect();
    for j in &jobs {
        args.extend(["--from".into(), format!("{j}={url}")]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = relay(&args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mut seen = Vec::new();
    for g in &gateways {
        let groups = get(&format!("{}/api/v1/metrics", g.url())).json();
        let held: Vec<String> = groups["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|grp| grp["labels"]["job"].as_str().unwrap().to_string())
            .collect();
        assert!(!held.is_empty(), "a gateway got no group of 60");
        seen.extend(held);
    }
    seen.sort();
    let mut want = jobs.clone();
    want.sort();
    assert_eq!(seen, want, "every group exactly once");
    // A second run picks the same gateways.
    let out = relay(&args);
    assert_eq!(code(&out), 0);
    let total: usize = gateways
        .iter()
        .map(|g| {
            get(&format!("{}/api/v1/metrics", g.url())).json()["data"]
                .as_array()
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(total, 60);
}

#[test]
fn remote_write_into_prometheus() {
    let exporter = NodeExporter::start_on(free_port());
    let prometheus = Prometheus::start("", &["--web.enable-remote-write-receiver"]);
    let out = relay(&[
        "--from",
        &exporter.url(),
        "--job",
        "node",
        "--instance",
        "rw-host",
        "--remote-write",
        &format!("http://127.0.0.1:{}/api/v1/write", prometheus.port),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let found = prometheus.query_until(
        "node_boot_time_seconds{job=\"node\",instance=\"rw-host\"}",
        1,
    );
    assert_eq!(found.len(), 1);
    let health = prometheus.query_until(
        "pgw_relay_scrape_success{job=\"node\",instance=\"rw-host\"}",
        1,
    );
    assert_eq!(health[0]["value"][1], "1");
    let buckets = prometheus.query_until("go_gc_duration_seconds{job=\"node\",quantile=\"1\"}", 1);
    assert_eq!(buckets.len(), 1);

    // As a daemon: when the exporter dies its series end with staleness
    // markers (gone from queries at once, not after the 5-minute lookback).
    let mut daemon = spawn(
        env!("CARGO_BIN_EXE_pgw"),
        &[
            "relay".into(),
            "--from".into(),
            exporter.url(),
            "--job".into(),
            "node".into(),
            "--instance".into(),
            "rw-daemon".into(),
            "--every".into(),
            "1s".into(),
            "--remote-write".into(),
            format!("http://127.0.0.1:{}/api/v1/write", prometheus.port),
        ],
    );
    let boot = "node_boot_time_seconds{instance=\"rw-daemon\"}";
    assert_eq!(prometheus.query_until(boot, 1).len(), 1, "{}", daemon.log());
    drop(exporter);
    let gone = poll(Duration::from_secs(20), || {
        prometheus.query_once(boot).filter(|r| r.is_empty())
    });
    assert!(gone.is_some(), "series not ended:\n{}", daemon.log());
    let health = prometheus.query_until("pgw_relay_scrape_success{instance=\"rw-daemon\"} == 0", 1);
    assert_eq!(health.len(), 1);
    daemon.signal("TERM");
    assert!(daemon.wait_exit(Duration::from_secs(10)).is_some());
}

/// A persistent wineserver for one Wine prefix, killed (with every Wine
/// process of the prefix) when dropped, also when the test fails.
struct Wineserver<'a>(&'a std::path::Path);

impl<'a> Wineserver<'a> {
    const PATH: &'static str = "/usr/lib/wine/wineserver64";

    fn start(prefix: &'a std::path::Path) -> Self {
        // `-p` without a time: it stays until `-k`. It detaches itself.
        let started = Command::new(Self::PATH)
            .arg("-p")
            .env("WINEPREFIX", prefix)
            .status()
            .expect("run wineserver");
        assert!(started.success(), "wineserver -p failed: {started:?}");
        Wineserver(prefix)
    }
}

impl Drop for Wineserver<'_> {
    fn drop(&mut self) {
        let _ = Command::new(Self::PATH)
            .arg("-k")
            .env("WINEPREFIX", self.0)
            .status();
    }
}

/// The Windows build (`x86_64-pc-windows-gnu`, built here with the MinGW
/// linker from `.ci/install-deps.sh`) relays under Wine: the host name is
/// found, a push lands, and Ctrl-C (SIGINT, which Wine turns into a console
/// Ctrl-C event) stops the daemon cleanly.
#[test]
fn windows_build_relays_under_wine() {
    let wine = "/usr/lib/wine/wine64";
    assert!(
        std::path::Path::new(wine).is_file(),
        "{wine} is missing: run .ci/install-deps.sh (Debian package wine64)"
    );
    require("x86_64-w64-mingw32-gcc");
    let root = env!("CARGO_MANIFEST_DIR");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = "x86_64-pc-windows-gnu";
    let built = Command::new(&cargo)
        .current_dir(root)
        .args(["build", "--quiet", "--bin", "pgw", "--target", target])
        .status()
        .expect("run cargo");
    assert!(built.success(), "the Windows build failed");
    let target_dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| format!("{root}/target"));
    let dir = TempDir::new("wine");
    let exe = dir.path().join("pgw.exe");
    std::fs::copy(format!("{target_dir}/{target}/debug/pgw.exe"), &exe).unwrap();
    let stub = Command::new("x86_64-w64-mingw32-gcc")
        .args(["-shared", "-O2", "-o"])
        .arg(dir.path().join("bcryptprimitives.dll"))
        .arg(format!("{root}/tests/windows/bcryptprimitives.c"))
        .arg(format!("{root}/tests/windows/bcryptprimitives.def"))
        .arg("-ladvapi32")
        .status()
        .unwrap();
    assert!(stub.success());
    let prefix = dir.path().join("prefix");
    // One wineserver for the whole test, kept alive until the guard drops:
    // a wineserver that outlives its last client only by its default grace
    // time can be shutting down just as the next `wine` connects, and that
    // client dies with "recvmsg: Connection reset by peer".
    std::fs::create_dir_all(&prefix).unwrap();
    let _wineserver = Wineserver::start(&prefix);
    let run = |args: &[&str], log: &str| {
        let log = std::fs::File::create(dir.path().join(log)).unwrap();
        Command::new(wine)
            .arg(&exe)
            .args(args)
            .env("WINEPREFIX", &prefix)
            .env("WINEDEBUG", "-all")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("run wine")
    };
    let read_log = |log: &str| std::fs::read_to_string(dir.path().join(log)).unwrap_or_default();

    let (url, _server) = fixed_exporter("text/plain", "windows_cpu_time_total 12\n");
    let pgw = Pgw::start(&[]);
    let gw = pgw.url();
    let host = hostname();
    let mut once = run(
        &["relay", "--from", &url, "-g", &gw, "--job", "win"],
        "once.log",
    );
    let status = poll(Duration::from_secs(120), || once.try_wait().unwrap());
    let status = status.expect("pgw.exe under wine did not finish");
    assert!(status.success(), "{status:?}\n{}", read_log("once.log"));
    assert_eq!(
        gateway_value(&gw, "windows_cpu_time_total", "win", &host),
        Some(12.0),
        "the push of the Windows build is missing"
    );

    let mut daemon = run(
        &[
            "relay",
            "--from",
            &url,
            "-g",
            &gw,
            "--job",
            "windaemon",
            "--every",
            "1s",
        ],
        "daemon.log",
    );
    let pushed = poll(Duration::from_secs(60), || {
        gateway_value(&gw, "pgw_relay_scrape_success", "windaemon", &host)
    });
    assert_eq!(pushed, Some(1.0), "{}", read_log("daemon.log"));
    signal(daemon.id(), "INT");
    let stopped = poll(Duration::from_secs(30), || {
        read_log("daemon.log")
            .contains("relay stopped")
            .then_some(())
    });
    let _ = daemon.kill();
    let _ = daemon.wait();
    assert!(
        stopped.is_some(),
        "no clean stop:\n{}",
        read_log("daemon.log")
    );
}
