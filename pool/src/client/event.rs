//! What the client tells the agent or host.

use crate::protocol::Job;
use crate::session::{HangCause, ProbeMethod, ProbeResult, ShareId, ShareOutcome};

/// Output of the client's event channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// New work; replaces any previous job.
    Job(Job),
    /// The one outcome of a share returned by [`super::ClientHandle::submit`].
    ShareOutcome { id: ShareId, outcome: ShareOutcome },
    /// Logged in to a pool (index into the configured list); `url` is where we actually are
    /// (differs from the configured one after a `client.reconnect` to another port).
    Connected { pool: usize, url: String },
    /// A session or connect attempt ended; the cause is also logged (one line) and counted
    /// in [`super::ClientStats::reconnects`].
    Disconnected { pool: usize, cause: HangCause },
    /// A sick higher-priority pool answered a background login probe.
    PoolRecovered { pool: usize },
    /// A liveness probe of the mining pool went differently from its last one (answered,
    /// unanswered, refused; or another method): reported on change, not for every probe.
    Probe {
        pool: usize,
        method: ProbeMethod,
        result: ProbeResult,
    },
}
