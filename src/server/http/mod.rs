//! Every HTTP route of `pgw serve`, under the route prefix, with the official
//! Pushgateway's paths, methods, status codes and bodies. Routing is done by
//! hand on the percent-decoded path, because upstream decodes the path before
//! routing (`%2F` in a push path acts as a real `/`), which a router
//! matching the raw path would not do. [`app`] is the whole HTTP API as one
//! value that takes a request and gives the answer, so tests drive it without
//! a socket; [`listen`] serves it over hyper. The handlers live beside it:
//! [`push`], [`scrape`], [`api`] (the JSON API and its writer), [`page`]
//! (the web page); every error they meet becomes an [`HttpError`], and
//! every answer carries a [`Body`].

use std::sync::Arc;

use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, StatusCode};
use percent_encoding::percent_decode_str;

use crate::grouping::{GroupingKey, KeyError};
use crate::server::{security, State};

pub(crate) mod api;
pub(crate) mod bind;
mod body;
mod error;
pub(crate) mod listen;
pub(crate) mod page;
mod push;
pub(crate) mod scrape;
#[cfg(test)]
mod tests;

pub(crate) use error::HttpError;

pub(crate) use body::Body;
pub(crate) type Response = hyper::Response<Body>;

/// The HTTP API: the security guard (rate limit, credentials), then the
/// route. Cheap to clone: one per connection.
#[derive(Clone)]
pub(crate) struct App {
    state: Arc<State>,
}

pub(crate) fn app(state: Arc<State>) -> App {
    App { state }
}

impl App {
    /// Answers one request. Generic over the body, so that tests can hand in
    /// a body of bytes where the server hands in hyper's.
    pub(crate) async fn handle<B>(&self, req: Request<B>) -> Response
    where
        B: hyper::body::Body<Data = Bytes> + Unpin,
        B::Error: std::fmt::Display,
    {
        let state = &self.state;
        let mut response = match security::guard(state, &req).await {
            Err(denied) => HttpError::from(denied).respond(&state.metrics),
            Ok(()) => dispatch(state, req).await,
        };
        security::add_headers(state, response.headers_mut());
        response
    }
}

