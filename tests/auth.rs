//! Authentication, TLS and connection timeouts of `pgw serve`, over real
//! sockets: each role with basic auth and with bearer tokens, job-scoped
//! push tokens, the official `--web.config.file` (basic auth users, TLS,
//! client certificates, headers, rate limit), reload of certificates and
//! credentials on change and on SIGHUP, the Python client pushing with basic
//! auth, `pgw push` and Prometheus talking to pgw over TLS with credentials,
//! start-up errors that name the problem, slow-loris and idle connections
//! being closed, and SIGTERM answering the requests in flight.
//! Every refused request is checked to leave the store as it was and to be
//! counted in `pgw_auth_failures_total`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};

use crate::util::*;

fn hash(password: &str) -> String {
    // The lowest cost: these tests are about who gets in, not about bcrypt.
    bcrypt::hash(password, 4).unwrap()
}

fn sha256_hex(token: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, token.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn basic(user: &str, password: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {b64}")
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// One request with an optional `Authorization` header.
fn call(g: &Pgw, method: &str, path: &str, auth: Option<&str>, body: &str) -> Resp {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
    request(
        method,
        &format!("{}{path}", g.url()),
        &headers,
        body.as_bytes(),
    )
}

/// Every `pgw_auth_failures_total` series, by (role, reason), and the pushed
/// series, of one scrape read with `auth`.
fn scrape_as(g: &Pgw, auth: Option<&str>) -> (BTreeMap<(String, String), f64>, BTreeSet<Series>) {
    let r = call(g, "GET", "/metrics", auth, "");
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    let failures = parse_exposition(&text)
        .into_iter()
        .filter(|(name, _, _)| name == "pgw_auth_failures_total")
        .map(|(_, labels, value)| {
            let label = |name: &str| {
                let (_, v) = labels.iter().find(|(n, _)| n == name).unwrap();
                v.clone()
            };
            ((label("role"), label("reason")), value.parse().unwrap())
        })
        .collect();
    (failures, pushed_series(&text))
}

/// The value of `pgw_auth_failures_total{role,reason}` (0 when absent).
fn failures(g: &Pgw, auth: Option<&str>, role: &str, reason: &str) -> f64 {
    let (failures, _) = scrape_as(g, auth);
    failures
        .get(&(role.to_string(), reason.to_string()))
        .copied()
        .unwrap_or(0.0)
}

/// A request that must be refused, and how.
struct Refusal<'a> {
    /// What the row is about; every failure names it.
    case: String,
    method: &'a str,
    path: &'a str,
    auth: Option<&'a str>,
    status: u16,
    /// A part of the body that gives the reason.
    message: &'a str,
    /// The `pgw_auth_failures_total` series it counts in: (role, reason).
    counted: (&'a str, &'a str),
}

/// A row of a refusal table: (case, method, path, credential, status,
/// message, (role, reason)).
fn refusal<'a>(
    case: &str,
    method: &'a str,
    path: &'a str,
    auth: Option<&'a str>,
    status: u16,
    message: &'a str,
    counted: (&'a str, &'a str),
) -> Refusal<'a> {
    Refusal {
        case: case.to_string(),
        method,
        path,
        auth,
        status,
        message,
        counted,
    }
}

/// Sends each refused request, in order, and checks its status, message and
/// `WWW-Authenticate` (`challenge` on a 401, which asks for credentials,
/// none on a 403), that it left the store as it was (groups and series), and
/// that it counted once, in its own failure series and no other. The store
/// and counters are read with `observer`, a credential that may read.
/// Returns the answers, for checks that only some tables need.
fn assert_refusals(
    g: &Pgw,
    observer: Option<&str>,
    challenge: &str,
    rows: &[Refusal],
) -> Vec<Resp> {
    rows.iter()
        .map(|row| {
            let case = &row.case;
            let api = g.api_as(observer);
            let (mut failures, series) = scrape_as(g, observer);
            // A push body that would change the store if it got through.
            let body = if row.path.starts_with("/metrics/job") && row.method != "DELETE" {
                "x 666\n"
            } else {
                ""
            };
            let r = call(g, row.method, row.path, row.auth, body);
            assert_eq!(r.status, row.status, "{case}: {}", r.text());
            assert_eq!(
                r.header("www-authenticate"),
                (row.status == 401).then_some(challenge),
                "{case}: {:?}",
                r.headers
            );
            assert!(
                r.text().contains(row.message),
                "{case}: {:?} not in {:?}",
                row.message,
                r.text()
            );
            assert_eq!(g.api_as(observer), api, "{case}: the groups changed");
            let (role, reason) = row.counted;
            *failures
                .entry((role.to_string(), reason.to_string()))
                .or_default() += 1.0;
            let (failures_after, series_after) = scrape_as(g, observer);
            assert_eq!(series_after, series, "{case}: the series changed");
            assert_eq!(
                failures_after, failures,
                "{case}: counted once, as role {role:?}, reason {reason:?}"
            );
            r
        })
        .collect()
}

