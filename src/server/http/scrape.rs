//! Scrapes: `GET /metrics` negotiates the format, writes the whole store
//! and sends it (gzipped if asked): the runs of groups the store kept are
//! sent as they are, and what is written around them (headers, the server's
//! own families, families whose bytes depend on the scraper's escaping)
//! goes into a buffer from a small pool, back in the pool once the response
//! body has been sent: a large buffer allocated afresh each time costs page
//! faults on every scrape (the allocator hands large blocks back to the
//! kernel).

use std::io::Write as _;
use std::sync::Arc;

use flate2::write::GzEncoder;
use hyper::body::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use parking_lot::Mutex;

use prost::encoding::decode_varint;
use prost::Message as _;

use crate::exposition::negotiate::{negotiate, negotiate_encoding, Encoding, Format, Negotiated};
use crate::exposition::proto::pb;
use crate::exposition::prototext;
use crate::server::http::{Body, Response};
use crate::server::store::{OwnFamily, Pieces};
use crate::server::State;

/// `GET /metrics`: the whole store and the server's own metrics, in the
/// format the scraper's `Accept` header chooses (text 0.0.4 or protobuf, as
/// the official server negotiates) and gzipped when its `Accept-Encoding`
/// prefers that.
pub(super) fn scrape(state: &State, headers: &HeaderMap) -> Response {
    // Go's `Header.Get`: only the first Accept header counts.
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let negotiated = negotiate(accept);
    let encoding = negotiate_encoding(
        headers
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok()),
    );
    let healthy = state.journal.as_ref().map(|j| j.unhealthy().is_none());
    let own = state.metrics.render(
        state.store.stats(),
        healthy,
        state.inflight.used(),
        state.etcd.as_ref().map(|e| e.figures()),
    );
    let mut body = Pieces::new(state.scrape_buffers.take());
    write_body(state, negotiated, &own, &mut body);
    let mut response = if encoding == Encoding::Gzip {
        // The fastest level: a scrape of a large store must stay cheap, and
        // exposition text compresses well even so.
        let mut enc = GzEncoder::new(
            Vec::with_capacity(body.len() / 8),
            flate2::Compression::fast(),
        );
        let compressed = body
            .each()
            .try_for_each(|piece| enc.write_all(piece))
            .and_then(|_| enc.finish());
        match compressed {
            Ok(c) => {
                state.scrape_buffers.give_back(body.finish().1);
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
    // No `Vary: Accept`, as upstream sends none.
    let content_type = HeaderValue::try_from(negotiated.content_type())
        .expect("the Content-Types negotiated are ASCII");
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    response
}

/// Writes the scrape in the negotiated format, names that are not
/// legacy-valid escaped by the negotiated scheme (legacy names are the same
/// under every scheme).
fn write_body(state: &State, negotiated: Negotiated, own: &[OwnFamily], out: &mut Pieces) {
    let escaping = negotiated.escaping;
    match negotiated.format {
        Format::Text => state.store.exposition_pieces(out, own, escaping),
        Format::ProtoDelimited => state.store.protobuf_pieces(out, own, escaping),
        // Rare (nothing in Prometheus asks for them): the delimited scrape
        // read back into messages and printed.
        Format::ProtoText | Format::ProtoCompact => {
            let mut delimited = state.scrape_buffers.take();
            state.store.write_protobuf(&mut delimited, own, escaping);
            let compact = negotiated.format == Format::ProtoCompact;
            let mut rest = &delimited[..];
            while !rest.is_empty() {
                // The store wrote these messages, so they always decode.
                let Ok(len) = decode_varint(&mut rest) else {
                    break;
                };
                let (message, after) = rest.split_at((len as usize).min(rest.len()));
                rest = after;
                if let Ok(family) = pb::MetricFamily::decode(message) {
                    prototext::write_family(out.buf(), &family, compact);
                }
            }
            state.scrape_buffers.give_back(delimited);
        }
    }
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

    /// A response body of `answer`'s pieces that returns the buffer it was
    /// written into to the pool once it has been sent.
    pub(crate) fn body(self: &Arc<Self>, answer: Pieces) -> Body {
        let (mut pieces, buf) = answer.finish();
        pieces.push(Bytes::from_owner(Pooled {
            buf,
            pool: self.clone(),
        }));
        Body::pieces(pieces)
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
        let body = pool.body(Pieces::new(buf));
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
