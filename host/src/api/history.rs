//! The rig's rates over the last hours, kept in memory on the host for the dashboard's charts.

use std::collections::VecDeque;
use std::time::Duration;

use serde::Serialize;

use crate::snapshot::RigSnapshot;

/// One point every this often ...
pub const STEP: Duration = Duration::from_secs(5);
/// ... for this long: more than the hour the dashboard shows.
pub const KEPT: Duration = Duration::from_secs(2 * 3600);

/// One sample: the 10 s rates (H/s) at an instant; `null` where a rate was not known yet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// Host wall clock, ms since the Unix epoch.
    pub t_ms: u64,
    pub total: Option<f64>,
    /// Part of `total` estimated from other miners' accepted difficulty.
    pub estimated: f64,
    /// Per card, in the snapshot's card order (names in [`History::cards`]).
    pub cards: Vec<Option<f64>>,
}

/// Points oldest first; the card list is the newest snapshot's.
#[derive(Debug, Clone, Default, Serialize)]
pub struct History {
    pub cards: Vec<String>,
    pub points: VecDeque<Point>,
}

impl History {
    /// Adds a point for `snap` unless the last one is younger than [`STEP`]; drops points older
    /// than [`KEPT`]. A card that joins or leaves keeps the other cards' columns in place.
    pub fn observe(&mut self, snap: &RigSnapshot) {
        let t_ms = snap.taken_ns / 1_000_000;
        let step_ms = STEP.as_millis() as u64;
        if self.points.back().is_some_and(|p| t_ms < p.t_ms + step_ms) {
            return;
        }
        for c in &snap.cards {
            if !self.cards.contains(&c.name) {
                self.cards.push(c.name.clone());
            }
        }
        let cards = self
            .cards
            .iter()
            .map(|name| {
                snap.cards
                    .iter()
                    .find(|c| &c.name == name)
                    .and_then(|c| c.hashrate[0])
            })
            .collect();
        self.points.push_back(Point {
            t_ms,
            total: snap.total.hashrate[0],
            estimated: snap.total.estimated[0],
            cards,
        });
        let kept_ms = KEPT.as_millis() as u64;
        while self.points.front().is_some_and(|p| p.t_ms + kept_ms < t_ms) {
            self.points.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::CardSnapshot;

    fn snap(t_s: u64, rates: &[(&str, f64)]) -> RigSnapshot {
        let mut s = RigSnapshot {
            taken_ns: t_s * 1_000_000_000,
            ..RigSnapshot::default()
        };
        for (name, r) in rates {
            s.cards.push(CardSnapshot {
                name: name.to_string(),
                hashrate: [Some(*r), None, None],
                ..CardSnapshot::default()
            });
        }
        s.total.hashrate[0] = Some(rates.iter().map(|(_, r)| r).sum());
        s
    }

    #[test]
    fn keeps_a_point_per_step_for_two_hours_and_card_columns_stay_put() {
        let mut h = History::default();
        h.observe(&snap(1000, &[("mic0", 10.0)]));
        h.observe(&snap(1002, &[("mic0", 99.0)]));
        assert_eq!(h.points.len(), 1, "younger than a step");
        h.observe(&snap(1005, &[("mic1", 5.0), ("mic0", 11.0)]));
        assert_eq!(h.cards, ["mic0", "mic1"]);
        assert_eq!(h.points[1].cards, [Some(11.0), Some(5.0)]);
        assert_eq!(h.points[0].cards, [Some(10.0)]);
        for i in 2..2000u64 {
            h.observe(&snap(1000 + 5 * i, &[("mic0", 1.0)]));
        }
        let span = h.points.back().unwrap().t_ms - h.points.front().unwrap().t_ms;
        assert!(span >= 3_600_000, "at least an hour: {span}");
        assert!(span <= KEPT.as_millis() as u64, "{span}");
        assert_eq!(h.points.back().unwrap().cards, [Some(1.0), None]);
    }
}
