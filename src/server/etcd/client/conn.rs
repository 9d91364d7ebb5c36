//! Connections to etcd's members: endpoint URLs taken apart and checked,
//! the TLS client setup from the CA, certificate and key files, HTTP/1.1
//! handshakes over TCP or TLS, and the few idle connections kept per
//! endpoint for reuse.

use std::sync::Arc;

use anyhow::{bail, Context as _};
use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use super::{Client, Config};

/// Idle connections kept per endpoint.
const IDLE_PER_ENDPOINT: usize = 4;

#[derive(Debug)]
pub(super) struct Endpoint {
    /// As configured, for messages.
    pub(super) url: String,
    pub(super) tls: bool,
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

pub(super) fn parse_endpoint(url: &str) -> anyhow::Result<Endpoint> {
    let (tls, rest) = if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else {
        bail!("etcd endpoint {url:?}: the scheme must be http:// or https://");
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains('/') || rest.contains('?') || rest.contains('@') {
        bail!("etcd endpoint {url:?}: only scheme://host:port, without a path");
    }
    let (host, port) = rest
        .rsplit_once(':')
        .with_context(|| format!("etcd endpoint {url:?}: the port is missing (host:port)"))?;
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p != 0)
        .with_context(|| format!("etcd endpoint {url:?}: {port:?} is not a port"))?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() {
        bail!("etcd endpoint {url:?}: the host is missing");
    }
    if tls {
        ServerName::try_from(host.to_string())
            .with_context(|| format!("etcd endpoint {url:?}: {host:?} is not a host name"))?;
    }
    Ok(Endpoint {
        url: url.to_string(),
        tls,
        host: host.to_string(),
        port,
        idle: Mutex::new(Vec::new()),
    })
}

pub(super) fn tls_connector(config: &Config) -> anyhow::Result<tokio_rustls::TlsConnector> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("cannot set up TLS")?;
    let mut roots = rustls::RootCertStore::empty();
    match &config.ca_file {
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(path) => {
            let pem = std::fs::read(path)
                .with_context(|| format!("etcd CA file {}: cannot read it", path.display()))?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert
                    .with_context(|| format!("etcd CA file {}: not valid PEM", path.display()))?;
                roots.add(cert).with_context(|| {
                    format!("etcd CA file {}: an unusable certificate", path.display())
                })?;
            }
            if roots.is_empty() {
                bail!("etcd CA file {}: no certificate in it", path.display());
            }
        }
    }
    let builder = builder.with_root_certificates(roots);
    let tls = match (&config.cert_file, &config.key_file) {
        (None, None) => builder.with_no_client_auth(),
        (Some(cert), Some(key)) => {
            let pem = std::fs::read(cert).with_context(|| {
                format!("etcd client certificate {}: cannot read it", cert.display())
            })?;
            let chain = CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| {
                    format!("etcd client certificate {}: not valid PEM", cert.display())
                })?;
            if chain.is_empty() {
                bail!(
                    "etcd client certificate {}: no certificate in it",
                    cert.display()
                );
            }
            let key_pem = std::fs::read(key)
                .with_context(|| format!("etcd client key {}: cannot read it", key.display()))?;
            let private = PrivateKeyDer::from_pem_slice(&key_pem).with_context(|| {
                format!(
                    "etcd client key {}: no PEM private key in it",
                    key.display()
                )
            })?;
            builder
                .with_client_auth_cert(chain, private)
                .with_context(|| {
                    format!(
                        "etcd client certificate {} and key {} do not go together",
                        cert.display(),
                        key.display()
                    )
                })?
        }
        _ => bail!("an etcd client certificate needs both the certificate and the key file"),
    };
    Ok(tokio_rustls::TlsConnector::from(Arc::new(tls)))
}

impl Client {
    /// An idle connection (true) or a new one (false).
    pub(super) async fn idle_or_connect(
        &self,
        ep: usize,
    ) -> Result<(SendRequest<Full<Bytes>>, bool), String> {
        loop {
            let conn = self.inner.endpoints[ep].idle.lock().pop();
            match conn {
                Some(mut conn) => {
                    if conn.ready().await.is_ok() {
                        return Ok((conn, true));
                    }
                }
                None => return Ok((self.connect(ep).await?, false)),
            }
        }
    }

    pub(super) fn keep(&self, ep: usize, conn: SendRequest<Full<Bytes>>) {
        let mut idle = self.inner.endpoints[ep].idle.lock();
        if idle.len() < IDLE_PER_ENDPOINT && !conn.is_closed() {
            idle.push(conn);
        }
    }

    pub(super) async fn connect(&self, ep: usize) -> Result<SendRequest<Full<Bytes>>, String> {
        let e = &self.inner.endpoints[ep];
        let tcp = tokio::net::TcpStream::connect((e.host.as_str(), e.port))
            .await
            .map_err(|err| format!("{}: cannot connect: {err}", e.url))?;
        let _ = tcp.set_nodelay(true);
        if !e.tls {
            return handshake(TokioIo::new(tcp), &e.url).await;
        }
        let connector = self.inner.tls.as_ref().expect("TLS set up for https");
        let name = ServerName::try_from(e.host.clone()).expect("checked in Client::new");
        let tls = connector
            .connect(name, tcp)
            .await
            .map_err(|err| format!("{}: TLS handshake failed: {err}", e.url))?;
        handshake(TokioIo::new(tls), &e.url).await
    }
}

pub(super) async fn collect(body: Incoming) -> Result<Bytes, hyper::Error> {
    Ok(body.collect().await?.to_bytes())
}

async fn handshake<I>(io: I, url: &str) -> Result<SendRequest<Full<Bytes>>, String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (send, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("{url}: HTTP handshake failed: {e}"))?;
    // The connection's task ends when the connection closes or the last
    // handle to it is dropped.
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(send)
}
