//! A replica's view of the store in etcd: the start (the layout checked or
//! created, the prefix filled from an import when it is empty, the whole
//! store loaded at one revision), the watch that applies every later change
//! in revision order, the heartbeat that says how fresh the view is, and
//! the compaction of etcd's history. The view's revision and the mod
//! revision of every group's key are kept beside the store, so that a
//! replica that missed changes (a broken watch, a compacted revision)
//! catches up by reloading only the groups that differ.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::task::JoinHandle;

use super::client::{
    self, prefix_end, Client, Compare, Error, Event, Op, RangeRequest, Txn, WatchRequest,
};
use super::commit::{self, CommitError, Outcome, Pending, Request};
use super::layout::{self, Key, Layout, VERSION};
use super::Config;
use crate::server::persist;
use crate::server::store::Store;

/// How often the heartbeat asks etcd for the revision of the last change.
const HEARTBEAT: Duration = Duration::from_secs(1);
/// How long the view may lag behind the head that etcd reports before the
/// watch is thought stuck and the view is reloaded.
const STUCK_AFTER: Duration = Duration::from_secs(5);
/// Groups read per range request while loading.
const PAGE: i64 = 500;

/// The backend a server with `--store.etcd.endpoints` runs on.
pub(crate) struct Engine {
    shared: Arc<Shared>,
    requests: mpsc::UnboundedSender<Request>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// What the engine's tasks share.
pub(super) struct Shared {
    pub(super) store: Arc<Store>,
    pub(super) client: Client,
    pub(super) layout: Layout,
    pub(super) config: Config,
    /// Held by whoever changes the store: the committer, from its tentative
    /// apply until the transaction is answered, or the watch while it
    /// applies a revision. So the store only ever holds etcd's state at the
    /// view's revision, plus the batch being committed.
    pub(super) writer: tokio::sync::Mutex<()>,
    pub(super) view: Mutex<View>,
    /// The mod revision of the head key as the view knows it: the fence.
    pub(super) head: watch::Sender<i64>,
    /// Asks the watch to reload the view.
    pub(super) resync: Notify,
    pub(super) counters: Counters,
    /// What this replica writes into the head key.
    pub(super) replica: String,
}

/// The view's position in etcd's history.
pub(super) struct View {
    /// The last revision applied.
    pub(super) revision: i64,
    /// Canonical key of every group in the store -> its key's mod revision.
    pub(super) revs: FxHashMap<Vec<u8>, i64>,
    /// When the view was last known to be etcd's latest.
    pub(super) fresh_at: Instant,
    /// etcd's revision as the heartbeat last read it.
    pub(super) etcd_revision: i64,
    /// The last failure to reach etcd, cleared by a success.
    pub(super) error: Option<String>,
}

#[derive(Default)]
pub(super) struct Counters {
    pub(super) commits: AtomicU64,
    pub(super) conflicts: AtomicU64,
    pub(super) errors: AtomicU64,
}

/// The engine's figures, for the server's own metrics.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Figures {
    pub(crate) view_age: Duration,
    pub(crate) revision: i64,
    pub(crate) commits: u64,
    pub(crate) conflicts: u64,
    pub(crate) errors: u64,
}

