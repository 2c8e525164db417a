//! The fault injector: ways a pool can hang or break, and how one connection plays them out.
//!
//! State faults (silence, stop reading, slow drip, stop jobs) hold while set and lift when the
//! fault is cleared. Action faults (reset, garbage, oversized line, stall, reconnect) happen once
//! per connection each time they are set, right after login or at once on a logged-in connection.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One way to misbehave. Set it in [`super::ServerConfig::fault`] or live with
/// [`super::ServerHandle::set_fault`]; it applies to every connection.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Fault {
    /// Behave.
    #[default]
    None,
    /// Answer the login, then send nothing at all (requests still read, never answered).
    SilentAfterLogin,
    /// Send this many lines on a connection (login reply included), then nothing.
    SilentAfterMessages(u64),
    /// After login, stop reading the socket: the client's writes stall once buffers fill.
    StopReading,
    /// Abort the connection with a TCP RST (SO_LINGER 0, then close).
    Reset,
    /// Send one line that is not JSON.
    GarbageLine,
    /// Send one line longer than 64 KiB.
    OversizedLine,
    /// Send half a line, then nothing more on that connection, ever.
    StallMidLine,
    /// Write everything one byte at a time, this long apart.
    SlowDrip(Duration),
    /// Stop sending job notifications; replies still flow and `getjob` is refused: a zombie
    /// pool, alive to probes while its work stands still.
    StopJobs,
    /// Send `client.reconnect` to this host and port.
    Reconnect { host: String, port: u16, wait: u64 },
    /// Otherwise healthy, but close the connection on `keepalived` (some pools do on methods
    /// they do not know).
    CloseOnKeepalived,
}

impl Fault {
    /// Whether this fault is a one-off action rather than a lasting state.
    pub fn is_action(&self) -> bool {
        matches!(
            self,
            Fault::Reset
                | Fault::GarbageLine
                | Fault::OversizedLine
                | Fault::StallMidLine
                | Fault::Reconnect { .. }
        )
    }
}

/// Why a fault string did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown fault {0:?}: try none, silent-after-login, silent-after-messages:N, stop-reading, reset, garbage-line, oversized-line, stall-mid-line, slow-drip:MS, stop-jobs, reconnect:HOST:PORT, close-on-keepalived")]
pub struct FaultParseError(String);

impl FromStr for Fault {
    type Err = FaultParseError;

    /// The command-line spelling, e.g. `silent-after-messages:3` or `reconnect:127.0.0.1:3334`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || FaultParseError(s.to_string());
        let (name, arg) = match s.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (s, None),
        };
        let fault = match (name, arg) {
            ("none", None) => Fault::None,
            ("silent-after-login", None) => Fault::SilentAfterLogin,
            ("silent-after-messages", Some(n)) => {
                Fault::SilentAfterMessages(n.parse().map_err(|_| err())?)
            }
            ("stop-reading", None) => Fault::StopReading,
            ("reset", None) => Fault::Reset,
            ("garbage-line", None) => Fault::GarbageLine,
            ("oversized-line", None) => Fault::OversizedLine,
            ("stall-mid-line", None) => Fault::StallMidLine,
            ("slow-drip", Some(ms)) => {
                Fault::SlowDrip(Duration::from_millis(ms.parse().map_err(|_| err())?))
            }
            ("stop-jobs", None) => Fault::StopJobs,
            ("close-on-keepalived", None) => Fault::CloseOnKeepalived,
            ("reconnect", Some(target)) => {
                let (host, port) = target.rsplit_once(':').ok_or_else(err)?;
                let host = host.trim_start_matches('[').trim_end_matches(']');
                if host.is_empty() {
                    return Err(err());
                }
                Fault::Reconnect {
                    host: host.to_string(),
                    port: port.parse().map_err(|_| err())?,
                    wait: 0,
                }
            }
            _ => return Err(err()),
        };
        Ok(fault)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::None => f.write_str("none"),
            Fault::SilentAfterLogin => f.write_str("silent-after-login"),
            Fault::SilentAfterMessages(n) => write!(f, "silent-after-messages:{n}"),
            Fault::StopReading => f.write_str("stop-reading"),
            Fault::Reset => f.write_str("reset"),
            Fault::GarbageLine => f.write_str("garbage-line"),
            Fault::OversizedLine => f.write_str("oversized-line"),
            Fault::StallMidLine => f.write_str("stall-mid-line"),
            Fault::SlowDrip(d) => write!(f, "slow-drip:{}", d.as_millis()),
            Fault::StopJobs => f.write_str("stop-jobs"),
            Fault::CloseOnKeepalived => f.write_str("close-on-keepalived"),
            Fault::Reconnect { host, port, .. } if host.contains(':') => {
                write!(f, "reconnect:[{host}]:{port}")
            }
            Fault::Reconnect { host, port, .. } => write!(f, "reconnect:{host}:{port}"),
        }
    }
}

