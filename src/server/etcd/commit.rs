//! The committer: every change this replica makes goes through here, one
//! batch at a time (group commit). A batch is applied to the store
//! tentatively, under the engine's writer lock, with each change checked as
//! on one server (types, series collisions, limits) against the view plus
//! the changes before it in the batch. The groups it touched are then
//! written in one transaction that succeeds only if etcd's head key is
//! still at the view's head revision: if anything was committed since, the
//! batch is undone, the view catches up, and the batch is checked and tried
//! again. So a verdict (200 or 400) is given on etcd's latest state, and
//! two conflicting pushes on two replicas can never both be accepted.
//!
//! A change is answered once its transaction is committed; when etcd
//! cannot be reached it is undone and answered `Unavailable` (503). Its
//! outcome may then be unknown (a timeout after the request was sent): if
//! etcd did commit it, the watch brings it back like any remote change.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustc_hash::{FxHashMap, FxHashSet};
use tokio::sync::{mpsc, oneshot};

use super::client::{prefix_end, Compare, Error, Op, OpResponse, RangeRequest, Txn};
use super::engine::Shared;
use super::layout::encode_group;
use crate::client::selector::Selector;
use crate::grouping::GroupingKey;
use crate::server::store::{GroupView, Mode, PreparedPush, PushError, Removed};

/// A change, as a request asks for it.
#[derive(Debug)]
pub(crate) enum Pending {
    Push {
        push: PreparedPush,
        mode: Mode,
        now: SystemTime,
    },
    /// A push refused before the store (a body that does not parse):
    /// the group's failure time.
    Failure {
        key: GroupingKey,
        now: SystemTime,
    },
    Delete {
        keys: Vec<GroupingKey>,
    },
    DeleteMatching {
        selector: Selector,
        stale: Option<Duration>,
        now: SystemTime,
    },
    Wipe,
    Expire {
        now: SystemTime,
    },
}

/// What a committed change did.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The push's verdict, given on the committed state.
    Pushed(Result<(), PushError>),
    /// How many groups a delete or wipe removed.
    Count(usize),
    /// The groups a clean-up or expiry removed.
    Removed(Vec<Removed>),
}

/// Why a change was not made.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum CommitError {
    #[error("the change was not made: {0}")]
    Unavailable(String),
    /// The group's record is larger than etcd takes in one request.
    #[error("{0}")]
    TooLarge(String),
}

pub(super) struct Request {
    pub(super) pending: Pending,
    pub(super) reply: oneshot::Sender<Result<Outcome, CommitError>>,
}

/// How often a batch is tried again after conflicts before its changes are
/// answered 503: only reached when other replicas commit without pause.
const MAX_ATTEMPTS: usize = 100;
/// How often the committer yields to the request handlers before it takes
/// a batch.
const LINGER_YIELDS: usize = 3;
/// Bytes of a transaction beside the groups' values: keys, the head, framing.
const TXN_OVERHEAD: usize = 4096;

/// Takes requests until the queue closes.
pub(super) async fn run(shared: Arc<Shared>, mut queue: mpsc::UnboundedReceiver<Request>) {
    let mut carry: VecDeque<Request> = VecDeque::new();
    loop {
        if carry.is_empty() {
            match queue.recv().await {
                Some(r) => carry.push_back(r),
                None => return,
            }
        }
        // Requests whose handlers are running now join this batch: a few
        // yields let them reach the queue, and a larger batch costs etcd
        // about what a small one does.
        for _ in 0..LINGER_YIELDS {
            while let Ok(r) = queue.try_recv() {
                carry.push_back(r);
            }
            tokio::task::yield_now().await;
        }
        while let Ok(r) = queue.try_recv() {
            carry.push_back(r);
        }
        run_batch(&shared, &mut carry).await;
    }
}

/// One member of a batch and its verdict, given once the batch commits.
struct Member {
    request: Request,
    outcome: Result<Outcome, CommitError>,
}

/// What committing a batch's writes came to.
enum Committed {
    /// At this revision (the last one, if split).
    Yes(i64),
    /// Another change was committed first: the head is at this revision.
    Stale(i64),
    Failed(Error),
}