#[test]
fn each_role_with_basic_auth() {
    let dir = TempDir::new("auth-basic");
    let file = write(
        dir.path(),
        "auth.yml",
        &format!(
            "push:\n  users:\n    - name: pusher\n      bcrypt: '{}'\nread:\n  users:\n    - name: reader\n      bcrypt: '{}'\nadmin:\n  users:\n    - name: admin\n      bcrypt: '{}'\n",
            hash("push-pw"),
            hash("read-pw"),
            hash("admin-pw")
        ),
    );
    let g = Pgw::start(&[
        &format!("--auth.file={}", file.display()),
        "--web.enable-admin-api",
    ]);
    let (pusher, reader, admin) = (
        basic("pusher", "push-pw"),
        basic("reader", "read-pw"),
        basic("admin", "admin-pw"),
    );
    let challenge = "Basic realm=\"pgw\"";
    let wrong = basic("pusher", "nope");

    // A group for the refusals to leave alone; admin implies push.
    assert_eq!(
        call(&g, "PUT", "/metrics/job/c", Some(&admin), "x 3\n").status,
        200
    );
    let mut refusals = vec![
        refusal(
            "push without credentials",
            "PUT",
            "/metrics/job/a",
            None,
            401,
            "needs the push role",
            ("push", "missing"),
        ),
        refusal(
            "push with a wrong password",
            "PUT",
            "/metrics/job/a",
            Some(&wrong),
            401,
            "wrong credentials",
            ("push", "wrong"),
        ),
        refusal(
            "push as a reader",
            "PUT",
            "/metrics/job/a",
            Some(&reader),
            403,
            "user \"reader\" has the read role",
            ("push", "forbidden"),
        ),
        refusal(
            "delete without credentials",
            "DELETE",
            "/metrics/job/a",
            None,
            401,
            "needs the push role",
            ("push", "missing"),
        ),
    ];
    for path in [
        "/metrics",
        "/api/v1/metrics",
        "/api/v1/status",
        "/",
        "/no/such/page",
    ] {
        refusals.push(refusal(
            &format!("GET {path} without credentials"),
            "GET",
            path,
            None,
            401,
            "needs the read role",
            ("read", "missing"),
        ));
        refusals.push(refusal(
            &format!("GET {path} as a pusher"),
            "GET",
            path,
            Some(&pusher),
            403,
            "needs the read role",
            ("read", "forbidden"),
        ));
    }
    refusals.extend([
        refusal(
            "wipe as a pusher",
            "PUT",
            "/api/v1/admin/wipe",
            Some(&pusher),
            403,
            "needs the admin role",
            ("admin", "forbidden"),
        ),
        refusal(
            "quit as a reader",
            "PUT",
            "/-/quit",
            Some(&reader),
            403,
            "needs the admin role",
            ("admin", "forbidden"),
        ),
    ]);
    assert_refusals(&g, Some(&admin), challenge, &refusals);
    assert_eq!(
        g.jobs_as(Some(&reader)),
        ["c"],
        "refused requests change nothing"
    );

    assert_eq!(
        call(&g, "PUT", "/metrics/job/a", Some(&pusher), "x 1\n").status,
        200
    );
    // The cached verification answers the same.
    assert_eq!(
        call(&g, "POST", "/metrics/job/b", Some(&pusher), "x 2\n").status,
        200
    );
    assert_eq!(call(&g, "GET", "/metrics", Some(&reader), "").status, 200);
    assert_eq!(g.jobs_as(Some(&admin)), ["a", "b", "c"]);

    // open
    assert_eq!(call(&g, "GET", "/-/healthy", None, "").status, 200);
    assert_eq!(call(&g, "GET", "/-/ready", None, "").status, 200);
    assert_eq!(call(&g, "OPTIONS", "/api/v1/metrics", None, "").status, 200);

    assert_eq!(failures(&g, Some(&reader), "push", "missing"), 2.0);
    assert_eq!(failures(&g, Some(&reader), "push", "wrong"), 1.0);
    assert_eq!(failures(&g, Some(&reader), "push", "forbidden"), 1.0);
    assert_eq!(failures(&g, Some(&reader), "read", "missing"), 5.0);
    assert_eq!(failures(&g, Some(&reader), "read", "forbidden"), 5.0);
    assert_eq!(failures(&g, Some(&reader), "admin", "forbidden"), 2.0);

    assert_eq!(
        call(&g, "PUT", "/api/v1/admin/wipe", Some(&admin), "").status,
        202
    );
    assert_eq!(g.jobs_as(Some(&reader)), Vec::<String>::new());
}

