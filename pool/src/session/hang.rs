//! Why a pool session ended; the driver logs it, counts it and decides where to reconnect.

use std::fmt;

use super::ProbeMethod;

/// The reason a session is over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HangCause {
    /// TCP connect (or TLS handshake) not finished within the connect timeout.
    ConnectTimeout,
    /// Connect refused or failed otherwise.
    ConnectFailed(String),
    /// TLS handshake failed (including a certificate fingerprint mismatch).
    Tls(String),
    /// A request got no reply within the response timeout.
    ResponseTimeout { method: &'static str },
    /// No new job within the idle timeout.
    IdleTimeout,
    /// A zombie pool: the standby announced a higher block than this pool's work for longer
    /// than [`super::STALE_HEIGHT_BOUND`].
    StaleHeight { ours: u64, theirs: u64 },
    /// Our writes made no progress within the write-stall timeout: the pool stopped reading.
    WriteStalled,
    /// The pool closed the connection.
    Closed,
    /// The pool closed the connection right after a liveness probe: it does not take that
    /// method. Not a sick pool; the next session on it probes another way.
    ProbeRefused { method: ProbeMethod },
    /// Read or write failed (reset, broken pipe, ...).
    Io(String),
    /// A line that is not JSON or not a message we understand.
    Malformed(String),
    /// A line longer than the framing limit.
    Oversized,
    /// The pool refused our login.
    LoginRejected(String),
    /// The pool sent `client.reconnect`.
    ReconnectRequested,
    /// We left a healthy backup because a higher-priority pool answered a login again.
    FailBack { to: usize },
    /// The client is shutting down.
    Shutdown,
    /// The pool list or timeouts were changed (configuration reload): start over on the new list.
    Reconfigured,
}

impl HangCause {
    /// A short stable name, used as the key of the reconnects-by-cause counters.
    pub fn kind(&self) -> &'static str {
        match self {
            HangCause::ConnectTimeout => "connect_timeout",
            HangCause::ConnectFailed(_) => "connect_failed",
            HangCause::Tls(_) => "tls",
            HangCause::ResponseTimeout { .. } => "response_timeout",
            HangCause::IdleTimeout => "idle_timeout",
            HangCause::StaleHeight { .. } => "stale_height",
            HangCause::WriteStalled => "write_stalled",
            HangCause::Closed => "closed",
            HangCause::ProbeRefused { .. } => "probe_refused",
            HangCause::Io(_) => "io",
            HangCause::Malformed(_) => "malformed",
            HangCause::Oversized => "oversized",
            HangCause::LoginRejected(_) => "login_rejected",
            HangCause::ReconnectRequested => "reconnect_requested",
            HangCause::FailBack { .. } => "fail_back",
            HangCause::Shutdown => "shutdown",
            HangCause::Reconfigured => "reconfigured",
        }
    }

    /// Whether the pool itself misbehaved (so failover should move away from it).
    pub fn pool_is_sick(&self) -> bool {
        !matches!(
            self,
            HangCause::ReconnectRequested
                | HangCause::ProbeRefused { .. }
                | HangCause::FailBack { .. }
                | HangCause::Shutdown
                | HangCause::Reconfigured
        )
    }
}

impl fmt::Display for HangCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HangCause::ConnectTimeout => f.write_str("connect timed out"),
            HangCause::ConnectFailed(e) => write!(f, "connect failed: {e}"),
            HangCause::Tls(e) => write!(f, "TLS failed: {e}"),
            HangCause::ResponseTimeout { method } => write!(f, "no reply to {method} in time"),
            HangCause::IdleTimeout => f.write_str("no new job in time"),
            HangCause::StaleHeight { ours, theirs } => {
                write!(
                    f,
                    "work stuck at height {ours} while the standby is at {theirs}"
                )
            }
            HangCause::WriteStalled => f.write_str("pool stopped reading (write stalled)"),
            HangCause::Closed => f.write_str("pool closed the connection"),
            HangCause::ProbeRefused { method } => {
                write!(f, "pool closed the connection on the {method} probe")
            }
            HangCause::Io(e) => write!(f, "socket error: {e}"),
            HangCause::Malformed(e) => write!(f, "malformed line: {e}"),
            HangCause::Oversized => f.write_str("line longer than 64 KiB"),
            HangCause::LoginRejected(e) => write!(f, "login rejected: {e}"),
            HangCause::ReconnectRequested => f.write_str("pool sent client.reconnect"),
            HangCause::FailBack { to } => write!(f, "pool #{to} is healthy again"),
            HangCause::Shutdown => f.write_str("shutting down"),
            HangCause::Reconfigured => f.write_str("configuration changed"),
        }
    }
}
