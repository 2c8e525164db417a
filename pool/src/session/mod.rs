//! The stratum session as a state machine without I/O: feed it lines and instants, get lines, events and deadlines.
//!
//! Modelled on quinn-proto: [`Session`] never reads the clock or touches a socket. The caller
//! feeds received bytes ([`Session::handle_bytes`]) and the current [`std::time::Instant`], asks
//! for lines to send ([`Session::poll_transmit`]), events ([`Session::poll_event`]) and when to
//! wake it up ([`Session::next_deadline`], [`Session::handle_timeout`]). Hung-session detection
//! is therefore unit-tested with a fake clock (see `tests.rs`); `crate::client` is the tokio driver.
//!
//! A quiet pool is asked whether it is there (a liveness probe, `liveness.rs`), so silence is
//! found within [`Timeouts::liveness`] + [`Timeouts::response`] at any share rate; a pool whose
//! work stopped advancing is found against the standby's height ([`HeightWatch`]).
//!
//! Shares across sessions are the [`ShareLedger`]'s job: every found share ends in exactly one
//! [`ShareOutcome`].

mod event;
mod hang;
mod ledger;
mod liveness;
mod share;
mod state;
mod timeouts;
mod zombie;

#[cfg(test)]
mod tests;

pub use event::SessionEvent;
pub use hang::HangCause;
pub use ledger::{LedgerCounts, ShareLedger, DEFAULT_MAX_HELD};
pub use liveness::{ProbeMethod, ProbeResult, RefusedProbes, PROBE_REFUSAL_WINDOW};
pub use share::{FoundShare, ShareId, ShareOutcome};
pub use state::{GetJobRefused, NotReady, Session, SessionConfig, GETJOB_MIN_INTERVAL};
pub use timeouts::{TimeoutSeconds, Timeouts};
pub use zombie::{HeightWatch, MAX_HEIGHT_GAP, STALE_HEIGHT_BOUND};
