//! The HTTP side of the client commands (`push`, `list`, `delete`, `wipe`)
//! and of `pgw relay`'s pushes: one [`Gateway`] built from [`Options`],
//! which sends a request with the configured TLS, credentials and timeout,
//! retries with backoff where a retry can help (waiting what a 503 or 429
//! asks for with `Retry-After`), and turns every failure into
//! a [`GatewayError`] whose kind picks the exit code (`exit::code_for`).
//!
//! Any 2xx answer is success: servers differ (the official one answers 200,
//! or 202 with its consistency check off and for deletions).

use std::io::Read as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use rustls::client::danger::{ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use crate::error::{Attempts, BadInput, GatewayError, Message, Status, Usage};
use crate::grouping::GroupingKey;

/// An answer of the gateway, read whole.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) content_type: Option<String>,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One gateway to reach, and how.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// The gateway's URL as [`normalize_base`] returns it.
    pub(crate) url: String,
    pub(crate) connection: Connection,
}

/// How to reach gateways: what the connection flags say, checked (credentials
/// that exclude each other) but with the files they name not read yet.
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    /// PEM file of extra certificate authorities to trust.
    pub(crate) ca_cert: Option<PathBuf>,
    /// Accept any certificate (the connection stays encrypted).
    pub(crate) insecure: bool,
    pub(crate) credentials: Credentials,
    /// Time limit of each request.
    pub(crate) timeout: Duration,
    /// Retries after a connection error, a timeout, a 5xx answer or a 429
    /// with `Retry-After` ([`Gateway::retry_wait`]).
    pub(crate) retries: u32,
}

/// The credential a request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Credentials {
    None,
    Basic {
        user: String,
        password: Option<Secret>,
    },
    /// Never empty when given as a value.
    Bearer(Secret),
}

/// A secret given as a value, or as a file whose first line it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Secret {
    Value(String),
    /// The flag that named the file, for messages, and the file.
    File(&'static str, PathBuf),
}

/// A gateway to talk to, configured from [`Options`].
pub(crate) struct Gateway {
    /// Without a trailing slash; may carry a path prefix (`https://gw/pgw`).
    base: String,
    agent: ureq::Agent,
    authorization: Option<String>,
    retries: u32,
    timeout: Duration,
    /// Set once the gateway showed that it has no brief listing
    /// (`GET /api/v1/groups`, pgw serve's; the official server answers 404),
    /// so that the listings that follow, such as `pgw delete`'s re-checks,
    /// go straight to `/api/v1/metrics` (`groups::fetch_listed`).
    no_brief_listing: AtomicBool,
}

impl Gateway {
    /// Reads the files the options name (CA certificates, secrets) and sets
    /// up the connection; nothing is sent yet.
    pub(crate) fn new(options: &Options) -> anyhow::Result<Gateway> {
        let base = options.url.clone();
        let connection = &options.connection;
        let mut builder = ureq::AgentBuilder::new()
            .timeout(connection.timeout)
            .user_agent(concat!("pgw/", env!("CARGO_PKG_VERSION")))
            // Redirects would turn a PUT into a GET; a gateway does not
            // redirect, so one is reported rather than followed.
            .redirects(0);
        if base.starts_with("https://") {
            builder = builder.tls_config(Arc::new(tls_config(connection)?));
        }
        Ok(Gateway {
            base,
            agent: builder.build(),
            authorization: authorization(&connection.credentials)?,
            retries: connection.retries,
            timeout: connection.timeout,
            no_brief_listing: AtomicBool::new(false),
        })
    }

    /// Whether the gateway was found to have no brief listing.
    pub(crate) fn lacks_brief_listing(&self) -> bool {
        self.no_brief_listing.load(Ordering::Relaxed)
    }

    /// Remembers that the gateway has no brief listing.
    pub(crate) fn note_no_brief_listing(&self) {
        self.no_brief_listing.store(true, Ordering::Relaxed);
    }

