//! The body of every answer: complete when it is made (a scrape is written
//! whole before it is sent), as one piece of bytes or as several sent one
//! after the other. Scrapes and the JSON API answer with the bytes the
//! store kept for runs of groups, shared rather than copied into one
//! buffer: copying them was a third of the JSON API's CPU at 50,000 groups.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::body::{Bytes, Frame, SizeHint};

#[derive(Debug, Default)]
pub(crate) struct Body {
    /// None of them empty.
    pieces: VecDeque<Bytes>,
    /// Their bytes in all.
    len: u64,
}

impl Body {
    /// A body of `pieces`, sent in order.
    pub(crate) fn pieces(pieces: impl IntoIterator<Item = Bytes>) -> Body {
        let pieces: VecDeque<Bytes> = pieces.into_iter().filter(|p| !p.is_empty()).collect();
        let len = pieces.iter().map(|p| p.len() as u64).sum();
        Body { pieces, len }
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Body {
        Body::pieces([bytes])
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Body {
        Body::from(Bytes::from(bytes))
    }
}

impl From<String> for Body {
    fn from(text: String) -> Body {
        Body::from(Bytes::from(text))
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Body {
        Body::from(Bytes::from_static(text.as_bytes()))
    }
}

impl From<&'static [u8]> for Body {
    fn from(bytes: &'static [u8]) -> Body {
        Body::from(Bytes::from_static(bytes))
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        Poll::Ready(this.pieces.pop_front().map(|piece| {
            this.len -= piece.len() as u64;
            Ok(Frame::data(piece))
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.pieces.is_empty()
    }

    /// Exact, so that hyper sends a `Content-Length`, as for one piece.
    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len)
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt as _;

    use super::*;

    #[tokio::test]
    async fn pieces_are_sent_in_order_with_their_length() {
        let body = Body::pieces([
            Bytes::from_static(b"{\"a\":"),
            Bytes::new(),
            Bytes::from(vec![b'1']),
            Bytes::from_static(b"}"),
        ]);
        assert_eq!(hyper::body::Body::size_hint(&body).exact(), Some(7));
        assert!(!hyper::body::Body::is_end_stream(&body));
        let got = body.collect().await.unwrap().to_bytes();
        assert_eq!(&got[..], b"{\"a\":1}");
    }

    #[test]
    fn an_empty_body_ends_at_once() {
        let body = Body::default();
        assert!(hyper::body::Body::is_end_stream(&body));
        assert_eq!(hyper::body::Body::size_hint(&body).exact(), Some(0));
        assert!(hyper::body::Body::is_end_stream(&Body::pieces([
            Bytes::new()
        ])));
    }
}
