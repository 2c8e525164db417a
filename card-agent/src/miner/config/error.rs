//! Why the miner's configuration was refused: flags, the JSON file, the token file.

use phirig_kernel::cn::KernelError;
use phirig_pool::protocol::UrlError;

use crate::worker::PerAlgoError;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config {path} is not valid: {source}")]
    Parse {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("no pool given: use -o URL or pools[] in the config")]
    NoPool,
    #[error("pool {url}: {source}")]
    Url {
        url: String,
        #[source]
        source: UrlError,
    },
    #[error("no wallet/login given for pool {0}: use -u")]
    NoUser(String),
    #[error(transparent)]
    Algorithm(#[from] KernelError),
    /// A per-algorithm value out of range (`cpu.intensity` above 5).
    #[error("{key}: {source}")]
    Cpu {
        key: &'static str,
        source: PerAlgoError,
    },
    /// A config sent through the API or reloaded; the API keeps its detail out of the log.
    #[error("config is not valid: {0}")]
    Body(#[from] BodyError),
    #[error("cannot read the access token file {path}: {source}")]
    TokenFile {
        path: String,
        source: std::io::Error,
    },
}

/// Why a config body (`PUT /1/config`, a reload) is not usable. Parser messages may quote a
/// value, which could be a secret.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("expected a JSON object")]
    NotAnObject,
    #[error(transparent)]
    Client(#[from] phirig_pool::client::ConfigError),
}