    /// The gateway's base URL, as requests are built from it.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// Sends `method path` (path absolute, already escaped, with its query),
    /// retrying on connection errors, timeouts and 5xx answers.
    pub(crate) fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Reply, GatewayError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self.send_once(method, path, headers, body, attempt);
            let wait = match &result {
                Err(e) if attempt <= self.retries => self.retry_wait(e, attempt),
                _ => None,
            };
            match wait {
                Some(wait) => std::thread::sleep(wait),
                None => return result,
            }
        }
    }

    /// How long to wait before another attempt after `err` (the failure of
    /// attempt number `attempt`), or `None` when no attempt can help: a 4xx,
    /// what is not a gateway, plain HTTP to `https://`. A 503 or a 429 with
    /// `Retry-After` waits what the server asks for (a replica of a cluster
    /// whose etcd is away says 5 s, a server reading too many bodies 1 s),
    /// at most [`RETRY_AFTER_CAP`] and at most `--timeout`, the time the user
    /// lets one request take; anything else backs off ([`backoff`]).
    pub(crate) fn retry_wait(&self, err: &GatewayError, attempt: u32) -> Option<Duration> {
        let asked = |d: Duration| Some(d.min(RETRY_AFTER_CAP).min(self.timeout));
        match err {
            GatewayError::Rejected {
                status: Status(429),
                retry_after: Some(d),
                ..
            }
            | GatewayError::Failed {
                status: Status(503),
                retry_after: Some(d),
                ..
            } => asked(*d),
            GatewayError::Rejected { .. } | GatewayError::NotAGateway { .. } => None,
            // A server that speaks plain HTTP will not start speaking TLS.
            GatewayError::Unreachable { cause, .. } if cause == PLAIN_HTTP => None,
            _ => Some(backoff(attempt)),
        }
    }

    fn send_once(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        attempt: u32,
    ) -> Result<Reply, GatewayError> {
        let url = format!("{}{path}", self.base);
        let mut req = self.agent.request(method, &url);
        for (k, v) in headers {
            req = req.set(k, v);
        }
        if let Some(auth) = &self.authorization {
            req = req.set("Authorization", auth);
        }
        let result = match body {
            Some(b) => req.send_bytes(b),
            None => req.call(),
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => {
                let attempts = Attempts(attempt);
                if is_timeout(&t) {
                    return Err(GatewayError::TimedOut {
                        url: self.base.clone(),
                        method: method.to_string(),
                        path: path.to_string(),
                        timeout: humantime::format_duration(self.timeout).to_string(),
                        attempts,
                    });
                }
                return Err(GatewayError::Unreachable {
                    url: self.base.clone(),
                    cause: transport_cause(&t),
                    attempts,
                });
            }
        };
        let status = response.status();
        let content_type = response.header("Content-Type").map(str::to_string);
        let retry_after = response
            .header("Retry-After")
            .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
        // Room for what the server says it sends (within reason), so a
        // listing's megabytes are not copied as the buffer grows.
        let announced = response
            .header("Content-Length")
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = Vec::with_capacity(announced.min(64 << 20));
        // An error page is only shown, so 4 MiB of it is plenty; a success is
        // data (`GET /api/v1/metrics` of a big gateway is tens of MiB).
        let limit: u64 = if (200..300).contains(&status) {
            1 << 30
        } else {
            4 << 20
        };
        // A body that breaks off is still worth showing as far as it came.
        let _ = response.into_reader().take(limit).read_to_end(&mut body);
        let reply = Reply { content_type, body };
        // Only a read's answer must be JSON: a gateway may answer a change
        // with an empty 2xx whatever was asked for.
        let expects_json = method == "GET"
            && headers
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("accept") && v.contains("json"));
        if let Some(answer) = not_a_gateway(status, &reply, path, expects_json) {
            let answer = match (status, self.identify()) {
                (404, Some(what)) => format!("{answer}; {what}"),
                (404, None) => format!(
                    "{answer}; a gateway with a route prefix needs it in the URL \
                     (-g http://host:9091/PREFIX)"
                ),
                _ => answer,
            };
            return Err(GatewayError::NotAGateway {
                url: self.base.clone(),
                method: method.to_string(),
                path: path.to_string(),
                answer,
            });
        }
        match status {
            200..=299 => Ok(reply),
            400..=499 => Err(GatewayError::Rejected {
                url: self.base.clone(),
                method: method.to_string(),
                path: path.to_string(),
                status: Status(status),
                message: Message(short_message(&reply)),
                retry_after,
            }),
            _ => Err(GatewayError::Failed {
                url: self.base.clone(),
                method: method.to_string(),
                path: path.to_string(),
                status: Status(status),
                message: Message(short_message(&reply)),
                attempts: Attempts(attempt),
                retry_after,
            }),
        }
    }
}

