//! Why the pool server could not start.

use std::net::SocketAddr;

/// Errors from [`super::PoolServer::start`]. Connection-level trouble never surfaces here: a bad
/// client is answered or dropped, and the server keeps serving the others.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("bad server config: {0}")]
    Config(String),
}
