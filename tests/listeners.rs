//! Listeners and server options of `pgw serve`: dual-stack wildcards, a
//! bind that fails, systemd socket activation, HTTP/2 over TLS, every
//! official `client_auth_type` and `client_allowed_sans` kind, the
//! `--no-<flag>` forms, and the build identity and flags of
//! `/api/v1/status`.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
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

/// What curl got: the HTTP code ("000" when it could not connect or the
/// handshake failed), the HTTP version spoken, and the body.
struct Curled {
    code: String,
    version: String,
    body: String,
}

/// curl `url` with `args`.
fn curl(args: &[&str], url: &str) -> Curled {
    require("curl");
    let out = Command::new("curl")
        .args([
            "-s",
            "--max-time",
            "10",
            "-w",
            "\n%{http_code} %{http_version}",
        ])
        .args(args)
        .arg(url)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, tail) = text.rsplit_once('\n').unwrap_or(("", &text));
    let (code, version) = tail.split_once(' ').unwrap_or((tail, ""));
    Curled {
        code: code.to_string(),
        version: version.to_string(),
        body: body.to_string(),
    }
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
    let dir = TempDir::new("listeners-bind");
    let store = dir.path().join("store");
    let persistence = format!("--persistence.file={}", store.display());
    for addr in [format!("127.0.0.1:{port}"), format!(":{port}")] {
        let err = refused_start_with(1, &[&format!("--web.listen-address={addr}"), &persistence]);
        assert!(
            err.contains(&format!("cannot listen on {addr}: Address already in use")),
            "{err}"
        );
    }
    // The listeners are opened first: the store was never created.
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    drop(taken);
    // A vsock address, which upstream takes, is refused by name.
    let err = refused_start_with(1, &["--web.listen-address=vsock://:9091", &persistence]);
    assert!(
        err.contains("cannot listen on vsock://:9091: vsock listen addresses are not supported"),
        "{err}"
    );
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
        let r = curl(&[], &format!("http://{host}:{port}/-/healthy"));
        assert_eq!(
            (r.code.as_str(), r.body.trim()),
            ("200", "OK"),
            "{host}\n{}",
            proc.log()
        );
    }
    let r = curl(
        &["-X", "PUT", "--data-binary", "activated 1\n"],
        &format!("http://127.0.0.1:{port}/metrics/job/sd"),
    );
    assert_eq!(r.code, "200");
    let r = curl(&[], &format!("http://[::1]:{port}/api/v1/status"));
    let status: serde_json::Value = serde_json::from_str(&r.body).unwrap();
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

/// Writes `text` to `dir/name` and returns the path.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A CA, a server certificate for `localhost` signed by it, and client
/// certificates with any subject alternative names, signed by it or by
/// themselves, all written as PEM files into one directory.
struct Pki {
    dir: TempDir,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl Pki {
    fn new(tag: &str) -> Pki {
        let dir = TempDir::new(tag);
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "pgw listeners test CA");
        let ca = params.self_signed(&key).unwrap();
        write(dir.path(), "ca.pem", &ca.pem());
        let pki = Pki {
            dir,
            issuer: rcgen::Issuer::new(params, key),
        };
        pki.leaf(
            "server",
            &[rcgen::SanType::DnsName("localhost".try_into().unwrap())],
            true,
        );
        pki
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `<name>.crt` and `<name>.key`, signed by the CA or self-signed.
    fn leaf(&self, name: &str, sans: &[rcgen::SanType], by_ca: bool) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.subject_alt_names = sans.to_vec();
        let cert = if by_ca {
            params.signed_by(&key, &self.issuer).unwrap()
        } else {
            params.self_signed(&key).unwrap()
        };
        write(self.dir.path(), &format!("{name}.crt"), &cert.pem());
        write(
            self.dir.path(),
            &format!("{name}.key"),
            &key.serialize_pem(),
        );
    }

    /// A web config serving the server certificate, with `extra` lines
    /// under `tls_server_config` and `after` at the top level.
    fn web_config(&self, extra: &str, after: &str) -> String {
        let path = write(
            self.dir.path(),
            &format!("web-{}.yml", fastrand_name()),
            &format!(
                "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n{extra}{after}"
            ),
        );
        format!("--web.config.file={}", path.display())
    }