#[test]
fn tokens_and_job_scoped_push() {
    let dir = TempDir::new("auth-tokens");
    let file = write(
        dir.path(),
        "auth.yml",
        &format!(
            "push:\n  tokens:\n    - name: backup-cron\n      sha256: {}\n      jobs: [backup]\n    - name: ci\n      sha256: {}\nread:\n  open: true\nadmin:\n  tokens:\n    - name: ops\n      sha256: {}\n",
            sha256_hex("backup-secret"),
            sha256_hex("ci-secret"),
            sha256_hex("ops-secret"),
        ),
    );
    let g = Pgw::start(&[
        &format!("--auth.file={}", file.display()),
        "--web.enable-admin-api",
    ]);
    let (backup, ci, ops) = (
        bearer("backup-secret"),
        bearer("ci-secret"),
        bearer("ops-secret"),
    );
    let challenge = "Bearer realm=\"pgw\"";
    let scrape = call(&g, "GET", "/metrics", None, "").text();
    assert!(
        scrape.contains("pgw_auth_failures_total{role=\"admin\",reason=\"wrong\"} 0\n"),
        "the failure counters start at 0: {scrape}"
    );

    assert_eq!(
        call(
            &g,
            "PUT",
            "/metrics/job/backup/instance/db1",
            Some(&backup),
            "x 1\n"
        )
        .status,
        200
    );
    // The job may also be spelled @base64.
    assert_eq!(
        call(
            &g,
            "PUT",
            "/metrics/job@base64/YmFja3Vw/instance/db2",
            Some(&backup),
            "x 1\n"
        )
        .status,
        200
    );
    assert_eq!(
        call(&g, "PUT", "/metrics/job/web", Some(&ci), "x 1\n").status,
        200
    );
    assert_eq!(g.jobs_as(None), ["backup", "backup", "web"]);

    let guess = bearer("guess");
    let ci_as_user = basic("ci", "ci-secret");
    let refusals = [
        refusal(
            "a scoped token pushes to another job",
            "PUT",
            "/metrics/job/web",
            Some(&backup),
            403,
            "token \"backup-cron\" may push only to job \"backup\", not to job \"web\"",
            ("push", "forbidden"),
        ),
        refusal(
            "a scoped token deletes another job",
            "DELETE",
            "/metrics/job/web",
            Some(&backup),
            403,
            "not to job \"web\"",
            ("push", "forbidden"),
        ),
        refusal(
            "a scoped token cleans up in bulk",
            "DELETE",
            "/api/v1/groups",
            Some(&backup),
            403,
            "only unscoped push credentials or admin",
            ("push", "forbidden"),
        ),
        refusal(
            "an unknown token",
            "PUT",
            "/metrics/job/web",
            Some(&guess),
            401,
            "wrong credentials",
            ("push", "wrong"),
        ),
        refusal(
            "no token",
            "PUT",
            "/metrics/job/web",
            None,
            401,
            "send a bearer token",
            ("push", "missing"),
        ),
        refusal(
            "a token sent as a basic auth password",
            "PUT",
            "/metrics/job/web",
            Some(&ci_as_user),
            401,
            "wrong credentials",
            ("push", "wrong"),
        ),
        refusal(
            "a push token wipes",
            "PUT",
            "/api/v1/admin/wipe",
            Some(&ci),
            403,
            "needs the admin role",
            ("admin", "forbidden"),
        ),
    ];
    assert_refusals(&g, None, challenge, &refusals);
    assert_eq!(
        g.jobs_as(None),
        ["backup", "backup", "web"],
        "refused requests change nothing"
    );
    let scrape = call(&g, "GET", "/metrics", None, "").text();
    assert!(
        scrape.contains("x{instance=\"\",job=\"web\"} 1\n"),
        "{scrape}"
    );
    assert_eq!(failures(&g, None, "push", "forbidden"), 3.0);
    assert_eq!(failures(&g, None, "push", "wrong"), 2.0);
    assert_eq!(failures(&g, None, "push", "missing"), 1.0);
    assert_eq!(failures(&g, None, "admin", "forbidden"), 1.0);

    // Admin implies push.
    assert_eq!(
        call(&g, "DELETE", "/metrics/job/web", Some(&ops), "").status,
        202
    );
    assert_eq!(
        call(&g, "PUT", "/api/v1/admin/wipe", Some(&ops), "").status,
        202
    );
    assert_eq!(g.jobs_as(None), Vec::<String>::new());
}