pub(crate) fn text_response(code: StatusCode, body: impl Into<String>) -> Response {
    let mut body = body.into();
    if !body.is_empty() && !body.ends_with('\n') {
        body.push('\n');
    }
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = code;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// An answer with no body.
pub(crate) fn status_response(code: StatusCode) -> Response {
    let mut r = Response::new(Body::default());
    *r.status_mut() = code;
    r
}

/// The headers upstream puts on every API answer.
pub(crate) fn with_cors(mut r: Response) -> Response {
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

const NOT_ALLOWED: &str = "Method Not Allowed";

async fn dispatch<B>(state: &State, req: Request<B>) -> Response
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let respond = |result: Result<Response, HttpError>| match result {
        Ok(r) => r,
        Err(e) => e.respond(&state.metrics),
    };
    let raw_path = req.uri().path();
    let Some(rel) = crate::server::strip_route_prefix(raw_path, &state.config.route_prefix) else {
        return respond(Err(HttpError::not_found()));
    };
    let path = match percent_decode_str(rel).decode_utf8() {
        Ok(path) => path.into_owned(),
        Err(_) => return respond(Err(KeyError::BadUtf8Path.into())),
    };
    let method = req.method().clone();

    if let Some(rest) = path.strip_prefix("/metrics/job") {
        let Some(key) = GroupingKey::from_path_with(rest, state.config.utf8_names) else {
            return respond(Err(HttpError::not_found()));
        };
        let handler = if method == Method::DELETE {
            "delete"
        } else {
            "push"
        };
        let result = match method {
            Method::PUT | Method::POST | Method::DELETE => push::push(state, req, key).await,
            Method::OPTIONS => {
                let mut r = status_response(StatusCode::OK);
                r.headers_mut().insert(
                    header::ALLOW,
                    HeaderValue::from_static("DELETE, OPTIONS, POST, PUT"),
                );
                Ok(r)
            }
            _ => Err(HttpError::method_not_allowed(
                "DELETE, OPTIONS, POST, PUT",
                NOT_ALLOWED,
            )),
        };
        let response = respond(result);
        state
            .metrics
            .count_request(response.status().as_u16(), handler, method_label(&method));
        return response;
    }
    if path == state.config.telemetry_path {
        return respond(match method {
            Method::GET | Method::HEAD => Ok(scrape::scrape(state, req.headers())),
            _ => Err(HttpError::method_not_allowed("GET", NOT_ALLOWED)),
        });
    }
    let options = || Ok(with_cors(status_response(StatusCode::OK)));
    let (handler, result) = match path.as_str() {
        "/api/v1/metrics" | "/api/v1/status" if method == Method::OPTIONS => {
            ("api/v1/options", options())
        }
        "/api/v1/metrics" if method == Method::GET => ("api/v1/metrics", Ok(api::metrics(state))),
        "/api/v1/groups" => match method {
            Method::GET | Method::HEAD => ("api/v1/groups", Ok(api::groups(state))),
            Method::DELETE => (
                "api/v1/groups",
                api::delete_groups(state, req.uri().query()).await,
            ),
            Method::OPTIONS => ("api/v1/options", options()),
            _ => (
                "api/v1/groups",
                Err(HttpError::method_not_allowed(
                    "DELETE, GET, OPTIONS",
                    NOT_ALLOWED,
                )),
            ),
        },
        p if p.starts_with("/api/v1/group/job") && matches!(method, Method::GET | Method::HEAD) => {
            (
                "api/v1/group",
                api::group(state, &p["/api/v1/group/job".len()..]),
            )
        }
        p if p.starts_with("/static/") && matches!(method, Method::GET | Method::HEAD) => {
            match page::asset(&p["/static/".len()..]) {
                Some(r) => ("static", Ok(r)),
                None => return respond(Err(HttpError::not_found())),
            }
        }
        "/api/v1/status" if method == Method::GET => ("api/v1/status", Ok(api::status(state))),
        "/api/v1/admin/wipe" if state.config.enable_admin_api => match method {
            Method::PUT => ("wipe", api::wipe(state).await),
            Method::OPTIONS => ("api/v1/options", options()),
            _ => (
                "wipe",
                Err(HttpError::method_not_allowed("OPTIONS, PUT", NOT_ALLOWED)),
            ),
        },
        // No lock and no I/O: a liveness probe answers at once, even while
        // a large push holds the store or the disk is stuck.
        "/-/healthy" if matches!(method, Method::GET | Method::HEAD) => {
            ("healthy", Ok(text_response(StatusCode::OK, "OK")))
        }
        // Not ready while the log refuses changes: a load balancer sends
        // pushes elsewhere, while scrapes and reads keep working here.
        "/-/ready" if matches!(method, Method::GET | Method::HEAD) => (
            "ready",
            match state.journal.as_ref().and_then(|j| j.unhealthy()) {
                None => match state.etcd.as_ref().and_then(|e| e.unready()) {
                    None => Ok(text_response(StatusCode::OK, "OK")),
                    Some(why) => Err(HttpError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("not ready: {why}"),
                    )),
                },
                Some(why) => Err(HttpError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("not ready: pushes are refused: {why}"),
                )),
            },
        ),
        "/-/quit" => ("quit", quit(state, &method)),
        "" | "/" if matches!(method, Method::GET | Method::HEAD) => {
            ("index", Ok(page::index(state)))
        }
        _ => return respond(Err(HttpError::not_found())),
    };
    let response = respond(result);
    state
        .metrics
        .count_request(response.status().as_u16(), handler, method_label(&method));
    response
}

fn quit(state: &State, method: &Method) -> Result<Response, HttpError> {
    if !matches!(*method, Method::PUT | Method::POST) {
        return Err(HttpError::method_not_allowed(
            "POST, PUT",
            "Only POST or PUT requests allowed.",
        ));
    }
    if !state.config.enable_lifecycle {
        return Err(HttpError::new(
            StatusCode::FORBIDDEN,
            "Lifecycle API is not enabled.",
        ));
    }
    state.quit.notify_one();
    Ok(text_response(
        StatusCode::OK,
        "Requesting termination... Goodbye!",
    ))
}
