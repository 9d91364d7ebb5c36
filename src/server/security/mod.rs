//! Everything `--web.config.file`, `--auth.file` and the `--web.tls-*` flags
//! configure, loaded as one [`Security`] value: the access policy, the TLS
//! configuration, extra answer headers and the rate limit. [`Live`] holds
//! the current one; [`watch`] reloads it when a file changes (polled) or on
//! SIGHUP, keeping the old one when the new files do not load. [`guard`] is
//! the check every request passes before it is routed.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context as _};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request};
use parking_lot::{Mutex, RwLock};
use percent_encoding::percent_decode_str;

use auth::{AuthFile, Policy};
use bcrypt::BcryptCache;
use tls::{TlsSettings, TlsVersion};
use webconfig::WebConfig;

pub(crate) mod auth;
mod auth_file;
mod bcrypt;
mod sans;
pub(crate) mod tls;
pub(crate) mod webconfig;
use crate::server::State;

/// Where the security configuration comes from (the flags).
#[derive(Debug, Clone, Default)]
pub(crate) struct Sources {
    pub(crate) web_config_file: Option<PathBuf>,
    pub(crate) auth_file: Option<PathBuf>,
    pub(crate) tls_cert_file: Option<PathBuf>,
    pub(crate) tls_key_file: Option<PathBuf>,
}

impl Sources {
    pub(crate) fn is_empty(&self) -> bool {
        self.web_config_file.is_none()
            && self.auth_file.is_none()
            && self.tls_cert_file.is_none()
            && self.tls_key_file.is_none()
    }
}

/// One loaded, validated security configuration.
pub(crate) struct Security {
    pub(crate) policy: Policy,
    pub(crate) tls: Option<Arc<rustls::ServerConfig>>,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) rate_limit: Option<RateLimiter>,
    /// Every file this was loaded from, for the change poll.
    files: Vec<PathBuf>,
}

impl Security {
    /// No files: everything open, plain HTTP, as upstream without a web config.
    pub(crate) fn open() -> Security {
        Security {
            policy: Policy::open(),
            tls: None,
            headers: Vec::new(),
            rate_limit: None,
            files: Vec::new(),
        }
    }

    pub(crate) fn load(sources: &Sources) -> anyhow::Result<Security> {
        let mut files = Vec::new();
        let web = match &sources.web_config_file {
            Some(path) => {
                files.push(path.clone());
                WebConfig::load(path)?
            }
            None => WebConfig::default(),
        };
        let auth_file = match &sources.auth_file {
            Some(path) => {
                files.push(path.clone());
                Some(AuthFile::load(path)?)
            }
            None => None,
        };
        let policy = Policy::build(auth_file, &web.basic_auth_users).with_context(|| {
            match (&sources.auth_file, &sources.web_config_file) {
                (Some(p), _) | (None, Some(p)) => p.display().to_string(),
                (None, None) => String::new(),
            }
        })?;
        let flag_tls = match (&sources.tls_cert_file, &sources.tls_key_file) {
            (Some(c), Some(k)) => Some(TlsSettings::from_files(c.clone(), k.clone())),
            (None, None) => None,
            _ => bail!("--web.tls-cert-file and --web.tls-key-file go together"),
        };
        let settings = match (web.tls, flag_tls) {
            (Some(_), Some(_)) => bail!(
                "TLS is configured twice: in the web config file's tls_server_config and with --web.tls-cert-file; keep one"
            ),
            (a, b) => a.or(b),
        };
        let tls = match &settings {
            Some(s) => {
                if s.min_version < TlsVersion::Tls12 {
                    crate::warn!(
                        "min_version below TLS12 in tls_server_config: pgw speaks TLS 1.2 and 1.3 only"
                    );
                }
                files.extend(s.files());
                Some(s.build()?)
            }
            None => None,
        };
        Ok(Security {
            policy,
            tls,
            headers: web.headers,
            rate_limit: web
                .rate_limit
                .map(|(interval, burst)| RateLimiter::new(interval, burst)),
            files,
        })
    }
}

