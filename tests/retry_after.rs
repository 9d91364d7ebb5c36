//! The clients honour `Retry-After`: a fake gateway (axum, on a port of its
//! own) answers 503 or 429 with `Retry-After: 1` a given number of times,
//! then 200, and counts what it was sent; `pgw push` and `pgw relay` come
//! back after the wait, and give up as before when no retry is left.

use std::io::{Read as _, Write as _};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::util::*;

/// A gateway that refuses the first `refusals` requests with `status` and
/// `Retry-After: 1`, then accepts everything; the counter is every request
/// it was sent.
fn busy_gateway(status: u16, refusals: usize, retry_after: bool) -> (String, Arc<AtomicUsize>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let app = axum::Router::new().fallback(move || {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            use axum::response::IntoResponse as _;
            if n >= refusals {
                return axum::http::StatusCode::OK.into_response();
            }
            let code = axum::http::StatusCode::from_u16(status).unwrap();
            if retry_after {
                (code, [("Retry-After", "1")], "etcd is unavailable").into_response()
            } else {
                (code, "etcd is unavailable").into_response()
            }
        }
    });
    (serve_app(app), seen)
}

/// An exporter that serves `body` to every scrape.
fn exporter(body: &'static str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { break };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn push_waits_what_a_503_asks_for_then_succeeds() {
    let (url, seen) = busy_gateway(503, 1, true);
    expect(0, &["push", "-g", &url, "-j", "retry", "a=1"]);
    assert_eq!(seen.load(Ordering::SeqCst), 2, "one refusal, one retry");
}

#[test]
fn push_without_retries_fails_with_the_503() {
    let (url, seen) = busy_gateway(503, 1, true);
    let run = expect(
        7,
        &["push", "-g", &url, "-j", "retry", "--retries", "0", "a=1"],
    );
    assert!(
        run.stderr
            .contains("503 Service Unavailable: etcd is unavailable"),
        "{run:#?}"
    );
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

#[test]
fn a_429_is_retried_only_when_it_says_when() {
    let (url, seen) = busy_gateway(429, 1, true);
    expect(0, &["push", "-g", &url, "-j", "retry", "a=1"]);
    assert_eq!(seen.load(Ordering::SeqCst), 2);
    // Without Retry-After a 429 is a refusal like any 4xx: exit 6, once.
    let (url, seen) = busy_gateway(429, 1, false);
    let run = expect(6, &["push", "-g", &url, "-j", "retry", "a=1"]);
    assert!(run.stderr.contains("429 Too Many Requests"), "{run:#?}");
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    // With it, but no retry left, the refusal keeps its exit code.
    let (url, seen) = busy_gateway(429, 5, true);
    let run = expect(
        6,
        &["push", "-g", &url, "-j", "retry", "--retries", "1", "a=1"],
    );
    assert!(run.stderr.contains("429 Too Many Requests"), "{run:#?}");
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}

#[test]
fn relay_once_waits_what_a_503_asks_for() {
    let exporter = exporter("m_total 3\n");
    let (url, seen) = busy_gateway(503, 1, true);
    expect(
        0,
        &[
            "relay",
            "--from",
            &exporter,
            "-g",
            &url,
            "-j",
            "r",
            "--instance",
            "h",
        ],
    );
    assert_eq!(seen.load(Ordering::SeqCst), 2, "one refusal, one retry");
    let (url, seen) = busy_gateway(503, 1, true);
    expect(
        7,
        &[
            "relay",
            "--from",
            &exporter,
            "-g",
            &url,
            "-j",
            "r",
            "--instance",
            "h",
            "--retries",
            "0",
        ],
    );
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}
