//! One card as the proxy sees it: login, current slice, share counters and the bad-share flag.

use std::net::SocketAddr;

use super::stats::CardStats;

/// A card is flagged once it has at least this many invalid shares ...
pub const FLAG_MIN_INVALID: u64 = 5;
/// ... and they are more than this share (percent) of everything it submitted.
pub const FLAG_INVALID_PERCENT: u64 = 50;

/// Why the proxy refused a share itself (never sent upstream).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalReject {
    /// Unknown job id, too old, or not this card's slice.
    InvalidJobId,
    /// Bad hex, or outside the card's slice (or the fixed byte changed).
    InvalidNonce,
    Duplicate,
    /// The claimed result is not the hash (or not 64 hex digits).
    InvalidResult,
    /// The hash does not meet the upstream target.
    LowDifficulty,
    /// The card is flagged for bad shares; nothing of it goes upstream any more.
    Flagged,
    /// The hasher failed or panicked: not the card's fault.
    HashFailed,
    /// No login yet on this connection.
    Unauthenticated,
    /// Its address has too many shares in verification already: not hashed, not its fault.
    Busy,
    /// A stranger's login from an address that took its leases of the current job already.
    AddressFull,
}

impl LocalReject {
    /// The error message the card receives (the standard pool wording where one exists).
    pub fn message(self) -> &'static str {
        match self {
            LocalReject::InvalidJobId => "Invalid job id",
            LocalReject::InvalidNonce => "Invalid nonce",
            LocalReject::Duplicate => "Duplicate share",
            LocalReject::InvalidResult | LocalReject::LowDifficulty => "Low difficulty share",
            LocalReject::Flagged => "Card flagged for invalid shares; shares are not forwarded",
            LocalReject::HashFailed => "Share verification failed",
            LocalReject::Unauthenticated => "Unauthenticated",
            LocalReject::Busy => "Too many shares in verification; slow down",
            LocalReject::AddressFull => "Too many miners from this address; try again later",
        }
    }

    /// Whether it counts against the card (and towards the flag).
    pub fn is_card_fault(self) -> bool {
        matches!(
            self,
            LocalReject::InvalidNonce
                | LocalReject::Duplicate
                | LocalReject::InvalidResult
                | LocalReject::LowDifficulty
        )
    }
}

/// Per-card state kept by the proxy.
#[derive(Debug, Clone)]
pub struct Card {
    pub peer: SocketAddr,
    /// Login name; `None` until the card logs in.
    pub login: Option<String>,
    /// The login's password, user agent and rig id, as the miner sent them.
    pub pass: String,
    pub agent: String,
    pub rig_id: Option<String>,
    /// Bytes sent to and received from the card.
    pub tx: u64,
    pub rx: u64,
    pub connected: bool,
    /// (upstream job sequence, slice index) the card mines now.
    pub current: Option<(u64, usize)>,
    pub counts: ShareCounts,
    pub flagged: bool,
    pub slices: u64,
    /// Leases that came from a gone card's unleased remainder.
    pub adopted: u64,
}

/// Share counters of one card. `submitted = accepted + rejected + stale + invalid + withheld +
/// in flight`, where in flight is being verified or waiting for the upstream outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShareCounts {
    pub submitted: u64,
    /// Accepted upstream.
    pub accepted: u64,
    /// Rejected upstream (the pool's reason went back to the card).
    pub rejected: u64,
    /// Upstream stale, outcome timed out, job too old, or verification failed on our side.
    pub stale: u64,
    /// Failed the proxy's own checks: the card's fault.
    pub invalid: u64,
    /// Refused because the card is flagged.
    pub withheld: u64,
}

impl Card {
    pub fn new(peer: SocketAddr) -> Self {
        Card {
            peer,
            login: None,
            pass: String::new(),
            agent: String::new(),
            rig_id: None,
            tx: 0,
            rx: 0,
            connected: true,
            current: None,
            counts: ShareCounts::default(),
            flagged: false,
            slices: 0,
            adopted: 0,
        }
    }

    /// Count a local refusal; returns true when this one got the card flagged.
    pub fn refused(&mut self, why: LocalReject) -> bool {
        match why {
            LocalReject::Flagged => self.counts.withheld += 1,
            w if w.is_card_fault() => self.counts.invalid += 1,
            _ => self.counts.stale += 1,
        }
        let bad = self.counts.invalid;
        let newly = !self.flagged
            && bad >= FLAG_MIN_INVALID
            && bad * 100 > self.counts.submitted * FLAG_INVALID_PERCENT;
        self.flagged |= newly;
        newly
    }

    /// Its row; `diff` is the difficulty of the job it mines now.
    pub fn stats(&self, id: u64, diff: u64) -> CardStats {
        CardStats {
            id,
            peer: self.peer,
            login: self.login.clone().unwrap_or_default(),
            connected: self.connected,
            shares: self.counts,
            flagged: self.flagged,
            slices: self.slices,
            adopted: self.adopted,
            pass: self.pass.clone(),
            agent: self.agent.clone(),
            rig_id: self.rig_id.clone(),
            tx: self.tx,
            rx: self.rx,
            diff,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card() -> Card {
        Card::new("127.0.0.1:1".parse().unwrap())
    }

    #[test]
    fn flagged_after_five_bad_shares_that_are_the_majority() {
        let mut c = card();
        c.counts.submitted = 20;
        c.counts.accepted = 16;
        for _ in 0..4 {
            assert!(!c.refused(LocalReject::InvalidResult));
        }
        c.counts.submitted += 1;
        // Five bad of 21: not the majority.
        assert!(!c.refused(LocalReject::Duplicate));
        assert!(!c.flagged);

        let mut c = card();
        for i in 1..=5 {
            c.counts.submitted += 1;
            assert_eq!(c.refused(LocalReject::LowDifficulty), i == 5);
        }
        assert!(c.flagged);
        c.counts.submitted += 1;
        assert!(!c.refused(LocalReject::Flagged));
        assert_eq!(c.counts.withheld, 1);
    }

    #[test]
    fn our_own_failures_do_not_count_against_the_card() {
        let mut c = card();
        for _ in 0..10 {
            c.counts.submitted += 1;
            c.refused(LocalReject::HashFailed);
            c.refused(LocalReject::InvalidJobId);
        }
        assert!(!c.flagged);
        assert_eq!(c.counts.invalid, 0);
        assert_eq!(c.counts.stale, 20);
    }
}
