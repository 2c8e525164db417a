//! Where the agent's files live on a card (or, for the local card, on this machine).

use crate::discovery::{Card, CardKind};
use std::path::Path;

/// File names under the card's agent directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentPaths {
    pub dir: String,
    /// The binary to run: the copied one, or the local build itself for the local card.
    pub binary: String,
    pub pidfile: String,
    pub log: String,
    pub token: String,
    /// `flock`ed around every start and stop, so two of them never interleave on one card.
    pub lock: String,
    /// Present while the operator wants the agent stopped; the watchdog leaves such a card alone.
    pub stopped_marker: String,
}

impl AgentPaths {
    /// Paths for `card`; `local_binary` is only used for the local card (run in place).
    pub fn for_card(
        card: &Card,
        remote_dir: &str,
        local_dir: &Path,
        local_binary: Option<&Path>,
    ) -> AgentPaths {
        let dir = match card.kind {
            CardKind::Local => local_dir.to_string_lossy().into_owned(),
            _ => remote_dir.trim_end_matches('/').to_string(),
        };
        let dir = if dir.is_empty() { "/".to_string() } else { dir };
        let join = |name: &str| format!("{}/{name}", dir.trim_end_matches('/'));
        let binary = match (card.kind, local_binary) {
            (CardKind::Local, Some(b)) => b.to_string_lossy().into_owned(),
            _ => join("phirig-agent"),
        };
        AgentPaths {
            binary,
            pidfile: join("agent.pid"),
            log: join("agent.log"),
            token: join("agent.token"),
            lock: join("agent.lock"),
            stopped_marker: join("stopped"),
            dir,
        }
    }
}