impl Gateway {
    /// What answered at the base URL, when it is not a gateway: Prometheus
    /// (and the servers that copy its API) say so at
    /// `/api/v1/status/buildinfo`, which no Pushgateway has. One attempt,
    /// and nothing when it says nothing.
    fn identify(&self) -> Option<String> {
        let url = format!("{}/api/v1/status/buildinfo", self.base);
        let mut req = self.agent.get(&url);
        if let Some(auth) = &self.authorization {
            req = req.set("Authorization", auth);
        }
        let response = req.call().ok()?;
        let mut body = Vec::new();
        let _ = response.into_reader().take(64 << 10).read_to_end(&mut body);
        let doc: serde_json::Value = serde_json::from_slice(&body).ok()?;
        let version = doc["data"]["version"].as_str()?;
        Some(format!(
            "it is Prometheus {version} (its /api/v1/status/buildinfo says so)"
        ))
    }
}

/// The cause given for an `https://` URL whose server answered the TLS
/// handshake in plain HTTP (rustls says `InvalidContentType`).
const PLAIN_HTTP: &str = "the server answered plain HTTP to a TLS handshake: use http://";

/// How an answer shows that no Pushgateway (nor pgw) is at the URL, if it
/// does. A gateway never answers HTML to a request of the client commands
/// (node_exporter answers its page, 200, to any method and path, so a push
/// would seem to succeed), answers its JSON API with JSON, and never 404s
/// a push path or `/api/v1/metrics` (Prometheus does, with Go's `404 page
/// not found`; so does a gateway whose route prefix is missing from the URL).
fn not_a_gateway(status: u16, reply: &Reply, path: &str, expects_json: bool) -> Option<String> {
    let is_html = reply
        .content_type
        .as_deref()
        .is_some_and(|c| c.contains("html"));
    let answered = format!("was answered {}", Status(status));
    if (200..300).contains(&status) {
        if is_html {
            return Some(match html_title(&reply.text()) {
                Some(t) => format!("{answered} with an HTML page titled {t:?}"),
                None => format!("{answered} with an HTML page"),
            });
        }
        // The first byte tells JSON from the rest; a listing's megabytes
        // need no copy to be told apart.
        if expects_json && !reply.body.trim_ascii_start().starts_with(b"{") {
            let ct = reply.content_type.as_deref().unwrap_or("no Content-Type");
            return Some(format!("{answered} with {ct}, not JSON"));
        }
        return None;
    }
    let gateway_path = path.starts_with("/metrics/job") || path.starts_with("/api/v1/metrics");
    if status == 404 && gateway_path {
        let text = short_message(reply);
        let said = if text.is_empty() {
            String::new()
        } else {
            format!(" ({text:?})")
        };
        return Some(format!("{answered}{said}"));
    }
    None
}

/// The text of an HTML page's `<title>`, to say what answered.
pub(crate) fn html_title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = start + lower[start..].find("</title>")?;
    let title = html[start..end].trim();
    (!title.is_empty()).then(|| title.chars().take(80).collect())
}

/// The longest wait a `Retry-After` gets: a server that asks for more is
/// asked again after this, so a client command stays within the minutes a
/// cron job or a CI step has.
pub(crate) const RETRY_AFTER_CAP: Duration = Duration::from_secs(30);

/// A `Retry-After` value: delay seconds, or an HTTP date (a date already
/// past means now). `None` for anything else, which is then ignored.
fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Exponential backoff from 250 ms, capped at 8 s, with up to 25 % jitter so
/// that a fleet of cron jobs does not retry in lockstep.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(250) * 2u32.saturating_pow(attempt.saturating_sub(1).min(5));
    let base = base.min(Duration::from_secs(8));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    base + base / 4 * (nanos % 1000) / 1000
}

/// The gateway's message, shortened to what fits an error line; an HTML
/// error page from a proxy is not worth printing.
fn short_message(reply: &Reply) -> String {
    let is_html = reply
        .content_type
        .as_deref()
        .is_some_and(|c| c.contains("html"));
    if is_html {
        return String::new();
    }
    let text = reply.text();
    let text = text.trim();
    match text.char_indices().nth(500) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_string(),
    }
}

fn is_timeout(t: &ureq::Transport) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(t);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) {
                return true;
            }
        }
        source = e.source();
    }
    false
}

pub(crate) fn transport_cause(t: &ureq::Transport) -> String {
    // rustls reads an HTTP answer as a TLS record of an unknown type.
    let is_tls = t.kind() == ureq::ErrorKind::ConnectionFailed || t.to_string().contains("tls");
    if is_tls && format!("{t:?}{t}").contains("InvalidContentType") {
        return PLAIN_HTTP.to_string();
    }
    let mut out = t.message().map(str::to_string).unwrap_or_default();
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(t);
    while let Some(e) = source {
        let s = e.to_string();
        if !out.contains(&s) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&s);
        }
        source = e.source();
    }
    if out.is_empty() {
        t.kind().to_string()
    } else {
        out
    }
}

