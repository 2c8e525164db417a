//! The rig's pause holds for cards that (re)join: agents (re)started while the rig is paused
//! start paused (`--pause-on-start`), and as a safety net a card that answers unpaused while the
//! rig is paused (an older agent, one back after a reconnect) is told to pause again. The other
//! way round, an agent started paused whose first answer comes after the rig's resume (the resume
//! reached its predecessor, or nobody) is told to resume.
//!
//! No I/O and no clock: the caller passes the time and sends what [`PauseHold::due`] names.

use std::time::{Duration, Instant};

use crate::card_poll::CardView;

/// Longest a card is given to take a pause or resume before it is told again.
pub const RETELL: Duration = Duration::from_secs(5);

/// What a card is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tell {
    Pause,
    Resume,
}

impl Tell {
    /// The agent's JSON-RPC method.
    pub fn method(self) -> &'static str {
        match self {
            Tell::Pause => "pause",
            Tell::Resume => "resume",
        }
    }

    /// Why a card is told, for the log line.
    pub fn why(self) -> &'static str {
        match self {
            Tell::Pause => "back unpaused while the rig is paused: pausing it",
            Tell::Resume => "started paused, up after the rig's resume: resuming it",
        }
    }
}

/// One card as the hold knows it.
#[derive(Debug, Default, Clone)]
struct Held {
    /// When it was last told to pause or resume.
    told: Option<Instant>,
    /// The boot id of the agent that answered last: a new one is a new agent.
    boot: Option<String>,
    /// A new agent answered paused while the rig runs: it owes a resume until it answers unpaused.
    resume_owed: bool,
}

/// The operator's pause and what each card was told.
#[derive(Debug)]
pub struct PauseHold {
    paused: bool,
    /// Per card, in the rig's order.
    cards: Vec<Held>,
}

impl PauseHold {
    pub fn new(cards: usize) -> Self {
        Self {
            paused: false,
            cards: vec![Held::default(); cards],
        }
    }

    /// Whether the operator paused the rig: agents started now start paused.
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// The operator paused (`true`) or resumed the rig, and every card was just told.
    pub fn set(&mut self, paused: bool, now: Instant) {
        self.paused = paused;
        for c in &mut self.cards {
            c.told = Some(now);
        }
    }

    /// The cards (indices into `views`) to tell something now, each at most once per
    /// [`RETELL`]: "pause" to those answering unpaused while the rig is paused, "resume" to new
    /// agents answering paused while it runs. Marks them told.
    pub fn due(&mut self, views: &[CardView], now: Instant) -> Vec<(usize, Tell)> {
        let mut due = Vec::new();
        for (i, (v, held)) in views.iter().zip(&mut self.cards).enumerate() {
            let Some(last) = v.last.as_ref().filter(|_| v.error.is_none()) else {
                continue;
            };
            let new_agent = held.boot.as_deref() != Some(last.boot_id.as_str());
            if new_agent {
                held.boot = Some(last.boot_id.clone());
            }
            let tell = if self.paused {
                held.resume_owed = false;
                (!last.paused).then_some(Tell::Pause)
            } else {
                held.resume_owed = last.paused && (held.resume_owed || new_agent);
                held.resume_owed.then_some(Tell::Resume)
            };
            let waited = held
                .told
                .is_none_or(|t| now.saturating_duration_since(t) >= RETELL);
            if let (Some(tell), true) = (tell, waited) {
                held.told = Some(now);
                due.push((i, tell));
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
        assert!(hold.paused());
        // Just told: the pause is on its way, not due again yet.
        assert!(hold.due(&views, t0 + Duration::from_secs(1)).is_empty());
        views[0] = answering("a", "1", true);
        views[1] = answering("b", "1", true);
        assert!(hold.due(&views, t0 + RETELL).is_empty(), "both took it");
        // Card a restarted: a new agent, unpaused.
        views[0] = answering("a", "2", false);
        let t1 = t0 + Duration::from_secs(30);
        assert_eq!(hold.due(&views, t1), vec![(0, Tell::Pause)]);
        assert!(hold.due(&views, t1 + Duration::from_secs(1)).is_empty());
        assert_eq!(
            hold.due(&views, t1 + RETELL),
            vec![(0, Tell::Pause)],
            "told again"
        );
        // A card that does not answer is not told; one back later is.
        views[1].error = Some("timed out".into());
        views[0] = answering("a", "2", true);
        assert!(hold.due(&views, t1 + 3 * RETELL).is_empty());
        hold.set(false, t1 + 4 * RETELL);
        assert!(!hold.paused());
        views[1] = answering("b", "3", false);
        assert!(hold.due(&views, t1 + 9 * RETELL).is_empty(), "resumed");
    }

    #[test]
    fn an_agent_started_paused_that_answers_after_the_resume_is_resumed() {
        let t0 = Instant::now();
        let mut views = vec![answering("a", "1", true), answering("b", "1", true)];
        let mut hold = PauseHold::new(2);
        hold.set(true, t0);
        assert!(hold.due(&views, t0).is_empty());
        // Card a is restarted paused; the resume reaches its old agent, not the new one.
        views[0].error = Some("connection refused".into());
        hold.set(false, t0 + RETELL);
        views[1] = answering("b", "1", false);
        assert!(hold.due(&views, t0 + RETELL).is_empty());
        views[0] = answering("a", "2", true);
        let t1 = t0 + 2 * RETELL;
        assert_eq!(hold.due(&views, t1), vec![(0, Tell::Resume)]);
        assert!(hold.due(&views, t1 + Duration::from_secs(1)).is_empty());
        assert_eq!(
            hold.due(&views, t1 + RETELL),
            vec![(0, Tell::Resume)],
            "still paused: told again"
        );
        views[0] = answering("a", "2", false);
        assert!(hold.due(&views, t1 + 2 * RETELL).is_empty(), "took it");
        // An agent paused through its own API (same boot id) is left paused while the rig runs.
        views[1] = answering("b", "1", true);
        assert!(hold.due(&views, t1 + 9 * RETELL).is_empty());
    }
}
