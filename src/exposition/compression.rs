//! Request body decompression (Content-Encoding gzip and framed snappy), with a
//! limit on the decompressed size.
//!
//! Upstream (`decodeRequest` in `main.go`) lower-cases the header and knows
//! two encodings: `gzip` and, since 1.6.0, framed `snappy`. Every other value,
//! `identity` and `br` included, is ignored and the body read as it came. The
//! limit is pgw's own (upstream has none): a decoder is read through
//! `Read::take`, so a small body that inflates to gigabytes stops at the
//! limit instead of filling memory.

use std::borrow::Cow;
use std::io::{self, Read};

#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    #[error("body exceeds the limit of {limit} bytes after decompression")]
    TooLarge { limit: usize },
    #[error("{encoding}: {message}")]
    Corrupt {
        encoding: &'static str,
        message: String,
    },
}

/// True when `Content-Encoding` names an encoding that [`decode_body`]
/// decompresses (the others pass the body through).
pub(crate) fn is_compressed(content_encoding: Option<&str>) -> bool {
    let encoding = content_encoding.map(str::trim).unwrap_or("");
    encoding.eq_ignore_ascii_case("gzip") || encoding.eq_ignore_ascii_case("snappy")
}

/// Decodes `body` according to `Content-Encoding` (case-insensitive; unknown
/// encodings and `identity` pass the body through as it is).
pub(crate) fn decode_body<'a>(
    content_encoding: Option<&str>,
    body: &'a [u8],
    limit: usize,
) -> Result<Cow<'a, [u8]>, BodyError> {
    let encoding = content_encoding.map(str::trim).unwrap_or("");
    if encoding.eq_ignore_ascii_case("gzip") {
        // Multi-member: `cat a.gz b.gz` is valid gzip, and Go's reader
        // (multistream by default) reads every member.
        let decoder = flate2::read::MultiGzDecoder::new(body);
        read_limited(decoder, limit, "gzip", gzip_message).map(Cow::Owned)
    } else if encoding.eq_ignore_ascii_case("snappy") {
        let decoder = snap::read::FrameDecoder::new(body);
        read_limited(decoder, limit, "snappy", snappy_message).map(Cow::Owned)
    } else if body.len() > limit {
        Err(BodyError::TooLarge { limit })
    } else {
        Ok(Cow::Borrowed(body))
    }
}

/// Reads at most `limit + 1` bytes: one byte past the limit is enough to know
/// the body is too large, and nothing more is inflated.
fn read_limited(
    decoder: impl Read,
    limit: usize,
    encoding: &'static str,
    message: fn(&io::Error) -> String,
) -> Result<Vec<u8>, BodyError> {
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut out = Vec::new();
    decoder
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| BodyError::Corrupt {
            encoding,
            message: message(&e),
        })?;
    if out.len() > limit {
        return Err(BodyError::TooLarge { limit });
    }
    Ok(out)
}

/// Go's wording where there is an equivalent, since clients and scripts see
/// this text in the 400 answer: upstream says `gzip: invalid header` for a
/// body that is not gzip, and `unexpected EOF` for one cut short.
fn gzip_message(e: &io::Error) -> String {
    let text = e.to_string();
    if e.kind() == io::ErrorKind::UnexpectedEof {
        "unexpected EOF".to_owned()
    } else if text.contains("header") {
        "invalid header".to_owned()
    } else if text.contains("checksum") {
        "invalid checksum".to_owned()
    } else {
        text
    }
}

