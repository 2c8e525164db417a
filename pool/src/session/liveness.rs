//! Liveness probes: which request asks a quiet pool whether it is still there, and which ones a
//! pool has shown it will not tolerate.

use std::fmt;
use std::time::Duration;

/// A closed connection this soon after a probe went out is taken as the pool refusing the
/// probe's method: pools that drop unknown methods do so as soon as they read the line.
pub const PROBE_REFUSAL_WINDOW: Duration = Duration::from_secs(2);

/// The request a liveness probe sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProbeMethod {
    /// `keepalived`, for pools that advertise the `keepalive` extension.
    Keepalived,
    /// `getjob`, the standard Monero-stratum request for the current job; any answer, even an
    /// error, shows the pool is alive.
    GetJob,
}

impl ProbeMethod {
    /// The stratum method name.
    pub fn name(self) -> &'static str {
        match self {
            ProbeMethod::Keepalived => "keepalived",
            ProbeMethod::GetJob => "getjob",
        }
    }
}

impl fmt::Display for ProbeMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a liveness probe went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProbeResult {
    /// The pool replied (an error reply too: it is there).
    Answered,
    /// No reply within the response timeout: the session is over.
    Unanswered,
    /// The pool closed the connection on it: the session is over, the method not sent again.
    Refused,
}

impl ProbeResult {
    pub fn name(self) -> &'static str {
        match self {
            ProbeResult::Answered => "answered",
            ProbeResult::Unanswered => "unanswered",
            ProbeResult::Refused => "refused",
        }
    }
}

impl fmt::Display for ProbeResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Probe methods one pool closed the connection on; kept by the client for its pool list so a
/// pool is never disconnected by the same probe twice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefusedProbes {
    keepalived: bool,
    getjob: bool,
}

impl RefusedProbes {
    /// Remember that the pool closed the connection on `method`.
    pub fn refuse(&mut self, method: ProbeMethod) {
        match method {
            ProbeMethod::Keepalived => self.keepalived = true,
            ProbeMethod::GetJob => self.getjob = true,
        }
    }

    /// Whether the pool closed the connection on `method` before.
    pub fn refused(&self, method: ProbeMethod) -> bool {
        match method {
            ProbeMethod::Keepalived => self.keepalived,
            ProbeMethod::GetJob => self.getjob,
        }
    }

    /// The probe for a pool: `keepalived` where it advertised the extension (the method meant
    /// for this), else `getjob`; none once it refused every one it could be sent, which leaves
    /// the idle timeout as the only check.
    pub fn choose(&self, keepalive_advertised: bool) -> Option<ProbeMethod> {
        let keepalived =
            (keepalive_advertised && !self.keepalived).then_some(ProbeMethod::Keepalived);
        keepalived.or((!self.getjob).then_some(ProbeMethod::GetJob))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalived_where_advertised_then_getjob_then_nothing() {
        let mut r = RefusedProbes::default();
        assert_eq!(r.choose(true), Some(ProbeMethod::Keepalived));
        assert_eq!(r.choose(false), Some(ProbeMethod::GetJob));
        r.refuse(ProbeMethod::Keepalived);
        assert!(r.refused(ProbeMethod::Keepalived));
        assert_eq!(r.choose(true), Some(ProbeMethod::GetJob));
        r.refuse(ProbeMethod::GetJob);
        assert_eq!(r.choose(true), None);
        assert_eq!(r.choose(false), None);
    }
}
