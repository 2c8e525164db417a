//! Failures of running a command on a card.

/// Why a remote (or local) command could not be run to completion.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error("card {card}: cannot start {program}: {source}")]
    Spawn {
        card: String,
        program: String,
        #[source]
        source: std::io::Error,
    },
    // ssh exits 255 for its own failures (no route, refused, auth, host key).
    #[error("card {card} unreachable: {detail}")]
    Unreachable { card: String, detail: String },
    #[error("card {card}: command timed out after {secs} s")]
    Timeout { card: String, secs: u64 },
    #[error("card {card}: sending data failed: {source}")]
    Input {
        card: String,
        #[source]
        source: std::io::Error,
    },
    #[error("card {card}: {source}")]
    Io {
        card: String,
        #[source]
        source: std::io::Error,
    },
}

impl SshError {
    /// True when the card itself could not be reached (as opposed to a command failing on it).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            SshError::Unreachable { .. } | SshError::Timeout { .. }
        )
    }
}
