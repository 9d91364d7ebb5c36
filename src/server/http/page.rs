//! The web page for operators: one HTML page (`ui/index.html`) with its
//! script and style sheet, embedded in the binary (no CDN), and the two
//! light API routes it reads so that it stays quick with tens of thousands
//! of groups: `GET /api/v1/groups` lists groups in brief (labels, times,
//! counts, expiry; no metric text), and `GET /api/v1/group/job/<JOB>/...`
//! returns one group's metrics as text, fetched only when a group is opened.

use std::time::SystemTime;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::grouping::GroupingKey;
use crate::server::http::{api, text_response};
use crate::server::State;

const INDEX_HTML: &str = include_str!("ui/index.html");
const APP_JS: &str = include_str!("ui/app.js");
const APP_CSS: &str = include_str!("ui/app.css");

/// The page, with the route prefix and version filled in so the script
/// builds its URLs from them and a new version's assets are not cached.
pub fn index(state: &State) -> Response {
    let html = INDEX_HTML
        .replace("{{PREFIX}}", &html_escape(&state.config.route_prefix))
        .replace("{{VERSION}}", env!("CARGO_PKG_VERSION"));
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        html,
    )
        .into_response()
}

/// An embedded asset under `/static/`, or `None` if there is no such file.
pub fn asset(name: &str) -> Option<Response> {
    let (body, kind) = match name {
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        _ => return None,
    };
    // The page asks for `?v=<version>`, so a day of caching is safe.
    Some(
        (
            [
                (header::CONTENT_TYPE, kind),
                (header::CACHE_CONTROL, "max-age=86400"),
            ],
            body,
        )
            .into_response(),
    )
}

/// `GET /api/v1/groups`: every group in brief, in grouping-key order.
pub fn groups(state: &State) -> Response {
    let now = SystemTime::now();
    let groups: Vec<serde_json::Value> = state
        .store
        .summaries()
        .into_iter()
        .map(|g| {
            let mut entry = serde_json::json!({
                "labels": api::labels_json(&g.key),
                "path": g.key.to_path(),
                "push_time_seconds": g.push_time,
                "push_failure_time_seconds": g.failure_time,
                "last_push_successful": g.failure_time <= g.push_time,
                "metrics": g.metrics,
                "series": g.series,
            });
            if let (Some(ttl), Some(left)) = (g.ttl, g.expires_in(now)) {
                entry["expire_after_seconds"] = ttl.as_secs_f64().into();
                entry["expires_in_seconds"] = api::millis(left).into();
            }
            entry
        })
        .collect();
    let body = serde_json::json!({"status": "success", "data": groups});
    json(body)
}

/// `GET /api/v1/group/job/<JOB>{/<LABEL>/<VALUE>}`: one group's metrics as
/// text exposition (the same path as its push URL after `/metrics`).
pub fn group(state: &State, rest: &str) -> Response {
    let key = match GroupingKey::from_path(rest) {
        Some(Ok(k)) => k,
        Some(Err(e)) => return text_response(StatusCode::BAD_REQUEST, e.to_string()),
        None => return text_response(StatusCode::NOT_FOUND, "no group path given"),
    };
    let mut out = Vec::new();
    if !state.store.write_group_exposition(&key, &mut out) {
        return text_response(StatusCode::NOT_FOUND, format!("no group {key}"));
    }
    let mut r = Response::new(Body::from(out));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

fn json(value: serde_json::Value) -> Response {
    let mut r = Response::new(Body::from(value.to_string()));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
