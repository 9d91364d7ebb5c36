//! The etcd store backend (`--store.etcd.endpoints`): every replica keeps
//! the whole store in memory, as the embedded store does, and etcd holds
//! the truth. A replica's own changes are committed by [`commit`] (group
//! commit of fenced transactions, answered once a quorum has them); the
//! changes of the others arrive through the watch of [`engine`], which also
//! loads the store at start, tells how fresh the view is and compacts
//! etcd's history. [`layout`] says what lives under the prefix; [`client`]
//! speaks etcd's v3 JSON API, so no protobuf compiler is needed to build.

use std::path::PathBuf;
use std::time::Duration;

pub mod client;
pub(crate) mod commit;
pub(crate) mod engine;
pub(crate) mod layout;

pub(crate) use commit::{CommitError, Outcome, Pending};
pub(crate) use engine::Engine;

/// What the command line decided about the etcd store.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) endpoints: Vec<String>,
    /// Ends with `/` unless empty.
    pub(crate) prefix: String,
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) cert_file: Option<PathBuf>,
    pub(crate) key_file: Option<PathBuf>,
    pub(crate) username: Option<String>,
    pub(crate) password_file: Option<PathBuf>,
    pub(crate) timeout: Duration,
    pub(crate) max_staleness: Duration,
    /// `None`: pgw never compacts etcd.
    pub(crate) compaction_interval: Option<Duration>,
    pub(crate) max_request_bytes: usize,
    pub(crate) max_txn_ops: usize,
    /// A pgw persistence file that fills an empty prefix.
    pub(crate) import: Option<PathBuf>,
}
