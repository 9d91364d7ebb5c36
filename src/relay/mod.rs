//! `pgw relay`'s parts that do not depend on the command line: scraping an
//! exporter (`scrape`, with `openmetrics` for exporters that answer in that
//! format), preparing what was scraped for a gateway and adding the health
//! series (`transform`), choosing gateways (`fanout`) and the remote-write
//! body (`remote_write`). The command itself (flags, schedule, pushes, logs,
//! exit codes) is `cmd::relay`.

pub(crate) mod engine;
pub mod fanout;
pub mod openmetrics;
pub mod remote_write;
pub mod scrape;
pub mod transform;
