//! Zombie pools: answering, but their work stopped advancing, seen against the standby's height.

use std::time::{Duration, Instant};

/// How long the standby may announce a higher block than the mining pool before the mining
/// pool's work counts as stale. Blocks reach pools seconds apart; 20 s covers that.
pub const STALE_HEIGHT_BOUND: Duration = Duration::from_secs(20);

/// Heights further apart than this are not the same chain (a backup pool on another coin), so
/// they are never compared. A zombie that froze longer ago than this many blocks (about half an
/// hour on Monero) is left to the idle timeout.
pub const MAX_HEIGHT_GAP: u64 = 16;

/// The mining pool's and the standby's latest heights, and since when the standby is ahead.
/// Only jobs that carry a height take part: without heights there is nothing to compare and
/// the idle timeout stays the only check.
#[derive(Debug, Clone, Default)]
pub struct HeightWatch {
    ours: Option<u64>,
    theirs: Option<u64>,
    ahead_since: Option<Instant>,
}

impl HeightWatch {
    /// The mining pool's newest job has this height (`None`: none, or a new mining session).
    pub fn ours(&mut self, height: Option<u64>, now: Instant) {
        self.ours = height;
        self.update(now);
    }

    /// The standby's newest job has this height (`None`: no standby).
    pub fn theirs(&mut self, height: Option<u64>, now: Instant) {
        self.theirs = height;
        self.update(now);
    }

    fn update(&mut self, now: Instant) {
        let ahead = match (self.ours, self.theirs) {
            (Some(o), Some(t)) => t > o && t - o <= MAX_HEIGHT_GAP,
            _ => false,
        };
        self.ahead_since = match (ahead, self.ahead_since) {
            (true, Some(since)) => Some(since),
            (true, None) => Some(now),
            (false, _) => None,
        };
    }

    /// The mining pool's newest height.
    pub fn our_height(&self) -> Option<u64> {
        self.ours
    }

    /// When [`HeightWatch::stale`] will say so, if nothing changes.
    pub fn deadline(&self) -> Option<Instant> {
        self.ahead_since.map(|t| t + STALE_HEIGHT_BOUND)
    }

    /// `(ours, theirs)` once the standby has been ahead for [`STALE_HEIGHT_BOUND`].
    pub fn stale(&self, now: Instant) -> Option<(u64, u64)> {
        let due = self.deadline().is_some_and(|d| now >= d);
        match (due, self.ours, self.theirs) {
            (true, Some(o), Some(t)) => Some((o, t)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn stale_after_the_standby_leads_for_the_bound() {
        let t0 = Instant::now();
        let mut w = HeightWatch::default();
        w.ours(Some(100), t0);
        w.theirs(Some(100), t0);
        assert_eq!(w.deadline(), None);
        w.theirs(Some(101), t0 + SEC);
        assert_eq!(w.deadline(), Some(t0 + 21 * SEC));
        assert_eq!(w.stale(t0 + 20 * SEC), None);
        w.theirs(Some(102), t0 + 10 * SEC);
        assert_eq!(w.deadline(), Some(t0 + 21 * SEC), "the lead started at 101");
        assert_eq!(w.stale(t0 + 21 * SEC), Some((100, 102)));
    }

    #[test]
    fn catching_up_resets_and_a_late_block_is_not_stale() {
        let t0 = Instant::now();
        let mut w = HeightWatch::default();
        w.ours(Some(100), t0);
        w.theirs(Some(101), t0);
        w.ours(Some(101), t0 + 5 * SEC);
        assert_eq!(w.deadline(), None);
        assert_eq!(w.stale(t0 + 60 * SEC), None);
    }

    #[test]
    fn no_heights_or_another_chain_never_compare() {
        let t0 = Instant::now();
        let mut w = HeightWatch::default();
        w.theirs(Some(101), t0);
        assert_eq!(w.deadline(), None, "mining pool without heights");
        w.ours(Some(100), t0);
        w.theirs(None, t0);
        assert_eq!(w.deadline(), None, "no standby");
        w.theirs(Some(100 + MAX_HEIGHT_GAP + 1), t0);
        assert_eq!(w.deadline(), None, "another chain");
    }
}
