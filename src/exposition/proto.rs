//! The delimited protobuf format (`io.prometheus.client.MetricFamily`).
use super::Family;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

/// True when a Content-Type selects the delimited protobuf format.
pub fn is_protobuf_content_type(_content_type: &str) -> bool {
    todo!()
}

/// Decodes a stream of varint-length-delimited MetricFamily messages.
pub fn decode_delimited(_buf: &[u8]) -> Result<Vec<Family<'static>>, DecodeError> {
    todo!()
}

/// Encodes families as a delimited stream.
pub fn encode_delimited(_families: &[Family<'_>]) -> Vec<u8> {
    todo!()
}
