//! Why the proxy could not start.

use std::net::SocketAddr;

use phirig_pool::client::ConfigError;

/// A proxy that cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("upstream configuration: {0}")]
    Upstream(#[from] ConfigError),
    #[error("cannot listen for cards on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}
