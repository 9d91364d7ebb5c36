//! `pgw serve`: the HTTP server. `Config` is what the command line decided;
//! `State` is what every request shares; `http::app` builds the HTTP API, so
//! the whole API can be driven without a socket; `run` binds the listeners
//! and serves until SIGINT, SIGTERM or `/-/quit`, then drains in-flight
//! requests and compacts the persistence log into its snapshot.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context as _};
use tokio::net::TcpListener;
use tokio::sync::Notify;

pub mod etcd;
pub(crate) mod expiry;
pub(crate) mod http;
pub(crate) mod identity;
pub mod limits;
pub mod metrics;
pub mod persist;
pub(crate) mod security;
pub mod store;
pub(crate) mod writes;

use metrics::OwnMetrics;
use store::Store;

/// Largest push body accepted, after decompression. Upstream has no limit at
/// all; this one only stops a runaway or hostile client from exhausting memory.
pub(crate) const DEFAULT_BODY_LIMIT: usize = 64 << 20;

#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) listen_addresses: Vec<String>,
    /// `--web.systemd-socket`: serve on inherited sockets instead.
    pub(crate) systemd_socket: bool,
    /// Normalised: empty, or starting with `/` and not ending with one.
    pub(crate) route_prefix: String,
    pub(crate) telemetry_path: String,
    pub(crate) enable_admin_api: bool,
    pub(crate) enable_lifecycle: bool,
    pub(crate) disable_consistency_check: bool,
    /// `--push.enable-utf8-names`: any UTF-8 names in text bodies and push
    /// paths (protobuf bodies may hold them either way, as upstream).
    pub(crate) utf8_names: bool,
    pub(crate) persistence_file: Option<PathBuf>,
    /// `--store.etcd.*`: the store lives in etcd instead.
    pub(crate) etcd: Option<etcd::Config>,
    pub(crate) persistence_interval: Duration,
    /// Start from damaged persistence files, keeping every valid record.
    pub(crate) persistence_recover: bool,
    /// The official server's file to import into a store that has no files.
    pub(crate) persistence_import: Option<PathBuf>,
    pub(crate) body_limit: usize,
    /// Most bytes of push bodies read and parsed at once, server-wide; 0
    /// for no budget.
    pub(crate) max_inflight_bytes: usize,
    /// Time limit for reading a push body.
    pub(crate) read_timeout: Duration,
    /// Time to live of a group whose push does not ask for one.
    pub(crate) expire_after: Option<Duration>,
    /// `--push.aggregate-jobs`, anchored: POSTs of these jobs aggregate.
    pub(crate) aggregate_jobs: Option<regex::Regex>,
    pub(crate) limits: limits::Limits,
    /// Every flag and its value, for `/api/v1/status`.
    pub(crate) flags: Vec<(String, String)>,
    /// The files and flags that configure authentication and TLS.
    pub(crate) security: security::Sources,
    /// Longest wait for a TLS handshake, for a request's headers, and
    /// between requests on a kept-alive connection.
    pub(crate) read_header_timeout: Duration,
}

#[cfg(test)]
impl Config {
    /// The defaults of the flags, in memory only, listening on a random
    /// port: tests change what they need with `..Config::for_tests()`.
    pub(crate) fn for_tests() -> Config {
        Config {
            listen_addresses: vec!["127.0.0.1:0".into()],
            systemd_socket: false,
            route_prefix: String::new(),
            telemetry_path: "/metrics".into(),
            enable_admin_api: false,
            enable_lifecycle: false,
            disable_consistency_check: false,
            utf8_names: false,
            persistence_file: None,
            etcd: None,
            persistence_interval: Duration::from_secs(300),
            persistence_recover: false,
            persistence_import: None,
            body_limit: DEFAULT_BODY_LIMIT,
            max_inflight_bytes: limits::DEFAULT_MAX_INFLIGHT_BYTES,
            read_timeout: Duration::from_secs(60),
            expire_after: None,
            aggregate_jobs: None,
            limits: limits::Limits::default(),
            flags: vec![],
            security: security::Sources::default(),
            read_header_timeout: Duration::from_secs(10),
        }
    }
}