/// The security configuration in force, swapped whole on reload, and the
/// bcrypt cache, which outlives reloads (its keys include the hash).
pub(crate) struct Live {
    current: RwLock<Arc<Security>>,
    pub(crate) bcrypt_cache: BcryptCache,
}

impl Default for Live {
    fn default() -> Live {
        Live {
            current: RwLock::new(Arc::new(Security::open())),
            bcrypt_cache: BcryptCache::default(),
        }
    }
}

impl Live {
    pub(crate) fn get(&self) -> Arc<Security> {
        self.current.read().clone()
    }

    pub(crate) fn set(&self, security: Security) {
        *self.current.write() = Arc::new(security);
    }
}

/// A token bucket over all requests, as upstream's `rate_limit`: one token
/// per `interval`, at most `burst` saved up.
pub(crate) struct RateLimiter {
    interval: Duration,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    fn new(interval: Duration, burst: u32) -> RateLimiter {
        RateLimiter {
            interval,
            burst: f64::from(burst),
            state: Mutex::new((f64::from(burst), Instant::now())),
        }
    }

    fn allow(&self) -> bool {
        let mut s = self.state.lock();
        let now = Instant::now();
        let earned = now.duration_since(s.1).as_secs_f64() / self.interval.as_secs_f64();
        s.0 = (s.0 + earned).min(self.burst);
        s.1 = now;
        if s.0 >= 1.0 {
            s.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Why [`guard`] stopped a request; `http` turns it into the answer.
#[derive(Debug)]
pub(crate) enum Denied {
    /// Over the web config's rate limit (429).
    RateLimited,
    /// Missing, wrong or insufficient credentials (401 or 403).
    Refused(auth::Refusal),
}

/// Decides whether a request may go on to the router: the rate limit, then
/// the role its method and path need. `Ok` lets it through; otherwise why it
/// is refused (401, 403 or 429), which changes nothing.
pub(crate) fn guard<'a, B>(
    state: &'a State,
    req: &Request<B>,
) -> impl Future<Output = Result<(), Denied>> + Send + 'a {
    let security = state.security.get();
    // The request's body is not `Sync`, so the future must not borrow the
    // request: it gets copies of what the check needs, and only when there
    // is something to check (the default, open, costs nothing per request).
    let copies = (security.rate_limit.is_some() || !security.policy.is_open()).then(|| {
        (
            req.method().clone(),
            req.uri().path().to_string(),
            req.headers().get(header::AUTHORIZATION).cloned(),
        )
    });
    async move {
        let Some((method, path, authorization)) = copies else {
            return Ok(());
        };
        check(state, &security, &method, &path, authorization.as_ref()).await
    }
}

async fn check(
    state: &State,
    security: &Security,
    method: &Method,
    path: &str,
    authorization: Option<&HeaderValue>,
) -> Result<(), Denied> {
    if let Some(limiter) = &security.rate_limit {
        if !limiter.allow() {
            return Err(Denied::RateLimited);
        }
    }
    if security.policy.is_open() {
        return Ok(());
    }
    let decoded = crate::server::strip_route_prefix(path, &state.config.route_prefix)
        .and_then(|rel| percent_decode_str(rel).decode_utf8().ok());
    let need = auth::need(method, decoded.as_deref());
    let Err(refusal) = security
        .policy
        .check(&state.security.bcrypt_cache, authorization, &need)
        .await
    else {
        return Ok(());
    };
    state
        .metrics
        .count_auth_failure(refusal.role.name(), refusal.reason.name());
    match refusal.reason {
        auth::Reason::Missing => crate::debug!(
            "refused a request without credentials",
            path = path,
            role = refusal.role
        ),
        _ => crate::warn!(
            "refused a request",
            path = path,
            role = refusal.role,
            reason = refusal.reason.name(),
            err = refusal.message
        ),
    }
    Err(Denied::Refused(refusal))
}

/// Adds the web config's `http_server_config.headers` to an answer.
pub(crate) fn add_headers(state: &State, headers: &mut HeaderMap) {
    let security = state.security.get();
    for (name, value) in &security.headers {
        headers.insert(name.clone(), value.clone());
    }
}

/// How often the configuration files are checked for changes.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Reloads the security configuration when one of its files changes (size
/// or modification time, checked every [`POLL_INTERVAL`]) and on SIGHUP.
/// A reload that fails logs an error and keeps the configuration in force;
/// so does one that would turn TLS on or off, which needs a restart because
/// the listeners were set up for one or the other.
///
/// What it compares against, and SIGHUP's handler, are taken when `watch`
/// is called, not when the task first runs: `run` calls it before the
/// server answers, so a file changed or a SIGHUP sent as soon as the server
/// answers is never missed (or, for SIGHUP, fatal).
pub(crate) fn watch(state: Arc<State>, sources: Sources) -> impl Future<Output = ()> {
    let seen = (!sources.is_empty()).then(|| fingerprint(&state.security.get().files));
    #[cfg(unix)]
    let hup = seen
        .as_ref()
        .and_then(|_| tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok());
    async move {
        let Some(seen) = seen else { return };
        #[cfg(unix)]
        reload_loop(state, sources, seen, hup).await;
        #[cfg(not(unix))]
        reload_loop(state, sources, seen).await;
    }
}

async fn reload_loop(
    state: Arc<State>,
    sources: Sources,
    mut seen: Vec<Option<(u64, SystemTime)>>,
    #[cfg(unix)] mut hup: Option<tokio::signal::unix::Signal>,
) {
    let mut tick = tokio::time::interval(POLL_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        #[cfg(unix)]
        let signalled = {
            let hup_recv = async {
                match hup.as_mut() {
                    Some(h) => h.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tick.tick() => false,
                _ = hup_recv => true,
            }
        };
        #[cfg(not(unix))]
        let signalled = {
            tick.tick().await;
            false
        };
        let now = fingerprint(&state.security.get().files);
        if !signalled && now == seen {
            continue;
        }
        let reason = if signalled {
            "SIGHUP"
        } else {
            "a file changed"
        };
        match reload(&state, &sources) {
            Ok(()) => {
                crate::info!("reloaded the security configuration", reason = reason);
                seen = fingerprint(&state.security.get().files);
            }
            Err(e) => {
                crate::error!(
                    "cannot reload the security configuration; keeping the one in force",
                    reason = reason,
                    err = format!("{e:#}")
                );
                // Try again at the next change, so that a broken file is
                // reported once, not at every poll.
                seen = now;
            }
        }
    }
}

fn reload(state: &State, sources: &Sources) -> anyhow::Result<()> {
    let new = Security::load(sources)?;
    let was_tls = state.security.get().tls.is_some();
    if new.tls.is_some() != was_tls {
        bail!(
            "the new configuration turns TLS {}; that needs a restart",
            if was_tls { "off" } else { "on" }
        );
    }
    state.security.set(new);
    Ok(())
}

/// The size and modification time of each file (or none, if unreadable).
fn fingerprint(files: &[PathBuf]) -> Vec<Option<(u64, SystemTime)>> {
    files
        .iter()
        .map(|f| {
            let m = std::fs::metadata(f).ok()?;
            Some((m.len(), m.modified().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limiter_allows_a_burst_then_one_per_interval() {
        let limiter = RateLimiter::new(Duration::from_secs(3600), 2);
        assert!(limiter.allow());
        assert!(limiter.allow());
        assert!(!limiter.allow());
        let fast = RateLimiter::new(Duration::from_nanos(1), 1);
        assert!(fast.allow());
        std::thread::sleep(Duration::from_millis(1));
        assert!(fast.allow());
    }

    #[test]
    fn tls_flags_and_tls_in_the_web_config_are_exclusive() {
        let dir = std::env::temp_dir().join(format!("pgw-security-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let web = dir.join("web.yml");
        std::fs::write(&web, "tls_server_config:\n  cert_file: c\n  key_file: k\n").unwrap();
        let sources = Sources {
            web_config_file: Some(web),
            auth_file: None,
            tls_cert_file: Some("c".into()),
            tls_key_file: Some("k".into()),
        };
        let e = Security::load(&sources).err().unwrap().to_string();
        assert!(e.contains("TLS is configured twice"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
