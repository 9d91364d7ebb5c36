//! Every HTTP route of `pgw serve`, under the route prefix, with the official
//! Pushgateway's paths, methods, status codes and bodies. Routing is done by
//! hand on the percent-decoded path, because upstream decodes the path before
//! routing (`%2F` in a push path acts as a real `/`), which a router
//! matching the raw path would not do.

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use flate2::write::GzEncoder;
use http_body_util::BodyExt as _;
use percent_encoding::percent_decode_str;

use crate::exposition::{encoding, proto, text};
use crate::grouping::{GroupingKey, KeyError};
use crate::selector::Selector;
use crate::server::limits::{self, Limit};
use crate::server::store::{self, Mode, PushError};
use crate::server::{security, State};

pub mod api;
pub mod buffers;
pub mod listen;
pub mod page;

use page as ui;

/// The header with which a push asks for a time to live for its group.
/// The official server ignores it, so a client that sends it stays portable.
pub const EXPIRE_HEADER: &str = "pgw-expire-after";

/// The router: one handler that dispatches on method and path, after the
/// security guard (rate limit, credentials) has let the request through.
pub fn app(state: Arc<State>) -> Router {
    Router::new().fallback(move |req: Request| {
        let state = state.clone();
        async move {
            let mut response = match security::guard(&state, &req).await {
                Some(refused) => refused,
                None => dispatch(state.clone(), req).await,
            };
            security::add_headers(&state, &mut response);
            response
        }
    })
}

