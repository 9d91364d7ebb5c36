//! An async etcd v3 client over etcd's gRPC-gateway JSON API (`/v3/...` on
//! the client port), with HTTP/1.1 from hyper and TLS from rustls: no
//! protobuf compiler and no gRPC stack, so the binary stays small and any
//! machine with the Rust toolchain builds it.
//!
//! It owns endpoint failover (round robin from the last endpoint that
//! answered), a few idle connections per endpoint, auth tokens
//! (`/v3/auth/authenticate`, renewed once when etcd calls one invalid or
//! expired) and the mapping of etcd's failures to `Error` kinds the cluster
//! engine acts on. `json` holds the pure encoding and decoding, `conn` the
//! connections (endpoints, TLS, the idle pool), `watch` the watch stream.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use http_body_util::Full;
use hyper::body::Bytes;
use parking_lot::Mutex;
use serde_json::Value;

mod conn;
mod json;
mod watch;

use conn::{collect, parse_endpoint, tls_connector, Endpoint};
use json::Failure;
pub use watch::Watch;

/// How to reach etcd.
#[derive(Debug, Clone)]
pub struct Config {
    /// "http://127.0.0.1:2379", "https://host:2379".
    pub endpoints: Vec<String>,
    /// The CA that signs the etcd server certificates (else the webpki roots).
    pub ca_file: Option<PathBuf>,
    /// A client certificate (mTLS), with `key_file`.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// etcd auth, with `password`.
    pub username: Option<String>,
    pub password: Option<String>,
    /// Per request: connect and the whole response.
    pub timeout: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct RangeRequest {
    pub key: Vec<u8>,
    /// Empty: the one key.
    pub range_end: Vec<u8>,
    /// 0: the latest.
    pub revision: i64,
    /// 0: no limit.
    pub limit: i64,
    pub keys_only: bool,
    pub count_only: bool,
    pub serializable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyValue {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    pub create_revision: i64,
    pub mod_revision: i64,
    pub version: i64,
}

#[derive(Debug, Clone, Default)]
pub struct RangeResponse {
    /// The header's revision: the store's revision when it was read.
    pub revision: i64,
    pub kvs: Vec<KeyValue>,
    pub more: bool,
    pub count: i64,
}

#[derive(Debug, Clone, Default)]
pub struct Txn {
    pub compare: Vec<Compare>,
    pub success: Vec<Op>,
    pub failure: Vec<Op>,
}

/// A compare of a txn; all compare with EQUAL.
#[derive(Debug, Clone)]
pub enum Compare {
    ModRevision {
        key: Vec<u8>,
        revision: i64,
    },
    /// Revision 0: the key is absent.
    CreateRevision {
        key: Vec<u8>,
        revision: i64,
    },
    Value {
        key: Vec<u8>,
        value: Vec<u8>,
    },
}

#[derive(Debug, Clone)]
pub enum Op {
    Put { key: Vec<u8>, value: Vec<u8> },
    Delete { key: Vec<u8>, range_end: Vec<u8> },
    Range(RangeRequest),
}

#[derive(Debug, Clone)]
pub struct TxnResponse {
    pub revision: i64,
    pub succeeded: bool,
    pub responses: Vec<OpResponse>,
}

#[derive(Debug, Clone)]
pub enum OpResponse {
    Put,
    Delete { deleted: i64 },
    Range(RangeResponse),
}

#[derive(Debug, Clone, Default)]
pub struct WatchRequest {
    pub key: Vec<u8>,
    pub range_end: Vec<u8>,
    pub start_revision: i64,
}

/// One watch message with events; a progress notification has none.
#[derive(Debug, Clone)]
pub struct WatchBatch {
    /// The header's revision.
    pub revision: i64,
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Put(KeyValue),
    Delete { key: Vec<u8>, mod_revision: i64 },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Cannot reach a member, timed out, no leader/quorum, stream broke:
    /// the caller answers 503 and retries later.
    #[error("etcd is unavailable: {0}")]
    Unavailable(String),
    /// The revision asked for was compacted; the oldest kept one.
    #[error("etcd revision {revision} was compacted (oldest kept: {compact_revision})")]
    Compacted {
        revision: i64,
        compact_revision: i64,
    },
    /// Request larger than etcd's --max-request-bytes, or more ops than --max-txn-ops.
    #[error("etcd refused the request as too large: {0}")]
    TooLarge(String),
    /// Wrong user/password, permission denied.
    #[error("etcd refused the credentials: {0}")]
    Auth(String),
    #[error("etcd error: {0}")]
    Other(String),
}

/// etcd's "range end" of a prefix: the prefix with its last byte below 0xff
/// incremented and what follows dropped; all 0xff (or empty) is "\0", which
/// etcd reads as "to the end of the key space".
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(&last) = end.last() {
        if last < 0xff {
            *end.last_mut().unwrap() += 1;
            return end;
        }
        end.pop();
    }
    vec![0]
}

struct Inner {
    endpoints: Vec<Endpoint>,
    /// The endpoint that answered last: where the next request starts.
    current: AtomicUsize,
    tls: Option<tokio_rustls::TlsConnector>,
    credentials: Option<(String, String)>,
    token: Mutex<Option<String>>,
    timeout: Duration,
}

/// An etcd client; cheap to clone, shared by every task.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// Why one attempt on one endpoint failed.
enum Attempt {
    /// Nothing reached etcd (connect, TLS, or a request hyper handed back
    /// unsent): any call may go on to the next endpoint.
    NotSent(String),
    /// The request was sent, and the answer is missing (timeout, broken
    /// connection): only idempotent calls go on.
    Lost(String),
    /// etcd answered with an error.
    Answer(Failure),
}

impl Client {
    /// Validates endpoints (scheme http/https, host:port), reads TLS files;
    /// no network. Errors name the flag-level thing that is wrong.
    pub fn new(config: Config) -> anyhow::Result<Client> {
        if config.endpoints.is_empty() {
            bail!("no etcd endpoint given");
        }
        let endpoints = config
            .endpoints
            .iter()
            .map(|e| parse_endpoint(e.trim()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let any_tls = endpoints.iter().any(|e| e.tls);
        let tls_files = config.ca_file.is_some() || config.cert_file.is_some();
        let tls = if any_tls || tls_files || config.key_file.is_some() {
            Some(tls_connector(&config)?)
        } else {
            None
        };
        let credentials = match (&config.username, &config.password) {
            (None, None) => None,
            (Some(u), Some(p)) if !u.is_empty() => Some((u.clone(), p.clone())),
            (Some(_), Some(_)) => bail!("the etcd user name is empty"),
            (Some(_), None) => bail!("an etcd user name needs a password"),
            (None, Some(_)) => bail!("an etcd password needs a user name"),
        };
        if config.timeout.is_zero() {
            bail!("the etcd request timeout must be above zero");
        }
        Ok(Client {
            inner: Arc::new(Inner {
                endpoints,
                current: AtomicUsize::new(0),
                tls,
                credentials,
                token: Mutex::new(None),
                timeout: config.timeout,
            }),
        })
    }

    /// The endpoint that answered last (for messages/metrics).
    pub fn endpoint(&self) -> String {
        let i = self.inner.current.load(Ordering::Relaxed);
        self.inner.endpoints[i].url.clone()
    }

    pub async fn range(&self, req: &RangeRequest) -> Result<RangeResponse, Error> {
        let body = json::range_body(req);
        match self.call("/v3/kv/range", &body, true).await {
            Ok(v) => json::parse_range(&v),
            Err(Error::Compacted { .. }) => Err(Error::Compacted {
                revision: req.revision,
                compact_revision: self.compacted_at(req).await,
            }),
            Err(e) => Err(e),
        }
    }

    /// Sent once: a txn whose request was sent is never resent (its outcome
    /// may be unknown after a timeout: Error::Unavailable). A failure to
    /// connect moves on to the next endpoint.
    pub async fn txn(&self, txn: &Txn) -> Result<TxnResponse, Error> {
        let v = self.call("/v3/kv/txn", &json::txn_body(txn), false).await?;
        json::parse_txn(&v)
    }

    /// Compacts up to `revision`; already compacted is Ok.
    pub async fn compact(&self, revision: i64) -> Result<(), Error> {
        match self
            .call("/v3/kv/compaction", &json::compact_body(revision), true)
            .await
        {
            Ok(_) | Err(Error::Compacted { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Opens a watch on [key, range_end) from start_revision (prev_kv off,
    /// progress_notify on). Returns once etcd confirmed it was created.
    pub async fn watch(&self, req: &WatchRequest) -> Result<Watch, Error> {
        let body = serde_json::to_vec(&json::watch_body(req)).expect("JSON of a Value");
        let body = Bytes::from(body);
        let n = self.inner.endpoints.len();
        let start = self.inner.current.load(Ordering::Relaxed);
        let mut failed = Vec::new();
        let mut renewed = false;
        let mut i = 0;
        while i < n {
            let ep = (start + i) % n;
            let token = self.token(ep, false).await?;
            let attempt =
                tokio::time::timeout(self.inner.timeout, self.open_watch(ep, body.clone(), token))
                    .await;
            match attempt {
                Ok(Ok(watch)) => {
                    self.inner.current.store(ep, Ordering::Relaxed);
                    return Ok(watch);
                }
                Ok(Err(Attempt::Answer(Failure::BadToken(_)))) if !renewed => {
                    renewed = true;
                    self.token(ep, true).await?;
                    continue;
                }
                Ok(Err(Attempt::Answer(Failure::BadToken(m)))) => return Err(Error::Auth(m)),
                Ok(Err(Attempt::Answer(Failure::Etcd(Error::Unavailable(m))))) => failed.push(m),
                Ok(Err(Attempt::Answer(Failure::Etcd(e)))) => return Err(e),
                Ok(Err(Attempt::NotSent(m) | Attempt::Lost(m))) => failed.push(m),
                Err(_) => failed.push(format!(
                    "{}: no watch created within {:?}",
                    self.inner.endpoints[ep].url, self.inner.timeout
                )),
            }
            i += 1;
        }
        Err(Error::Unavailable(failed.join("; ")))
    }

    /// The oldest revision kept, learned from a watch at a compacted one
    /// (a compacted range says only that); 0 when it cannot be learned.
    async fn compacted_at(&self, req: &RangeRequest) -> i64 {
        let at = WatchRequest {
            key: req.key.clone(),
            range_end: req.range_end.clone(),
            start_revision: req.revision,
        };
        let Ok(mut watch) = self.watch(&at).await else {
            return 0;
        };
        match tokio::time::timeout(self.inner.timeout, watch.next()).await {
            Ok(Err(Error::Compacted {
                compact_revision, ..
            })) => compact_revision,
            _ => 0,
        }
    }

    fn request(
        &self,
        ep: usize,
        path: &str,
        body: Bytes,
        token: Option<String>,
    ) -> hyper::Request<Full<Bytes>> {
        let e = &self.inner.endpoints[ep];
        let host = if e.host.contains(':') {
            format!("[{}]:{}", e.host, e.port)
        } else {
            format!("{}:{}", e.host, e.port)
        };
        let mut req = hyper::Request::post(path)
            .header(hyper::header::HOST, host)
            .header(hyper::header::CONTENT_TYPE, "application/json");
        if let Some(token) = token.filter(|t| !t.is_empty()) {
            req = req.header(hyper::header::AUTHORIZATION, token);
        }
        req.body(Full::new(body)).expect("a request of valid parts")
    }

    /// The auth token, from the cache or (when `renew`, or none is cached)
    /// from `/v3/auth/authenticate` on endpoint `ep`. None without auth.
    async fn token(&self, ep: usize, renew: bool) -> Result<Option<String>, Error> {
        let Some((user, password)) = &self.inner.credentials else {
            return Ok(None);
        };
        if !renew {
            if let Some(t) = self.inner.token.lock().clone() {
                return Ok(Some(t));
            }
        }
        let body = serde_json::json!({"name": user, "password": password});
        let body = Bytes::from(serde_json::to_vec(&body).expect("JSON of a Value"));
        let n = self.inner.endpoints.len();
        let mut failed = Vec::new();
        // Authenticating is idempotent: any endpoint will do.
        for i in 0..n {
            let e = (ep + i) % n;
            match self
                .attempt(e, "/v3/auth/authenticate", body.clone(), None)
                .await
            {
                Ok(v) => {
                    let token = json::parse_token(&v)?;
                    *self.inner.token.lock() = Some(token.clone());
                    return Ok(Some(token));
                }
                Err(Attempt::Answer(Failure::Etcd(Error::Unavailable(m)))) => failed.push(m),
                Err(Attempt::Answer(Failure::Etcd(e))) => return Err(e),
                Err(Attempt::Answer(Failure::BadToken(m))) => return Err(Error::Auth(m)),
                Err(Attempt::NotSent(m) | Attempt::Lost(m)) => failed.push(m),
            }
        }
        Err(Error::Unavailable(failed.join("; ")))
    }

    /// One unary call with failover: connect failures always go on to the
    /// next endpoint; lost answers and unavailable members only when
    /// `idempotent`.
    async fn call(&self, path: &str, body: &Value, idempotent: bool) -> Result<Value, Error> {
        let body = Bytes::from(serde_json::to_vec(body).expect("JSON of a Value"));
        let n = self.inner.endpoints.len();
        let start = self.inner.current.load(Ordering::Relaxed);
        let mut failed = Vec::new();
        let mut renewed = false;
        let mut i = 0;
        while i < n {
            let ep = (start + i) % n;
            // Authenticating already tried every endpoint.
            let token = self.token(ep, false).await?;
            match self.attempt(ep, path, body.clone(), token).await {
                Ok(v) => {
                    self.inner.current.store(ep, Ordering::Relaxed);
                    return Ok(v);
                }
                // etcd rejected it unrun: safe to resend, once.
                Err(Attempt::Answer(Failure::BadToken(_))) if !renewed => {
                    renewed = true;
                    self.token(ep, true).await?;
                    continue;
                }
                Err(Attempt::Answer(Failure::BadToken(m))) => return Err(Error::Auth(m)),
                Err(Attempt::Answer(Failure::Etcd(Error::Unavailable(m)))) if idempotent => {
                    failed.push(m)
                }
                Err(Attempt::Answer(Failure::Etcd(e))) => return Err(e),
                Err(Attempt::NotSent(m)) => failed.push(m),
                Err(Attempt::Lost(m)) if idempotent => failed.push(m),
                Err(Attempt::Lost(m)) => return Err(Error::Unavailable(m)),
            }
            i += 1;
        }
        Err(Error::Unavailable(failed.join("; ")))
    }

    /// One request on endpoint `ep`, within the timeout.
    async fn attempt(
        &self,
        ep: usize,
        path: &str,
        body: Bytes,
        token: Option<String>,
    ) -> Result<Value, Attempt> {
        let sent = AtomicBool::new(false);
        let flag = &sent;
        let url = &self.inner.endpoints[ep].url;
        let work = async {
            let (mut conn, mut reused) =
                self.idle_or_connect(ep).await.map_err(Attempt::NotSent)?;
            let mut req = self.request(ep, path, body, token);
            let resp = loop {
                flag.store(true, Ordering::Relaxed);
                match conn.try_send_request(req).await {
                    Ok(resp) => break resp,
                    Err(mut e) => match e.take_message() {
                        // An idle connection the server had closed: the
                        // request came back unsent, so a new one takes it.
                        Some(unsent) if reused => {
                            flag.store(false, Ordering::Relaxed);
                            conn = self.connect(ep).await.map_err(Attempt::NotSent)?;
                            reused = false;
                            req = unsent;
                        }
                        Some(_) => {
                            flag.store(false, Ordering::Relaxed);
                            return Err(Attempt::NotSent(format!("{url}: {}", e.error())));
                        }
                        None => return Err(Attempt::Lost(format!("{url}: {}", e.error()))),
                    },
                }
            };
            let status = resp.status().as_u16();
            let bytes = collect(resp.into_body())
                .await
                .map_err(|e| Attempt::Lost(format!("{url}: the answer broke off: {e}")))?;
            self.keep(ep, conn);
            if status != 200 {
                return Err(Attempt::Answer(json::map_error_answer(status, &bytes)));
            }
            serde_json::from_slice(&bytes).map_err(|e| {
                Attempt::Answer(Failure::Etcd(Error::Other(format!(
                    "{url}{path} answered something not JSON: {e}"
                ))))
            })
        };
        match tokio::time::timeout(self.inner.timeout, work).await {
            Ok(r) => r,
            Err(_) => {
                let m = format!("{url}: no answer within {:?}", self.inner.timeout);
                if sent.load(Ordering::Relaxed) {
                    Err(Attempt::Lost(m))
                } else {
                    Err(Attempt::NotSent(m))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ends() {
        assert_eq!(prefix_end(b"abc"), b"abd");
        assert_eq!(prefix_end(b"a\xff"), b"b");
        assert_eq!(prefix_end(b"a\xfe\xff\xff"), b"a\xff");
        assert_eq!(prefix_end(b"\xff\xff"), b"\0");
        assert_eq!(prefix_end(b""), b"\0");
    }

    fn send<T: Send>(_: &T) {}

    /// The engine spawns its calls on tokio's worker threads.
    #[test]
    fn clients_futures_and_watches_are_send() {
        fn sync<T: Send + Sync + Clone + 'static>() {}
        sync::<Client>();
        let c = Client::new(config(&["http://127.0.0.1:1"])).unwrap();
        let req = RangeRequest::default();
        send(&c.range(&req));
        let txn = Txn::default();
        send(&c.txn(&txn));
        send(&c.compact(1));
        let w = WatchRequest::default();
        let watch = c.watch(&w);
        send(&watch);
        fn next_is_send(w: &mut Watch) {
            send(&w.next());
        }
        let _ = next_is_send;
    }

    fn config(endpoints: &[&str]) -> Config {
        Config {
            endpoints: endpoints.iter().map(|s| s.to_string()).collect(),
            ca_file: None,
            cert_file: None,
            key_file: None,
            username: None,
            password: None,
            timeout: Duration::from_secs(1),
        }
    }

    fn refused(c: Config) -> String {
        match Client::new(c) {
            Ok(_) => panic!("accepted"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn endpoints_are_validated() {
        let c = Client::new(config(&[
            "http://127.0.0.1:2379",
            "https://etcd.example:2379/",
            "http://[::1]:2379",
        ]))
        .unwrap();
        assert_eq!(c.endpoint(), "http://127.0.0.1:2379");
        assert_eq!(c.inner.endpoints[2].host, "::1");
        assert!(refused(config(&[])).contains("no etcd endpoint"));
        assert!(refused(config(&["127.0.0.1:2379"])).contains("scheme"));
        assert!(refused(config(&["unix:///x"])).contains("scheme"));
        assert!(refused(config(&["http://host"])).contains("port is missing"));
        assert!(refused(config(&["http://host:x"])).contains("not a port"));
        assert!(refused(config(&["http://host:0"])).contains("not a port"));
        assert!(refused(config(&["http://:2379"])).contains("host is missing"));
        assert!(refused(config(&["http://h:1/v3"])).contains("without a path"));
        let mut c = config(&["https://h:1"]);
        c.ca_file = Some("/nonexistent/ca.pem".into());
        assert!(refused(c).contains("/nonexistent/ca.pem"));
        let mut c = config(&["https://h:1"]);
        c.cert_file = Some("/nonexistent/c.pem".into());
        assert!(refused(c).contains("both"));
        let mut c = config(&["http://h:1"]);
        c.username = Some("root".into());
        assert!(refused(c).contains("password"));
    }
}
