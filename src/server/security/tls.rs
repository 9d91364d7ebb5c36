//! TLS with rustls: turns [`TlsSettings`] (from `tls_server_config` in the
//! web config or from `--web.tls-cert-file`/`--web.tls-key-file`) into a
//! rustls `ServerConfig`, reading certificate, key and client CA from files
//! or inline PEM, with upstream's version, cipher-suite and curve names.
//! Building is pure apart from reading the files, so a reload builds a new
//! config and swaps it in only when it succeeded.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DistinguishedName, RootCertStore, ServerConfig, SupportedProtocolVersion};

use crate::server::security::sans::{self, San};

/// PEM text from a file or given inline in the web config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PemSource {
    File(PathBuf),
    Inline(String),
}

impl PemSource {
    fn read(&self, what: &str) -> anyhow::Result<Vec<u8>> {
        match self {
            PemSource::File(path) => std::fs::read(path)
                .with_context(|| format!("cannot read {what} {}", path.display())),
            PemSource::Inline(text) => Ok(text.as_bytes().to_vec()),
        }
    }

    fn describe(&self, what: &str) -> String {
        match self {
            PemSource::File(path) => format!("{what} {}", path.display()),
            PemSource::Inline(_) => format!("inline {what}"),
        }
    }
}

/// `client_auth_type`, with Go's meanings: whether a client certificate is
/// asked for, required, and verified against the client CA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientAuth {
    /// `NoClientCert`: none is asked for.
    None,
    /// `RequestClientCert`: asked for, neither required nor verified.
    Request,
    /// `RequireAnyClientCert` (and its old name `RequireClientCert`):
    /// required, not verified.
    RequireAny,
    /// `VerifyClientCertIfGiven`: optional, verified when given.
    VerifyIfGiven,
    /// `RequireAndVerifyClientCert`: required and verified.
    RequireAndVerify,
}

impl ClientAuth {
    fn verifies(self) -> bool {
        matches!(
            self,
            ClientAuth::VerifyIfGiven | ClientAuth::RequireAndVerify
        )
    }

