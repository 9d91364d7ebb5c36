//! The web page for operators: one HTML page (`ui/index.html`) with its
//! script and style sheet, embedded in the binary (no CDN). The two light
//! API routes it reads are in `api.rs`.

use hyper::header::{self, HeaderValue};

use crate::server::http::{Body, Response};
use crate::server::State;

const INDEX_HTML: &str = include_str!("ui/index.html");
const APP_JS: &str = include_str!("ui/app.js");
const APP_CSS: &str = include_str!("ui/app.css");

/// The page, with the route prefix and version filled in so the script
/// builds its URLs from them and a new version's assets are not cached.
pub(super) fn index(state: &State) -> Response {
    let html = INDEX_HTML
        .replace("{{PREFIX}}", &html_escape(&state.config.route_prefix))
        .replace("{{VERSION}}", env!("CARGO_PKG_VERSION"))
        .replace("{{UTF8_NAMES}}", &state.config.utf8_names.to_string());
    page(Body::from(html), "text/html; charset=utf-8", "no-cache")
}

/// An embedded asset under `/static/`, or `None` if there is no such file.
pub(super) fn asset(name: &str) -> Option<Response> {
    let (body, kind) = match name {
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        _ => return None,
    };
    // The page asks for `?v=<version>`, so a day of caching is safe.
    Some(page(Body::from(body), kind, "max-age=86400"))
}

fn page(body: Body, kind: &'static str, cache: &'static str) -> Response {
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    r
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
