//! The push handler: `PUT`, `POST` and `DELETE` of `/metrics/job/...`. A
//! push's body is read within `--web.read-timeout` and the body limit,
//! decompressed, parsed (text or protobuf), checked against the limits,
//! prepared outside the store's lock and applied under it; the answer waits
//! until the change is durable.

use std::time::{Duration, Instant, SystemTime};

use http_body_util::BodyExt as _;
use hyper::body::Bytes;
use hyper::header::{self, HeaderMap};
use hyper::{Method, Request, StatusCode};

use crate::exposition::{compression, proto, text};
use crate::grouping::{GroupingKey, KeyError};
use crate::server::http::{method_label, status_response, HttpError, Response};
use crate::server::limits::{self, Limit};
use crate::server::store::{self, Mode, PushError};
use crate::server::State;

/// The header with which a push asks for a time to live for its group.
/// The official server ignores it, so a client that sends it stays portable.
pub(crate) const EXPIRE_HEADER: &str = "pgw-expire-after";

pub(super) async fn push<B>(
    state: &State,
    req: Request<B>,
    key: Result<GroupingKey, KeyError>,
) -> Result<Response, HttpError>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let started = Instant::now();
    let key = key?;
    let method = req.method().clone();
    if method == Method::DELETE {
        // Upstream answers 202 whether or not the group existed, and ignores
        // any body.
        if state.store.delete(&key)? {
            crate::debug!("deleted group", group = key);
        }
        state.store.durable().await?;
        return Ok(status_response(StatusCode::ACCEPTED));
    }
    let mode = if method == Method::PUT {
        Mode::Replace
    } else {
        Mode::Merge
    };
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let ttl = requested_ttl(&headers)
        .map_err(HttpError::bad_request)?
        .or(state.config.expire_after);
    let limit = state.config.body_limit;
    let read = tokio::time::timeout(state.config.read_timeout, read_body(body, limit)).await;
    let raw = match read {
        Ok(read) => read?,
        Err(_) => {
            return Err(HttpError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the push body did not arrive within {} (set by --web.read-timeout)",
                    humantime::format_duration(state.config.read_timeout)
                ),
            ))
        }
    };
    let content_encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok());
    let body = compression::decode_body(content_encoding, &raw, limit)?;
    let is_proto = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(proto::is_protobuf_content_type);
    let now = SystemTime::now();
    let bad = |e: String| HttpError::bad_request(e);
    let outcome = if is_proto {
        proto::decode_delimited(&body)
            .map_err(|e| bad(e.to_string()))
            .and_then(|families| Ok(apply(state, key, families, mode, ttl, now)?))
    } else {
        text::parse_bytes(&body)
            .map_err(|e| bad(e.to_string()))
            .and_then(|families| Ok(apply(state, key, families, mode, ttl, now)?))
    };
    state
        .metrics
        .observe_push(method_label(&method), started.elapsed(), raw.len());
    match outcome {
        Ok(()) => {
            // The answer promises the change is on disk.
            state.store.durable().await?;
            if state.config.disable_consistency_check {
                // Upstream answers 202 when the check is off, because it does
                // not wait for the write; pgw still checks (it is cheap here)
                // and answers 400 to a push it refuses.
                Ok(status_response(StatusCode::ACCEPTED))
            } else {
                Ok(status_response(StatusCode::OK))
            }
        }
        Err(e) => {
            // The refusal may have set the group's failure time, and the
            // client will see that time on the next read: it is on disk
            // before the answer, like any other change. A log that cannot be
            // written is reported by the next push that succeeds.
            let _ = state.store.durable().await;
            Err(e)
        }
    }
}

/// The time to live a push asks for with `Pgw-Expire-After`, if any.
fn requested_ttl(headers: &HeaderMap) -> Result<Option<Duration>, String> {
    let Some(value) = headers.get(EXPIRE_HEADER) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("");
    match humantime::parse_duration(text.trim()) {
        Ok(d) if !d.is_zero() => Ok(Some(d)),
        Ok(_) => Err("the Pgw-Expire-After header must be a positive duration, got 0".into()),
        Err(e) => Err(format!(
            "the Pgw-Expire-After header must be a duration such as 90s or 1h30m, got {text:?}: {e}"
        )),
    }
}

/// How much of a body over the limit is still read (and thrown away) so that
/// the client, which is usually still sending, gets the 413 rather than a
/// connection reset in the middle of its upload.
const DRAIN_LIMIT: usize = 64 << 20;

enum BodyRead {
    TooLarge { limit: usize },
    Failed(String),
}

impl From<BodyRead> for HttpError {
    fn from(e: BodyRead) -> HttpError {
        match e {
            BodyRead::TooLarge { limit } => HttpError::limit(
                Limit::BodySize,
                format!(
                    "push body exceeds the limit of {limit} bytes (set by {})",
                    Limit::BodySize.flag()
                ),
            ),
            BodyRead::Failed(e) => {
                HttpError::bad_request(format!("cannot read the push body: {e}"))
            }
        }
    }
}

/// Reads a request body of at most `limit` bytes.
async fn read_body<B>(mut body: B, limit: usize) -> Result<Vec<u8>, BodyRead>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let mut buf = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| BodyRead::Failed(e.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen <= limit {
            buf.extend_from_slice(&data);
        } else if seen > limit.saturating_add(DRAIN_LIMIT) {
            return Err(BodyRead::TooLarge { limit });
        }
    }
    if seen > limit {
        Err(BodyRead::TooLarge { limit })
    } else {
        Ok(buf)
    }
}

fn apply(
    state: &State,
    key: GroupingKey,
    families: Vec<crate::exposition::Family<'_>>,
    mode: Mode,
    ttl: Option<Duration>,
    now: SystemTime,
) -> Result<(), PushError> {
    let failed_key = key.clone();
    // As upstream, a push that parses but is refused marks its group (if it
    // exists) as failed, which `push_failure_time_seconds` shows. The store
    // records its own refusals under its lock; those made before it (limits,
    // `prepare`) are recorded here.
    let result = limits::check_push(&state.config.limits, &key, &families)
        .map_err(PushError::from)
        .and_then(|()| store::prepare(key, families, now).map_err(PushError::from));
    let result = match result {
        Ok(mut prepared) => {
            prepared.ttl = ttl;
            state.store.push(prepared, mode, now)
        }
        Err(e) => {
            state.store.record_failure(&failed_key, now);
            Err(e)
        }
    };
    result.inspect_err(|e| {
        crate::warn!("push refused", group = failed_key, err = e);
    })
}