impl Engine {
    /// Connects, checks or creates the layout, fills an empty prefix from
    /// the imports, loads the store into `store` (empty) and starts the
    /// watch, the heartbeat, the compaction and the committer. Waits while
    /// etcd cannot be reached, saying so; fails on what waiting cannot fix
    /// (credentials, another layout, an unreadable import).
    pub(crate) async fn start(
        config: Config,
        store: Arc<Store>,
        import_official: Option<&std::path::Path>,
        expire_after: Option<Duration>,
    ) -> anyhow::Result<Arc<Engine>> {
        let password = match &config.password_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .with_context(|| {
                        format!("--store.etcd.password-file: cannot read {}", path.display())
                    })?
                    .trim_end_matches(['\r', '\n'])
                    .to_string(),
            ),
            None => None,
        };
        let client = Client::new(client::Config {
            endpoints: config.endpoints.clone(),
            ca_file: config.ca_file.clone(),
            cert_file: config.cert_file.clone(),
            key_file: config.key_file.clone(),
            username: config.username.clone(),
            password,
            timeout: config.timeout,
        })
        .context("--store.etcd.endpoints")?;
        let shared = Arc::new(Shared {
            store,
            client,
            layout: Layout::new(&config.prefix),
            config,
            writer: tokio::sync::Mutex::new(()),
            view: Mutex::new(View {
                revision: 0,
                revs: FxHashMap::default(),
                fresh_at: Instant::now(),
                etcd_revision: 0,
                error: None,
            }),
            head: watch::channel(0).0,
            resync: Notify::new(),
            counters: Counters::default(),
            replica: format!(
                "{} {}",
                gethostname::gethostname().to_string_lossy(),
                std::process::id()
            ),
        });
        until_reachable(&shared, "check the store's layout", || {
            ensure_layout(&shared)
        })
        .await?;
        until_reachable(&shared, "load the store", || reload(&shared)).await?;
        let import_local = shared.config.import.clone();
        if import_local.is_some() || import_official.is_some() {
            import(
                &shared,
                import_local.as_deref(),
                import_official,
                expire_after,
            )
            .await?;
        }
        let stats = shared.store.stats();
        crate::info!(
            "store loaded from etcd",
            endpoint = shared.client.endpoint(),
            prefix = shared.config.prefix,
            revision = shared.view.lock().revision,
            groups = stats.groups,
            series = stats.series
        );
        let (requests, queue) = mpsc::unbounded_channel();
        let mut tasks = vec![
            tokio::spawn(follow(shared.clone())),
            tokio::spawn(heartbeat(shared.clone())),
            tokio::spawn(commit::run(shared.clone(), queue)),
        ];
        if let Some(every) = shared.config.compaction_interval {
            tasks.push(tokio::spawn(compact(shared.clone(), every)));
        }
        Ok(Arc::new(Engine {
            shared,
            requests,
            tasks: Mutex::new(tasks),
        }))
    }

    /// Commits a change and says how it went: answered once etcd has it.
    pub(crate) async fn submit(&self, pending: Pending) -> Result<Outcome, CommitError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request { pending, reply })
            .map_err(|_| CommitError::Unavailable("the server is stopping".into()))?;
        answer
            .await
            .map_err(|_| CommitError::Unavailable("the server is stopping".into()))?
    }

    /// Why the replica should not take traffic: its view is older than
    /// `--store.etcd.max-staleness`.
    pub(crate) fn unready(&self) -> Option<String> {
        let view = self.shared.view.lock();
        let age = view.fresh_at.elapsed();
        if age <= self.shared.config.max_staleness {
            return None;
        }
        Some(format!(
            "this replica's view of the store in etcd was last confirmed current {} ago, more \
             than --store.etcd.max-staleness={} ({}); scrapes serve that view",
            humantime::format_duration(Duration::from_millis(age.as_millis() as u64)),
            humantime::format_duration(self.shared.config.max_staleness),
            view.error
                .as_deref()
                .unwrap_or("etcd has newer changes than the view")
        ))
    }

    pub(crate) fn figures(&self) -> Figures {
        let view = self.shared.view.lock();
        let c = &self.shared.counters;
        Figures {
            view_age: view.fresh_at.elapsed(),
            revision: view.revision,
            commits: c.commits.load(Ordering::Relaxed),
            conflicts: c.conflicts.load(Ordering::Relaxed),
            errors: c.errors.load(Ordering::Relaxed),
        }
    }

    /// Stops the engine's tasks (changes in flight are answered 503).
    pub(crate) fn stop(&self) {
        for task in self.tasks.lock().drain(..) {
            task.abort();
        }
    }
}

impl Shared {
    /// Notes a failure to reach etcd, for the readiness answer and metrics.
    pub(super) fn failed(&self, e: &Error) {
        self.counters.errors.fetch_add(1, Ordering::Relaxed);
        let mut view = self.view.lock();
        if view.error.is_none() {
            crate::warn!(
                "etcd request failed",
                endpoint = self.client.endpoint(),
                err = e
            );
        }
        view.error = Some(e.to_string());
    }

    /// Notes that the view is etcd's latest.
    pub(super) fn fresh(&self) {
        let mut view = self.view.lock();
        if view.error.take().is_some() {
            crate::info!("etcd reachable again", endpoint = self.client.endpoint());
        }
        view.fresh_at = Instant::now();
    }
}