/// Commits the batch at the front of `carry`; what does not fit stays there.
async fn run_batch(shared: &Shared, carry: &mut VecDeque<Request>) {
    let mut alone = false;
    for attempt in 1..=MAX_ATTEMPTS {
        let writer = shared.writer.lock().await;
        let base = *shared.head.borrow();
        let mut batch = Tentative::new(shared);
        let mut members: Vec<Member> = Vec::new();
        while let Some(request) = carry.pop_front() {
            let wipe = matches!(request.pending, Pending::Wipe);
            // A wipe deletes a range, which etcd does not let one
            // transaction mix with puts: it goes alone.
            if wipe && !members.is_empty() {
                carry.push_front(request);
                break;
            }
            let outcome = batch.apply(&request.pending);
            if !members.is_empty() && batch.over_limits() {
                batch.undo_last();
                carry.push_front(request);
                break;
            }
            members.push(Member { request, outcome });
            if wipe || alone {
                break;
            }
        }
        let writes = batch.writes();
        let committed = commit(shared, base, &writes, batch.wiped).await;
        match committed {
            Committed::Yes(revision) => {
                advance_view(shared, revision, &writes, batch.wiped);
                drop(writer);
                shared.counters.commits.fetch_add(1, Ordering::Relaxed);
                for m in members {
                    let _ = m.request.reply.send(m.outcome);
                }
                return;
            }
            Committed::Stale(head) => {
                batch.undo();
                drop(writer);
                shared.counters.conflicts.fetch_add(1, Ordering::Relaxed);
                for m in members.into_iter().rev() {
                    carry.push_front(m.request);
                }
                // Tried again on the view that has the change that won.
                let mut heads = shared.head.subscribe();
                let caught_up =
                    tokio::time::timeout(shared.config.timeout, heads.wait_for(|h| *h >= head))
                        .await;
                if caught_up.is_err() {
                    shared.resync.notify_one();
                }
                crate::debug!(
                    "etcd transaction conflicted; trying again",
                    attempt = attempt
                );
            }
            Committed::Failed(Error::TooLarge(e)) if members.len() > 1 => {
                // Too large together: each on its own finds which one is.
                batch.undo();
                drop(writer);
                for m in members.into_iter().rev() {
                    carry.push_front(m.request);
                }
                alone = true;
                crate::debug!("etcd transaction too large; splitting the batch", err = e);
            }
            Committed::Failed(e) => {
                batch.undo();
                drop(writer);
                shared.failed(&e);
                let error = match &e {
                    Error::TooLarge(_) => CommitError::TooLarge(format!(
                        "{e}: the change is larger than etcd takes in one request \
                         (--store.etcd.max-request-bytes={}, --store.etcd.max-txn-ops={})",
                        shared.config.max_request_bytes, shared.config.max_txn_ops
                    )),
                    _ => CommitError::Unavailable(e.to_string()),
                };
                for m in members {
                    let _ = m.request.reply.send(Err(error.clone()));
                }
                return;
            }
        }
    }
    // Still conflicting: the front of the queue is answered, the rest tried.
    if let Some(r) = carry.pop_front() {
        let _ = r.reply.send(Err(CommitError::Unavailable(
            "other replicas kept committing first; try again".into(),
        )));
    }
}

/// Writes a batch's groups: one transaction fenced on `base`, or, when a
/// lone change touches more groups than one transaction may hold, several,
/// each fenced on the one before.
async fn commit(shared: &Shared, base: i64, writes: &[Write], wiped: bool) -> Committed {
    let layout = &shared.layout;
    let mut ops: Vec<Op> = Vec::with_capacity(writes.len() + 2);
    if wiped {
        let groups = layout.groups();
        ops.push(Op::Delete {
            range_end: prefix_end(&groups),
            key: groups,
        });
    }
    for w in writes {
        let key = layout.group(&w.canonical);
        ops.push(match &w.value {
            Some(value) => Op::Put {
                key,
                value: value.clone(),
            },
            None => Op::Delete {
                key,
                range_end: Vec::new(),
            },
        });
    }
    let per_txn = shared.config.max_txn_ops.saturating_sub(1).max(1);
    let mut fence = base;
    let mut chunks: Vec<Vec<Op>> = Vec::new();
    let mut rest = ops;
    while rest.len() > per_txn {
        let tail = rest.split_off(per_txn);
        chunks.push(rest);
        rest = tail;
    }
    chunks.push(rest);
    for chunk in chunks {
        let mut success = chunk;
        success.push(Op::Put {
            key: layout.head(),
            value: shared.replica.as_bytes().to_vec(),
        });
        let txn = Txn {
            compare: vec![Compare::ModRevision {
                key: layout.head(),
                revision: fence,
            }],
            success,
            failure: vec![Op::Range(RangeRequest {
                key: layout.head(),
                keys_only: true,
                ..RangeRequest::default()
            })],
        };
        match shared.client.txn(&txn).await {
            Ok(answer) if answer.succeeded => fence = answer.revision,
            Ok(answer) => {
                let head = answer
                    .responses
                    .iter()
                    .find_map(|r| match r {
                        OpResponse::Range(r) => r.kvs.first().map(|kv| kv.mod_revision),
                        _ => None,
                    })
                    .unwrap_or(0);
                // A split change whose first parts committed is still
                // undone as a whole here; the watch brings those parts
                // back, and the change is tried again on that view.
                return Committed::Stale(head);
            }
            Err(e) => return Committed::Failed(e),
        }
    }
    shared.fresh();
    Committed::Yes(fence)
}