pub(crate) fn text_response(code: StatusCode, body: impl Into<String>) -> Response {
    let mut body = body.into();
    if !body.is_empty() && !body.ends_with('\n') {
        body.push('\n');
    }
    (
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

fn not_found() -> Response {
    text_response(StatusCode::NOT_FOUND, "404 page not found")
}

fn method_not_allowed(allow: &'static str, body: &str) -> Response {
    let mut r = text_response(StatusCode::METHOD_NOT_ALLOWED, body);
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

/// The lower-case method name upstream's request counter uses.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "get",
        Method::PUT => "put",
        Method::POST => "post",
        Method::DELETE => "delete",
        Method::HEAD => "head",
        Method::OPTIONS => "options",
        Method::PATCH => "patch",
        _ => "other",
    }
}

async fn dispatch(state: Arc<State>, req: Request) -> Response {
    let raw_path = req.uri().path().to_string();
    let Some(rel) = strip_route_prefix(&raw_path, &state.config.route_prefix) else {
        return not_found();
    };
    let Ok(path) = percent_decode_str(rel).decode_utf8() else {
        return text_response(StatusCode::BAD_REQUEST, KeyError::BadUtf8Path.to_string());
    };
    let path = path.into_owned();
    let method = req.method().clone();

    if let Some(rest) = path.strip_prefix("/metrics/job") {
        let Some(key) = GroupingKey::from_path(rest) else {
            return not_found();
        };
        let handler = if method == Method::DELETE {
            "delete"
        } else {
            "push"
        };
        let response = match method {
            Method::PUT | Method::POST | Method::DELETE => push(&state, req, key).await,
            Method::OPTIONS => {
                let mut r = StatusCode::OK.into_response();
                r.headers_mut().insert(
                    header::ALLOW,
                    HeaderValue::from_static("DELETE, OPTIONS, POST, PUT"),
                );
                r
            }
            _ => method_not_allowed("DELETE, OPTIONS, POST, PUT", "Method Not Allowed"),
        };
        state
            .metrics
            .count_request(response.status().as_u16(), handler, method_label(&method));
        return response;
    }
    if path == state.config.telemetry_path {
        return match method {
            Method::GET | Method::HEAD => scrape(&state, req.headers()),
            _ => method_not_allowed("GET", "Method Not Allowed"),
        };
    }
    let (handler, response) = match path.as_str() {
        "/api/v1/metrics" | "/api/v1/status" if method == Method::OPTIONS => {
            ("api/v1/options", with_cors(StatusCode::OK.into_response()))
        }
        "/api/v1/metrics" if method == Method::GET => ("api/v1/metrics", api_metrics(&state)),
        "/api/v1/groups" => match method {
            Method::GET | Method::HEAD => ("api/v1/groups", ui::groups(&state)),
            Method::DELETE => (
                "api/v1/groups",
                delete_groups(&state, req.uri().query()).await,
            ),
            Method::OPTIONS => ("api/v1/options", with_cors(StatusCode::OK.into_response())),
            _ => (
                "api/v1/groups",
                method_not_allowed("DELETE, GET, OPTIONS", "Method Not Allowed"),
            ),
        },
        p if p.starts_with("/api/v1/group/job") && matches!(method, Method::GET | Method::HEAD) => {
            (
                "api/v1/group",
                ui::group(&state, &p["/api/v1/group/job".len()..]),
            )
        }
        p if p.starts_with("/static/") && matches!(method, Method::GET | Method::HEAD) => {
            match ui::asset(&p["/static/".len()..]) {
                Some(r) => ("static", r),
                None => return not_found(),
            }
        }
        "/api/v1/status" if method == Method::GET => ("api/v1/status", api_status(&state)),
        "/api/v1/admin/wipe" if state.config.enable_admin_api => match method {
            Method::PUT => ("wipe", wipe(&state).await),
            Method::OPTIONS => ("api/v1/options", with_cors(StatusCode::OK.into_response())),
            _ => (
                "wipe",
                method_not_allowed("OPTIONS, PUT", "Method Not Allowed"),
            ),
        },
        "/-/healthy" | "/-/ready" if matches!(method, Method::GET | Method::HEAD) => (
            if path == "/-/healthy" {
                "healthy"
            } else {
                "ready"
            },
            text_response(StatusCode::OK, "OK"),
        ),
        "/-/quit" => ("quit", quit(&state, &method)),
        "" | "/" if matches!(method, Method::GET | Method::HEAD) => ("index", ui::index(&state)),
        _ => return not_found(),
    };
    state
        .metrics
        .count_request(response.status().as_u16(), handler, method_label(&method));
    response
}

/// The part of `path` after the route prefix, or `None` when the path is not
/// under it (`/pgwx` is not under `/pgw`).
pub(crate) fn strip_route_prefix<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

async fn push(state: &State, req: Request, key: Result<GroupingKey, KeyError>) -> Response {
    let started = Instant::now();
    let key = match key {
        Ok(k) => k,
        Err(e) => return text_response(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let method = req.method().clone();
    if method == Method::DELETE {
        // Upstream answers 202 whether or not the group existed, and ignores
        // any body.
        if state.store.delete(&key) {
            crate::debug!("deleted group", group = key);
            state.changed.notify_one();
        }
        if let Err(e) = state.store.durable().await {
            return text_response(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
        }
        return StatusCode::ACCEPTED.into_response();
    }
    let mode = if method == Method::PUT {
        Mode::Replace
    } else {
        Mode::Merge
    };
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let ttl = match requested_ttl(&headers) {
        Ok(t) => t.or(state.config.expire_after),
        Err(message) => return text_response(StatusCode::BAD_REQUEST, message),
    };
    let limit = state.config.body_limit;
    let read = tokio::time::timeout(state.config.read_timeout, read_body(body, limit)).await;
    let raw = match read {
        Ok(Ok(b)) => b,
        Ok(Err(BodyRead::TooLarge)) => {
            state.metrics.count_limit_hit(Limit::BodySize);
            return text_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "push body exceeds the limit of {limit} bytes (set by {})",
                    Limit::BodySize.flag()
                ),
            );
        }
        Ok(Err(BodyRead::Failed(e))) => {
            return text_response(
                StatusCode::BAD_REQUEST,
                format!("cannot read the push body: {e}"),
            )
        }
        Err(_) => {
            return text_response(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the push body did not arrive within {} (set by --web.read-timeout)",
                    humantime::format_duration(state.config.read_timeout)
                ),
            )
        }
    };
    let content_encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok());
    let body = match encoding::decode_body(content_encoding, &raw, limit) {
        Ok(b) => b,
        Err(e @ encoding::BodyError::TooLarge { .. }) => {
            state.metrics.count_limit_hit(Limit::BodySize);
            return text_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("{e} (set by {})", Limit::BodySize.flag()),
            );
        }
        Err(e) => return text_response(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let is_proto = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(proto::is_protobuf_content_type);
    let now = SystemTime::now();
    let bad = |e: String| (StatusCode::BAD_REQUEST, e);
    let outcome = if is_proto {
        proto::decode_delimited(&body)
            .map_err(|e| bad(e.to_string()))
            .and_then(|families| apply(state, key, families, mode, ttl, now))
    } else {
        text::parse_bytes(&body)
            .map_err(|e| bad(e.to_string()))
            .and_then(|families| apply(state, key, families, mode, ttl, now))
    };
    let method_name = method_label(&method);
    state
        .metrics
        .observe_push(method_name, started.elapsed(), raw.len());
    match outcome {
        Ok(()) => {
            state.changed.notify_one();
            // The answer promises the change is on disk.
            if let Err(e) = state.store.durable().await {
                return text_response(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
            }
            if state.config.disable_consistency_check {
                // Upstream answers 202 when the check is off, because it does
                // not wait for the write; pgw still checks (it is cheap here)
                // and answers 400 to a push it refuses.
                StatusCode::ACCEPTED.into_response()
            } else {
                StatusCode::OK.into_response()
            }
        }
        Err((status, message)) => {
            // The refusal may have set the group's failure time, and the
            // client will see that time on the next read: it is on disk
            // before the answer, like any other change. A log that cannot be
            // written is reported by the next push that succeeds.
            let _ = state.store.durable().await;
            text_response(status, message)
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
    TooLarge,
    Failed(String),
}

/// Reads a request body of at most `limit` bytes.
async fn read_body(mut body: Body, limit: usize) -> Result<Vec<u8>, BodyRead> {
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
            return Err(BodyRead::TooLarge);
        }
    }
    if seen > limit {
        Err(BodyRead::TooLarge)
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
) -> Result<(), (StatusCode, String)> {
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
    result.map_err(|e| {
        state.changed.notify_one();
        crate::warn!("push refused", group = failed_key, err = e);
        let status = match &e {
            PushError::Rejected(_) => StatusCode::BAD_REQUEST,
            PushError::Limit(hit) => {
                state.metrics.count_limit_hit(hit.limit);
                hit.limit.status()
            }
        };
        (status, e.to_string())
    })
}

fn scrape(state: &State, headers: &HeaderMap) -> Response {
    let own = state.metrics.render(state.store.stats());
    let mut body = state.scrape_buffers.take();
    state.store.write_exposition(&mut body, &own);
    let gzip = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|e| e.trim().split(';').next() == Some("gzip"))
        });
    let mut response = if gzip {
        // The fastest level: a scrape of a large store must stay cheap, and
        // exposition text compresses well even so.
        let mut enc = GzEncoder::new(
            Vec::with_capacity(body.len() / 8),
            flate2::Compression::fast(),
        );
        let compressed = enc.write_all(&body).and_then(|_| enc.finish());
        match compressed {
            Ok(c) => {
                state.scrape_buffers.give_back(body);
                let mut r = Response::new(Body::from(c));
                r.headers_mut()
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                r
            }
            Err(_) => Response::new(state.scrape_buffers.body(body)),
        }
    } else {
        Response::new(state.scrape_buffers.body(body))
    };
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// The headers upstream puts on every API answer.
fn with_cors(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        "Access-Control-Allow-Headers",
        HeaderValue::from_static("Accept, Authorization, Content-Type, Origin"),
    );
    h.insert(
        "Access-Control-Allow-Methods",
        HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
    );
    h.insert("Access-Control-Allow-Origin", HeaderValue::from_static("*"));
    h.insert(
        "Access-Control-Expose-Headers",
        HeaderValue::from_static("Date"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// `DELETE /api/v1/groups?match=SELECTOR&stale=DURATION&dry_run=true`:
/// deletes, in one step under the store's lock, every group that matches
/// the selector and was last pushed longer ago than `stale`. Clean-up
/// scripts that list and then delete race with fresh pushes; this does not.
async fn delete_groups(state: &State, query: Option<&str>) -> Response {
    let request = match CleanupRequest::parse(query.unwrap_or("")) {
        Ok(r) => r,
        Err(message) => return json_error(StatusCode::BAD_REQUEST, &message),
    };
    let now = SystemTime::now();
    let removed =
        state
            .store
            .delete_matching(&request.selector, request.stale, now, request.dry_run);
    if !request.dry_run && !removed.is_empty() {
        crate::info!(
            "deleted groups",
            count = removed.len(),
            selector = request.selector,
            stale = request
                .stale
                .map(|d| humantime::format_duration(d).to_string())
                .unwrap_or_default()
        );
        state.changed.notify_one();
        if let Err(e) = state.store.durable().await {
            return json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string());
        }
    }
    let groups: Vec<serde_json::Value> = removed
        .iter()
        .map(|r| {
            serde_json::json!({"labels": api::labels_json(&r.key), "push_time_seconds": r.push_time})
        })
        .collect();
    let body = serde_json::json!({
        "status": "success",
        "data": {"dry_run": request.dry_run, "groups": groups},
    });
    with_cors(Response::new(Body::from(body.to_string())))
}

/// The query of a bulk clean-up, checked.
#[derive(Debug)]
struct CleanupRequest {
    selector: Selector,
    stale: Option<Duration>,
    dry_run: bool,
}

impl CleanupRequest {
    fn parse(query: &str) -> Result<CleanupRequest, String> {
        let mut selector = None;
        let mut stale = None;
        let mut dry_run = false;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            // Query strings encode spaces as `+`.
            let value = value.replace('+', " ");
            let value = percent_decode_str(&value)
                .decode_utf8()
                .map_err(|_| format!("query parameter {name:?} is not valid UTF-8"))?;
            match name {
                "match" => {
                    selector = Some(value.parse::<Selector>().map_err(|e| e.to_string())?);
                }
                "stale" => {
                    let d = humantime::parse_duration(value.trim()).map_err(|e| {
                        format!("stale must be a duration such as 1h or 30m, got {value:?}: {e}")
                    })?;
                    stale = Some(d);
                }
                "dry_run" => {
                    dry_run = match value.as_ref() {
                        "" | "1" | "true" => true,
                        "0" | "false" => false,
                        other => {
                            return Err(format!("dry_run must be true or false, got {other:?}"))
                        }
                    }
                }
                other => {
                    return Err(format!(
                        "unknown query parameter {other:?} (expected match, stale, dry_run)"
                    ))
                }
            }
        }
        let selector = selector.unwrap_or_default();
        if selector.is_empty() && stale.is_none() {
            return Err(
                "give match=SELECTOR and/or stale=DURATION; to delete every group, use the admin \
                 API (PUT /api/v1/admin/wipe)"
                    .into(),
            );
        }
        Ok(CleanupRequest {
            selector,
            stale,
            dry_run,
        })
    }
}

fn json_error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({"status": "error", "error": message});
    let mut r = with_cors(Response::new(Body::from(body.to_string())));
    *r.status_mut() = status;
    r
}

