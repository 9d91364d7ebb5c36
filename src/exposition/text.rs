//! Strict parser for the Prometheus text format 0.0.4.
use super::Family;

/// A parse error, naming the 1-based line where it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("text format parsing error in line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

/// Parses a whole body. Accepts a UTF-8 byte-order mark, CRLF line endings and a
/// missing final newline.
pub fn parse(_input: &str) -> Result<Vec<Family<'_>>, ParseError> {
    todo!()
}

/// Like [`parse`], for raw bytes: invalid UTF-8 is reported with its line.
pub fn parse_bytes(_input: &[u8]) -> Result<Vec<Family<'_>>, ParseError> {
    todo!()
}