/// Checks and normalises the gateway URL: `host:9091` means `http://host:9091`,
/// and a trailing slash is dropped so paths can be appended.
pub(crate) fn normalize_base(gateway: &str) -> Result<String, Usage> {
    let g = gateway.trim();
    let full = if g.contains("://") {
        g.to_string()
    } else {
        format!("http://{g}")
    };
    let (scheme, rest) = full.split_once("://").unwrap_or(("", ""));
    if scheme != "http" && scheme != "https" {
        return Err(Usage(format!(
            "--gateway {gateway:?}: the scheme must be http or https"
        )));
    }
    let authority = rest.split('/').next().unwrap_or("");
    // `:9091` names a port but no host; `[::1]:9091` is a host.
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    if host.is_empty() {
        return Err(Usage(format!("--gateway {gateway:?}: no host")));
    }
    if rest.contains(['?', '#']) {
        return Err(Usage(format!(
            "--gateway {gateway:?}: a query or fragment has no place in a gateway URL"
        )));
    }
    Ok(full.trim_end_matches('/').to_string())
}

/// A `--gateway` value taken apart: the gateway's base URL and, when the
/// value was a push URL (`http://gw:9091/metrics/job/x/instance/y`, as
/// pasted from a curl line), the group it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GatewayUrl {
    /// As [`normalize_base`] returns it, without the push path.
    pub(crate) base: String,
    pub(crate) key: Option<GroupingKey>,
    /// Said once on stderr: how the value was read, when it was not taken
    /// as it is.
    pub(crate) note: Option<String>,
}

/// Reads a `--gateway` value. A path that ends in `/metrics` is the
/// gateway's scrape URL: the gateway is what comes before it (with a note,
/// since `/metrics/metrics/job/...` would otherwise get a bare 404). A path
/// with `/metrics/job/...` is a push URL: its group is read as the gateway
/// reads it (percent-decoding, then `@base64`), so nothing is lost.
pub(crate) fn parse_gateway(gateway: &str) -> anyhow::Result<GatewayUrl> {
    let full = normalize_base(gateway)?;
    let (scheme, rest) = full.split_once("://").expect("normalize_base checked it");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let push_at = path.match_indices("/metrics/job").find_map(|(i, m)| {
        let after = &path[i + m.len()..];
        (after.is_empty() || after.starts_with(['/', '@'])).then_some(i)
    });
    if let Some(at) = push_at {
        let base = format!("{scheme}://{authority}{}", &path[..at]);
        let bad = |why: String| BadInput(format!("--gateway {gateway:?}: {why}"));
        let rest = percent_encoding::percent_decode_str(&path[at + "/metrics/job".len()..])
            .decode_utf8()
            .map_err(|_| bad("the push path is not UTF-8 after percent-decoding".into()))?;
        let key = match GroupingKey::from_path(&rest) {
            Some(Ok(key)) => key,
            Some(Err(e)) => return Err(bad(format!("the push URL's group: {e}")).into()),
            None => return Err(bad("the push URL names no job (/metrics/job/JOB)".into()).into()),
        };
        return Ok(GatewayUrl {
            base,
            key: Some(key),
            note: None,
        });
    }
    if let Some(prefix) = path.strip_suffix("/metrics") {
        let base = format!("{scheme}://{authority}{prefix}");
        return Ok(GatewayUrl {
            note: Some(format!(
                "--gateway {gateway}: /metrics is where the gateway is scraped, not part of its \
                 URL; pushing to {base}"
            )),
            base,
            key: None,
        });
    }
    Ok(GatewayUrl {
        base: full,
        key: None,
        note: None,
    })
}

/// The `Authorization` header for `credentials`, reading the secret files.
fn authorization(credentials: &Credentials) -> anyhow::Result<Option<String>> {
    use base64::Engine as _;
    match credentials {
        Credentials::None => Ok(None),
        Credentials::Basic { user, password } => {
            let password = match password {
                Some(p) => read_secret(p)?,
                None => String::new(),
            };
            let pair = format!("{user}:{password}");
            Ok(Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )))
        }
        Credentials::Bearer(token) => {
            let token = read_secret(token)?;
            if token.is_empty() {
                return Err(BadInput("the bearer token is empty".into()).into());
            }
            Ok(Some(format!("Bearer {token}")))
        }
    }
}