pub(crate) struct State {
    pub(crate) config: Config,
    pub(crate) store: Arc<Store>,
    /// The persistence log the store writes to, with `--persistence.file`.
    pub(crate) journal: Option<Arc<persist::Journal>>,
    /// The etcd store, with `--store.etcd.endpoints`.
    pub(crate) etcd: Option<Arc<etcd::Engine>>,
    pub(crate) metrics: OwnMetrics,
    pub(crate) start_time: SystemTime,
    /// Notified on `/-/quit`.
    pub(crate) quit: Notify,
    pub(crate) scrape_buffers: Arc<http::scrape::BufferPool>,
    /// The bytes of push bodies in memory now, against `max_inflight_bytes`.
    pub(crate) inflight: limits::InflightBudget,
    /// Authentication and TLS in force (open until `run` loads the files).
    pub(crate) security: security::Live,
}

impl State {
    /// An empty store for `config`, which persistence restores into.
    fn empty_store(config: &Config) -> Store {
        Store::new(metrics::OWN_TYPES).with_limits(config.limits)
    }

    pub(crate) fn new(
        config: Config,
        start_time: SystemTime,
        store: Arc<Store>,
        journal: Option<Arc<persist::Journal>>,
        etcd: Option<Arc<etcd::Engine>>,
    ) -> Arc<State> {
        Arc::new(State {
            etcd,
            inflight: limits::InflightBudget::new(config.max_inflight_bytes),
            config,
            store,
            journal,
            metrics: OwnMetrics::new(start_time),
            start_time,
            quit: Notify::new(),
            scrape_buffers: Arc::default(),
            security: security::Live::default(),
        })
    }

    /// A memory-only server, as the unit tests drive it.
    #[cfg(test)]
    pub(crate) fn in_memory(config: Config) -> Arc<State> {
        let store = Arc::new(State::empty_store(&config));
        State::new(config, SystemTime::now(), store, None, None)
    }
}

/// The part of `path` after the route prefix, or `None` when the path is not
/// under it (`/pgwx` is not under `/pgw`).
pub(crate) fn strip_route_prefix<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// Normalises a route prefix like upstream: `""` and `"/"` mean none; else it
/// starts with `/` and does not end with one.
pub(crate) fn normalize_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}

/// The route prefix: `--web.route-prefix` if given, else the path of
/// `--web.external-url`, as upstream.
pub(crate) fn route_prefix(route_prefix: Option<&str>, external_url: Option<&str>) -> String {
    match (route_prefix, external_url) {
        (Some(p), _) => normalize_prefix(p),
        (None, Some(url)) => {
            let after_scheme = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
            let path = after_scheme
                .find('/')
                .map(|i| &after_scheme[i..])
                .unwrap_or("");
            normalize_prefix(path)
        }
        (None, None) => String::new(),
    }
}

/// Runs the server until it is told to stop: on `inherited`, the sockets
/// systemd passed, or else on the listen addresses.
pub(crate) async fn run(
    config: Config,
    inherited: Option<Vec<std::net::TcpListener>>,
) -> anyhow::Result<()> {
    // Checked before anything else, so that a bad file stops the start.
    let security = security::Security::load(&config.security)?;
    // Then the listeners, before the store is opened: an address that is
    // taken stops the start before any persistence file is read, imported
    // or locked. Connections wait in the backlog until the store is ready.
    let mut listeners = Vec::new();
    match inherited {
        Some(sockets) => {
            for socket in sockets {
                listeners.push(
                    TcpListener::from_std(socket)
                        .context("--web.systemd-socket: cannot use an inherited socket")?,
                );
            }
        }
        None => {
            for addr in &config.listen_addresses {
                listeners.push(http::bind::listen(addr).await?);
            }
        }
    }
    if listeners.is_empty() {
        bail!("no listen address given");
    }
    let start_time = SystemTime::now();
    let options = persist::Options {
        file: config.persistence_file.as_deref(),
        interval: config.persistence_interval,
        recover: config.persistence_recover,
        import: config.persistence_import.as_deref(),
        expire_after: config.expire_after,
    };
    let (store, journal, etcd) = match &config.etcd {
        None => {
            let (store, journal) = persist::open(&options, State::empty_store(&config))
                .context("cannot open the persistence files")?;
            (store, journal, None)
        }
        Some(etcd) => {
            let store = Arc::new(State::empty_store(&config));
            let engine = etcd::Engine::start(
                etcd.clone(),
                store.clone(),
                config.persistence_import.as_deref(),
                config.expire_after,
            )
            .await
            .context("cannot open the store in etcd")?;
            (store, None, Some(engine))
        }
    };
    let state = State::new(config, start_time, store, journal, etcd);
    log_what_is_kept(&state.config);
    let tls = security.tls.is_some();
    if !security.policy.is_open() {
        state.metrics.init_auth_failures(
            &security::auth::Role::ALL.map(security::auth::Role::name),
            &security::auth::Reason::ALL.map(security::auth::Reason::name),
        );
    }
    state.security.set(security);
    // Before the first connection: a SIGTERM that comes as soon as the
    // server answers must drain and flush, not kill.
    let signals = register_signals()?;
    let reloader = security::watch(state.clone(), state.config.security.clone());
    for listener in &listeners {
        let local = listener.local_addr()?;
        crate::info!("listening", address = local, tls = tls);
    }
    let expirer = tokio::spawn(expiry::run(state.clone()));
    let reloader = tokio::spawn(reloader);

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let app = http::app(state.clone());
    let mut servers = Vec::new();
    for listener in listeners {
        servers.push(tokio::spawn(http::listen::serve(
            listener,
            app.clone(),
            state.clone(),
            tls,
            state.config.read_header_timeout,
            stopped.clone(),
        )));
    }
    let reason = wait_for_stop(&state, signals).await;
    crate::info!("shutting down", reason = reason);
    reloader.abort();
    let _ = stop.send(true);
    for server in servers {
        server.await.context("server task failed")?;
    }
    expirer.abort();
    if let Some(etcd) = &state.etcd {
        etcd.stop();
    }
    if let Some(journal) = &state.journal {
        persist::shutdown(journal, &state.store)
            .await
            .context("cannot save the store")?;
    }
    crate::info!("stopped");
    // The process ends now, and the OS takes the whole store back at once:
    // dropping it allocation by allocation took 50 ms for 500k series.
    std::mem::forget(state);
    Ok(())
}

