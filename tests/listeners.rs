//! Listeners and server options of `pgw serve`: dual-stack wildcards, a
//! bind that fails, systemd socket activation, HTTP/2 over TLS, every
//! official `client_auth_type` and `client_allowed_sans` kind, the
//! `--no-<flag>` forms, and the build identity and flags of
//! `/api/v1/status`.

use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::Duration;

use crate::util::*;

/// The port of the `listening` log line for `address` (as `[::]` or
/// `0.0.0.0`), once pgw has written it.
fn logged_port(g: &Pgw, address: &str) -> u16 {
    let needle = format!("address={address}:");
    poll(Duration::from_secs(20), || {
        let log = g.proc.log();
        let rest = log.split(&needle).nth(1)?;
        rest.split_whitespace().next()?.parse().ok()
    })
    .unwrap_or_else(|| panic!("no listener on {address}:\n{}", g.proc.log()))
}

/// Fails loudly when this machine has no IPv6 loopback: the dual-stack
/// tests would prove nothing there.
fn require_ipv6_loopback() {
    assert!(
        TcpListener::bind("[::1]:0").is_ok(),
        "this machine has no IPv6 loopback (::1): the dual-stack tests need one"
    );
}

/// `GET <url>` with curl: (HTTP code, body); code "000" when it cannot
/// connect.
fn curl(args: &[&str], url: &str) -> (String, String) {
    require("curl");
    let out = Command::new("curl")
        .args(["-s", "--max-time", "10", "-w", "\n%{http_code}"])
        .args(args)
        .arg(url)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (code.to_string(), body.to_string())
}

#[test]
fn wildcards_listen_on_ipv4_and_ipv6_and_specific_addresses_on_one() {
    require_ipv6_loopback();
    for wildcard in [":0", "0.0.0.0:0", "[::]:0"] {
        let g = Pgw::start(&[&format!("--web.listen-address={wildcard}")]);
        let port = logged_port(&g, "[::]");
        for host in ["127.0.0.1", "[::1]"] {
            let r = get(&format!("http://{host}:{port}/-/healthy"));
            assert_eq!(
                (r.status, r.text().trim()),
                (200, "OK"),
                "{wildcard} {host}"
            );
        }
    }
    // A specific address is one family only, as in Go.
    let g = Pgw::start(&["--web.listen-address=[::1]:0"]);
    let v6 = logged_port(&g, "[::1]");
    assert_eq!(get(&format!("http://[::1]:{v6}/-/healthy")).status, 200);
    assert!(
        TcpStream::connect(("127.0.0.1", v6)).is_err(),
        "[::1]:{v6} must not take IPv4"
    );
    assert!(
        TcpStream::connect(("::1", g.port)).is_err(),
        "127.0.0.1:{} must not take IPv6",
        g.port
    );
}

#[test]
fn a_listener_that_cannot_bind_stops_the_start_naming_address_and_cause() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    for addr in [format!("127.0.0.1:{port}"), format!(":{port}")] {
        let err = refused_start_with(1, &[&format!("--web.listen-address={addr}")]);
        assert!(
            err.contains(&format!("cannot listen on {addr}: Address already in use")),
            "{err}"
        );
    }
    drop(taken);
}

/// Starts `systemd-socket-activate -l PORT pgw serve <args>` on a port that
/// was free a moment ago (the one place where a test needs a known port:
/// systemd-socket-activate cannot report one it chose), retrying when some
/// other process took it in between.
fn socket_activated(args: &[&str]) -> (Proc, u16) {
    require("systemd-socket-activate");
    for _ in 0..10 {
        let port = TcpListener::bind("[::]:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut all = vec![
            "-l".to_string(),
            port.to_string(),
            env!("CARGO_BIN_EXE_pgw").to_string(),
            "serve".into(),
        ];
        all.extend(args.iter().map(|a| a.to_string()));
        let mut proc = spawn("systemd-socket-activate", &all);
        let listening = poll(Duration::from_secs(20), || {
            let log = proc.log();
            if log.contains("Listening on") {
                Some(true)
            } else if proc.child.try_wait().unwrap().is_some() {
                Some(false)
            } else {
                None
            }
        });
        match listening {
            Some(true) => return (proc, port),
            Some(false) if proc.log().contains("in use") => continue,
            other => panic!("systemd-socket-activate ({other:?}):\n{}", proc.log()),
        }
    }
    panic!("no free port for systemd-socket-activate after 10 tries");
}

#[test]
fn systemd_socket_activation_serves_the_inherited_socket_on_both_families() {
    require_ipv6_loopback();
    // --web.listen-address is ignored: this one would fail to parse.
    let (mut proc, port) = socket_activated(&[
        "--web.systemd-socket",
        "--web.listen-address=not-an-address",
    ]);
    for host in ["127.0.0.1", "[::1]"] {
        let (code, body) = curl(&[], &format!("http://{host}:{port}/-/healthy"));
        assert_eq!(
            (code.as_str(), body.trim()),
            ("200", "OK"),
            "{host}\n{}",
            proc.log()
        );
    }
    let (code, _) = curl(
        &["-X", "PUT", "--data-binary", "activated 1\n"],
        &format!("http://127.0.0.1:{port}/metrics/job/sd"),
    );
    assert_eq!(code, "200");
    let (_, status) = curl(&[], &format!("http://[::1]:{port}/api/v1/status"));
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["data"]["flags"]["web.systemd-socket"], "true");
    proc.signal("TERM");
    let exit = proc.wait_exit(Duration::from_secs(20));
    assert!(
        exit.is_some_and(|s| s.success()),
        "{exit:?}\n{}",
        proc.log()
    );
    assert!(
        proc.log().contains(&format!("address=[::]:{port}")),
        "{}",
        proc.log()
    );
}

#[test]
fn systemd_socket_without_sockets_or_with_a_wrong_one_is_refused() {
    let err = refused_start_with(1, &["--web.systemd-socket"]);
    assert!(
        err.contains("no socket activation file descriptors found"),
        "{err}"
    );
    // Descriptors meant for another process are not taken.
    let out = Command::new(env!("CARGO_BIN_EXE_pgw"))
        .args(["serve", "--web.systemd-socket"])
        .env("LISTEN_FDS", "1")
        .env("LISTEN_PID", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no socket activation file descriptors found"));
    // fd 3 is a file, not a socket: the shell sets LISTEN_PID to the pid it
    // then executes as pgw.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "LISTEN_PID=$$ LISTEN_FDS=1 exec {} serve --web.systemd-socket 3</dev/null",
            env!("CARGO_BIN_EXE_pgw")
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--web.systemd-socket: file descriptor 3: fd 3 is not a socket"),
        "{}",
        stderr(&out)
    );
}