/// A secret's value; from a file, its first line, so a trailing newline
/// written by `echo` is not part of it.
fn read_secret(secret: &Secret) -> anyhow::Result<String> {
    let (flag, path) = match secret {
        Secret::Value(v) => return Ok(v.clone()),
        Secret::File(flag, path) => (flag, path),
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{flag}: cannot read {}", path.display()))
        .map_err(|e| BadInput(format!("{e:#}")))?;
    Ok(text.lines().next().unwrap_or("").to_string())
}

fn tls_config(connection: &Connection) -> anyhow::Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("cannot set up TLS")?;
    if connection.insecure {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify {
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth());
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &connection.ca_cert {
        let bad = |msg: String| BadInput(format!("--ca-cert {}: {msg}", path.display()));
        let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        let mut found = 0;
        for cert in rustls_pki_types::pem::PemObject::pem_slice_iter(&pem) {
            let cert: CertificateDer<'static> = cert.map_err(|e| bad(e.to_string()))?;
            roots.add(cert).map_err(|e| bad(e.to_string()))?;
            found += 1;
        }
        if found == 0 {
            return Err(bad("no PEM certificate in the file".into()).into());
        }
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// `--insecure`: accepts any certificate, but still checks the handshake's
/// signatures, so the connection is encrypted, just not authenticated.
#[derive(Debug)]
struct NoVerify {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    crate::tls::signature_checks!(algorithms);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_urls_are_normalised() {
        assert_eq!(
            normalize_base("localhost:9091").unwrap(),
            "http://localhost:9091"
        );
        assert_eq!(
            normalize_base("https://gw.example/pgw/").unwrap(),
            "https://gw.example/pgw"
        );
        assert!(normalize_base("ftp://x").is_err());
        assert!(normalize_base("http://").is_err());
        assert!(normalize_base(":9091").is_err());
        assert!(normalize_base("http://:9091/x").is_err());
        assert_eq!(normalize_base("[::1]:9091").unwrap(), "http://[::1]:9091");
        assert!(normalize_base("http://x/?a=1").is_err());
    }

    #[test]
    fn pasted_urls_are_taken_apart() {
        let u = parse_gateway("http://gw:9091/metrics").unwrap();
        assert_eq!(u.base, "http://gw:9091");
        assert!(u
            .note
            .unwrap()
            .contains("/metrics is where the gateway is scraped"));
        let u = parse_gateway("https://gw/pgw/metrics/").unwrap();
        assert_eq!(u.base, "https://gw/pgw");
        let u = parse_gateway("gw:9091/metrics/job/x/instance/y").unwrap();
        assert_eq!(u.base, "http://gw:9091");
        assert_eq!(
            u.key.unwrap(),
            GroupingKey::new([("job", "x"), ("instance", "y")])
        );
        assert!(u.note.is_none());
        // `@base64` and percent-encoding, as the gateway reads them.
        let u =
            parse_gateway("http://gw/p/metrics/job@base64/YS9i/path@base64/=/dc/e%20u").unwrap();
        assert_eq!(u.base, "http://gw/p");
        assert_eq!(
            u.key.unwrap(),
            GroupingKey::new([("job", "a/b"), ("path", ""), ("dc", "e u")])
        );
        let err = |g: &str| format!("{:#}", parse_gateway(g).unwrap_err());
        assert!(err("http://gw/metrics/job/x/instance").contains("odd number"));
        assert!(err("http://gw/metrics/job").contains("names no job"));
        assert_eq!(
            parse_gateway("http://gw/metricsx").unwrap().base,
            "http://gw/metricsx"
        );
        assert_eq!(parse_gateway("http://gw/pgw").unwrap().note, None);
    }

    #[test]
    fn answers_that_are_not_from_a_gateway() {
        let reply = |ct: &str, body: &str| Reply {
            content_type: Some(ct.to_string()),
            body: body.as_bytes().to_vec(),
        };
        let page = reply(
            "text/html; charset=utf-8",
            "<html><head><title>Node Exporter</title>",
        );
        let what = not_a_gateway(200, &page, "/metrics/job/x", false).unwrap();
        assert!(
            what.contains("HTML page titled \"Node Exporter\""),
            "{what}"
        );
        let text = reply("text/plain", "hello");
        assert!(not_a_gateway(200, &text, "/api/v1/metrics", true)
            .unwrap()
            .contains("not JSON"));
        assert!(not_a_gateway(
            200,
            &reply("application/json", "{}"),
            "/api/v1/metrics",
            true
        )
        .is_none());
        assert!(not_a_gateway(202, &reply("text/plain", ""), "/metrics/job/x", false).is_none());
        let nf = reply("text/plain", "404 page not found\n");
        assert!(not_a_gateway(404, &nf, "/metrics/job/x", false)
            .unwrap()
            .contains("\"404 page not found\""));
        // The official server's answer to pgw's bulk clean-up, which delete
        // falls back from.
        assert!(not_a_gateway(404, &nf, "/api/v1/groups?match=x", true).is_none());
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) >= Duration::from_millis(250));
        assert!(backoff(1) < Duration::from_millis(320));
        assert!(backoff(3) >= Duration::from_secs(1));
        assert!(backoff(30) <= Duration::from_secs(10));
    }

    #[test]
    fn retry_after_is_seconds_or_a_date() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let read = |v: &str| parse_retry_after(v, now);
        assert_eq!(read("5"), Some(Duration::from_secs(5)));
        assert_eq!(read(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            read("Sun, 06 Nov 1994 08:50:07 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(read("Sun, 06 Nov 1994 08:00:00 GMT"), Some(Duration::ZERO));
        assert_eq!(read("-1"), None);
        assert_eq!(read("soon"), None);
    }

    #[test]
    fn retry_waits_follow_the_answer() {
        let gateway = |timeout: u64| {
            Gateway::new(&Options {
                url: "http://gw:9091".into(),
                connection: Connection {
                    ca_cert: None,
                    insecure: false,
                    credentials: Credentials::None,
                    timeout: Duration::from_secs(timeout),
                    retries: 2,
                },
            })
            .unwrap()
        };
        let failed = |status: u16, retry_after: Option<u64>| GatewayError::Failed {
            url: "http://gw:9091".into(),
            method: "PUT".into(),
            path: "/metrics/job/x".into(),
            status: Status(status),
            message: Message(String::new()),
            attempts: Attempts(1),
            retry_after: retry_after.map(Duration::from_secs),
        };
        let rejected = |status: u16, retry_after: Option<u64>| GatewayError::Rejected {
            url: "http://gw:9091".into(),
            method: "PUT".into(),
            path: "/metrics/job/x".into(),
            status: Status(status),
            message: Message(String::new()),
            retry_after: retry_after.map(Duration::from_secs),
        };
        let g = gateway(10);
        let secs = |s: u64| Some(Duration::from_secs(s));
        assert_eq!(g.retry_wait(&failed(503, Some(5)), 1), secs(5));
        assert_eq!(g.retry_wait(&rejected(429, Some(2)), 1), secs(2));
        // Capped by --timeout, and by 30 s whatever the timeout.
        assert_eq!(g.retry_wait(&failed(503, Some(3600)), 1), secs(10));
        assert_eq!(
            gateway(120).retry_wait(&failed(503, Some(3600)), 1),
            secs(30)
        );
        // Without Retry-After, or on another status, the usual backoff.
        let backed_off = g.retry_wait(&failed(503, None), 1).unwrap();
        assert!(backed_off < Duration::from_secs(1), "{backed_off:?}");
        let backed_off = g.retry_wait(&failed(502, Some(20)), 1).unwrap();
        assert!(backed_off < Duration::from_secs(1), "{backed_off:?}");
        // A 4xx is final, unless a 429 says when to come back.
        assert_eq!(g.retry_wait(&rejected(429, None), 1), None);
        assert_eq!(g.retry_wait(&rejected(400, Some(1)), 1), None);
    }

    #[test]
    fn errors_read_well() {
        let e = GatewayError::Rejected {
            url: "http://gw:9091".into(),
            method: "PUT".into(),
            path: "/metrics/job/x".into(),
            status: Status(400),
            message: Message("text format parsing error in line 3\n".into()),
            retry_after: None,
        };
        assert_eq!(
            e.to_string(),
            "the gateway at http://gw:9091 refused PUT /metrics/job/x with 400 Bad Request: \
             text format parsing error in line 3"
        );
        let e = GatewayError::Unreachable {
            url: "http://gw:9091".into(),
            cause: "Connection refused".into(),
            attempts: Attempts(3),
        };
        assert!(e.to_string().ends_with("(gave up after 3 attempts)"));
    }
}
