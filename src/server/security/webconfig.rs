//! The official `--web.config.file` (the exporter-toolkit format that the Go
//! Pushgateway reads), so that an existing deployment keeps working:
//! `tls_server_config`, `http_server_config` (security headers),
//! `basic_auth_users` and `rate_limit`. Unknown keys are refused, naming the
//! key, as upstream's strict YAML decoding does; relative file names are
//! relative to the config file's directory, as upstream.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use hyper::http::{HeaderName, HeaderValue};
use serde::Deserialize;

use crate::server::security::tls::{ClientAuth, PemSource, TlsSettings, TlsVersion};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    tls_server_config: Option<RawTls>,
    http_server_config: Option<RawHttp>,
    basic_auth_users: Option<BTreeMap<String, String>>,
    rate_limit: Option<RawRateLimit>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert: Option<String>,
    key: Option<String>,
    client_ca: Option<String>,
    cert_file: Option<String>,
    key_file: Option<String>,
    client_ca_file: Option<String>,
    client_auth_type: Option<String>,
    client_allowed_sans: Option<Vec<String>>,
    min_version: Option<String>,
    max_version: Option<String>,
    cipher_suites: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
    curve_preferences: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    http2: Option<bool>,
    headers: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    interval: Option<String>,
    burst: Option<u32>,
}

/// The web config, validated.
#[derive(Debug, Default)]
pub(crate) struct WebConfig {
    /// `None` when the file configures no TLS at all (plain HTTP).
    pub(crate) tls: Option<TlsSettings>,
    /// Headers added to every answer.
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    /// User name → bcrypt hash; these users get every role.
    pub(crate) basic_auth_users: BTreeMap<String, String>,
    /// One request per `interval`, with bursts of `burst`.
    pub(crate) rate_limit: Option<(Duration, u32)>,
}

/// The headers upstream lets the file set, and the values it accepts for
/// the two that have a fixed set.
const HEADERS: &[(&str, Option<&[&str]>)] = &[
    ("Content-Security-Policy", None),
    ("X-Frame-Options", Some(&["deny", "sameorigin"])),
    ("X-Content-Type-Options", Some(&["nosniff"])),
    ("X-XSS-Protection", None),
    ("Strict-Transport-Security", None),
];

impl WebConfig {
    pub(crate) fn load(path: &Path) -> anyhow::Result<WebConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the web config file {}", path.display()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        WebConfig::parse(&text, dir).with_context(|| format!("web config file {}", path.display()))
    }

    /// Parses the file's text; relative file names are joined to `dir`.
    pub(crate) fn parse(text: &str, dir: &Path) -> anyhow::Result<WebConfig> {
        let raw: Option<Raw> = serde_norway::from_str(text)?;
        let raw = raw.unwrap_or_default();
        let mut tls = match raw.tls_server_config {
            Some(t) => tls_settings(t, dir).context("tls_server_config")?,
            None => None,
        };
        let mut headers = Vec::new();
        if let Some(http) = raw.http_server_config {
            if let Some(tls) = &mut tls {
                tls.http2 = http.http2.unwrap_or(true);
            }
            for (name, value) in http.headers.unwrap_or_default() {
                let Some((canonical, allowed)) =
                    HEADERS.iter().find(|(n, _)| n.eq_ignore_ascii_case(&name))
                else {
                    bail!("http_server_config.headers: HTTP header {name:?} can not be configured (allowed: {})",
                        HEADERS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "));
                };
                if value.is_empty() {
                    continue;
                }
                if let Some(allowed) = allowed {
                    if !allowed.iter().any(|a| a.eq_ignore_ascii_case(&value)) {
                        bail!("http_server_config.headers: {canonical} must be one of {allowed:?}, got {value:?}");
                    }
                }
                let value = HeaderValue::from_str(&value).with_context(|| {
                    format!("http_server_config.headers: {canonical}: {value:?} is not a valid header value")
                })?;
                headers.push((HeaderName::from_static(lower(canonical)), value));
            }
        }
        let rate_limit = match raw.rate_limit {
            Some(r) => {
                let interval = match r.interval.as_deref().map(str::trim) {
                    None | Some("0" | "") => Duration::ZERO,
                    Some(s) => humantime::parse_duration(s)
                        .map_err(|e| anyhow::anyhow!("rate_limit.interval: {s:?}: {e}"))?,
                };
                let burst = r.burst.unwrap_or(0);
                if interval.is_zero() {
                    None
                } else if burst == 0 {
                    bail!("rate_limit.burst must be at least 1 when rate_limit.interval is set (0 would refuse every request)");
                } else {
                    Some((interval, burst))
                }
            }
            None => None,
        };
        let basic_auth_users = raw.basic_auth_users.unwrap_or_default();
        for (user, hash) in &basic_auth_users {
            crate::server::security::auth::check_bcrypt(hash).with_context(|| {
                format!("basic_auth_users: user {user:?} has an invalid bcrypt hash")
            })?;
        }
        Ok(WebConfig {
            tls,
            headers,
            basic_auth_users,
            rate_limit,
        })
    }
}

