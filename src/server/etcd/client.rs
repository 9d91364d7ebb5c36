//! Temporary stand-in with the client's API (replaced by the real client).
#![allow(dead_code, unused_variables, unreachable_pub, missing_docs)]
use std::path::PathBuf;
use std::time::Duration;

pub struct Config {
    pub endpoints: Vec<String>,
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub timeout: Duration,
}
#[derive(Clone)]
pub struct Client;
impl Client {
    pub fn new(config: Config) -> anyhow::Result<Client> {
        unimplemented!()
    }
    pub async fn range(&self, req: &RangeRequest) -> Result<RangeResponse, Error> {
        unimplemented!()
    }
    pub async fn txn(&self, txn: &Txn) -> Result<TxnResponse, Error> {
        unimplemented!()
    }
    pub async fn compact(&self, revision: i64) -> Result<(), Error> {
        unimplemented!()
    }
    pub async fn watch(&self, req: &WatchRequest) -> Result<Watch, Error> {
        unimplemented!()
    }
    pub fn endpoint(&self) -> String {
        unimplemented!()
    }
}
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    unimplemented!()
}
#[derive(Debug, Clone, Default)]
pub struct RangeRequest {
    pub key: Vec<u8>,
    pub range_end: Vec<u8>,
    pub revision: i64,
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
#[derive(Debug, Clone)]
pub enum Compare {
    ModRevision { key: Vec<u8>, revision: i64 },
    CreateRevision { key: Vec<u8>, revision: i64 },
    Value { key: Vec<u8>, value: Vec<u8> },
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
pub struct Watch;
impl Watch {
    pub async fn next(&mut self) -> Result<WatchBatch, Error> {
        unimplemented!()
    }
}
#[derive(Debug, Clone)]
pub struct WatchBatch {
    pub revision: i64,
    pub events: Vec<Event>,
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Put(KeyValue),
    Delete { key: Vec<u8>, mod_revision: i64 },
}
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("etcd is unavailable: {0}")]
    Unavailable(String),
    #[error("etcd revision {revision} was compacted (oldest kept: {compact_revision})")]
    Compacted {
        revision: i64,
        compact_revision: i64,
    },
    #[error("etcd refused the request as too large: {0}")]
    TooLarge(String),
    #[error("etcd refused the credentials: {0}")]
    Auth(String),
    #[error("etcd error: {0}")]
    Other(String),
}