fn api_metrics(state: &State) -> Response {
    let groups = state.store.groups();
    // The JSON is about twice the size of the exposition it comes from;
    // reserving it up front avoids growing a large buffer by doubling.
    let text_bytes: usize = groups
        .iter()
        .flat_map(|g| g.families.iter())
        .map(|f| f.text.len())
        .sum();
    let mut out = Vec::with_capacity(text_bytes * 2 + 4096);
    api::write_metrics_json(&mut out, &groups, SystemTime::now());
    with_cors(Response::new(Body::from(out)))
}

fn api_status(state: &State) -> Response {
    let flags: serde_json::Map<String, serde_json::Value> = state
        .config
        .flags
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    let data = serde_json::json!({
            "build_information": {
                "branch": "",
                "buildDate": "",
                "buildUser": "",
                "goVersion": "",
                "revision": "",
                "version": env!("CARGO_PKG_VERSION"),
            },
            "flags": flags,
            "start_time": api::rfc3339_nanos(state.start_time),
            "pgw": pgw_status(state),
    });
    // The envelope in upstream's field order: status, then data.
    let mut out = br#"{"status":"success","data":"#.to_vec();
    serde_json::to_writer(&mut out, &data).expect("writing to a Vec cannot fail");
    out.push(b'}');
    with_cors(Response::new(Body::from(out)))
}

