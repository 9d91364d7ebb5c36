//! pgw: a Prometheus Pushgateway server and the client commands of the push
//! path. The binary (`main.rs`) is a thin shell around this library, so
//! integration tests and benchmarks reach the same code.
//!
//! - `cli`: the command line (clap definitions only); `cmd`: one module per
//!   subcommand, the only place where flags become plain options.
//! - `exposition`: the text and protobuf formats and the OpenMetrics
//!   conversion, pure.
//! - `grouping`: grouping keys and their URL paths, pure.
//! - `server`: `pgw serve` (routes, store, persistence, own metrics).
//! - `client`: how the client commands talk to a gateway (HTTP client,
//!   groups, selectors).
//! - `relay`: `pgw relay`'s scrape, transform, fanout, remote write and the
//!   engine that runs them.
//! - `error`: the error kinds with an exit code of their own; `exit`: the
//!   exit-code table; `log`: logfmt/JSON logging; `tls`: what the client's
//!   and the server's certificate verifiers share.

pub mod cli;
pub(crate) mod client;
pub mod cmd;
pub(crate) mod error;
pub mod exit;
pub mod exposition;
pub mod grouping;
#[macro_use]
pub(crate) mod log;
pub(crate) mod relay;
pub mod server;
pub(crate) mod tls;