    fn requires(self) -> bool {
        matches!(self, ClientAuth::RequireAny | ClientAuth::RequireAndVerify)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TlsVersion {
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    pub(crate) cert: PemSource,
    pub(crate) key: PemSource,
    pub(crate) client_ca: Option<PemSource>,
    pub(crate) client_auth: ClientAuth,
    pub(crate) min_version: TlsVersion,
    pub(crate) max_version: TlsVersion,
    /// Go's names (`TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`); they restrict
    /// TLS 1.2 only, as in Go. Empty: rustls's defaults.
    pub(crate) cipher_suites: Vec<String>,
    /// Go's names (`X25519`, `CurveP256`, `CurveP384`). Empty: defaults.
    pub(crate) curve_preferences: Vec<String>,
    pub(crate) prefer_server_cipher_suites: bool,
    /// A client certificate must also carry one of these subject
    /// alternative names (DNS name, e-mail address, URI or IP address), as
    /// upstream's `client_allowed_sans`. Empty: any certificate the mode
    /// accepts.
    pub(crate) client_allowed_sans: Vec<String>,
    /// Offer HTTP/2 (ALPN `h2`) beside HTTP/1.1: `http_server_config.http2`,
    /// on unless set to false, as upstream.
    pub(crate) http2: bool,
}

impl TlsSettings {
    /// Certificate and key files only, as the `--web.tls-*` flags give them.
    pub(crate) fn from_files(cert: PathBuf, key: PathBuf) -> TlsSettings {
        TlsSettings {
            cert: PemSource::File(cert),
            key: PemSource::File(key),
            client_ca: None,
            client_auth: ClientAuth::None,
            min_version: TlsVersion::Tls12,
            max_version: TlsVersion::Tls13,
            cipher_suites: Vec::new(),
            curve_preferences: Vec::new(),
            prefer_server_cipher_suites: true,
            client_allowed_sans: Vec::new(),
            http2: true,
        }
    }

    /// The files a reload should watch.
    pub(crate) fn files(&self) -> Vec<PathBuf> {
        [Some(&self.cert), Some(&self.key), self.client_ca.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(|s| match s {
                PemSource::File(p) => Some(p.clone()),
                PemSource::Inline(_) => None,
            })
            .collect()
    }

    /// Reads the files and builds the rustls configuration.
    pub(crate) fn build(&self) -> anyhow::Result<Arc<ServerConfig>> {
        let provider = Arc::new(self.provider()?);
        let versions = self.versions()?;
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .context("TLS versions")?;
        let builder = match self.client_verifier(&provider)? {
            None => builder.with_no_client_auth(),
            Some(verifier) => builder.with_client_cert_verifier(verifier),
        };
        let cert_pem = self.cert.read("cert_file")?;
        let certs = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("{} is not valid PEM", self.cert.describe("certificate")))?;
        if certs.is_empty() {
            bail!("{} holds no certificate", self.cert.describe("certificate"));
        }
        let key_pem = self.key.read("key_file")?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem)
            .with_context(|| format!("{} holds no usable private key", self.key.describe("key")))?;
        let mut config = builder.with_single_cert(certs, key).with_context(|| {
            format!(
                "{} and {} do not make a usable pair",
                self.cert.describe("certificate"),
                self.key.describe("key")
            )
        })?;
        // h2 first: a client that speaks both gets HTTP/2, as from Go.
        config.alpn_protocols = if self.http2 {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        };
        config.ignore_client_order = self.prefer_server_cipher_suites;
        Ok(Arc::new(config))
    }

    /// What checks client certificates; `None` for `NoClientCert`.
    fn client_verifier(
        &self,
        provider: &Arc<CryptoProvider>,
    ) -> anyhow::Result<Option<Arc<dyn ClientCertVerifier>>> {
        if self.client_auth == ClientAuth::None {
            return Ok(None);
        }
        let roots = self.client_ca.as_ref().map(read_roots).transpose()?;
        let algorithms = provider.signature_verification_algorithms;
        let inner: Arc<dyn ClientCertVerifier> = if self.client_auth.verifies() {
            let roots = roots
                .context("client_auth_type verifies certificates: client_ca_file is needed")?;
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            let verifier = if self.client_auth.requires() {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            verifier.build().context("client certificate verifier")?
        } else {
            Arc::new(Unverified {
                mandatory: self.client_auth.requires(),
                hints: roots.map(|r| r.subjects()).unwrap_or_default(),
                algorithms,
            })
        };
        if self.client_allowed_sans.is_empty() {
            Ok(Some(inner))
        } else {
            Ok(Some(Arc::new(AllowedSans {
                inner,
                allowed: self.client_allowed_sans.clone(),
                algorithms,
            })))
        }
    }

    fn versions(&self) -> anyhow::Result<Vec<&'static SupportedProtocolVersion>> {
        if self.min_version > self.max_version {
            bail!("min_version is above max_version");
        }
        if self.max_version < TlsVersion::Tls12 {
            bail!("max_version below TLS12: pgw (rustls) speaks TLS 1.2 and 1.3 only");
        }
        let mut out = Vec::new();
        if self.min_version <= TlsVersion::Tls12 {
            out.push(&rustls::version::TLS12);
        }
        if self.max_version == TlsVersion::Tls13 {
            out.push(&rustls::version::TLS13);
        }
        Ok(out)
    }

    fn provider(&self) -> anyhow::Result<CryptoProvider> {
        let mut provider = rustls::crypto::ring::default_provider();
        if !self.cipher_suites.is_empty() {
            let all = rustls::crypto::ring::ALL_CIPHER_SUITES;
            // TLS 1.3 suites are always on, as in Go, where cipher_suites
            // only applies up to TLS 1.2.
            let mut suites: Vec<_> = all
                .iter()
                .filter(|s| s.tls13().is_some())
                .copied()
                .collect();
            for name in &self.cipher_suites {
                if let Some(s) = all.iter().find(|s| go_suite_name(s) == *name) {
                    if !suites.contains(s) {
                        suites.push(*s);
                    }
                } else {
                    let known: Vec<String> = all.iter().map(go_suite_name).collect();
                    bail!(
                        "cipher_suites: unsupported cipher suite {name:?} (supported: {})",
                        known.join(", ")
                    );
                }
            }
            provider.cipher_suites = suites;
        }
        if !self.curve_preferences.is_empty() {
            let mut groups = Vec::new();
            for name in &self.curve_preferences {
                let wanted = match name.as_str() {
                    "X25519" => rustls::NamedGroup::X25519,
                    "CurveP256" => rustls::NamedGroup::secp256r1,
                    "CurveP384" => rustls::NamedGroup::secp384r1,
                    other => bail!("curve_preferences: unsupported curve {other:?} (supported: X25519, CurveP256, CurveP384)"),
                };
                let group = rustls::crypto::ring::ALL_KX_GROUPS
                    .iter()
                    .find(|g| g.name() == wanted)
                    .with_context(|| format!("curve_preferences: {name:?} is not available"))?;
                groups.push(*group);
            }
            provider.kx_groups = groups;
        }
        Ok(provider)
    }
}

/// The client CA's certificates, for verifying or as the names a server
/// hints at.
fn read_roots(ca: &PemSource) -> anyhow::Result<RootCertStore> {
    let pem = ca.read("client_ca_file")?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert =
            cert.with_context(|| format!("{} is not valid PEM", ca.describe("client CA")))?;
        roots.add(cert).with_context(|| {
            format!("{} holds an unusable certificate", ca.describe("client CA"))
        })?;
    }
    if roots.is_empty() {
        bail!("{} holds no certificate", ca.describe("client CA"));
    }
    Ok(roots)
}

