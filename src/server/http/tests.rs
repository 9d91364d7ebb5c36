//! The HTTP API driven without a socket: one request in, one response out.

use super::*;
use crate::server::Config;
use http_body_util::BodyExt as _;

fn config(prefix: &str) -> Config {
    Config {
        route_prefix: prefix.into(),
        enable_admin_api: true,
        ..Config::for_tests()
    }
}

async fn call(app: &App, method: &str, uri: &str, body: &str) -> (StatusCode, String) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::from(body.to_string()))
        .unwrap();
    let res = app.handle(req).await;
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