    /// curl of `https://localhost:PORT<path>` trusting the CA, with
    /// `client` (a leaf's name) as its certificate if given, and `args`.
    fn curl(&self, port: u16, path: &str, client: Option<&str>, args: &[&str]) -> Curled {
        let mut all: Vec<String> = vec![
            "--cacert".into(),
            self.path("ca.pem").display().to_string(),
            "--resolve".into(),
            format!("localhost:{port}:127.0.0.1"),
        ];
        if let Some(name) = client {
            all.push("--cert".into());
            all.push(self.path(&format!("{name}.crt")).display().to_string());
            all.push("--key".into());
            all.push(self.path(&format!("{name}.key")).display().to_string());
        }
        all.extend(args.iter().map(|a| a.to_string()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        curl(&all, &format!("https://localhost:{port}{path}"))
    }
}

/// A file name unique within the test process.
fn fastrand_name() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[test]
fn http2_is_negotiated_over_tls_and_serves_pushes_and_scrapes_the_same() {
    let pki = Pki::new("listeners-h2");
    let g = Pgw::start(&[&pki.web_config("", ""), "--push.max-body-size=100"]);
    let r = pki.curl(g.port, "/-/healthy", None, &["--http2"]);
    assert_eq!(
        (r.code.as_str(), r.version.as_str()),
        ("200", "2"),
        "ALPN h2"
    );
    // A push and a scrape over HTTP/2.
    let put = ["--http2", "-X", "PUT", "--data-binary"];
    let r = pki.curl(
        g.port,
        "/metrics/job/h2",
        None,
        &[&put[..], &["over_h2 7\n"]].concat(),
    );
    assert_eq!(
        (r.code.as_str(), r.version.as_str()),
        ("200", "2"),
        "{}",
        r.body
    );
    let r = pki.curl(g.port, "/metrics", None, &["--http2"]);
    assert_eq!((r.code.as_str(), r.version.as_str()), ("200", "2"));
    assert!(
        r.body.contains("over_h2{instance=\"\",job=\"h2\"} 7"),
        "{}",
        r.body
    );
    // The body limit holds over HTTP/2 too, and nothing is stored.
    let big = format!("big 1\n{}", "# padding\n".repeat(20));
    let r = pki.curl(
        g.port,
        "/metrics/job/big",
        None,
        &[&put[..], &[&big]].concat(),
    );
    assert_eq!((r.code.as_str(), r.version.as_str()), ("413", "2"));
    let r = pki.curl(g.port, "/api/v1/metrics", None, &["--http2"]);
    assert!(!r.body.contains("\"big\""), "{}", r.body);
    drop(g);

    let g = Pgw::start(&[&pki.web_config("", "http_server_config:\n  http2: false\n")]);
    let r = pki.curl(g.port, "/-/healthy", None, &["--http2"]);
    assert_eq!(
        (r.code.as_str(), r.version.as_str()),
        ("200", "1.1"),
        "http2: false"
    );
    drop(g);

    // Credentials are checked the same over HTTP/2.
    let users =
        "basic_auth_users:\n  cron: $2b$10$i5/AY91i3N7R9rJ8UUDc4.ZEMM/NrQfqbecHtcVmQnUQk5Aghmbby\n";
    let g = Pgw::start(&[&pki.web_config("", users)]);
    let r = pki.curl(g.port, "/metrics", None, &["--http2"]);
    assert_eq!((r.code.as_str(), r.version.as_str()), ("401", "2"));
    let r = pki.curl(g.port, "/metrics", None, &["--http2", "-u", "cron:wrong"]);
    assert_eq!(r.code, "401");
    let r = pki.curl(
        g.port,
        "/metrics",
        None,
        &["--http2", "-u", "cron:cron-password"],
    );
    assert_eq!((r.code.as_str(), r.version.as_str()), ("200", "2"));

    // Plain HTTP stays HTTP/1.1: no h2c upgrade.
    let plain = Pgw::start(&[]);
    let r = curl(&["--http2"], &format!("{}/-/healthy", plain.url()));
    assert_eq!((r.code.as_str(), r.version.as_str()), ("200", "1.1"));
}

fn dns(name: &str) -> rcgen::SanType {
    rcgen::SanType::DnsName(name.try_into().unwrap())
}

#[test]
fn client_certificates_requested_or_required_without_verification() {
    let pki = Pki::new("listeners-mtls-any");
    pki.leaf("signed", &[dns("client")], true);
    // Signed by nobody the server knows: these modes do not verify.
    pki.leaf("stranger", &[dns("stranger")], false);

    let g = Pgw::start(&[&pki.web_config("  client_auth_type: RequestClientCert\n", "")]);
    for client in [None, Some("signed"), Some("stranger")] {
        assert_eq!(
            pki.curl(g.port, "/-/healthy", client, &[]).code,
            "200",
            "{client:?}"
        );
    }
    drop(g);

    for mode in ["RequireAnyClientCert", "RequireClientCert"] {
        let g = Pgw::start(&[&pki.web_config(&format!("  client_auth_type: {mode}\n"), "")]);
        assert_eq!(
            pki.curl(g.port, "/-/healthy", None, &[]).code,
            "000",
            "{mode}: no certificate"
        );
        for client in ["signed", "stranger"] {
            assert_eq!(
                pki.curl(g.port, "/-/healthy", Some(client), &[]).code,
                "200",
                "{mode} {client}"
            );
        }
    }

    // With a CA the unverified modes still take any certificate (the CA
    // only names what to send), and the verifying ones refuse a stranger.
    let ca = "  client_ca_file: ca.pem\n";
    let g = Pgw::start(&[&pki.web_config(
        &format!("{ca}  client_auth_type: RequireAnyClientCert\n"),
        "",
    )]);
    assert_eq!(
        pki.curl(g.port, "/-/healthy", Some("stranger"), &[]).code,
        "200"
    );
    drop(g);
    let g = Pgw::start(&[&pki.web_config(
        &format!("{ca}  client_auth_type: VerifyClientCertIfGiven\n"),
        "",
    )]);
    assert_eq!(pki.curl(g.port, "/-/healthy", None, &[]).code, "200");
    assert_eq!(
        pki.curl(g.port, "/-/healthy", Some("signed"), &[]).code,
        "200"
    );
    assert_eq!(
        pki.curl(g.port, "/-/healthy", Some("stranger"), &[]).code,
        "000"
    );

    // Upstream's refusal of a CA without a policy stays.
    let web = pki.web_config(ca, "");
    let err = refused_start(&[&web]);
    assert!(
        err.contains("client CA's have been configured without a Client Auth Policy"),
        "{err}"
    );
}

#[test]
fn allowed_sans_match_email_addresses_and_uris_exactly() {
    let pki = Pki::new("listeners-sans");
    let email = |e: &str| rcgen::SanType::Rfc822Name(e.try_into().unwrap());
    let uri = |u: &str| rcgen::SanType::URI(u.try_into().unwrap());
    pki.leaf("mail", &[email("cron@example.org")], true);
    pki.leaf("spiffe", &[uri("spiffe://cluster/ns/batch/sa/cron")], true);
    pki.leaf(
        "other",
        &[email("Cron@example.org"), uri("spiffe://cluster/ns/batch")],
        true,
    );
    pki.leaf("stranger", &[email("cron@example.org")], false);
    let sans = "  client_allowed_sans: [cron@example.org, \"spiffe://cluster/ns/batch/sa/cron\"]\n";

    let verify = "  client_ca_file: ca.pem\n  client_auth_type: RequireAndVerifyClientCert\n";
    let g = Pgw::start(&[&pki.web_config(&format!("{verify}{sans}"), "")]);
    assert_eq!(
        pki.curl(g.port, "/-/healthy", Some("mail"), &[]).code,
        "200",
        "e-mail"
    );
    assert_eq!(
        pki.curl(g.port, "/-/healthy", Some("spiffe"), &[]).code,
        "200",
        "URI"
    );
    assert_eq!(
        pki.curl(g.port, "/-/healthy", Some("other"), &[]).code,
        "000",
        "near misses"
    );
    assert_eq!(
        pki.curl(g.port, "/-/healthy", Some("stranger"), &[]).code,
        "000",
        "not signed"
    );
    drop(g);

    // An optional certificate with allowed SANs: upstream's handler crashes
    // on a client without one; pgw refuses it in the handshake and goes on
    // serving.
    let g = Pgw::start(&[&pki.web_config(
        &format!("  client_auth_type: RequestClientCert\n{sans}"),
        "",
    )]);
    assert_eq!(pki.curl(g.port, "/-/healthy", None, &[]).code, "000");
    assert_eq!(
        pki.curl(g.port, "/-/healthy", Some("stranger"), &[]).code,
        "200",
        "unverified mode"
    );
    assert_eq!(
        pki.curl(g.port, "/-/healthy", Some("other"), &[]).code,
        "000"
    );
    assert_eq!(pki.curl(g.port, "/-/healthy", None, &[]).code, "000");
    assert_eq!(
        pki.curl(g.port, "/-/healthy", Some("mail"), &[]).code,
        "200"
    );
}

#[test]
fn no_forms_turn_boolean_flags_off_and_the_last_one_wins() {
    let g = Pgw::start(&["--web.enable-admin-api", "--no-web.enable-admin-api"]);
    let r = request("PUT", &format!("{}/api/v1/admin/wipe", g.url()), &[], b"");
    assert_eq!(r.status, 404, "the admin API is off");
    let flags = get(&format!("{}/api/v1/status", g.url())).json()["data"]["flags"].clone();
    assert_eq!(flags["web.enable-admin-api"], "false");
    drop(g);
    let g = Pgw::start(&["--no-web.enable-lifecycle", "--web.enable-lifecycle"]);
    let r = request("PUT", &format!("{}/-/quit", g.url()), &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    let mut g = g;
    assert!(g
        .proc
        .wait_exit(Duration::from_secs(20))
        .is_some_and(|s| s.success()));
}

#[test]
fn build_identity_has_the_official_labels_and_keys_and_the_git_revision() {
    let g = Pgw::start(&[]);
    let body = get(&format!("{}/metrics", g.url())).text();
    let line = body
        .lines()
        .find(|l| l.starts_with("pushgateway_build_info{"))
        .unwrap_or_else(|| panic!("no pushgateway_build_info in\n{body}"));
    let series = parse_exposition(line);
    let (_, labels, value) = &series[0];
    assert_eq!(value, "1");
    let names: Vec<&str> = labels.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "branch",
            "goarch",
            "goos",
            "goversion",
            "revision",
            "tags",
            "version"
        ]
    );
    let label = |name: &str| labels.iter().find(|(n, _)| n == name).unwrap().1.clone();
    assert_eq!(label("version"), env!("CARGO_PKG_VERSION"));
    assert!(label("goversion").starts_with("rustc "), "{line}");

    let status = get(&format!("{}/api/v1/status", g.url())).json();
    let info = status["data"]["build_information"].as_object().unwrap();
    let keys: Vec<&str> = info.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "branch",
            "buildDate",
            "buildUser",
            "goVersion",
            "revision",
            "version"
        ]
    );
    // Built from a git checkout (as the tests always are): HEAD's commit.
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(head.status.success(), "the tests run from a git checkout");
    let head = String::from_utf8(head.stdout).unwrap().trim().to_string();
    assert_eq!(head.len(), 40);
    assert_eq!(info["revision"], head.as_str());
    assert_eq!(label("revision"), head);
    assert_eq!(info["goVersion"].as_str().unwrap(), label("goversion"));
    let date = info["buildDate"].as_str().unwrap();
    assert!(
        date.len() == 17 && date.as_bytes()[8] == b'-' && date[9..].split(':').count() == 3,
        "buildDate {date:?} is not in Go's 20060102-15:04:05 layout"
    );
    assert!(info["buildUser"].as_str().unwrap().contains('@'));
}

