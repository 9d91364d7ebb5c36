//! Serving one listener: the accept loop, the TLS handshake, HTTP/1.1 and
//! HTTP/2 with hyper, connection timeouts and graceful shutdown.
//!
//! HTTP/2 is spoken over TLS only, when the client asks for it by ALPN
//! (`h2`), as Go's server does; plain HTTP is HTTP/1.1 only (no h2c), and
//! `http_server_config.http2: false` keeps TLS at HTTP/1.1 too (the TLS
//! config then offers no `h2`). Both protocols go through the same
//! handler, so limits, budgets and authentication are the same.
//!
//! Timeouts stop slow-loris and idle clients from holding connections (and
//! their memory) forever: the TLS handshake must finish within the header
//! timeout, and hyper closes a connection whose request headers are not
//! complete within it, counted from when it starts waiting for a request, so
//! the same limit closes keep-alive connections idle between requests.
//! On shutdown the listener closes, idle connections are closed, and the
//! requests in flight are answered before [`serve`] returns.

use std::sync::Arc;
use std::time::Duration;

use std::convert::Infallible;

use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::server::http::App;
use crate::server::State;

/// Most requests at once on one HTTP/2 connection: one client cannot open
/// more than a few HTTP/1.1 clients would (hyper's default, made explicit).
const MAX_STREAMS: u32 = 200;

/// Serves `listener` until `stop` turns true, then drains its connections.
pub(crate) async fn serve(
    listener: TcpListener,
    app: App,
    state: Arc<State>,
    tls: bool,
    header_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true);
    let http = Arc::new(http);
    let mut h2 = http2::Builder::new(TokioExecutor::new());
    // A peer that stops answering pings is dropped, as an HTTP/1.1 client
    // that stops sending is by the header timeout.
    h2.timer(TokioTimer::new())
        .keep_alive_interval(header_timeout)
        .keep_alive_timeout(header_timeout)
        .max_concurrent_streams(MAX_STREAMS);
    let h2 = Arc::new(h2);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment
                    // instead of spinning, as Go's server does.
                    crate::error!("cannot accept a connection", err = e);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stopped(&mut stop) => break,
        };
        // As Go's server does: an answer sent in several writes (the
        // pieces of a scrape or of the JSON API) would otherwise hold back
        // its last short segment until the client acknowledged the rest,
        // and a client that delays its acknowledgements adds 40 ms to the
        // answer.
        if let Err(e) = stream.set_nodelay(true) {
            crate::debug!("cannot set TCP_NODELAY", peer = peer, err = e);
        }
        let app = app.clone();
        let service = service_fn(move |req| {
            let app = app.clone();
            async move { Ok::<_, Infallible>(app.handle(req).await) }
        });
        let http = http.clone();
        let h2 = h2.clone();
        let watcher = graceful.watcher();
        if tls {
            let Some(config) = state.security.get().tls.clone() else {
                continue;
            };
            let acceptor = tokio_rustls::TlsAcceptor::from(config);
            tokio::spawn(async move {
                let stream =
                    match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            crate::debug!("TLS handshake failed", peer = peer, err = e);
                            return;
                        }
                        Err(_) => {
                            crate::debug!("TLS handshake timed out", peer = peer);
                            return;
                        }
                    };
                let negotiated_h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                let result = if negotiated_h2 {
                    watcher
                        .watch(h2.serve_connection(TokioIo::new(stream), service))
                        .await
                } else {
                    watcher
                        .watch(http.serve_connection(TokioIo::new(stream), service))
                        .await
                };
                if let Err(e) = result {
                    crate::debug!("connection ended", peer = peer, err = e);
                }
            });
        } else {
            tokio::spawn(async move {
                let conn = http.serve_connection(TokioIo::new(stream), service);
                if let Err(e) = watcher.watch(conn).await {
                    crate::debug!("connection ended", peer = peer, err = e);
                }
            });
        }
    }
    drop(listener);
    graceful.shutdown().await;
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    // A closed channel means the server is going away too.
    let _ = stop.wait_for(|s| *s).await;
}
