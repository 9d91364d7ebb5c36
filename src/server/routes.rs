//! Every HTTP route of `pgw serve`, under the route prefix, with the official
//! Pushgateway's paths, methods, status codes and bodies. Routing is done by
//! hand on the percent-decoded path, because upstream decodes the path before
//! routing (`%2F` in a push path acts as a real `/`), which a router
//! matching the raw path would not do.

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

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
use crate::server::store::{self, Mode};
use crate::server::{api, security, State};

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

fn text_response(code: StatusCode, body: impl Into<String>) -> Response {
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
        "/api/v1/status" if method == Method::GET => ("api/v1/status", api_status(&state)),
        "/api/v1/admin/wipe" if state.config.enable_admin_api => match method {
            Method::PUT => ("wipe", wipe(&state)),
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
        "" | "/" if matches!(method, Method::GET | Method::HEAD) => ("status", index(&state)),
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
        return StatusCode::ACCEPTED.into_response();
    }
    let mode = if method == Method::PUT {
        Mode::Replace
    } else {
        Mode::Merge
    };
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let limit = state.config.body_limit;
    let raw = match read_body(body, limit).await {
        Ok(b) => b,
        Err(BodyRead::TooLarge) => {
            return text_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("push body exceeds the limit of {limit} bytes"),
            )
        }
        Err(BodyRead::Failed(e)) => {
            return text_response(
                StatusCode::BAD_REQUEST,
                format!("cannot read the push body: {e}"),
            )
        }
    };
    let content_encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok());
    let body = match encoding::decode_body(content_encoding, &raw, limit) {
        Ok(b) => b,
        Err(e @ encoding::BodyError::TooLarge { .. }) => {
            return text_response(StatusCode::PAYLOAD_TOO_LARGE, e.to_string())
        }
        Err(e) => return text_response(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let is_proto = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(proto::is_protobuf_content_type);
    let now = SystemTime::now();
    let outcome = if is_proto {
        proto::decode_delimited(&body)
            .map_err(|e| e.to_string())
            .and_then(|families| apply(state, key, families, mode, now))
    } else {
        text::parse_bytes(&body)
            .map_err(|e| e.to_string())
            .and_then(|families| apply(state, key, families, mode, now))
    };
    let method_name = method_label(&method);
    state
        .metrics
        .observe_push(method_name, started.elapsed(), raw.len());
    match outcome {
        Ok(()) => {
            state.changed.notify_one();
            if state.config.disable_consistency_check {
                // Upstream answers 202 when the check is off, because it does
                // not wait for the write; pgw still checks (it is cheap here)
                // and answers 400 to a push it refuses.
                StatusCode::ACCEPTED.into_response()
            } else {
                StatusCode::OK.into_response()
            }
        }
        Err(message) => text_response(StatusCode::BAD_REQUEST, message),
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
    now: SystemTime,
) -> Result<(), String> {
    let failed_key = key.clone();
    // As upstream, a push that parses but is refused marks its group (if it
    // exists) as failed, which `push_failure_time_seconds` shows. The store
    // records its own refusals under its lock; those of `prepare` are
    // recorded here.
    let result = match store::prepare(key, families, now) {
        Ok(prepared) => state.store.push(prepared, mode, now),
        Err(rejection) => {
            state.store.record_failure(&failed_key, now);
            Err(rejection)
        }
    };
    result.map_err(|rejection| {
        state.changed.notify_one();
        crate::warn!("push refused", group = failed_key, err = rejection);
        rejection.to_string()
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
    api::write_metrics_json(&mut out, &groups);
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
    });
    // The envelope in upstream's field order: status, then data.
    let mut out = br#"{"status":"success","data":"#.to_vec();
    serde_json::to_writer(&mut out, &data).expect("writing to a Vec cannot fail");
    out.push(b'}');
    with_cors(Response::new(Body::from(out)))
}

fn wipe(state: &State) -> Response {
    // Upstream answers 202 first and deletes group by group through its write
    // queue (slow under load); pgw empties the store in one step under its
    // lock, then answers.
    let n = state.store.wipe();
    crate::info!("wiped the store", groups = n);
    state.changed.notify_one();
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

/// A plain index of the endpoints, until the web page exists.
fn index(state: &State) -> Response {
    let p = &state.config.route_prefix;
    let stats = state.store.stats();
    text_response(
        StatusCode::OK,
        format!(
            "pgw {} — Pushgateway\n\n{} groups, {} series\n\nscrape:   {p}{}\ngroups:   {p}/api/v1/metrics\nstatus:   {p}/api/v1/status\npush:     PUT|POST|DELETE {p}/metrics/job/<JOB>{{/<LABEL>/<VALUE>}}\n",
            env!("CARGO_PKG_VERSION"),
            stats.groups,
            stats.series,
            state.config.telemetry_path,
        ),
    )
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
            body_limit: DEFAULT_BODY_LIMIT,
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
        let app = app(State::new(config("")));
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
        let app = app(State::new(config("")));
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
        let app = app(State::new(config("/pgw")));
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
        let app = app(State::new(config("")));
        let (code, body) = call(&app, "PUT", "/metrics/job/x", "ok 1\nbad{ 1\n").await;
        assert_eq!(code, StatusCode::BAD_REQUEST);
        assert!(body.contains("line 2"), "{body}");
        let (_, body) = call(&app, "GET", "/api/v1/metrics", "").await;
        assert_eq!(body, r#"{"status":"success","data":[]}"#);
    }
}