/// One group's new state in etcd: its record, or deleted.
struct Write {
    canonical: Vec<u8>,
    value: Option<Vec<u8>>,
}

/// A batch applied to the store but not yet committed: what each group was
/// before it, so that the batch (or its last change) can be undone.
struct Tentative<'a> {
    shared: &'a Shared,
    /// The state before the batch of every group it touched, in the order
    /// first touched.
    before: Vec<(Vec<u8>, GroupingKey, Option<GroupView>)>,
    touched: FxHashSet<Vec<u8>>,
    /// The state before the last change of each group that change touched.
    last: Vec<(Vec<u8>, GroupingKey, Option<GroupView>)>,
    /// How many entries of `before` the last change added.
    last_new: usize,
    /// The record of a group as its last push left it (pushes encode it at
    /// once, to refuse a group too large for etcd).
    encoded: FxHashMap<Vec<u8>, Vec<u8>>,
    bytes: usize,
    wiped: bool,
}

impl<'a> Tentative<'a> {
    fn new(shared: &'a Shared) -> Tentative<'a> {
        Tentative {
            shared,
            before: Vec::new(),
            touched: FxHashSet::default(),
            last: Vec::new(),
            last_new: 0,
            encoded: FxHashMap::default(),
            bytes: TXN_OVERHEAD,
            wiped: false,
        }
    }

    /// Notes that the change being applied touches `key`.
    fn touch(&mut self, key: &GroupingKey) {
        let canonical = key.canonical();
        let state = self.shared.store.group(key);
        if self.touched.insert(canonical.clone()) {
            self.before
                .push((canonical.clone(), key.clone(), state.clone()));
            self.last_new += 1;
            self.bytes += canonical.len() + 64;
        }
        if let Some(old) = self.encoded.remove(&canonical) {
            self.bytes -= old.len();
        }
        self.last.push((canonical, key.clone(), state));
    }

    /// Applies one change to the store and gives its verdict.
    fn apply(&mut self, pending: &Pending) -> Result<Outcome, CommitError> {
        self.last.clear();
        self.last_new = 0;
        let store = &self.shared.store;
        match pending {
            Pending::Push { push, mode, now } => {
                self.touch(&push.key);
                let verdict = store.push(push.clone(), *mode, *now);
                self.encode_push(&push.key)?;
                Ok(Outcome::Pushed(verdict))
            }
            Pending::Failure { key, now } => {
                self.touch(key);
                store.record_failure(key, *now);
                Ok(Outcome::Count(0))
            }
            Pending::Delete { keys } => {
                for key in keys {
                    self.touch(key);
                }
                Ok(Outcome::Count(store.delete_groups(keys).unwrap_or(0)))
            }
            Pending::DeleteMatching {
                selector,
                stale,
                now,
            } => {
                let doomed = store
                    .delete_matching(selector, *stale, *now, true)
                    .unwrap_or_default();
                for r in &doomed {
                    self.touch(&r.key);
                }
                let keys: Vec<GroupingKey> = doomed.iter().map(|r| r.key.clone()).collect();
                store.delete_groups(&keys).unwrap_or(0);
                Ok(Outcome::Removed(doomed))
            }
            Pending::Expire { now } => {
                let keys = store.expired_keys(*now);
                for key in &keys {
                    self.touch(key);
                }
                let removed = store.expire(*now).unwrap_or_default();
                Ok(Outcome::Removed(removed))
            }
            Pending::Wipe => {
                for view in store.groups() {
                    self.touch(&view.key);
                }
                let n = store.wipe().unwrap_or(0);
                self.wiped = true;
                Ok(Outcome::Count(n))
            }
        }
    }

    /// Encodes the group a push left, refusing (and undoing) the push when
    /// the record is larger than one etcd request may be.
    fn encode_push(&mut self, key: &GroupingKey) -> Result<(), CommitError> {
        let Some(view) = self.shared.store.group(key) else {
            return Ok(());
        };
        let value = encode_group(&view);
        let limit = self.shared.config.max_request_bytes;
        if value.len() + TXN_OVERHEAD > limit {
            let size = value.len();
            self.undo_last();
            return Err(CommitError::TooLarge(format!(
                "group {key} would take {size} bytes in etcd, more than one etcd request may \
                 hold (--store.etcd.max-request-bytes={limit}, which must match etcd's \
                 --max-request-bytes); push it as several groups"
            )));
        }
        self.bytes += value.len();
        self.encoded.insert(key.canonical(), value);
        Ok(())
    }

    /// True when the batch no longer fits in one transaction.
    fn over_limits(&self) -> bool {
        self.before.len() + 1 > self.shared.config.max_txn_ops
            || self.bytes > self.shared.config.max_request_bytes
    }

    /// Undoes the last change applied.
    fn undo_last(&mut self) {
        let store = &self.shared.store;
        for (canonical, key, state) in self.last.drain(..).rev() {
            put_back(store, &key, state.as_ref());
            if let Some(old) = self.encoded.remove(&canonical) {
                self.bytes -= old.len();
            }
        }
        for (canonical, _, _) in self.before.drain(self.before.len() - self.last_new..) {
            self.touched.remove(&canonical);
            self.bytes -= canonical.len() + 64;
        }
        self.last_new = 0;
        if self.before.is_empty() {
            self.wiped = false;
        }
    }

    /// Undoes the whole batch: the store is the view again.
    fn undo(&mut self) {
        let store = &self.shared.store;
        for (_, key, state) in self.before.drain(..).rev() {
            put_back(store, &key, state.as_ref());
        }
        self.touched.clear();
        self.encoded.clear();
        self.wiped = false;
    }

    /// The new state of every group the batch touched (after a wipe, only
    /// those it made again; a group that was not there and is not now
    /// needs no write).
    fn writes(&mut self) -> Vec<Write> {
        let store = &self.shared.store;
        let mut writes = Vec::with_capacity(self.before.len());
        for (canonical, key, before) in &self.before {
            let value = match self.encoded.remove(canonical) {
                Some(v) => Some(v),
                None => store.group(key).map(|v| encode_group(&v)),
            };
            if value.is_none() && (before.is_none() || self.wiped) {
                continue;
            }
            writes.push(Write {
                canonical: canonical.clone(),
                value,
            });
        }
        writes
    }
}

/// Writes that etcd committed at `revision` (after a wipe, when `wiped`):
/// the view is there too.
fn advance_view(shared: &Shared, revision: i64, writes: &[Write], wiped: bool) {
    let mut view = shared.view.lock();
    if wiped {
        view.revs.clear();
    }
    for w in writes {
        match w.value {
            Some(_) => {
                view.revs.insert(w.canonical.clone(), revision);
            }
            None => {
                view.revs.remove(&w.canonical);
            }
        }
    }
    view.revision = view.revision.max(revision);
    drop(view);
    shared.head.send_replace(revision);
}

/// Sets a group back to `state` (absent: removed).
fn put_back(store: &crate::server::store::Store, key: &GroupingKey, state: Option<&GroupView>) {
    let result = match state {
        Some(view) => store.put_view(view).map_err(|e| e.to_string()),
        None => store
            .delete_groups(std::slice::from_ref(key))
            .map(drop)
            .map_err(|e| e.to_string()),
    };
    if let Err(e) = result {
        crate::error!(
            "cannot undo a change that etcd did not take",
            group = key,
            err = e
        );
    }
}

/// Writes groups read from an import into etcd (fenced like any batch) and
/// into the store; returns how many.
pub(super) async fn import_groups(shared: &Shared, groups: &[GroupView]) -> Result<usize, Error> {
    loop {
        let writer = shared.writer.lock().await;
        let base = *shared.head.borrow();
        let writes: Vec<Write> = groups
            .iter()
            .map(|g| Write {
                canonical: g.key.canonical(),
                value: Some(encode_group(g)),
            })
            .collect();
        match commit(shared, base, &writes, false).await {
            Committed::Yes(revision) => {
                for g in groups {
                    if let Err(e) = shared.store.put_view(g) {
                        crate::error!("cannot import a group", group = g.key, err = e);
                    }
                }
                advance_view(shared, revision, &writes, false);
                drop(writer);
                return Ok(groups.len());
            }
            Committed::Stale(_) => {
                drop(writer);
                // Before the watch runs: the view is brought up by a reload.
                if let Err(super::engine::Failure::Etcd(e)) = super::engine::reload(shared).await {
                    return Err(e);
                }
            }
            Committed::Failed(e) => return Err(e),
        }
    }
}
