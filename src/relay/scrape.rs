//! Scraping an exporter: one GET asking for the text format 0.0.4 (gzip is
//! asked for and undone by the HTTP client), with a time limit and a cap on
//! the answer's size, and the answer turned into 0.0.4 text when the exporter
//! answered OpenMetrics anyway.

use std::io::Read as _;
use std::time::{Duration, Instant};

use crate::exposition::openmetrics;

/// What the relay asks for: 0.0.4 first, anything else as a fallback it can
/// still read (OpenMetrics is converted).
const ACCEPT: &str =
    "text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1";

/// Why a scrape gave nothing to relay.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ScrapeError {
    #[error("cannot reach the exporter at {url}: {cause}")]
    Unreachable { url: String, cause: String },
    #[error("the exporter at {url} answered {status}")]
    Status { url: String, status: u16 },
    #[error("the exporter at {url} answered more than {limit} bytes (--max-size)")]
    TooLarge { url: String, limit: usize },
    #[error("cannot read the answer of the exporter at {url}: {cause}")]
    Read { url: String, cause: String },
    /// A web page where metrics were expected: the landing page of an
    /// exporter scraped at the wrong path, a login page.
    #[error("the exporter at {url} answered an HTML page{title}, not metrics: is the path right (/metrics)?")]
    Html { url: String, title: String },
}

/// A successful scrape: the 0.0.4 text, the answer's size and how long it took.
#[derive(Debug)]
pub(crate) struct Scraped {
    pub(crate) text: String,
    pub(crate) size_bytes: u64,
    pub(crate) openmetrics: bool,
}

/// An exporter to scrape, with its HTTP agent kept across cycles (so the
/// connection is reused in daemon mode).
pub(crate) struct Exporter {
    pub(crate) url: String,
    agent: ureq::Agent,
    max_size: usize,
}

impl Exporter {
    pub(crate) fn new(url: &str, timeout: Duration, max_size: usize) -> Exporter {
        let agent = ureq::AgentBuilder::new()
            .timeout(timeout)
            .user_agent(concat!("pgw-relay/", env!("CARGO_PKG_VERSION")))
            .build();
        Exporter {
            url: url.to_string(),
            agent,
            max_size,
        }
    }

    /// Scrapes once; the duration is measured by the caller around this call.
    pub(crate) fn scrape(&self) -> Result<Scraped, ScrapeError> {
        let url = self.url.clone();
        let response = match self.agent.get(&self.url).set("Accept", ACCEPT).call() {
            Ok(r) => r,
            Err(ureq::Error::Status(status, _)) => {
                return Err(ScrapeError::Status { url, status });
            }
            Err(ureq::Error::Transport(t)) => {
                return Err(ScrapeError::Unreachable {
                    url,
                    cause: crate::client::transport_cause(&t),
                });
            }
        };
        let content_type = response.header("Content-Type").map(str::to_string);
        let mut body = Vec::with_capacity(64 * 1024);
        response
            .into_reader()
            .take(self.max_size as u64 + 1)
            .read_to_end(&mut body)
            .map_err(|e| ScrapeError::Read {
                url: url.clone(),
                cause: e.to_string(),
            })?;
        if body.len() > self.max_size {
            return Err(ScrapeError::TooLarge {
                url,
                limit: self.max_size,
            });
        }
        let is_html = content_type.as_deref().is_some_and(|c| c.contains("html"))
            || body.trim_ascii_start().starts_with(b"<");
        if is_html {
            let text = String::from_utf8_lossy(&body);
            let title = crate::client::html_title(&text)
                .map(|t| format!(" ({t:?})"))
                .unwrap_or_default();
            return Err(ScrapeError::Html { url, title });
        }
        let size_bytes = body.len() as u64;
        let text = String::from_utf8(body).map_err(|e| ScrapeError::Read {
            url: url.clone(),
            cause: format!("not UTF-8: {e}"),
        })?;
        if openmetrics::is_openmetrics(content_type.as_deref(), &text) {
            return Ok(Scraped {
                text: openmetrics::to_text_004(&text),
                size_bytes,
                openmetrics: true,
            });
        }
        Ok(Scraped {
            text,
            size_bytes,
            openmetrics: false,
        })
    }
}

/// Runs `f` and returns its result with the time it took.
pub(crate) fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}
