//! `pgw relay`, apart from its flags (which `cmd::relay` turns into
//! [`engine::Options`]): scraping an exporter (`scrape`, converting
//! OpenMetrics answers with `exposition::openmetrics`), preparing what was
//! scraped for a gateway and adding the health series (`transform`),
//! choosing gateways (`fanout`), the remote-write body (`remote_write`), and
//! the engine that runs the cycles once or every interval, pushes, retries,
//! logs and picks the exit code (`engine`).

pub(crate) mod engine;
pub(crate) mod fanout;
pub(crate) mod remote_write;
pub(crate) mod scrape;
pub(crate) mod transform;
