//! What the watchdog decided and why: typed so a journal can record it.

use crate::discovery::CardState;
use serde::Serialize;
use std::fmt;

/// One watchdog decision about one card: what to do and why. The host journals it as the
/// coarser `phirig_journal::SupervisionAction`, this as its detail (`host/src/rig/journal.rs`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WatchdogAction {
    pub card: String,
    pub kind: ActionKind,
    pub cause: Cause,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Stop (if needed) and start the agent again.
    Restart,
    /// Copy, verify and start the agent again.
    Redeploy,
    /// The card stopped answering; probed again after `retry_in_ms` (growing, capped).
    MarkUnreachable { retry_in_ms: u64 },
    /// An unreachable card answers again.
    Recovered,
    /// Write `reset` to the card's sysfs state.
    ResetCard,
    /// Write `boot` to the card's sysfs state.
    BootCard,
    /// The card is in `error` and resets are not enabled: needs a person.
    MarkFailed,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    AgentGone,
    BinaryGone,
    LowHashRate {
        rate: f64,
        benchmark: f64,
        fraction: f64,
        for_secs: u64,
    },
    Unreachable {
        reason: String,
    },
    Reachable,
    CardState {
        state: String,
    },
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActionKind::Restart => f.write_str("restart agent"),
            ActionKind::Redeploy => f.write_str("redeploy agent"),
            ActionKind::MarkUnreachable { retry_in_ms } => {
                write!(f, "mark unreachable, retry in {retry_in_ms} ms")
            }
            ActionKind::Recovered => f.write_str("mark reachable"),
            ActionKind::ResetCard => f.write_str("reset card"),
            ActionKind::BootCard => f.write_str("boot card"),
            ActionKind::MarkFailed => f.write_str("mark failed"),
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::AgentGone => f.write_str("agent process gone"),
            Cause::BinaryGone => f.write_str("agent binary gone"),
            Cause::LowHashRate {
                rate,
                benchmark,
                fraction,
                for_secs,
            } => write!(
                f,
                "hash rate {rate:.1} H/s below {fraction} of benchmark {benchmark:.1} H/s for {for_secs} s"
            ),
            Cause::Unreachable { reason } => write!(f, "unreachable: {reason}"),
            Cause::Reachable => f.write_str("card answers again"),
            Cause::CardState { state } => write!(f, "MPSS state {state}"),
        }
    }
}

impl WatchdogAction {
    pub(crate) fn new(card: &str, kind: ActionKind, cause: Cause) -> Self {
        WatchdogAction {
            card: card.to_string(),
            kind,
            cause,
        }
    }
}

/// What a probe of one card saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// sysfs state for MPSS cards; `None` for others.
    pub mpss_state: Option<CardState>,
    /// The agent as seen over ssh, or why the card could not be reached.
    pub agent: Result<AgentSeen, String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgentSeen {
    pub binary_present: bool,
    pub running: bool,
    /// Current hash rate (H/s) when known.
    pub hash_rate: Option<f64>,
    /// The operator stopped the agent on purpose (`phirig stop`): not a failure to repair.
    pub stopped_by_operator: bool,
}
