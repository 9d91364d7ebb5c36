//! Request body decompression (Content-Encoding gzip and framed snappy), with a
//! limit on the decompressed size.
use std::borrow::Cow;

#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("body exceeds the limit of {limit} bytes after decompression")]
    TooLarge { limit: usize },
    #[error("{encoding}: {message}")]
    Corrupt {
        encoding: &'static str,
        message: String,
    },
}

/// Decodes `body` according to `Content-Encoding` (case-insensitive; unknown
/// encodings and `identity` pass the body through as it is).
pub fn decode_body<'a>(
    _content_encoding: Option<&str>,
    _body: &'a [u8],
    _limit: usize,
) -> Result<Cow<'a, [u8]>, BodyError> {
    todo!()
}
