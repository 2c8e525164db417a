//! Stratum wire format: messages, targets and difficulty, bounded line framing, pool URLs.
//!
//! Monero-style JSON-RPC over newline-delimited TCP. Both directions serialize *and* parse here,
//! so the client (`crate::client`) and the reference server (`crate::server`) share one
//! definition of every message.

mod algo_offer;
mod algo_perf;
mod best;
mod error;
mod getjob;
mod job;
mod line;
mod message;
mod nicehash;
mod target;
mod url;

pub use algo_offer::AlgoOffer;
pub use algo_perf::AlgoPerf;
pub use best::{hash_difficulty, BestDifficulties, BEST_KEPT};
pub use error::ProtocolError;
pub use getjob::{GetJobParams, GETJOB_METHOD};
pub use job::Job;
pub use line::{LineError, LineFramer, MAX_LINE_LEN};
pub use message::{
    ClientMessage, JobParams, KeepalivedParams, LoginParams, LoginResult, ReconnectParams,
    RequestId, Response, RpcError, ServerMessage, StatusResult, SubmitParams,
};
pub use nicehash::{blob_has_nicehash_nonce, is_nicehash_host, NICEHASH_EXTENSION};
pub use target::{hash_value, Target, TargetError};
pub use url::{PoolUrl, UrlError};

/// Offset of the 4-byte little-endian nonce inside a Monero hashing blob.
pub const NONCE_OFFSET: usize = 39;
/// Length of the nonce in bytes.
pub const NONCE_LEN: usize = 4;
/// In NiceHash mode the pool owns this blob byte (the nonce's top byte); miners never change it.
pub const NICEHASH_BYTE_OFFSET: usize = 42;
/// Shortest blob that still holds the whole nonce.
pub const MIN_BLOB_LEN: usize = NONCE_OFFSET + NONCE_LEN;
/// Longest blob a job may carry: xmrig's limit (some CryptoNote coins' headers are far longer than
/// Monero's 76 bytes); anything longer is refused as a job, not mined.
pub const MAX_BLOB_LEN: usize = 408;

/// Extension a pool advertises when it wants `algo` in every submit.
pub const ALGO_EXTENSION: &str = "algo";
/// Extension a pool advertises when it accepts `keepalived`.
pub const KEEPALIVE_EXTENSION: &str = "keepalive";
