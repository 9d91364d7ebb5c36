//! The push handler: `PUT`, `POST` and `DELETE` of `/metrics/job/...`. A
//! push's grouping key is checked first; its body is read within
//! `--web.read-timeout`, the body limit and the server's in-flight budget,
//! decompressed, parsed (text or protobuf) with the series and label limits
//! enforced as it goes, prepared outside the store's lock and applied under
//! it; the answer waits until the change is durable. `Pgw-Aggregate` (or
//! `--push.aggregate-jobs`) and `Pgw-Aggregate-Gauges` choose the store's
//! aggregating modes.

use std::time::{Duration, Instant, SystemTime};

use http_body_util::BodyExt as _;
use hyper::body::Bytes;
use hyper::header::{self, HeaderMap};
use hyper::{Method, Request, StatusCode};

use crate::exposition::compression::{self, BodyError};
use crate::exposition::validate::{ParseFailure, ParseLimits};
use crate::exposition::{proto, text};
use crate::grouping::{GroupingKey, KeyError};
use crate::server::http::{method_label, status_response, HttpError, Response};
use crate::server::limits::{self, Lease, Limit, LimitHit};
use crate::server::store::{self, Gauges, Mode, PushError};
use crate::server::writes::{self, WriteError};
use crate::server::State;

/// The header with which a push asks for a time to live for its group.
/// The official server ignores it, so a client that sends it stays portable.
pub(crate) const EXPIRE_HEADER: &str = "pgw-expire-after";

/// The header with which a POST asks to add into its group (`sum`); see
/// `store::aggregate`. The official server ignores it too.
pub(crate) const AGGREGATE_HEADER: &str = "pgw-aggregate";
/// How an aggregating push combines gauges: `last` (the default), `sum`,
/// `max` or `min`.
pub(crate) const AGGREGATE_GAUGES_HEADER: &str = "pgw-aggregate-gauges";

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
        if writes::delete(state, &key).await? {
            crate::debug!("deleted group", group = key);
        }
        return Ok(status_response(StatusCode::ACCEPTED));
    }
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let aggregate = match requested_aggregation(&headers, &key, state) {
        Ok(a) => a,
        Err(e) => {
            // Refused like a body that does not parse: the failure time shows it.
            writes::record_failure(state, &key, SystemTime::now()).await;
            return Err(HttpError::bad_request(e));
        }
    };
    let mode = match (method == Method::PUT, aggregate) {
        (true, None) => Mode::Replace,
        (true, Some(_)) => Mode::ReplaceAggregating,
        (false, None) => Mode::Merge,
        (false, Some(gauges)) => Mode::Aggregate(gauges),
    };
    // A push that replaces its group keeps its texts in one block, which
    // the next such push frees whole (see `store::Texts`).
    let texts = if mode.replaces() {
        store::Texts::OneBlock
    } else {
        store::Texts::BlockPerFamily
    };
    let ttl = requested_ttl(&headers)
        .map_err(HttpError::bad_request)?
        .or(state.config.expire_after);
    if let Err(hit) = limits::check_key(&state.config.limits, &key) {
        crate::warn!("push refused", group = key, err = hit);
        return Err(hit.into());
    }
    let limit = state.config.body_limit;
    let now = SystemTime::now();
    // The body, and the lease that counts it against the in-flight budget,
    // are freed as soon as the push is prepared, before it is applied and
    // made durable: only bodies being read and parsed count.
    let prepared = {
        let mut lease = state.inflight.lease();
        let read = tokio::time::timeout(
            state.config.read_timeout,
            read_body(body, limit, &mut lease),
        )
        .await;
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
        let raw_len = raw.len();
        let decoded = decompress(&headers, raw, limit, &mut lease);
        let prepared = match decoded {
            // A body that does not decompress is refused like one that does
            // not parse (limits keep their own status and count).
            Err(e) => Err(Refusal {
                marks_group: e.status() == StatusCode::BAD_REQUEST,
                error: e,
            }),
            Ok(body) => {
                let is_proto = headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(proto::is_protobuf_content_type);
                let protobuf = state.store.protobuf();
                let parse_limits = ParseLimits {
                    utf8_names: state.config.utf8_names,
                    ..state.config.limits.parse_limits()
                };
                if is_proto {
                    proto::decode_delimited_with(&body, &parse_limits)
                        .map_err(|e| refused(&key, e))
                        .and_then(|families| {
                            prepare(key.clone(), families, ttl, now, protobuf, texts)
                        })
                } else {
                    text::parse_bytes_with(&body, &parse_limits)
                        .map_err(|e| refused(&key, e))
                        .and_then(|families| {
                            prepare(key.clone(), families, ttl, now, protobuf, texts)
                        })
                }
            }
        };
        state
            .metrics
            .observe_push(method_label(&method), started.elapsed(), raw_len);
        prepared
    };
    let prepared = match prepared {
        Ok(p) => p,
        Err(refusal) => {
            // As upstream, a push that is refused marks its group (if it
            // exists) as failed, which `push_failure_time_seconds` shows;
            // the store records its own refusals, these were made before it.
            if refusal.marks_group {
                writes::record_failure(state, &key, now).await;
            }
            return Err(refusal.error);
        }
    };
    match writes::push(state, prepared, mode, now).await {
        Ok(()) => {
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
            if let WriteError::Push(e) = &e {
                crate::warn!("push refused", group = key, err = e);
            }
            Err(e.into())
        }
    }
}

/// A push refused before the store, and whether it marks its group as
/// failed.
struct Refusal {
    error: HttpError,
    marks_group: bool,
}

