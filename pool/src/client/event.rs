//! What the client tells the agent or host.

use crate::protocol::Job;
use crate::session::{HangCause, ShareId, ShareOutcome};

/// Output of the client's event channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// New work; replaces any previous job.
    Job(Job),
    /// The one outcome of a share returned by [`super::ClientHandle::submit`].
    ShareOutcome { id: ShareId, outcome: ShareOutcome },
    /// Logged in to a pool (index into the configured list).
    Connected { pool: usize, url: String },
    /// A session ended; the cause is also logged (one line) and counted.
    Disconnected { pool: usize, cause: HangCause },
    /// A sick higher-priority pool answered a background login probe.
    PoolRecovered { pool: usize },
}
