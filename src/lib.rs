//! pgw: a Prometheus Pushgateway server and the client commands of the push
//! path. The binary (`main.rs`) is a thin shell around this library, so
//! integration tests and benchmarks reach the same code.
//!
//! - `cli`: the command line (clap); `cmd`: one module per subcommand.
//! - `exposition`: the text and protobuf formats, pure.
//! - `grouping`: grouping keys and their URL paths, pure.
//! - `server`: `pgw serve` (routes, store, persistence, own metrics).
//! - `client`: how the client commands talk to a gateway.
//! - `relay`: `pgw relay`'s scrape, transform, fanout and remote-write parts, pure where possible.
//! - `selector`: label selectors over grouping keys, pure.
//! - `groups`: a gateway's groups as the client commands list and filter them.
//! - `exit`: exit codes; `log`: logfmt/JSON logging.

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
