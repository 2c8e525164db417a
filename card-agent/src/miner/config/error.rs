//! Why the miner's configuration was refused: flags, the JSON file, the token file.

use crate::worker::PerAlgoError;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config {path} is not valid: {reason}")]
    Parse { path: String, reason: String },
    #[error("no pool given: use -o URL or pools[] in the config")]
    NoPool,
    #[error("pool {url}: {reason}")]
    Url { url: String, reason: String },
    #[error("no wallet/login given for pool {0}: use -u")]
    NoUser(String),
    #[error("{0}")]
    Algorithm(String),
    /// A per-algorithm value out of range (`cpu.intensity` above 5).
    #[error("{key}: {source}")]
    Cpu {
        key: &'static str,
        source: PerAlgoError,
    },
    #[error("config is not valid: {0}")]
    Body(String),
    #[error("cannot read the access token file {path}: {source}")]
    TokenFile {
        path: String,
        source: std::io::Error,
    },
}
