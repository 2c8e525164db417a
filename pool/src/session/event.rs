//! What a session tells its driver.

use std::time::Duration;

use super::{HangCause, ProbeMethod, ProbeResult, ShareId, ShareOutcome};
use crate::protocol::{Job, RequestId};

/// Output of [`super::Session::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// The pool accepted our login.
    LoggedIn {
        session_id: String,
        extensions: Vec<String>,
    },
    /// New work (from the login result or a `job` notification).
    Job(Job),
    /// The pool judged a share, or the session could not submit it.
    ShareResult {
        share_id: ShareId,
        outcome: ShareOutcome,
    },
    /// A reply arrived; `rtt` is from queueing the request to handling the reply.
    Replied {
        id: RequestId,
        method: &'static str,
        rtt: Duration,
    },
    /// A liveness probe was answered, went unanswered or was refused (the last two come just
    /// before the `Hung` they cause).
    Probe {
        method: ProbeMethod,
        result: ProbeResult,
    },
    /// The pool asked us to reconnect (to this address).
    Reconnect { host: String, port: u16 },
    /// The session is over; reconnect. Always the last event.
    Hung { cause: HangCause },
}