/// `RequestClientCert` and `RequireAnyClientCert`: a client certificate is
/// taken without checking who signed it, as Go does in these modes; the
/// client must still prove it holds the certificate's key (the handshake
/// signature is checked).
#[derive(Debug)]
struct Unverified {
    mandatory: bool,
    /// The client CA's subjects, when one is given, as Go sends them.
    hints: Vec<DistinguishedName>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for Unverified {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    crate::tls::signature_checks!(algorithms);
}

/// A client certificate verifier that also requires one of the allowed
/// subject alternative names, compared exactly as upstream does (no
/// wildcard matching): DNS names as written (ignoring ASCII case, as DNS
/// does), e-mail addresses and URIs as written, IP addresses by value.
///
/// Upstream runs this check whenever it asked for a certificate and
/// crashes the connection's handler when none came (an optional mode);
/// here a certificate is then required, so such a client is refused in the
/// handshake.
#[derive(Debug)]
struct AllowedSans {
    inner: Arc<dyn ClientCertVerifier>,
    allowed: Vec<String>,
    /// The provider's, as `inner` uses them.
    algorithms: WebPkiSupportedAlgorithms,
}

impl AllowedSans {
    fn matches(&self, end_entity: &CertificateDer<'_>) -> bool {
        let Some(names) = sans::subject_alt_names(end_entity) else {
            return false;
        };
        self.allowed.iter().any(|allowed| {
            let ip = allowed.parse::<std::net::IpAddr>().ok();
            names.iter().any(|name| match name {
                San::Dns(d) => ip.is_none() && d.eq_ignore_ascii_case(allowed),
                San::Email(e) => e == allowed,
                San::Uri(u) => u == allowed,
                San::Ip(a) => ip == Some(*a),
            })
        })
    }
}

impl ClientCertVerifier for AllowedSans {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        if self.matches(end_entity) {
            Ok(verified)
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName,
            ))
        }
    }

    crate::tls::signature_checks!(algorithms);
}