#[test]
fn status_flags_show_durations_lists_and_the_route_prefix_as_upstream() {
    let g = Pgw::start(&[
        "--web.listen-address=[::1]:0",
        "--persistence.interval=1h",
        "--web.read-timeout=100ms",
        "--web.read-header-timeout=1500ms",
        "--expire-after=90s",
        "--web.external-url=http://gw.example/pgw/",
    ]);
    let status = get(&format!("{}/pgw/api/v1/status", g.url())).json();
    let flags = &status["data"]["flags"];
    for (flag, want) in [
        ("persistence.interval", "1h0m0s"),
        ("web.read-timeout", "100ms"),
        ("web.read-header-timeout", "1.5s"),
        ("expire-after", "1m30s"),
        ("web.listen-address", "127.0.0.1:0,[::1]:0"),
        ("web.route-prefix", "/pgw"),
        ("web.external-url", "http://gw.example/pgw/"),
        ("web.systemd-socket", "false"),
    ] {
        assert_eq!(flags[flag], want, "{flag} in {flags}");
    }
    drop(g);
    // The defaults, and a prefix of "/" that means none.
    let g = Pgw::start(&["--web.route-prefix=/"]);
    let flags = get(&format!("{}/api/v1/status", g.url())).json()["data"]["flags"].clone();
    for (flag, want) in [
        ("persistence.interval", "5m0s"),
        ("web.read-timeout", "1m0s"),
        ("web.read-header-timeout", "10s"),
        ("expire-after", ""),
        ("web.route-prefix", ""),
    ] {
        assert_eq!(flags[flag], want, "{flag} in {flags}");
    }
}

#[test]
fn status_flags_match_the_official_server_given_the_same_flags() {
    let args = [
        "--persistence.interval=90m",
        "--web.external-url=http://gw.example/pgw/",
        "--no-web.enable-admin-api",
        "--no-web.enable-lifecycle",
    ];
    let official = Official::start(&args);
    let g = Pgw::start(&args);
    let flags = |port: u16| {
        get(&format!("http://127.0.0.1:{port}/pgw/api/v1/status")).json()["data"]["flags"]
            .as_object()
            .unwrap()
            .clone()
    };
    let (theirs, ours) = (flags(official.port), flags(g.port));
    // The address differs by its port; `web.local-assets` is Debian's own.
    let skip = ["web.listen-address", "web.local-assets"];
    for (key, value) in theirs.iter().filter(|(k, _)| !skip.contains(&k.as_str())) {
        assert_eq!(
            ours.get(key),
            Some(value),
            "{key}: official {value}, pgw {:?}",
            ours.get(key)
        );
    }
    assert_eq!(theirs["persistence.interval"], "1h30m0s");
}