/// pgw's own figures, beside upstream's status fields (clients ignore keys
/// they do not know): the store, push rate, expiry, persistence, limits.
fn pgw_status(state: &State) -> serde_json::Value {
    let stats = state.store.stats();
    let figures = state.metrics.figures();
    let c = &state.config;
    let duration = |d: Duration| humantime::format_duration(d).to_string();
    serde_json::json!({
        "groups": stats.groups,
        "series": stats.series,
        "pushes_total": figures.pushes_total,
        "pushes_per_second": (figures.pushes_per_second * 100.0).round() / 100.0,
        "expiry": {
            "expire_after": c.expire_after.map(duration).unwrap_or_default(),
            "expired_groups_total": figures.expired_groups_total,
        },
        "persistence": persistence_status(state),
        "admin_api": c.enable_admin_api,
        "limits": {
            "max_body_size": c.body_limit,
            "max_series_per_push": c.limits.max_series_per_push,
            "max_label_name_length": c.limits.max_label_name_length,
            "max_label_value_length": c.limits.max_label_value_length,
            "max_groups": c.limits.max_groups,
            "max_series": c.limits.max_series,
        },
    })
}

fn persistence_status(state: &State) -> serde_json::Value {
    let c = &state.config;
    let Some(file) = &c.persistence_file else {
        return serde_json::json!({"mode": "memory", "file": ""});
    };
    let mut v = serde_json::json!({"mode": "file", "file": file.display().to_string()});
    if let Some(j) = &state.journal {
        let s = j.status();
        v["state"] = match &s.error {
            None => "ok".into(),
            Some(e) => format!("failing: {e}").into(),
        };
        v["log_bytes"] = s.log_bytes.into();
        v["snapshot_bytes"] = s.snapshot_bytes.into();
        v["synced_changes"] = s.synced_seq.into();
        v["seconds_since_compaction"] = s.since_compaction.as_secs().into();
    }
    v
}