fn lower(name: &'static str) -> &'static str {
    match name {
        "Content-Security-Policy" => "content-security-policy",
        "X-Frame-Options" => "x-frame-options",
        "X-Content-Type-Options" => "x-content-type-options",
        "X-XSS-Protection" => "x-xss-protection",
        _ => "strict-transport-security",
    }
}

fn source(
    inline: Option<String>,
    file: Option<String>,
    dir: &Path,
    inline_key: &str,
    file_key: &str,
) -> anyhow::Result<Option<PemSource>> {
    let inline = inline.filter(|s| !s.is_empty());
    let file = file.filter(|s| !s.is_empty());
    match (inline, file) {
        (Some(_), Some(_)) => bail!("give {inline_key} or {file_key}, not both"),
        (Some(pem), None) => Ok(Some(PemSource::Inline(pem))),
        (None, Some(f)) => Ok(Some(PemSource::File(dir.join(PathBuf::from(f))))),
        (None, None) => Ok(None),
    }
}

fn tls_settings(t: RawTls, dir: &Path) -> anyhow::Result<Option<TlsSettings>> {
    let cert = source(t.cert, t.cert_file, dir, "cert", "cert_file")?;
    let key = source(t.key, t.key_file, dir, "key", "key_file")?;
    let client_ca = source(
        t.client_ca,
        t.client_ca_file,
        dir,
        "client_ca",
        "client_ca_file",
    )?;
    let auth_type = t.client_auth_type.filter(|s| !s.is_empty());
    // Upstream's rule: TLS is on when any of these is set.
    if cert.is_none() && key.is_none() && client_ca.is_none() && auth_type.is_none() {
        return Ok(None);
    }
    let Some(cert) = cert else {
        bail!("missing one of cert or cert_file");
    };
    let Some(key) = key else {
        bail!("missing one of key or key_file");
    };
    let client_auth = match auth_type.as_deref() {
        None | Some("NoClientCert") => ClientAuth::None,
        Some("RequestClientCert") => ClientAuth::Request,
        // `RequireClientCert` is exporter-toolkit's old name for it.
        Some("RequireAnyClientCert" | "RequireClientCert") => ClientAuth::RequireAny,
        Some("VerifyClientCertIfGiven") => ClientAuth::VerifyIfGiven,
        Some("RequireAndVerifyClientCert") => ClientAuth::RequireAndVerify,
        Some(other) => bail!(
            "invalid client_auth_type {other:?} (NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert)"
        ),
    };
    if client_ca.is_some() && client_auth == ClientAuth::None {
        // Upstream's refusal, in its words first.
        bail!("client CA's have been configured without a Client Auth Policy: client_ca_file is set but client_auth_type is NoClientCert; set client_auth_type to RequireAndVerifyClientCert");
    }
    if client_ca.is_none()
        && matches!(
            client_auth,
            ClientAuth::VerifyIfGiven | ClientAuth::RequireAndVerify
        )
    {
        bail!("client_auth_type verifies client certificates but no client_ca_file is given");
    }
    let client_allowed_sans = t.client_allowed_sans.unwrap_or_default();
    if !client_allowed_sans.is_empty() && client_auth == ClientAuth::None {
        // Upstream never looks at them then; saying so beats ignoring them.
        bail!("client_allowed_sans needs a client_auth_type that asks for a client certificate (RequireAndVerifyClientCert, for one that is also verified)");
    }
    let version =
        |key: &str, v: Option<String>, default: TlsVersion| -> anyhow::Result<TlsVersion> {
            match v.as_deref().filter(|s| !s.is_empty()) {
                None => Ok(default),
                Some("TLS10") => Ok(TlsVersion::Tls10),
                Some("TLS11") => Ok(TlsVersion::Tls11),
                Some("TLS12") => Ok(TlsVersion::Tls12),
                Some("TLS13") => Ok(TlsVersion::Tls13),
                Some(other) => bail!("invalid {key} {other:?} (TLS10, TLS11, TLS12 or TLS13)"),
            }
        };
    Ok(Some(TlsSettings {
        cert,
        key,
        client_ca,
        client_auth,
        min_version: version("min_version", t.min_version, TlsVersion::Tls12)?,
        max_version: version("max_version", t.max_version, TlsVersion::Tls13)?,
        cipher_suites: t.cipher_suites.unwrap_or_default(),
        curve_preferences: t.curve_preferences.unwrap_or_default(),
        prefer_server_cipher_suites: t.prefer_server_cipher_suites.unwrap_or(true),
        client_allowed_sans,
        http2: true,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> anyhow::Result<WebConfig> {
        WebConfig::parse(yaml, Path::new("/etc/pgw"))
    }

    fn err(yaml: &str) -> String {
        format!("{:#}", parse(yaml).unwrap_err())
    }

    #[test]
    fn the_official_sample_parses() {
        let c = parse(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: /abs/server.key\nbasic_auth_users:\n  alice: $2y$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze\nrate_limit:\n  interval: \"1s\"\n  burst: 20\n",
        )
        .unwrap();
        let tls = c.tls.unwrap();
        assert_eq!(tls.cert, PemSource::File("/etc/pgw/server.crt".into()));
        assert_eq!(tls.key, PemSource::File("/abs/server.key".into()));
        assert_eq!(tls.min_version, TlsVersion::Tls12);
        assert_eq!(c.basic_auth_users.len(), 1);
        assert_eq!(c.rate_limit, Some((Duration::from_secs(1), 20)));
        // Go's duration syntax, and 0 for off.
        let c = parse("rate_limit:\n  interval: 1m30s\n  burst: 1\n").unwrap();
        assert_eq!(c.rate_limit, Some((Duration::from_secs(90), 1)));
        let c = parse("rate_limit:\n  interval: 0\n  burst: 5\n").unwrap();
        assert_eq!(c.rate_limit, None);
    }

    #[test]
    fn empty_files_and_sections_mean_plain_http() {
        for yaml in [
            "",
            "tls_server_config:\n",
            "basic_auth_users:\n",
            "tls_server_config: {}\n",
        ] {
            let c = parse(yaml).unwrap();
            assert!(c.tls.is_none() && c.basic_auth_users.is_empty(), "{yaml:?}");
        }
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        assert!(err("tls_server_config:\n  cert_fil: x\n").contains("unknown field `cert_fil`"));
        assert!(err("basic_auth:\n  a: b\n").contains("unknown field `basic_auth`"));
        assert!(
            err("tls_server_config:\n  cert_file: x\n").contains("missing one of key or key_file")
        );
        assert!(
            err("tls_server_config:\n  key_file: x\n").contains("missing one of cert or cert_file")
        );
        assert!(err(
            "tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: Sometimes\n"
        )
        .contains("invalid client_auth_type \"Sometimes\""));
        assert!(
            err("tls_server_config:\n  cert_file: c\n  key_file: k\n  client_ca_file: ca\n")
                .contains("client_auth_type is NoClientCert")
        );
        assert!(
            err("tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS9\n")
                .contains("invalid min_version \"TLS9\"")
        );
        assert!(
            err("http_server_config:\n  headers:\n    X-Powered-By: pgw\n")
                .contains("\"X-Powered-By\" can not be configured")
        );
        assert!(
            err("http_server_config:\n  headers:\n    X-Frame-Options: allow\n")
                .contains("X-Frame-Options must be one of")
        );
        assert!(err("rate_limit:\n  interval: 1s\n").contains("rate_limit.burst"));
        let mtls = "tls_server_config:\n  cert_file: c\n  key_file: k\n  client_ca_file: ca\n";
        assert!(err(mtls).contains("client CA's have been configured without a Client Auth Policy"));
        let tls = "tls_server_config:\n  cert_file: c\n  key_file: k\n";
        assert!(err(&format!("{tls}  client_allowed_sans: [a]\n"))
            .contains("client_allowed_sans needs a client_auth_type"));
        assert!(err(&format!(
            "{tls}  client_auth_type: VerifyClientCertIfGiven\n"
        ))
        .contains("no client_ca_file"));
        let ok = parse(&format!("{mtls}  client_auth_type: RequireAndVerifyClientCert\n  client_allowed_sans: [a, 10.0.0.1, a@b.c, spiffe://x/y]\n")).unwrap();
        assert_eq!(
            ok.tls.unwrap().client_allowed_sans,
            ["a", "10.0.0.1", "a@b.c", "spiffe://x/y"]
        );
        // Every official mode; the unverified ones need no CA.
        for (name, want) in [
            ("RequestClientCert", ClientAuth::Request),
            ("RequireAnyClientCert", ClientAuth::RequireAny),
            ("RequireClientCert", ClientAuth::RequireAny),
            ("VerifyClientCertIfGiven", ClientAuth::VerifyIfGiven),
            ("RequireAndVerifyClientCert", ClientAuth::RequireAndVerify),
        ] {
            let with_ca = parse(&format!("{mtls}  client_auth_type: {name}\n")).unwrap();
            assert_eq!(with_ca.tls.unwrap().client_auth, want, "{name}");
        }
        for name in ["RequestClientCert", "RequireAnyClientCert"] {
            let c = parse(&format!(
                "{tls}  client_auth_type: {name}\n  client_allowed_sans: [a]\n"
            ))
            .unwrap();
            assert!(c.tls.unwrap().client_ca.is_none(), "{name}");
        }
        assert!(err("basic_auth_users:\n  bob: secret\n")
            .contains("basic_auth_users: user \"bob\" has an invalid bcrypt hash"));
    }

    #[test]
    fn headers_are_kept_with_their_values() {
        let c = parse("http_server_config:\n  http2: false\n  headers:\n    x-frame-options: deny\n    Strict-Transport-Security: max-age=31536000\n    X-XSS-Protection: ''\n").unwrap();
        let names: Vec<&str> = c.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["strict-transport-security", "x-frame-options"]);
    }

    #[test]
    fn http2_is_on_over_tls_unless_switched_off() {
        let tls = "tls_server_config:\n  cert_file: c\n  key_file: k\n";
        assert!(parse(tls).unwrap().tls.unwrap().http2);
        let on = format!("{tls}http_server_config:\n  http2: true\n");
        assert!(parse(&on).unwrap().tls.unwrap().http2);
        let off = format!("{tls}http_server_config:\n  http2: false\n");
        assert!(!parse(&off).unwrap().tls.unwrap().http2);
    }
}
