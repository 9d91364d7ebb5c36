//! The one error type of the HTTP handlers: a status and a message, in the
//! shape its route answers errors in (plain text, or the JSON API's
//! envelope), with the headers some refusals carry (`Allow`,
//! `WWW-Authenticate`, the CORS headers of the API) and the limit it hit,
//! counted when it is answered. Every error a handler meets converts into
//! it, so handlers return `Result` and use `?`.

use hyper::header::{self, HeaderName, HeaderValue};
use hyper::StatusCode;

use crate::exposition::compression::BodyError;
use crate::grouping::KeyError;
use crate::server::etcd::CommitError;
use crate::server::http::{text_response, with_cors, Body, Response};
use crate::server::limits::{Limit, LimitHit};
use crate::server::metrics::OwnMetrics;
use crate::server::security::auth::Refusal;
use crate::server::security::Denied;
use crate::server::store::{NotDurable, PushError, Refused};
use crate::server::writes::WriteError;

#[derive(Debug)]
pub(crate) struct HttpError {
    status: StatusCode,
    message: String,
    /// `{"status":"error","error":MESSAGE}`, as the API answers, instead of
    /// the message as text.
    json: bool,
    /// The API's CORS headers (which include its JSON content type).
    cors: bool,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// The limit that refused the request, for `pushgateway_limit_hits_total`.
    limit: Option<Limit>,
}

impl HttpError {
    /// A plain-text error.
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> HttpError {
        HttpError {
            status,
            message: message.into(),
            json: false,
            cors: false,
            headers: Vec::new(),
            limit: None,
        }
    }

    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    pub(crate) fn not_found() -> HttpError {
        HttpError::new(StatusCode::NOT_FOUND, "404 page not found")
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> HttpError {
        HttpError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 405, naming the methods the path takes.
    pub(crate) fn method_not_allowed(allow: &'static str, message: &str) -> HttpError {
        HttpError::new(StatusCode::METHOD_NOT_ALLOWED, message)
            .header(header::ALLOW, HeaderValue::from_static(allow))
    }

    /// A limit refused the request. A full in-flight budget is a passing
    /// state, so its 503 says when to retry.
    pub(crate) fn limit(limit: Limit, message: impl Into<String>) -> HttpError {
        let e = HttpError {
            limit: Some(limit),
            ..HttpError::new(limit.status(), message)
        };
        if limit == Limit::InflightBytes {
            e.header(header::RETRY_AFTER, HeaderValue::from_static("1"))
        } else {
            e
        }
    }

    /// Answered in the JSON API's envelope, with its CORS headers.
    pub(crate) fn json(self) -> HttpError {
        HttpError {
            json: true,
            cors: true,
            ..self
        }
    }

    /// Answered as text, with the API's CORS headers.
    pub(crate) fn cors(self) -> HttpError {
        HttpError { cors: true, ..self }
    }

    /// Adds a header; a name may come more than once.
    pub(crate) fn header(mut self, name: HeaderName, value: HeaderValue) -> HttpError {
        self.headers.push((name, value));
        self
    }

    /// The answer, after counting the limit it hit.
    pub(crate) fn respond(self, metrics: &OwnMetrics) -> Response {
        if let Some(limit) = self.limit {
            metrics.count_limit_hit(limit);
        }
        let mut response = if self.json {
            let body = serde_json::json!({"status": "error", "error": self.message});
            let mut r = Response::new(Body::from(body.to_string()));
            *r.status_mut() = self.status;
            r
        } else {
            text_response(self.status, self.message)
        };
        if self.cors {
            response = with_cors(response);
        }
        for (name, value) in self.headers {
            response.headers_mut().append(name, value);
        }
        response
    }
}

impl From<KeyError> for HttpError {
    fn from(e: KeyError) -> HttpError {
        HttpError::bad_request(e.to_string())
    }
}

impl From<NotDurable> for HttpError {
    fn from(e: NotDurable) -> HttpError {
        HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

/// 507 Insufficient Storage: the change was not made, and may succeed once
/// the log can be written again.
impl From<Refused> for HttpError {
    fn from(e: Refused) -> HttpError {
        HttpError::new(StatusCode::INSUFFICIENT_STORAGE, e.to_string())
    }
}

impl From<LimitHit> for HttpError {
    fn from(hit: LimitHit) -> HttpError {
        HttpError::limit(hit.limit, hit.to_string())
    }
}

impl From<PushError> for HttpError {
    fn from(e: PushError) -> HttpError {
        match e {
            PushError::Rejected(r) => HttpError::bad_request(r.to_string()),
            PushError::Limit(hit) => hit.into(),
            PushError::Refused(r) => r.into(),
        }
    }
}

impl From<CommitError> for HttpError {
    fn from(e: CommitError) -> HttpError {
        match e {
            // Worth retrying elsewhere or soon: etcd could not be reached or
            // had no quorum, and nothing was changed here.
            CommitError::Unavailable(_) => {
                HttpError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
                    .header(header::RETRY_AFTER, HeaderValue::from_static("5"))
            }
            CommitError::TooLarge(_) => {
                HttpError::new(StatusCode::PAYLOAD_TOO_LARGE, e.to_string())
            }
        }
    }
}

impl From<WriteError> for HttpError {
    fn from(e: WriteError) -> HttpError {
        match e {
            WriteError::Push(e) => e.into(),
            WriteError::Refused(e) => e.into(),
            WriteError::NotDurable(e) => e.into(),
            WriteError::Etcd(e) => e.into(),
        }
    }
}

impl From<BodyError> for HttpError {
    fn from(e: BodyError) -> HttpError {
        match e {
            e @ BodyError::TooLarge { .. } => HttpError::limit(
                Limit::BodySize,
                format!("{e} (set by {})", Limit::BodySize.flag()),
            ),
            e => HttpError::bad_request(e.to_string()),
        }
    }
}

impl From<Denied> for HttpError {
    fn from(denied: Denied) -> HttpError {
        match denied {
            // Upstream's answer to a request over the rate limit.
            Denied::RateLimited => {
                HttpError::new(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests")
            }
            Denied::Refused(refusal) => refusal.into(),
        }
    }
}

impl From<Refusal> for HttpError {
    fn from(refusal: Refusal) -> HttpError {
        let mut e = HttpError::new(refusal.status, refusal.message);
        for challenge in refusal.challenges {
            e = e.header(header::WWW_AUTHENTICATE, challenge);
        }
        e
    }
}
