//! The rig's pause holds for cards that (re)join: an agent restarted from the dashboard or by the
//! watchdog, or back after a reconnect, starts unpaused, so a card that answers unpaused while
//! the rig is paused is told to pause again.
//!
//! No I/O and no clock: the caller passes the time and sends what [`PauseHold::due`] names.

use std::time::{Duration, Instant};

use crate::card_poll::CardView;

/// Longest a card is given to take a pause before it is told again.
pub const RETELL: Duration = Duration::from_secs(5);

/// The operator's pause and when each card was last told it.
#[derive(Debug)]
pub struct PauseHold {
    paused: bool,
    /// Per card, in the rig's order.
    told: Vec<Option<Instant>>,
}

impl PauseHold {
    pub fn new(cards: usize) -> Self {
        Self {
            paused: false,
            told: vec![None; cards],
        }
    }

    /// The operator paused (`true`) or resumed the rig, and every card was just told.
    pub fn set(&mut self, paused: bool, now: Instant) {
        self.paused = paused;
        self.told.fill(Some(now));
    }

    /// The cards (indices into `views`) to tell "pause" now: those answering unpaused while the
    /// rig is paused, each at most once per [`RETELL`]. Marks them told.
    pub fn due(&mut self, views: &[CardView], now: Instant) -> Vec<usize> {
        if !self.paused {
            return Vec::new();
        }
        let mut due = Vec::new();
        for (i, (v, told)) in views.iter().zip(&mut self.told).enumerate() {
            let unpaused = v.error.is_none() && v.last.as_ref().is_some_and(|l| !l.paused);
            let waited = told.is_none_or(|t| now.saturating_duration_since(t) >= RETELL);
            if unpaused && waited {
                *told = Some(now);
                due.push(i);
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phirig_wire::Counters;

    fn answering(name: &str, boot: &str, paused: bool) -> CardView {
        let mut v = CardView::new(name, "http://x", None);
        v.ingest(Counters {
            boot_id: boot.into(),
            paused,
            ..Counters::default()
        });
        v
    }

    #[test]
    fn a_card_back_unpaused_while_the_rig_is_paused_is_told_again() {
        let t0 = Instant::now();
        let mut views = vec![answering("a", "1", false), answering("b", "1", false)];
        let mut hold = PauseHold::new(2);
        assert!(
            hold.due(&views, t0).is_empty(),
            "not paused: nothing to hold"
        );
        hold.set(true, t0);
        // Just told: the pause is on its way, not due again yet.
        assert!(hold.due(&views, t0 + Duration::from_secs(1)).is_empty());
        views[0] = answering("a", "1", true);
        views[1] = answering("b", "1", true);
        assert!(hold.due(&views, t0 + RETELL).is_empty(), "both took it");
        // Card a restarted: a new agent, unpaused.
        views[0] = answering("a", "2", false);
        let t1 = t0 + Duration::from_secs(30);
        assert_eq!(hold.due(&views, t1), vec![0]);
        assert!(hold.due(&views, t1 + Duration::from_secs(1)).is_empty());
        assert_eq!(hold.due(&views, t1 + RETELL), vec![0], "told again");
        // A card that does not answer is not told; one back later is.
        views[1].error = Some("timed out".into());
        views[0] = answering("a", "2", true);
        assert!(hold.due(&views, t1 + 3 * RETELL).is_empty());
        hold.set(false, t1 + 4 * RETELL);
        views[1] = answering("b", "3", false);
        assert!(hold.due(&views, t1 + 9 * RETELL).is_empty(), "resumed");
    }
}