/// Go's snappy reader reports every malformed stream as `snappy: corrupt
/// input`; the snap crate's own text is more precise, so it is kept.
fn snappy_message(e: &io::Error) -> String {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        "unexpected EOF".to_owned()
    } else {
        format!("corrupt input: {e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    use flate2::write::GzEncoder;
    use flate2::Compression;

    const TEXT: &[u8] = b"# TYPE a counter\na 1\n";

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn snappy(data: &[u8]) -> Vec<u8> {
        let mut encoder = snap::write::FrameEncoder::new(Vec::new());
        encoder.write_all(data).unwrap();
        encoder.into_inner().unwrap()
    }

    #[test]
    fn gzip_round_trip() {
        let body = gzip(TEXT);
        let decoded = decode_body(Some("gzip"), &body, 1024).unwrap();
        assert_eq!(&*decoded, TEXT);
    }

    #[test]
    fn gzip_multi_member() {
        let mut body = gzip(b"a 1\n");
        body.extend_from_slice(&gzip(b"b 2\n"));
        let decoded = decode_body(Some("gzip"), &body, 1024).unwrap();
        assert_eq!(&*decoded, b"a 1\nb 2\n");
    }

    #[test]
    fn encoding_name_is_case_insensitive_and_trimmed() {
        let body = gzip(TEXT);
        for name in ["GZIP", "Gzip", " gzip ", "gZiP\t"] {
            let decoded = decode_body(Some(name), &body, 1024).unwrap();
            assert_eq!(&*decoded, TEXT, "{name:?}");
        }
        let body = snappy(TEXT);
        let decoded = decode_body(Some("SNAPPY"), &body, 1024).unwrap();
        assert_eq!(&*decoded, TEXT);
    }

    #[test]
    fn not_gzip_is_invalid_header() {
        let err = decode_body(Some("gzip"), TEXT, 1024).unwrap_err();
        assert!(
            matches!(
                err,
                BodyError::Corrupt {
                    encoding: "gzip",
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "gzip: invalid header");
    }

    #[test]
    fn truncated_gzip_is_corrupt() {
        let body = gzip(TEXT);
        let err = decode_body(Some("gzip"), &body[..body.len() / 2], 1024).unwrap_err();
        assert_eq!(err.to_string(), "gzip: unexpected EOF");
    }

    #[test]
    fn damaged_gzip_checksum_is_corrupt() {
        let mut body = gzip(TEXT);
        let crc = body.len() - 8;
        body[crc] ^= 0xff;
        let err = decode_body(Some("gzip"), &body, 1024).unwrap_err();
        assert!(
            matches!(
                err,
                BodyError::Corrupt {
                    encoding: "gzip",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn snappy_round_trip() {
        let data = TEXT.repeat(1000);
        let body = snappy(&data);
        assert!(body.len() < data.len());
        let decoded = decode_body(Some("snappy"), &body, data.len()).unwrap();
        assert_eq!(&*decoded, &data[..]);
    }

    #[test]
    fn snappy_block_format_is_corrupt() {
        // Plain text is not a snappy frame stream.
        let err = decode_body(Some("snappy"), TEXT, 1024).unwrap_err();
        assert!(
            matches!(
                err,
                BodyError::Corrupt {
                    encoding: "snappy",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().starts_with("snappy: "), "{err}");
    }

    #[test]
    fn gzip_bomb_stops_at_the_limit() {
        let zeros = vec![0u8; 1 << 20];
        let body = gzip(&zeros);
        assert!(body.len() < 4096);
        let err = decode_body(Some("gzip"), &body, 1024).unwrap_err();
        assert!(
            matches!(err, BodyError::TooLarge { limit: 1024 }),
            "{err:?}"
        );
    }

    #[test]
    fn large_gzip_bomb_is_not_inflated() {
        // 64 MiB of zeros compress to about 64 KiB; the limit is hit after the
        // first megabyte, long before the rest would be inflated.
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..64 {
            encoder.write_all(&chunk).unwrap();
        }
        let body = encoder.finish().unwrap();
        let err = decode_body(Some("gzip"), &body, 1 << 20).unwrap_err();
        assert!(
            matches!(err, BodyError::TooLarge { limit } if limit == 1 << 20),
            "{err:?}"
        );
    }

    #[test]
    fn snappy_bomb_stops_at_the_limit() {
        let body = snappy(&vec![0u8; 1 << 20]);
        let err = decode_body(Some("snappy"), &body, 1024).unwrap_err();
        assert!(matches!(err, BodyError::TooLarge { .. }), "{err:?}");
    }

    #[test]
    fn exactly_the_limit_is_accepted() {
        let body = gzip(TEXT);
        let decoded = decode_body(Some("gzip"), &body, TEXT.len()).unwrap();
        assert_eq!(&*decoded, TEXT);
        let err = decode_body(Some("gzip"), &body, TEXT.len() - 1).unwrap_err();
        assert!(matches!(err, BodyError::TooLarge { .. }), "{err:?}");
    }

    #[test]
    fn unknown_encodings_pass_through() {
        for encoding in [
            None,
            Some(""),
            Some("identity"),
            Some("br"),
            Some("deflate"),
        ] {
            let decoded = decode_body(encoding, TEXT, 1024).unwrap();
            assert!(matches!(decoded, Cow::Borrowed(_)), "{encoding:?}");
            assert_eq!(&*decoded, TEXT);
        }
    }

    #[test]
    fn pass_through_checks_the_limit() {
        assert!(decode_body(None, TEXT, TEXT.len()).is_ok());
        let err = decode_body(Some("identity"), TEXT, TEXT.len() - 1).unwrap_err();
        assert!(matches!(err, BodyError::TooLarge { .. }), "{err:?}");
    }

    #[test]
    fn empty_bodies() {
        assert!(decode_body(None, b"", 0).unwrap().is_empty());
        // An empty snappy stream is an empty body, as with Go's reader.
        assert!(decode_body(Some("snappy"), b"", 0).unwrap().is_empty());
    }
}