/// A body the parser stopped at: invalid (400) or over a limit. Either marks
/// an existing group as failed, like the store's own refusals, so that
/// `push_failure_time_seconds > push_time_seconds` catches every refused
/// push. Upstream leaves the failure time alone when a body does not parse.
fn refused<E: std::fmt::Display>(key: &GroupingKey, failure: ParseFailure<E>) -> Refusal {
    let error = match failure {
        ParseFailure::Invalid(e) => {
            crate::debug!("push refused", group = key, err = e);
            HttpError::bad_request(e.to_string())
        }
        ParseFailure::OverLimit(over) => {
            let hit = LimitHit::from(over);
            crate::warn!("push refused", group = key, err = hit);
            hit.into()
        }
    };
    Refusal {
        error,
        marks_group: true,
    }
}

/// The parsed families, prepared for the store outside its lock.
fn prepare(
    key: GroupingKey,
    families: Vec<crate::exposition::Family<'_>>,
    ttl: Option<Duration>,
    now: SystemTime,
    protobuf: store::Protobuf,
    texts: store::Texts,
) -> Result<store::PreparedPush, Refusal> {
    match store::prepare_with(key.clone(), families, now, protobuf, texts) {
        Ok(mut prepared) => {
            prepared.ttl = ttl;
            Ok(prepared)
        }
        Err(e) => {
            crate::warn!("push refused", group = key, err = e);
            Err(Refusal {
                error: PushError::from(e).into(),
                marks_group: true,
            })
        }
    }
}

/// The body after its Content-Encoding. A compressed body may inflate only
/// into the room left in the budget (and the body limit); its decompressed
/// copy is counted, and the compressed one given back once it is freed.
fn decompress(
    headers: &HeaderMap,
    raw: Vec<u8>,
    limit: usize,
    lease: &mut Lease<'_>,
) -> Result<Vec<u8>, HttpError> {
    let content_encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok());
    if !compression::is_compressed(content_encoding) {
        compression::decode_body(content_encoding, &raw, limit)?;
        return Ok(raw);
    }
    let cap = limit.min(lease.room());
    let decoded = match compression::decode_body(content_encoding, &raw, cap) {
        Ok(decoded) => decoded.into_owned(),
        Err(BodyError::TooLarge { .. }) if cap < limit => return Err(lease.refusal().into()),
        Err(e) => return Err(e.into()),
    };
    lease.take(decoded.len())?;
    lease.give_back(raw.len());
    drop(raw);
    Ok(decoded)
}

/// Whether a push aggregates, and how its gauges combine: asked for with
/// `Pgw-Aggregate: sum`, or by `--push.aggregate-jobs` for its job; gauges
/// by `Pgw-Aggregate-Gauges` (`last` unless it says otherwise). A header
/// with any other value is refused, naming it and the value.
fn requested_aggregation(
    headers: &HeaderMap,
    key: &GroupingKey,
    state: &State,
) -> Result<Option<Gauges>, String> {
    let value = |name: &str| {
        headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let asked = match value(AGGREGATE_HEADER) {
        None => false,
        Some(v) if v.trim().eq_ignore_ascii_case("sum") => true,
        Some(v) => {
            return Err(format!(
            "the Pgw-Aggregate header must be sum, got {v:?} (sum is the one aggregation there is)"
        ))
        }
    };
    let gauges = match value(AGGREGATE_GAUGES_HEADER) {
        None => Gauges::Last,
        Some(v) => Gauges::parse(&v).ok_or_else(|| {
            format!(
                "the Pgw-Aggregate-Gauges header must be one of sum, max, min or last, got {v:?}"
            )
        })?,
    };
    let by_flag = state
        .config
        .aggregate_jobs
        .as_ref()
        .is_some_and(|re| key.get("job").is_some_and(|job| re.is_match(job)));
    Ok((asked || by_flag).then_some(gauges))
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
    TooLarge {
        limit: usize,
    },
    /// The in-flight budget refused the body.
    Budget(LimitHit),
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
            BodyRead::Budget(hit) => hit.into(),
            BodyRead::Failed(e) => {
                HttpError::bad_request(format!("cannot read the push body: {e}"))
            }
        }
    }
}

/// Reads a request body of at most `limit` bytes, counting each chunk
/// against the in-flight budget as it arrives. A body the budget refuses is
/// read on and thrown away, like one over the limit, so that its client
/// gets the answer.
async fn read_body<B>(mut body: B, limit: usize, lease: &mut Lease<'_>) -> Result<Vec<u8>, BodyRead>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    // The announced length saves the copies of a growing buffer; pages
    // of the capacity not yet written are not resident, so a client that
    // announces much and sends little costs address space, not memory.
    let announced = usize::try_from(body.size_hint().lower()).unwrap_or(usize::MAX);
    let mut buf = Vec::with_capacity(announced.min(limit));
    let mut seen = 0usize;
    let mut refused = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| BodyRead::Failed(e.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen > limit.saturating_add(DRAIN_LIMIT) {
            break;
        }
        if refused.is_some() {
            continue;
        }
        if seen > limit {
            // Too large whatever follows: what was kept is of no use.
            buf = Vec::new();
            lease.give_back(usize::MAX);
            continue;
        }
        match lease.take(data.len()) {
            Ok(()) => buf.extend_from_slice(&data),
            Err(hit) => {
                refused = Some(hit);
                buf = Vec::new();
                lease.give_back(usize::MAX);
            }
        }
    }
    if let Some(hit) = refused {
        Err(BodyRead::Budget(hit))
    } else if seen > limit {
        Err(BodyRead::TooLarge { limit })
    } else {
        Ok(buf)
    }
}
