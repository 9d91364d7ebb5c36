//! Scrapes: `GET /metrics` writes the whole store into a pooled buffer and
//! sends it (gzipped if asked). A scrape of a large store writes several
//! megabytes; allocating that afresh each time costs page faults on every
//! scrape (the allocator hands large blocks back to the kernel), so the
//! buffer goes back to a small pool once the response body has been sent.

use std::io::Write as _;
use std::sync::Arc;

use flate2::write::GzEncoder;
use hyper::body::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use parking_lot::Mutex;

use crate::exposition::names::Escaping;
use crate::server::http::{Body, Response};
use crate::server::State;

/// `GET /metrics`: the whole store and the server's own metrics, gzipped
/// when the scraper accepts it.
pub(super) fn scrape(state: &State, headers: &HeaderMap) -> Response {
    let healthy = state.journal.as_ref().map(|j| j.unhealthy().is_none());
    let own = state
        .metrics
        .render(state.store.stats(), healthy, state.inflight.used());
    let mut body = state.scrape_buffers.take();
    // The official default for a scraper that names no escaping scheme.
    state
        .store
        .write_exposition(&mut body, &own, Escaping::Underscores);
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

/// Buffers kept for reuse: one per scrape that runs at the same time, and
/// scrapes rarely overlap.
const MAX_POOLED: usize = 2;

#[derive(Default)]
pub(crate) struct BufferPool {
    free: Mutex<Vec<Vec<u8>>>,
}

impl BufferPool {
    /// An empty buffer, with the capacity of an earlier one if there is one.
    pub(crate) fn take(&self) -> Vec<u8> {
        self.free.lock().pop().unwrap_or_default()
    }

    /// Returns a buffer that is no longer needed.
    pub(crate) fn give_back(&self, mut buf: Vec<u8>) {
        buf.clear();
        let mut free = self.free.lock();
        if free.len() < MAX_POOLED {
            free.push(buf);
        }
    }

    /// A response body that returns `buf` to the pool once it has been sent.
    pub(crate) fn body(self: &Arc<Self>, buf: Vec<u8>) -> Body {
        Body::from(Bytes::from_owner(Pooled {
            buf,
            pool: self.clone(),
        }))
    }
}

struct Pooled {
    buf: Vec<u8>,
    pool: Arc<BufferPool>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        self.pool.give_back(std::mem::take(&mut self.buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_after_the_body_is_dropped() {
        let pool = Arc::new(BufferPool::default());
        let mut buf = pool.take();
        buf.extend_from_slice(&[7; 1000]);
        let body = pool.body(buf);
        assert!(pool.free.lock().is_empty());
        drop(body);
        let again = pool.take();
        assert!(again.is_empty() && again.capacity() >= 1000);
    }

    #[test]
    fn the_pool_keeps_at_most_a_few_buffers() {
        let pool = BufferPool::default();
        for _ in 0..5 {
            pool.give_back(Vec::with_capacity(10));
        }
        assert_eq!(pool.free.lock().len(), MAX_POOLED);
    }
}