async fn wipe(state: &State) -> Response {
    // Upstream answers 202 first and deletes group by group through its write
    // queue (slow under load); pgw empties the store in one step under its
    // lock, then answers.
    let n = state.store.wipe();
    crate::info!("wiped the store", groups = n);
    state.changed.notify_one();
    if let Err(e) = state.store.durable().await {
        return with_cors(text_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            e.to_string(),
        ));
    }
    with_cors(StatusCode::ACCEPTED.into_response())
}

fn quit(state: &State, method: &Method) -> Response {
    if !matches!(*method, Method::PUT | Method::POST) {
        return method_not_allowed("POST, PUT", "Only POST or PUT requests allowed.");
    }
    if !state.config.enable_lifecycle {
        return text_response(StatusCode::FORBIDDEN, "Lifecycle API is not enabled.");
    }
    state.quit.notify_one();
    text_response(StatusCode::OK, "Requesting termination... Goodbye!")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_prefix_must_end_at_a_segment() {
        assert_eq!(strip_route_prefix("/pgw/metrics", "/pgw"), Some("/metrics"));
        assert_eq!(strip_route_prefix("/pgwx/metrics", "/pgw"), None);
        assert_eq!(strip_route_prefix("/metrics", ""), Some("/metrics"));
        assert_eq!(strip_route_prefix("/pgw", "/pgw"), Some(""));
    }
}

/// The router driven without a socket: one request in, one response out.
#[cfg(test)]
mod app_tests {
    use super::*;
    use crate::server::{Config, DEFAULT_BODY_LIMIT};
    use std::time::Duration;
    use tower::ServiceExt as _;

    fn config(prefix: &str) -> Config {
        Config {
            listen_addresses: vec!["127.0.0.1:0".into()],
            route_prefix: prefix.into(),
            telemetry_path: "/metrics".into(),
            external_url: None,
            enable_admin_api: true,
            enable_lifecycle: false,
            disable_consistency_check: false,
            persistence_file: None,
            persistence_interval: Duration::from_secs(300),
            persistence_recover: false,
            persistence_import: None,
            body_limit: DEFAULT_BODY_LIMIT,
            read_timeout: Duration::from_secs(60),
            expire_after: None,
            limits: crate::server::limits::Limits::default(),
            flags: vec![],
            security: Default::default(),
            read_header_timeout: Duration::from_secs(10),
        }
    }