/// The name Go gives a cipher suite: the IANA name, with `TLS_` for the TLS
/// 1.3 suites where rustls says `TLS13_`.
fn go_suite_name(suite: &rustls::SupportedCipherSuite) -> String {
    let name = format!("{:?}", suite.suite());
    match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> TlsSettings {
        TlsSettings::from_files("/nonexistent/c".into(), "/nonexistent/k".into())
    }

    #[test]
    fn versions_follow_min_and_max() {
        let mut s = settings();
        assert_eq!(s.versions().unwrap().len(), 2);
        s.min_version = TlsVersion::Tls13;
        assert_eq!(s.versions().unwrap(), vec![&rustls::version::TLS13]);
        s.min_version = TlsVersion::Tls10;
        s.max_version = TlsVersion::Tls12;
        assert_eq!(s.versions().unwrap(), vec![&rustls::version::TLS12]);
        s.max_version = TlsVersion::Tls11;
        assert!(s.versions().is_err());
    }

    #[test]
    fn go_cipher_and_curve_names() {
        let mut s = settings();
        s.cipher_suites = vec!["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".into()];
        s.curve_preferences = vec!["CurveP256".into(), "X25519".into()];
        let p = s.provider().unwrap();
        assert_eq!(
            p.cipher_suites
                .iter()
                .filter(|c| c.tls13().is_none())
                .count(),
            1
        );
        assert_eq!(p.kx_groups.len(), 2);
        s.cipher_suites = vec!["TLS_RSA_WITH_RC4_128_SHA".into()];
        let e = s.provider().unwrap_err().to_string();
        assert!(
            e.contains("unsupported cipher suite \"TLS_RSA_WITH_RC4_128_SHA\""),
            "{e}"
        );
        assert!(e.contains("TLS_AES_128_GCM_SHA256"), "{e}");
    }

    #[test]
    fn allowed_sans_match_every_kind_exactly() {
        use rcgen::SanType;
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.subject_alt_names = vec![
            SanType::DnsName("client.example".try_into().unwrap()),
            SanType::IpAddress("10.0.0.1".parse().unwrap()),
            SanType::Rfc822Name("ops@example.org".try_into().unwrap()),
            SanType::URI("spiffe://cluster/ns/default/sa/cron".try_into().unwrap()),
        ];
        let cert = params.self_signed(&key).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let algorithms = provider.signature_verification_algorithms;
        let inner = Arc::new(Unverified {
            mandatory: false,
            hints: vec![],
            algorithms,
        });
        let check = |allowed: &[&str]| {
            AllowedSans {
                inner: inner.clone(),
                allowed: allowed.iter().map(|s| s.to_string()).collect(),
                algorithms,
            }
            .matches(cert.der())
        };
        assert!(check(&["client.example"]));
        assert!(check(&["CLIENT.example"]));
        assert!(check(&["nope", "10.0.0.1"]));
        assert!(check(&["ops@example.org"]));
        assert!(check(&["spiffe://cluster/ns/default/sa/cron"]));
        assert!(!check(&["*.example", "example", "10.0.0.2"]));
        // Exact: no case folding of e-mail addresses or URIs, no prefixes,
        // and a DNS name never matches an IP address or the other way round.
        assert!(!check(&[
            "OPS@example.org",
            "example.org",
            "spiffe://cluster"
        ]));
        assert!(!check(&[
            "spiffe://cluster/ns/default/sa/cron/",
            "client.example."
        ]));
    }

    #[test]
    fn every_client_auth_type_builds() {
        let dir = std::env::temp_dir().join(format!("pgw-tls-modes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(dir.join("c.pem"), cert.pem()).unwrap();
        std::fs::write(dir.join("k.pem"), key.serialize_pem()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        for auth in [
            ClientAuth::None,
            ClientAuth::Request,
            ClientAuth::RequireAny,
            ClientAuth::VerifyIfGiven,
            ClientAuth::RequireAndVerify,
        ] {
            let mut s = TlsSettings::from_files(dir.join("c.pem"), dir.join("k.pem"));
            s.client_auth = auth;
            if auth.verifies() {
                s.client_ca = Some(PemSource::File(dir.join("c.pem")));
            }
            s.build().unwrap();
            let verifier = s.client_verifier(&provider).unwrap();
            assert_eq!(verifier.is_some(), auth != ClientAuth::None, "{auth:?}");
            if let Some(v) = verifier {
                assert!(v.offer_client_auth(), "{auth:?}");
                assert_eq!(v.client_auth_mandatory(), auth.requires(), "{auth:?}");
                s.client_allowed_sans = vec!["client".into()];
                // Where upstream would crash on a missing certificate.
                let v = s.client_verifier(&provider).unwrap().unwrap();
                assert!(v.client_auth_mandatory(), "{auth:?}");
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_files_are_named() {
        let e = format!("{:#}", settings().build().unwrap_err());
        assert!(e.contains("cannot read cert_file /nonexistent/c"), "{e}");
    }
}