/// The fault as broadcast to connections; `generation` tells a re-set action from an old one.
#[derive(Debug, Clone, Default)]
pub(crate) struct FaultSetting {
    pub generation: u64,
    pub fault: Fault,
}

/// What one connection has done about faults so far.
#[derive(Debug, Default)]
pub(crate) struct ConnFault {
    /// Lines queued on this connection (for [`Fault::SilentAfterMessages`]).
    pub lines_sent: u64,
    /// After [`Fault::StallMidLine`] the stream is mid-line for good: nothing may follow.
    pub stalled: bool,
    /// Generation of the last action fault played out here.
    pub applied_generation: Option<u64>,
}

impl ConnFault {
    /// Whether a line may be sent now.
    pub fn may_send(&self, fault: &Fault, logged_in: bool) -> bool {
        if self.stalled {
            return false;
        }
        match fault {
            Fault::SilentAfterLogin => !logged_in,
            Fault::SilentAfterMessages(n) => self.lines_sent < *n,
            _ => true,
        }
    }

    /// Whether a job notification may be sent now.
    pub fn may_send_job(&self, fault: &Fault, logged_in: bool) -> bool {
        *fault != Fault::StopJobs && self.may_send(fault, logged_in)
    }

    /// Whether the socket is read now.
    pub fn reading(fault: &Fault, logged_in: bool) -> bool {
        !(logged_in && *fault == Fault::StopReading)
    }

    /// The delay between bytes when dripping.
    pub fn drip(fault: &Fault) -> Option<Duration> {
        match fault {
            Fault::SlowDrip(d) => Some(*d),
            _ => None,
        }
    }

    /// Whether an action fault of this generation still has to be played out.
    pub fn action_due(&self, setting: &FaultSetting) -> bool {
        setting.fault.is_action() && self.applied_generation != Some(setting.generation)
    }
}

/// A line that is not JSON, for [`Fault::GarbageLine`].
pub(crate) const GARBAGE_LINE: &str = "}{ this is not json \u{1}\u{7f} ]]\n";

/// A job-looking line just over 64 KiB (the protocol's line limit), for [`Fault::OversizedLine`].
pub(crate) fn oversized_line() -> String {
    let filler = "00".repeat(crate::protocol::MAX_LINE_LEN / 2 + 1024);
    format!("{{\"jsonrpc\":\"2.0\",\"method\":\"job\",\"params\":{{\"blob\":\"{filler}\"}}}}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_strings_round_trip() {
        for f in [
            Fault::None,
            Fault::SilentAfterLogin,
            Fault::SilentAfterMessages(3),
            Fault::StopReading,
            Fault::Reset,
            Fault::GarbageLine,
            Fault::OversizedLine,
            Fault::StallMidLine,
            Fault::SlowDrip(Duration::from_millis(20)),
            Fault::StopJobs,
            Fault::CloseOnKeepalived,
            Fault::Reconnect {
                host: "127.0.0.1".into(),
                port: 3334,
                wait: 0,
            },
            Fault::Reconnect {
                host: "::1".into(),
                port: 3334,
                wait: 0,
            },
        ] {
            assert_eq!(f.to_string().parse::<Fault>().unwrap(), f, "{f}");
        }
        for bad in [
            "",
            "reset:1",
            "slow-drip",
            "silent-after-messages:x",
            "reconnect:nohost",
        ] {
            assert!(bad.parse::<Fault>().is_err(), "{bad}");
        }
    }

    #[test]
    fn silence_rules() {
        let mut c = ConnFault::default();
        assert!(c.may_send(&Fault::SilentAfterLogin, false));
        assert!(!c.may_send(&Fault::SilentAfterLogin, true));
        c.lines_sent = 2;
        assert!(c.may_send(&Fault::SilentAfterMessages(3), true));
        c.lines_sent = 3;
        assert!(!c.may_send(&Fault::SilentAfterMessages(3), true));
        assert!(!c.may_send_job(&Fault::StopJobs, true));
        assert!(c.may_send(&Fault::StopJobs, true));
        c.stalled = true;
        assert!(!c.may_send(&Fault::None, true));
        assert!(!ConnFault::reading(&Fault::StopReading, true));
        assert!(ConnFault::reading(&Fault::StopReading, false));
    }

    #[test]
    fn oversized_line_is_over_the_limit() {
        let l = oversized_line();
        assert!(l.len() > crate::protocol::MAX_LINE_LEN + 1);
        assert_eq!(l.matches('\n').count(), 1);
        assert!(!GARBAGE_LINE.trim().starts_with('{'));
    }
}
