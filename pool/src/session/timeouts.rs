//! Every timeout of a pool connection, in one configurable struct.

use std::time::Duration;

/// Timeouts and retry pacing. Defaults suit a real pool; tests shrink them to a second or two.
///
/// With the defaults a silent pool is detected 20 s after the first unanswered request and the
/// next pool is tried at once, so mining resumes well inside 30 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect plus TLS handshake.
    pub connect: Duration,
    /// No reply to a request (login, submit, keepalived) within this long: hung.
    pub response: Duration,
    /// No new job for this long: hung. Only a job resets it, because a pool that answers
    /// keepalives but sends no work leaves us hashing stale blocks. Pools send a job at least
    /// per block; Monero block gaps are roughly exponential with a 2-minute mean, so the
    /// 10-minute default misfires on under 1% of blocks (and a misfire costs one reconnect).
    pub idle: Duration,
    /// Send `keepalived` after this long without a request (only if the pool advertised it).
    pub keepalive: Duration,
    /// A write making no progress for this long means the pool stopped reading.
    pub write_stall: Duration,
    /// First reconnect delay when no other pool is available; doubles per failure.
    pub backoff_initial: Duration,
    /// Cap for the reconnect delay.
    pub backoff_max: Duration,
    /// How often a sick higher-priority pool is probed (connect + login) in the background.
    pub probe_interval: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            response: Duration::from_secs(20),
            idle: Duration::from_secs(600),
            keepalive: Duration::from_secs(60),
            write_stall: Duration::from_secs(10),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            probe_interval: Duration::from_secs(30),
        }
    }
}