#[test]
fn official_web_config_basic_auth_users_and_the_python_client() {
    require_python_client();
    let dir = TempDir::new("auth-webconfig");
    let file = write(
        dir.path(),
        "web.yml",
        &format!(
            "basic_auth_users:\n  alice: {}\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n",
            hash("wonderland")
        ),
    );
    let g = Pgw::start(&[
        &format!("--web.config.file={}", file.display()),
        "--web.enable-admin-api",
    ]);
    let alice = basic("alice", "wonderland");
    let challenge = "Basic realm=\"pgw\"";

    let rabbit = basic("alice", "rabbit");
    let refusals = [
        refusal(
            "a read without credentials",
            "GET",
            "/metrics",
            None,
            401,
            "needs the read role",
            ("read", "missing"),
        ),
        refusal(
            "a push with a wrong password",
            "PUT",
            "/metrics/job/x",
            Some(&rabbit),
            401,
            "wrong credentials",
            ("push", "wrong"),
        ),
    ];
    for (row, r) in refusals
        .iter()
        .zip(assert_refusals(&g, Some(&alice), challenge, &refusals))
    {
        assert_eq!(
            r.header("x-frame-options"),
            Some("deny"),
            "{}: headers go on refusals too",
            row.case
        );
    }
    let r = call(&g, "GET", "/-/healthy", None, "");
    assert_eq!((r.status, r.header("x-frame-options")), (200, Some("deny")));

    // The web config's users get every role.
    assert_eq!(
        call(&g, "PUT", "/metrics/job/x", Some(&alice), "x 1\n").status,
        200
    );

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/auth_push.py");
    let run = |password: &str| {
        Command::new("python3")
            .args([script, &g.url(), "alice", password])
            .output()
            .unwrap()
    };
    let out = run("wonderland");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run("rabbit");
    assert!(!out.status.success(), "a wrong password must fail the push");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("401"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(g.jobs_as(Some(&alice)), ["py-auth", "x"]);

    assert_eq!(failures(&g, Some(&alice), "read", "missing"), 1.0);
    assert_eq!(failures(&g, Some(&alice), "push", "wrong"), 2.0);
    assert_eq!(
        call(&g, "PUT", "/api/v1/admin/wipe", Some(&alice), "").status,
        202
    );
}

#[test]
fn start_up_errors_name_the_file_role_and_problem() {
    let dir = TempDir::new("auth-errors");
    let missing = format!(
        "cannot read cert_file {}",
        dir.path().join("missing.pem").display()
    );
    // (flag, file name, its contents, what the message must say)
    let cases: [(&str, &str, &str, &[&str]); 4] = [
        (
            "--auth.file",
            "auth.yml",
            "push:\n  users:\n    - name: cron\n      bcrypt: plain-text\nread:\n  open: true\n",
            &["auth.yml", "role push, user \"cron\": bad bcrypt hash"],
        ),
        (
            "--auth.file",
            "auth2.yml",
            "push:\n  tokens:\n    - name: t\n      sha256: xyz\n",
            &["role push, token \"t\": bad sha256"],
        ),
        (
            "--web.config.file",
            "web.yml",
            "tls_server_config:\n  cert_file: c.pem\n  keyfile: k.pem\n",
            &["web.yml", "unknown field `keyfile`"],
        ),
        (
            "--web.config.file",
            "web2.yml",
            "tls_server_config:\n  cert_file: missing.pem\n  key_file: k.pem\n",
            &[&missing],
        ),
    ];
    for (flag, name, contents, wanted) in cases {
        let file = write(dir.path(), name, contents);
        let e = refused_start(&[&format!("{flag}={}", file.display())]);
        for want in wanted {
            assert!(e.contains(want), "{name}: {want:?} not in {e}");
        }
    }
    let e = refused_start_with(2, &["--web.tls-cert-file=c.pem"]);
    assert!(e.contains("--web.tls-key-file"), "{e}");
}

/// A CA and server certificates for `localhost` and 127.0.0.1 signed by it.
struct Pki {
    ca_pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl Pki {
    fn new() -> Pki {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "pgw test CA");
        let ca = params.self_signed(&key).unwrap();
        Pki {
            ca_pem: ca.pem(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// A new leaf certificate: (cert PEM, key PEM, cert DER).
    fn leaf(&self, names: &[&str]) -> (String, String, Vec<u8>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let cert = rcgen::CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &self.issuer)
            .unwrap();
        (cert.pem(), key.serialize_pem(), cert.der().to_vec())
    }
}

/// A certificate for `localhost` signed by `pki` and its key, written to
/// `dir` (c.pem, k.pem), as the two `--web.tls-*-file` flags that serve them.
fn tls_flags(dir: &Path, pki: &Pki) -> [String; 2] {
    let (cert, key, _) = pki.leaf(&["localhost"]);
    let cert = write(dir, "c.pem", &cert);
    let key = write(dir, "k.pem", &key);
    [
        format!("--web.tls-cert-file={}", cert.display()),
        format!("--web.tls-key-file={}", key.display()),
    ]
}

/// Replaces a file atomically (write aside, rename), as deployment tools do.
fn replace(path: &Path, text: &str) {
    let aside = path.with_extension("new");
    std::fs::write(&aside, text).unwrap();
    std::fs::rename(&aside, path).unwrap();
}

/// Connects over TLS trusting only `ca_pem`, sends a GET, and returns the
/// status and the certificate the server presented; `None` when the
/// handshake or the request fails.
fn tls_get(port: u16, ca_pem: &str, path: &str, auth: Option<&str>) -> Option<(u16, Vec<u8>)> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let conn =
        rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("localhost").unwrap())
            .ok()?;
    let sock = TcpStream::connect(("127.0.0.1", port)).ok()?;
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    write!(
        tls,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = Vec::new();
    // A peer that closes without close_notify ends in UnexpectedEof; what
    // was read is still the whole answer.
    let _ = tls.read_to_end(&mut buf);
    let status = String::from_utf8_lossy(&buf)
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let served = tls.conn.peer_certificates()?.first()?.to_vec();
    Some((status, served))
}

#[test]
fn tls_from_the_web_config_reloads_changed_certificates() {
    require("curl");
    let dir = TempDir::new("auth-tls");
    let pki = Pki::new();
    let (cert_a, key_a, der_a) = pki.leaf(&["localhost", "127.0.0.1"]);
    let ca = write(dir.path(), "ca.pem", &pki.ca_pem);
    let cert = write(dir.path(), "server.crt", &cert_a);
    let key = write(dir.path(), "server.key", &key_a);
    // Relative names: resolved against the config file's directory.
    let web = write(
        dir.path(),
        "web.yml",
        &format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS12\nbasic_auth_users:\n  alice: {}\n",
            hash("pw")
        ),
    );
    let g = Pgw::start(&[&format!("--web.config.file={}", web.display())]);
    assert!(g.proc.log().contains("tls=true"), "{}", g.proc.log());

    let curl = |extra: &[&str]| {
        Command::new("curl")
            .args(["-sS", "--max-time", "10", "--cacert"])
            .arg(&ca)
            .args(["--resolve", &format!("localhost:{}:127.0.0.1", g.port)])
            .args(extra)
            .output()
            .unwrap()
    };
    let url = format!("https://localhost:{}/metrics/job/curl", g.port);
    let out = curl(&[
        "-u",
        "alice:pw",
        "--data-binary",
        "curl_pushed 1\n",
        "-w",
        "%{http_code}",
        &url,
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "200",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = curl(&[
        "-u",
        "alice:pw",
        &format!("https://localhost:{}/metrics", g.port),
    ]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("curl_pushed{instance=\"\",job=\"curl\"} 1")
    );
    let out = curl(&[
        "-w",
        "%{http_code}",
        "-o",
        "/dev/null",
        &format!("https://localhost:{}/metrics", g.port),
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "401");
    // Plain HTTP on the TLS port gets no HTTP answer.
    assert!(
        try_request("GET", &format!("{}/-/healthy", g.url()), &[], b"")
            .is_none_or(|r| r.status != 200)
    );

    assert_eq!(
        tls_get(g.port, &pki.ca_pem, "/-/healthy", None),
        Some((200, der_a.clone()))
    );

    // A broken certificate file is refused and the old one stays in force.
    std::fs::write(&cert, "not a certificate").unwrap();
    poll(Duration::from_secs(20), || {
        g.proc
            .log()
            .contains("cannot reload the security configuration")
            .then_some(())
    })
    .unwrap_or_else(|| panic!("no reload error logged:\n{}", g.proc.log()));
    assert_eq!(
        tls_get(g.port, &pki.ca_pem, "/-/healthy", None),
        Some((200, der_a.clone()))
    );

    // A new pair: new connections get it.
    let (cert_b, key_b, der_b) = pki.leaf(&["localhost", "127.0.0.1"]);
    replace(&key, &key_b);
    replace(&cert, &cert_b);
    let served = poll(Duration::from_secs(20), || {
        tls_get(g.port, &pki.ca_pem, "/-/healthy", None).filter(|(_, d)| *d == der_b)
    });
    assert!(
        served.is_some(),
        "the new certificate was never served:\n{}",
        g.proc.log()
    );
    let out = curl(&[
        "-u",
        "alice:pw",
        "-w",
        "%{http_code}",
        "-o",
        "/dev/null",
        &format!("https://localhost:{}/metrics", g.port),
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
}

#[test]
fn tls_flags_reload_on_sighup() {
    let dir = TempDir::new("auth-sighup");
    let pki = Pki::new();
    let (cert_a, key_a, der_a) = pki.leaf(&["localhost"]);
    let cert = write(dir.path(), "c.pem", &cert_a);
    let key = write(dir.path(), "k.pem", &key_a);
    let g = Pgw::start(&[
        &format!("--web.tls-cert-file={}", cert.display()),
        &format!("--web.tls-key-file={}", key.display()),
    ]);
    assert_eq!(
        tls_get(g.port, &pki.ca_pem, "/-/healthy", None),
        Some((200, der_a))
    );

    // A new pair of the same sizes, written with the old modification times,
    // so that only the signal can make pgw look at the files again.
    let (cert_b, key_b, der_b) = loop {
        let leaf = pki.leaf(&["localhost"]);
        if leaf.0.len() == cert_a.len() && leaf.1.len() == key_a.len() {
            break leaf;
        }
    };
    for (path, text) in [(&cert, &cert_b), (&key, &key_b)] {
        let before = std::fs::metadata(path).unwrap().modified().unwrap();
        let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        (&f).write_all(text.as_bytes()).unwrap();
        f.set_modified(before).unwrap();
    }
    g.proc.signal("HUP");
    let served = poll(Duration::from_secs(20), || {
        tls_get(g.port, &pki.ca_pem, "/-/healthy", None).filter(|(_, d)| *d == der_b)
    });
    assert!(served.is_some(), "SIGHUP did not reload:\n{}", g.proc.log());
    assert!(g.proc.log().contains("reason=SIGHUP"), "{}", g.proc.log());
}

#[test]
fn client_certificates_are_required_when_configured() {
    require("curl");
    let dir = TempDir::new("auth-mtls");
    let pki = Pki::new();
    let (cert, key, _) = pki.leaf(&["localhost"]);
    let (client_cert, client_key, _) = pki.leaf(&["client"]);
    write(dir.path(), "ca.pem", &pki.ca_pem);
    write(dir.path(), "server.crt", &cert);
    write(dir.path(), "server.key", &key);
    let ccert = write(dir.path(), "client.crt", &client_cert);
    let ckey = write(dir.path(), "client.key", &client_key);
    let web = write(
        dir.path(),
        "web.yml",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n",
    );
    let g = Pgw::start(&[&format!("--web.config.file={}", web.display())]);
    let ca = dir.path().join("ca.pem");
    assert_eq!(tls_status(&ca, g.port, Some((&ccert, &ckey))), "200");
    assert_eq!(
        tls_status(&ca, g.port, None),
        "000",
        "no client certificate, no connection"
    );
    drop(g);

    // Only some names may connect.
    let (other_cert, other_key, _) = pki.leaf(&["other"]);
    let ocert = write(dir.path(), "other.crt", &other_cert);
    let okey = write(dir.path(), "other.key", &other_key);
    let web = write(
        dir.path(),
        "web2.yml",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n  client_allowed_sans: [client, 10.0.0.1]\n",
    );
    let g = Pgw::start(&[&format!("--web.config.file={}", web.display())]);
    assert_eq!(tls_status(&ca, g.port, Some((&ccert, &ckey))), "200");
    assert_eq!(
        tls_status(&ca, g.port, Some((&ocert, &okey))),
        "000",
        "a SAN not in client_allowed_sans"
    );
}

/// The status of a GET of `/metrics` over TLS from `localhost:port`,
/// trusting `ca`, with a client certificate and key if given: "000" when
/// the handshake fails.
fn tls_status(ca: &Path, port: u16, client: Option<(&Path, &Path)>) -> String {
    let mut cmd = Command::new("curl");
    cmd.args([
        "-s",
        "--max-time",
        "10",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
    ])
    .arg("--cacert")
    .arg(ca)
    .args(["--resolve", &format!("localhost:{port}:127.0.0.1")]);
    if let Some((cert, key)) = client {
        cmd.arg("--cert").arg(cert).arg("--key").arg(key);
    }
    let out = cmd
        .arg(format!("https://localhost:{port}/metrics"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Reads from `stream` until the server closes it; returns how long it took.
fn time_until_closed(mut stream: TcpStream, limit: Duration) -> Duration {
    stream.set_read_timeout(Some(limit)).unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return started.elapsed(),
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                panic!("the connection was still open after {limit:?}")
            }
            // A reset is a close too.
            Err(_) => return started.elapsed(),
        }
    }
}

#[test]
fn slow_and_idle_connections_are_closed() {
    let g = Pgw::start(&["--web.read-header-timeout=1s"]);
    let limit = Duration::from_secs(10);

    // Half a request line, then nothing.
    let mut loris = TcpStream::connect(("127.0.0.1", g.port)).unwrap();
    loris.write_all(b"GET /metr").unwrap();
    let took = time_until_closed(loris, limit);
    assert!(
        took >= Duration::from_millis(900),
        "closed too early: {took:?}"
    );

    // Headers trickling in, one line at a time, never finishing.
    let mut trickle = TcpStream::connect(("127.0.0.1", g.port)).unwrap();
    trickle.write_all(b"GET /metrics HTTP/1.1\r\n").unwrap();
    let started = Instant::now();
    let closed = poll(limit, || {
        (trickle.write_all(b"X-Slow: 1\r\n").is_err() || started.elapsed() > Duration::from_secs(3))
            .then_some(())
    });
    assert!(closed.is_some());
    time_until_closed(trickle, limit);

    // A kept-alive connection that goes idle after its answer.
    let mut idle = TcpStream::connect(("127.0.0.1", g.port)).unwrap();
    idle.write_all(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    idle.set_read_timeout(Some(limit)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(b"OK\n") {
        let n = idle.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "closed before answering: {:?}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    assert!(
        got.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    let took = time_until_closed(idle, limit);
    assert!(
        took >= Duration::from_millis(900),
        "closed too early: {took:?}"
    );

    // The server itself is fine.
    assert_eq!(get(&format!("{}/-/healthy", g.url())).status, 200);
}

#[test]
fn silent_tls_clients_are_closed() {
    let dir = TempDir::new("auth-tls-timeout");
    let pki = Pki::new();
    let [cert, key] = tls_flags(dir.path(), &pki);
    let g = Pgw::start(&[&cert, &key, "--web.read-header-timeout=1s"]);
    let silent = TcpStream::connect(("127.0.0.1", g.port)).unwrap();
    let took = time_until_closed(silent, Duration::from_secs(10));
    assert!(
        took >= Duration::from_millis(900),
        "closed too early: {took:?}"
    );
    assert_eq!(
        tls_get(g.port, &pki.ca_pem, "/-/healthy", None).map(|r| r.0),
        Some(200)
    );
}

#[test]
fn sigterm_answers_requests_in_flight_and_closes_idle_connections() {
    let mut g = Pgw::start(&[]);
    // Kept alive and idle: must not hold up the shutdown.
    let mut idle = TcpStream::connect(("127.0.0.1", g.port)).unwrap();
    idle.write_all(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 1024];
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert!(idle.read(&mut buf).unwrap() > 0);

    // In flight: the handler is reading the body (hyper sends `100 Continue`
    // when it starts to), and half of it is still to come.
    let body = "in_flight 1\n";
    let mut slow = TcpStream::connect(("127.0.0.1", g.port)).unwrap();
    write!(
        slow,
        "PUT /metrics/job/drain HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let n = slow.read(&mut buf).unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 100"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    slow.write_all(&body.as_bytes()[..5]).unwrap();
    g.proc.signal("TERM");
    poll(Duration::from_secs(10), || {
        g.proc.log().contains("shutting down").then_some(())
    })
    .expect("pgw did not start shutting down");
    time_until_closed(idle, Duration::from_secs(10));

    slow.write_all(&body.as_bytes()[5..]).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = Vec::new();
    let _ = slow.read_to_end(&mut answer);
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    let exit = g.proc.wait_exit(Duration::from_secs(10));
    assert!(
        exit.is_some_and(|s| s.success()),
        "{exit:?}\n{}",
        g.proc.log()
    );
}

#[test]
fn the_web_config_rate_limit_answers_429() {
    let dir = TempDir::new("auth-rate");
    let file = write(
        dir.path(),
        "web.yml",
        "rate_limit:\n  interval: 1h\n  burst: 2\n",
    );
    let g = Pgw::start(&[&format!("--web.config.file={}", file.display())]);
    assert_eq!(call(&g, "PUT", "/metrics/job/a", None, "x 1\n").status, 200);
    assert_eq!(call(&g, "GET", "/metrics", None, "").status, 200);
    let r = call(&g, "PUT", "/metrics/job/b", None, "x 1\n");
    assert_eq!(r.status, 429, "{}", r.text());
}

#[test]
fn a_changed_auth_file_is_reloaded_and_a_broken_one_ignored() {
    let dir = TempDir::new("auth-reload");
    let file_for = |token: &str| {
        format!(
            "push:\n  tokens:\n    - name: cron\n      sha256: {}\nread:\n  open: true\n",
            sha256_hex(token)
        )
    };
    let file = write(dir.path(), "auth.yml", &file_for("old-secret"));
    let g = Pgw::start(&[&format!("--auth.file={}", file.display())]);
    let push =
        |token: &str| call(&g, "PUT", "/metrics/job/a", Some(&bearer(token)), "x 1\n").status;
    assert_eq!(push("old-secret"), 200);

    replace(
        &file,
        "push:\n  tokens:\n    - name: cron\n      sha256: nothex\n",
    );
    poll(Duration::from_secs(20), || {
        g.proc
            .log()
            .contains("cannot reload the security configuration")
            .then_some(())
    })
    .unwrap_or_else(|| panic!("no reload error logged:\n{}", g.proc.log()));
    assert!(
        g.proc
            .log()
            .contains(r#"role push, token \"cron\": bad sha256"#),
        "{}",
        g.proc.log()
    );
    assert_eq!(
        push("old-secret"),
        200,
        "a broken file keeps the old credentials"
    );

    replace(&file, &file_for("new-secret"));
    poll(Duration::from_secs(20), || {
        (push("new-secret") == 200).then_some(())
    })
    .unwrap_or_else(|| panic!("the new token never worked:\n{}", g.proc.log()));
    assert_eq!(push("old-secret"), 401);
}

#[test]
fn prometheus_scrapes_over_tls_with_a_read_credential() {
    let dir = TempDir::new("auth-prometheus");
    let pki = Pki::new();
    let ca = write(dir.path(), "ca.pem", &pki.ca_pem);
    let auth = write(
        dir.path(),
        "auth.yml",
        &format!(
            "push:\n  tokens:\n    - name: job\n      sha256: {}\nread:\n  users:\n    - name: prometheus\n      bcrypt: '{}'\n",
            sha256_hex("push-token"),
            hash("scrape-pw")
        ),
    );
    let [cert, key] = tls_flags(dir.path(), &pki);
    let g = Pgw::start(&[&format!("--auth.file={}", auth.display()), &cert, &key]);
    let push = Command::new("curl")
        .args([
            "-sS",
            "--cacert",
            ca.to_str().unwrap(),
            "-H",
            "Authorization: Bearer push-token",
        ])
        .args(["--resolve", &format!("localhost:{}:127.0.0.1", g.port)])
        .args(["--data-binary", "tls_pushed 42\n", "-w", "%{http_code}"])
        .arg(format!("https://localhost:{}/metrics/job/tls", g.port))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&push.stdout), "200");

    let prometheus = Prometheus::start(
        &format!(
            "  - job_name: pushgateway\n    honor_labels: true\n    scheme: https\n    tls_config:\n      ca_file: {}\n      server_name: localhost\n    basic_auth:\n      username: prometheus\n      password: scrape-pw\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
            ca.display(),
            g.port
        ),
        &[],
    );
    let sample = prometheus.query_until("tls_pushed", 1)[0].clone();
    assert_eq!(sample["metric"]["job"], "tls");
    assert_eq!(sample["value"][1], "42");
}

#[test]
fn pgw_push_reaches_pgw_serve_over_tls_with_a_scoped_token_and_basic_auth() {
    let dir = TempDir::new("auth-push");
    let pki = Pki::new();
    let ca = write(dir.path(), "ca.pem", &pki.ca_pem);
    let token_file = write(dir.path(), "token", "backup-secret\n");
    let password_file = write(dir.path(), "password", "cron-pw\n");
    let auth = write(
        dir.path(),
        "auth.yml",
        &format!(
            "push:\n  tokens:\n    - name: backup-cron\n      sha256: {}\n      jobs: [backup]\n  users:\n    - name: cron\n      bcrypt: '{}'\nread:\n  open: true\n",
            sha256_hex("backup-secret"),
            hash("cron-pw")
        ),
    );
    let [cert, key] = tls_flags(dir.path(), &pki);
    let g = Pgw::start(&[&format!("--auth.file={}", auth.display()), &cert, &key]);
    let gateway = format!("https://localhost:{}", g.port);
    let push = |job: &str, credential: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pgw"))
            .args([
                "push",
                "-g",
                &gateway,
                "--ca-cert",
                ca.to_str().unwrap(),
                "--retries=0",
            ])
            .args(credential)
            .args(["-j", job, "pushed_by_pgw=1"])
            .env_remove("PGW_TOKEN")
            .env_remove("PGW_USER")
            .env_remove("PGW_PASSWORD")
            .output()
            .unwrap()
    };
    let token = ["--token-file", token_file.to_str().unwrap()];
    let out = push("backup", &token);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = push("web", &token);
    assert_eq!(out.status.code(), Some(6), "a 403 is a refused push");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("403") && err.contains("not to job \"web\""),
        "{err}"
    );
    let user = [
        "-u",
        "cron",
        "--password-file",
        password_file.to_str().unwrap(),
    ];
    let out = push("web", &user);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = push("web", &[]);
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"));
}

/// The client's TLS flags against a gateway whose certificate no public
/// authority signed: refused by default (exit 4, naming the certificate
/// problem), accepted with `--ca-cert` or `--insecure`; `pgw list` alike.
#[test]
fn client_tls_flags_ca_cert_and_insecure() {
    let dir = TempDir::new("client-tls");
    let pki = Pki::new();
    let ca = write(dir.path(), "ca.pem", &pki.ca_pem);
    let [cert, key] = tls_flags(dir.path(), &pki);
    let g = Pgw::start(&[&cert, &key]);
    let gateway = format!("https://localhost:{}", g.port);
    let pgw = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pgw"))
            .args(args)
            .args(["-g", &gateway, "--retries=0"])
            .env_remove("PGW_GATEWAY")
            .output()
            .unwrap()
    };
    let out = pgw(&["push", "-j", "tls", "a=1"]);
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("pgw: error: ") && err.to_lowercase().contains("certificate"),
        "{err}"
    );
    let out = pgw(&[
        "push",
        "-j",
        "tls",
        "--ca-cert",
        ca.to_str().unwrap(),
        "a=1",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = pgw(&["push", "-j", "tls", "--insecure", "b=2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = pgw(&["list", "-o", "json", "--insecure"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["groups"][0]["labels"]["job"], "tls", "{listed}");
    let bad_ca = write(dir.path(), "bad.pem", "not a certificate\n");
    let out = pgw(&[
        "push",
        "-j",
        "tls",
        "--ca-cert",
        bad_ca.to_str().unwrap(),
        "a=1",
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "a bad --ca-cert file is bad local input"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.pem"));
}