/// Runs `step` until it gets past etcd being unreachable; other failures
/// end the start.
async fn until_reachable<F, Fut>(shared: &Shared, what: &str, mut step: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), Failure>>,
{
    loop {
        match step().await {
            Ok(()) => return Ok(()),
            Err(Failure::Etcd(e @ (Error::Unavailable(_) | Error::Compacted { .. }))) => {
                shared.failed(&e);
                crate::warn!(
                    "waiting for etcd",
                    to = what,
                    endpoints = shared.config.endpoints.join(","),
                    err = e
                );
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(Failure::Etcd(e)) => {
                return Err(anyhow::Error::new(e).context(format!("cannot {what} in etcd")))
            }
            Err(Failure::Fatal(e)) => return Err(e.context(format!("cannot {what} in etcd"))),
        }
    }
}

/// Why a step of the start failed.
pub(super) enum Failure {
    Etcd(Error),
    Fatal(anyhow::Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Etcd(e)
    }
}

/// Creates the layout under an empty prefix, or checks that the prefix
/// holds the layout this pgw knows.
async fn ensure_layout(shared: &Shared) -> Result<(), Failure> {
    let version = shared.layout.version();
    let txn = Txn {
        compare: vec![Compare::CreateRevision {
            key: version.clone(),
            revision: 0,
        }],
        success: vec![
            Op::Put {
                key: version.clone(),
                value: VERSION.as_bytes().to_vec(),
            },
            Op::Put {
                key: shared.layout.head(),
                value: shared.replica.as_bytes().to_vec(),
            },
        ],
        failure: vec![Op::Range(RangeRequest {
            key: version,
            ..RangeRequest::default()
        })],
    };
    let answer = shared.client.txn(&txn).await?;
    if answer.succeeded {
        crate::info!(
            "created the store's layout in etcd",
            prefix = shared.config.prefix,
            version = VERSION
        );
        return Ok(());
    }
    let found = answer.responses.iter().find_map(|r| match r {
        client::OpResponse::Range(r) => r.kvs.first().map(|kv| kv.value.clone()),
        _ => None,
    });
    match found {
        Some(v) if v == VERSION.as_bytes() => Ok(()),
        Some(v) => Err(Failure::Fatal(anyhow::anyhow!(
            "the prefix {:?} holds a pgw store in layout version {:?}, and this pgw reads \
             version {VERSION}: use a pgw that reads it, or another --store.etcd.prefix",
            shared.config.prefix,
            String::from_utf8_lossy(&v)
        ))),
        None => Err(Failure::Etcd(Error::Unavailable(
            "the layout's version key changed while it was read".into(),
        ))),
    }
}

/// Every group under the prefix at one revision.
struct Loaded {
    revision: i64,
    head: i64,
    groups: Vec<client::KeyValue>,
}

async fn read_all(shared: &Shared) -> Result<Loaded, Error> {
    let groups = shared.layout.groups();
    let end = prefix_end(&groups);
    let mut from = groups;
    let mut revision = 0;
    let mut kvs = Vec::new();
    loop {
        let page = shared
            .client
            .range(&RangeRequest {
                key: from.clone(),
                range_end: end.clone(),
                revision,
                limit: PAGE,
                ..RangeRequest::default()
            })
            .await?;
        revision = page.revision;
        let more = page.more;
        if let Some(last) = page.kvs.last() {
            from = last.key.clone();
            from.push(0);
        }
        kvs.extend(page.kvs);
        if !more {
            break;
        }
    }
    let head = shared
        .client
        .range(&RangeRequest {
            key: shared.layout.head(),
            revision,
            keys_only: true,
            ..RangeRequest::default()
        })
        .await?;
    Ok(Loaded {
        revision,
        head: head.kvs.first().map_or(0, |kv| kv.mod_revision),
        groups: kvs,
    })
}

/// Brings the view to etcd's latest revision: the groups whose key changed
/// since the view had them are read again, those gone are removed.
pub(super) async fn reload(shared: &Shared) -> Result<(), Failure> {
    let loaded = read_all(shared).await?;
    let _writer = shared.writer.lock().await;
    let mut view = shared.view.lock();
    let store = &shared.store;
    let wanted: FxHashMap<&[u8], &client::KeyValue> = loaded
        .groups
        .iter()
        .filter_map(|kv| match shared.layout.classify(&kv.key) {
            Key::Group(c) => Some((c, kv)),
            _ => None,
        })
        .collect();
    // Removed first, so that a group's new state never meets another
    // group's old one in the consistency check.
    let stale: Vec<Vec<u8>> = view
        .revs
        .iter()
        .filter(|(c, rev)| {
            wanted
                .get(c.as_slice())
                .is_none_or(|kv| kv.mod_revision != **rev)
        })
        .map(|(c, _)| c.clone())
        .collect();
    let mut removed = 0;
    for canonical in &stale {
        view.revs.remove(canonical);
        if let Ok(key) = layout::group_key(canonical) {
            removed += store.delete_groups(&[key]).unwrap_or(0);
        }
    }
    let mut restored = 0;
    for (canonical, kv) in wanted {
        if view.revs.contains_key(canonical) {
            continue;
        }
        match apply_put(store, canonical, &kv.value) {
            Ok(()) => {
                view.revs.insert(canonical.to_vec(), kv.mod_revision);
                restored += 1;
            }
            Err(e) => crate::error!(
                "cannot load a group from etcd; it is left out",
                key = String::from_utf8_lossy(&kv.key),
                err = format!("{e:#}")
            ),
        }
    }
    if view.revision > 0 && (removed > 0 || restored > 0) {
        crate::info!(
            "caught up with etcd",
            revision = loaded.revision,
            groups_read = restored,
            groups_removed = removed
        );
    }
    view.revision = loaded.revision;
    drop(view);
    shared.head.send_replace(loaded.head);
    shared.fresh();
    Ok(())
}

/// A group's value from etcd, applied: replaces what the store holds.
fn apply_put(store: &Store, canonical: &[u8], value: &[u8]) -> anyhow::Result<()> {
    let group = layout::decode_group(canonical, value)?;
    let push = persist::record::prepare(group.key, group.families, group.ttl);
    store
        .restore(push, group.times, group.aggregating)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// Applies every revision of a watch message that the view lacks.
async fn apply_events(shared: &Shared, events: Vec<Event>) -> anyhow::Result<()> {
    let _writer = shared.writer.lock().await;
    let mut view = shared.view.lock();
    let mut head = None;
    // A revision's events all come in one message: those at or below the
    // view's revision when the message came are this replica's own commits.
    let applied = view.revision;
    for event in events {
        let (key, rev) = match &event {
            Event::Put(kv) => (&kv.key, kv.mod_revision),
            Event::Delete { key, mod_revision } => (key, *mod_revision),
        };
        if rev <= applied {
            // Committed by this replica, which applied it already.
            continue;
        }
        match (shared.layout.classify(key), &event) {
            (Key::Group(canonical), Event::Put(kv)) => {
                apply_put(&shared.store, canonical, &kv.value).with_context(|| {
                    format!("cannot apply group {:?}", String::from_utf8_lossy(key))
                })?;
                view.revs.insert(canonical.to_vec(), rev);
            }
            (Key::Group(canonical), Event::Delete { .. }) => {
                view.revs.remove(canonical);
                shared
                    .store
                    .delete_groups(&[layout::group_key(canonical)?])?;
            }
            (Key::Head, Event::Put(_)) => head = Some(rev),
            (Key::Version, Event::Put(kv)) if kv.value != VERSION.as_bytes() => bail!(
                "the prefix's layout version became {:?}",
                String::from_utf8_lossy(&kv.value)
            ),
            (Key::Version | Key::Head, Event::Delete { .. }) => {
                bail!(
                    "the store's {:?} key was deleted",
                    String::from_utf8_lossy(key)
                )
            }
            _ => {}
        }
        view.revision = view.revision.max(rev);
    }
    drop(view);
    if let Some(h) = head {
        shared.head.send_replace(h);
    }
    Ok(())
}

/// The watch: follows the prefix from the view's revision, reloading when
/// it cannot (a compacted revision, a change it cannot apply, a watch the
/// heartbeat found stuck).
async fn follow(shared: Arc<Shared>) {
    let prefix = shared.layout.prefix().to_vec();
    let mut reload_first = false;
    loop {
        if reload_first {
            match reload(&shared).await {
                Ok(()) => reload_first = false,
                Err(failure) => {
                    match &failure {
                        Failure::Etcd(e) => shared.failed(e),
                        Failure::Fatal(e) => {
                            crate::error!(
                                "cannot reload the store from etcd",
                                err = format!("{e:#}")
                            )
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            }
        }
        let from = shared.view.lock().revision + 1;
        let request = WatchRequest {
            key: prefix.clone(),
            range_end: prefix_end(&prefix),
            start_revision: from,
        };
        let mut stream = match shared.client.watch(&request).await {
            Ok(s) => s,
            Err(Error::Compacted { .. }) => {
                reload_first = true;
                continue;
            }
            Err(e) => {
                shared.failed(&e);
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        loop {
            tokio::select! {
                next = stream.next() => match next {
                    Ok(batch) => {
                        if let Err(e) = apply_events(&shared, batch.events).await {
                            crate::error!("cannot follow etcd; reloading the store", err = format!("{e:#}"));
                            reload_first = true;
                            break;
                        }
                    }
                    Err(Error::Compacted { .. }) => {
                        reload_first = true;
                        break;
                    }
                    Err(e) => {
                        shared.failed(&e);
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        break;
                    }
                },
                () = shared.resync.notified() => {
                    reload_first = true;
                    break;
                }
            }
        }
    }
}

/// Says how fresh the view is: the view is etcd's latest when the head key
/// etcd reports is the head the view has. A view that stays behind is
/// reloaded.
async fn heartbeat(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(HEARTBEAT.min(shared.config.max_staleness / 4));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut behind_since: Option<Instant> = None;
    loop {
        tick.tick().await;
        let asked = shared
            .client
            .range(&RangeRequest {
                key: shared.layout.head(),
                keys_only: true,
                ..RangeRequest::default()
            })
            .await;
        match asked {
            Ok(answer) => {
                let head = answer.kvs.first().map_or(0, |kv| kv.mod_revision);
                shared.view.lock().etcd_revision = answer.revision;
                if *shared.head.borrow() >= head {
                    behind_since = None;
                    shared.fresh();
                } else if behind_since.get_or_insert_with(Instant::now).elapsed() > STUCK_AFTER {
                    crate::warn!(
                        "the view of etcd stays behind; reloading it",
                        view_head = *shared.head.borrow(),
                        etcd_head = head
                    );
                    behind_since = None;
                    shared.resync.notify_one();
                }
            }
            Err(e) => shared.failed(&e),
        }
    }
}

/// Compacts etcd's history every `every`, up to the revision seen one
/// interval before: a replica that lags by less than that never finds its
/// revision compacted.
async fn compact(shared: Arc<Shared>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let mut previous = 0;
    loop {
        tick.tick().await;
        let now = shared.view.lock().etcd_revision;
        if previous > 0 {
            match shared.client.compact(previous).await {
                Ok(()) => crate::debug!("compacted etcd", revision = previous),
                Err(e) => shared.failed(&e),
            }
        }
        previous = now;
    }
}

/// Fills an empty prefix from a pgw persistence file or the official
/// server's file; a prefix that holds groups is left as it is.
async fn import(
    shared: &Shared,
    local: Option<&std::path::Path>,
    official: Option<&std::path::Path>,
    expire_after: Option<Duration>,
) -> anyhow::Result<()> {
    let source = local.or(official).expect("an import was given");
    let marker = shared.layout.imported();
    let done = shared
        .client
        .range(&RangeRequest {
            key: marker.clone(),
            count_only: true,
            ..RangeRequest::default()
        })
        .await
        .context("cannot read whether the prefix was imported into")?;
    if done.count > 0 || !shared.view.lock().revs.is_empty() {
        crate::info!(
            "the etcd prefix holds a store already; not importing",
            file = source.display(),
            prefix = shared.config.prefix
        );
        return Ok(());
    }
    let scratch = Store::new(&[]);
    match (local, official) {
        (Some(path), _) => {
            persist::read_local(path, &scratch)
                .with_context(|| format!("--store.etcd.import {}", path.display()))?;
        }
        (None, Some(path)) => persist::import_official(&scratch, path, expire_after)
            .with_context(|| format!("--persistence.import {}", path.display()))?,
        (None, None) => return Ok(()),
    }
    let groups = scratch.groups();
    let total = groups.len();
    let mut committed = 0;
    for chunk in groups.chunks(shared.config.max_txn_ops.saturating_sub(1).max(1)) {
        let answer = commit::import_groups(shared, chunk)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| {
                format!(
                    "cannot import {} into etcd ({committed} of {total} groups were)",
                    source.display()
                )
            })?;
        committed += answer;
    }
    let mark = Txn {
        success: vec![Op::Put {
            key: marker,
            value: format!("{} by {}", source.display(), shared.replica).into_bytes(),
        }],
        ..Txn::default()
    };
    shared
        .client
        .txn(&mark)
        .await
        .context("cannot mark the prefix as imported into")?;
    crate::info!(
        "imported a store into etcd",
        file = source.display(),
        groups = committed,
        series = shared.store.stats().series
    );
    Ok(())
}
