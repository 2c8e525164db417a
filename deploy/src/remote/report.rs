//! What deploy, start, stop and status report back, serialisable for `--json`.

use super::config::DigestMethod;
use serde::Serialize;

/// What a copy did.
#[derive(Debug, Clone, Serialize)]
pub struct UploadReport {
    pub card: String,
    pub local_binary: String,
    pub remote_binary: String,
    pub sha3_256: String,
    pub digest_method: DigestMethod,
    pub no_aesni: bool,
}

/// A started agent.
#[derive(Debug, Clone, Serialize)]
pub struct StartReport {
    pub card: String,
    pub pid: u32,
    pub url: String,
    /// A plain start found this agent already running and started no second one.
    pub already_running: bool,
    /// A start that stops first found this agent running and stopped it: never two per card.
    pub replaced: Option<Replaced>,
}

/// The agent a start found running and stopped before starting its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Replaced {
    pub pid: u32,
    pub outcome: StopOutcome,
}

/// What `stop` found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopOutcome {
    NotRunning,
    Terminated,
    /// It ignored TERM for the grace period.
    Killed,
}

/// The agent on one card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentStatus {
    pub card: String,
    pub binary_present: bool,
    /// Pid from the pid file when that process is alive.
    pub pid: Option<u32>,
    /// The health check answered 2xx (only tried when the process is alive).
    pub healthy: bool,
    /// The operator stopped it (`phirig stop`); the watchdog leaves it stopped until a start.
    pub stopped_by_operator: bool,
}

impl AgentStatus {
    /// One word for the cards table.
    pub fn summary(&self) -> &'static str {
        match (self.pid.is_some(), self.healthy, self.binary_present) {
            (true, true, _) => "running",
            (true, false, _) => "unhealthy",
            (false, _, true) if self.stopped_by_operator => "stopped",
            // Crashed, killed, or never started: the watchdog would restart it.
            (false, _, true) => "not running",
            (false, _, false) => "no binary",
        }
    }
}
