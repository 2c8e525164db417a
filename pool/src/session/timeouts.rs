//! Every timeout of a pool connection, in one configurable struct.

use std::time::Duration;

/// Timeouts and retry pacing. Defaults suit a real pool; tests shrink them to a second or two.
///
/// With the defaults a silent pool is detected 20 s after the first unanswered request, and a
/// request is never more than 5 s away (a liveness probe when nothing else is in flight), so a
/// pool that stops answering is left within 25 s at any share rate and the next pool is tried at
/// once.
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
    /// Nothing heard from the pool and no request in flight for this long: send a liveness
    /// probe (`keepalived` or `getjob`, see [`super::ProbeMethod`]), which the response
    /// timeout then watches. Shares may be minutes apart; this bounds detection regardless.
    pub liveness: Duration,
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
            liveness: Duration::from_secs(5),
            write_stall: Duration::from_secs(10),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            probe_interval: Duration::from_secs(30),
        }
    }
}

/// Timeouts as an operator gives them: whole seconds, each optional (flags, config keys).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeoutSeconds {
    pub connect: Option<u64>,
    pub response: Option<u64>,
    pub idle: Option<u64>,
    pub keepalive: Option<u64>,
    pub probe_interval: Option<u64>,
    /// First reconnect delay (`retry-pause`, as xmrig names it).
    pub retry_pause: Option<u64>,
}

impl Timeouts {
    /// The defaults with what the operator gave; zero counts as one second, and a long retry
    /// pause raises the cap it doubles towards rather than exceeding it.
    pub fn from_seconds(s: TimeoutSeconds) -> Timeouts {
        let d = Timeouts::default();
        let secs = |v: Option<u64>, default: Duration| {
            v.map_or(default, |s| Duration::from_secs(s.max(1)))
        };
        let retry = secs(s.retry_pause, d.backoff_initial);
        Timeouts {
            connect: secs(s.connect, d.connect),
            response: secs(s.response, d.response),
            idle: secs(s.idle, d.idle),
            keepalive: secs(s.keepalive, d.keepalive),
            probe_interval: secs(s.probe_interval, d.probe_interval),
            backoff_initial: retry,
            backoff_max: d.backoff_max.max(retry),
            ..d
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_fill_what_is_given_and_keep_defaults_elsewhere() {
        let d = Timeouts::default();
        assert_eq!(Timeouts::from_seconds(TimeoutSeconds::default()), d);
        let t = Timeouts::from_seconds(TimeoutSeconds {
            response: Some(2),
            probe_interval: Some(0),
            retry_pause: Some(90),
            ..TimeoutSeconds::default()
        });
        assert_eq!(t.response, Duration::from_secs(2));
        assert_eq!(t.probe_interval, Duration::from_secs(1), "zero is clamped");
        assert_eq!(t.backoff_initial, Duration::from_secs(90));
        assert_eq!(
            t.backoff_max,
            Duration::from_secs(90),
            "the cap follows a long pause"
        );
        assert_eq!((t.connect, t.idle), (d.connect, d.idle));
    }
}
