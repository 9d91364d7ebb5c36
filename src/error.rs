//! The error kinds that have an exit code of their own (`exit::code_for`
//! picks it by downcasting): bad local input, a wrong command line, nothing
//! matched, a failed exporter, and the ways a request to a gateway fails.
//! A leaf module, so that the code that raises them and the table that maps
//! them depend on it and not on each other.

use std::fmt;
use std::time::Duration;

/// Bad local input; the message names what and where.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct BadInput(pub String);

/// A command line that parses but cannot be acted on where it runs (`wipe`
/// without `--yes` when nobody can answer the question).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Usage(pub String);

/// Nothing matched a selection and the user asked for that to be an error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct NothingMatched(pub String);

/// An exporter that `pgw relay` could not scrape.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct ExporterFailed(pub String);

/// Why a request to the gateway failed; each kind has its own exit code.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GatewayError {
    #[error("cannot reach the gateway at {url}: {cause}{attempts}")]
    Unreachable {
        url: String,
        cause: String,
        attempts: Attempts,
    },
    #[error("the gateway at {url} did not answer {method} {path} within {timeout}{attempts}")]
    TimedOut {
        url: String,
        method: String,
        path: String,
        timeout: String,
        attempts: Attempts,
    },
    /// A 4xx: the gateway understood and refused; retrying cannot help,
    /// unless it is a 429 that says when to come back.
    #[error("the gateway at {url} refused {method} {path} with {status}{message}")]
    Rejected {
        url: String,
        method: String,
        path: String,
        status: Status,
        message: Message,
        /// What the answer's `Retry-After` asked for, if it had one.
        retry_after: Option<Duration>,
    },
    /// A 5xx (or another non-2xx answer) after the last retry.
    #[error("the gateway at {url} failed {method} {path} with {status}{message}{attempts}")]
    Failed {
        url: String,
        method: String,
        path: String,
        status: Status,
        message: Message,
        attempts: Attempts,
        /// What the answer's `Retry-After` asked for, if it had one.
        retry_after: Option<Duration>,
    },
    /// What answered is not a Pushgateway (Prometheus, an exporter, a web
    /// server, a gateway without its route prefix): a wrong URL, which no
    /// retry fixes.
    #[error("{url} does not look like a Pushgateway: {method} {path} {answer}")]
    NotAGateway {
        url: String,
        method: String,
        path: String,
        answer: String,
    },
}

/// Several gateways were asked and some failed; each failure has been
/// printed with its gateway already. The worst of them picks the exit code.
#[derive(Debug, thiserror::Error)]
#[error("{summary}")]
pub(crate) struct SomeGatewaysFailed {
    pub(crate) summary: String,
    pub(crate) worst: anyhow::Error,
}

impl GatewayError {
    /// The HTTP status, when the gateway answered.
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            GatewayError::Rejected { status, .. } | GatewayError::Failed { status, .. } => {
                Some(status.0)
            }
            _ => None,
        }
    }
}

/// An HTTP status shown with its reason phrase: `404 Not Found`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Status(pub u16);

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = hyper::StatusCode::from_u16(self.0)
            .ok()
            .and_then(|s| s.canonical_reason());
        match reason {
            Some(r) => write!(f, "{} {r}", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

/// The gateway's own words about a refusal, shown after a colon.
#[derive(Debug, Clone)]
pub(crate) struct Message(pub String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0.trim();
        if m.is_empty() {
            Ok(())
        } else {
            write!(f, ": {m}")
        }
    }
}

/// How many attempts were made, shown only when there were retries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attempts(pub u32);

impl fmt::Display for Attempts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 > 1 {
            write!(f, " (gave up after {} attempts)", self.0)
        } else {
            Ok(())
        }
    }
}