/// Says at every start where the store lives and how long groups stay, the
/// two things an operator most often gets wrong: a store that was meant to
/// persist, or groups that were meant to expire.
fn log_what_is_kept(config: &Config) {
    match (&config.persistence_file, &config.etcd) {
        (_, Some(etcd)) => crate::info!(
            "persistence",
            etcd = etcd.endpoints.join(","),
            prefix = etcd.prefix,
            mode = "every change committed to etcd before it is answered"
        ),
        (Some(file), None) => crate::info!(
            "persistence",
            file = file.display(),
            mode = "log and snapshot, each change synced before it is answered",
            compaction_interval = humantime::format_duration(config.persistence_interval)
        ),
        (None, None) => crate::info!(
            "persistence off: the store lives in memory and is lost at exit (set --persistence.file to keep it)"
        ),
    }
    match config.expire_after {
        Some(ttl) => crate::info!(
            "expiry",
            expire_after = humantime::format_duration(ttl),
            detail = "a group is deleted this long after its last push, unless the push set Pgw-Expire-After"
        ),
        None => crate::info!(
            "groups never expire (as in the official Pushgateway) unless a push sets Pgw-Expire-After; --expire-after sets a default"
        ),
    }
}

/// SIGINT and SIGTERM, caught from the moment they are registered.
#[cfg(unix)]
type Signals = (tokio::signal::unix::Signal, tokio::signal::unix::Signal);
#[cfg(not(unix))]
type Signals = ();

fn register_signals() -> anyhow::Result<Signals> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        Ok((
            signal(SignalKind::interrupt()).context("cannot handle SIGINT")?,
            signal(SignalKind::terminate()).context("cannot handle SIGTERM")?,
        ))
    }
    #[cfg(not(unix))]
    Ok(())
}

async fn wait_for_stop(state: &State, signals: Signals) -> &'static str {
    #[cfg(unix)]
    {
        let (mut int, mut term) = signals;
        tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
            _ = state.quit.notified() => "/-/quit",
        }
    }
    #[cfg(not(unix))]
    {
        let () = signals;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => "Ctrl-C",
            _ = state.quit.notified() => "/-/quit",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_normalised() {
        assert_eq!(normalize_prefix(""), "");
        assert_eq!(normalize_prefix("/"), "");
        assert_eq!(normalize_prefix("pgw/"), "/pgw");
        assert_eq!(route_prefix(None, Some("http://example.com/pgw/")), "/pgw");
        assert_eq!(
            route_prefix(Some("/x"), Some("http://example.com/pgw/")),
            "/x"
        );
        assert_eq!(route_prefix(None, Some("http://example.com")), "");
    }

    #[test]
    fn route_prefix_must_end_at_a_segment() {
        assert_eq!(strip_route_prefix("/pgw/metrics", "/pgw"), Some("/metrics"));
        assert_eq!(strip_route_prefix("/pgwx/metrics", "/pgw"), None);
        assert_eq!(strip_route_prefix("/metrics", ""), Some("/metrics"));
        assert_eq!(strip_route_prefix("/pgw", "/pgw"), Some(""));
    }
}
