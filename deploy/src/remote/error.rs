//! Failures of deploy, start, stop and status, each naming the card and the step.

use crate::discovery::DiscoveryError;
use crate::ssh::SshError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Ssh(#[from] SshError),
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    #[error("card {card}: no suitable agent binary for {arch}: {reason}")]
    NoSuitableBinary {
        card: String,
        arch: String,
        reason: String,
    },
    #[error("reading local agent binary {path}: {source}")]
    LocalBinary {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    // The upload is removed and nothing is started when this happens.
    #[error("card {card}: copy of {path} is corrupt (SHA3-256 on card {actual}, expected {expected}); not started")]
    DigestMismatch {
        card: String,
        path: String,
        expected: String,
        actual: String,
    },
    #[error("card {card}: {step} failed (exit {code}): {stderr}")]
    RemoteCommand {
        card: String,
        step: &'static str,
        code: i32,
        stderr: String,
    },
    #[error("card {card}: {step}: unexpected reply {reply:?}")]
    BadReply {
        card: String,
        step: &'static str,
        reply: String,
    },
    #[error("card {card}: {step} ({path}): {source}")]
    StopRecord {
        card: String,
        step: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("card {card}: cannot tell this host's address towards the card: {detail}")]
    HostAddress { card: String, detail: String },
    #[error("card {card}: agent not healthy at {url}: {detail}")]
    Health {
        card: String,
        url: String,
        detail: String,
    },
}

impl DeployError {
    /// True when the card could not be reached at all (the watchdog backs off on these).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, DeployError::Ssh(e) if e.is_unreachable())
    }
}