    async fn call(app: &Router, method: &str, uri: &str, body: &str) -> (StatusCode, String) {
        let req = axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::from(body.to_string()))
            .unwrap();
        let res = app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn push_scrape_delete() {
        let app = app(State::in_memory(config("")));
        let (code, _) = call(
            &app,
            "PUT",
            "/metrics/job/j/instance/i",
            "# TYPE x counter\nx 1.5\n",
        )
        .await;
        assert_eq!(code, StatusCode::OK);
        let (code, body) = call(&app, "GET", "/metrics", "").await;
        assert_eq!(code, StatusCode::OK);
        assert!(
            body.contains("# TYPE x counter\nx{instance=\"i\",job=\"j\"} 1.5\n"),
            "{body}"
        );
        assert!(
            body.contains(
                "pushgateway_http_requests_total{code=\"200\",handler=\"push\",method=\"put\"} 1"
            ),
            "{body}"
        );
        let (code, _) = call(&app, "DELETE", "/metrics/job/j/instance/i", "").await;
        assert_eq!(code, StatusCode::ACCEPTED);
        let (_, body) = call(&app, "GET", "/api/v1/metrics", "").await;
        assert_eq!(body, r#"{"status":"success","data":[]}"#);
    }

    #[tokio::test]
    async fn percent_encoded_slash_splits_the_path_like_upstream() {
        let app = app(State::in_memory(config("")));
        let (code, body) = call(&app, "PUT", "/metrics/job/x/a%2Fb/c", "x 1\n").await;
        assert_eq!(code, StatusCode::BAD_REQUEST);
        assert!(body.contains("odd number of components"), "{body}");
        let (code, _) = call(&app, "PUT", "/metrics/job/x/l/a+b%20c", "x 1\n").await;
        assert_eq!(code, StatusCode::OK);
        let (_, body) = call(&app, "GET", "/api/v1/metrics", "").await;
        assert!(body.contains(r#""l":"a+b c""#), "{body}");
    }

    #[tokio::test]
    async fn wrong_methods_and_paths() {
        let app = app(State::in_memory(config("/pgw")));
        let (code, _) = call(&app, "GET", "/pgw/metrics/job/x", "").await;
        assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED);
        let (code, _) = call(&app, "GET", "/metrics", "").await;
        assert_eq!(code, StatusCode::NOT_FOUND);
        let (code, _) = call(&app, "PUT", "/metrics/job/x", "x 1\n").await;
        assert_eq!(code, StatusCode::NOT_FOUND);
        let (code, _) = call(&app, "PUT", "/pgw/metrics/job/x", "x 1\n").await;
        assert_eq!(code, StatusCode::OK);
        let (code, body) = call(&app, "PUT", "/pgw/-/quit", "").await;
        assert_eq!(
            (code, body.as_str()),
            (StatusCode::FORBIDDEN, "Lifecycle API is not enabled.\n")
        );
        let (code, _) = call(&app, "PUT", "/pgw/api/v1/admin/wipe", "").await;
        assert_eq!(code, StatusCode::ACCEPTED);
        let (_, body) = call(&app, "GET", "/pgw/api/v1/metrics", "").await;
        assert_eq!(body, r#"{"status":"success","data":[]}"#);
    }

    #[tokio::test]
    async fn bad_push_names_the_line_and_stores_nothing() {
        let app = app(State::in_memory(config("")));
        let (code, body) = call(&app, "PUT", "/metrics/job/x", "ok 1\nbad{ 1\n").await;
        assert_eq!(code, StatusCode::BAD_REQUEST);
        assert!(body.contains("line 2"), "{body}");
        let (_, body) = call(&app, "GET", "/api/v1/metrics", "").await;
        assert_eq!(body, r#"{"status":"success","data":[]}"#);
    }
}
