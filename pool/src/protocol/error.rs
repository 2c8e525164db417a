//! Why a line from the wire could not be understood.

use super::target::TargetError;

/// A line was valid framing but not a message we understand.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("not JSON: {0}")]
    NotJson(#[from] serde_json::Error),
    #[error("not a JSON-RPC object")]
    NotAnObject,
    #[error("unknown method {0:?}")]
    UnknownMethod(String),
    #[error("bad params for {method}: {reason}")]
    BadParams { method: String, reason: String },
    #[error("response without a usable id")]
    MissingId,
    #[error("bad hex in {field}: {reason}")]
    BadHex { field: &'static str, reason: String },
    #[error("blob is {len} bytes, need at least {min}")]
    BlobTooShort { len: usize, min: usize },
    #[error("blob is {len} bytes, longer than the {max}-byte limit")]
    BlobTooLong { len: usize, max: usize },
    #[error("bad target: {0}")]
    Target(#[from] TargetError),
}
