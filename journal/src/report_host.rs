//! The host's part of a report: each card's clock offset (minimum-RTT sample) and every supervision step.

use super::event::{Event, SupervisionAction};
use super::reader::TimedEvent;
use super::report::secs;
use serde::Serialize;
use std::collections::BTreeMap;

/// One card's clock against the host's, from the journal's clock-offset samples.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CardClock {
    pub card: u32,
    pub samples: usize,
    /// Card minus host, from the sample with the smallest round trip.
    pub offset_ms: f64,
    /// The true offset lies within ± this (half that round trip).
    pub bound_ms: f64,
    pub min_rtt_ms: f64,
    /// Spread of all samples' offsets: how much the estimate would wander without the filter.
    pub offset_spread_ms: f64,
}

/// A deployment or supervision step the host took.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SupervisionStep {
    pub at_s: f64,
    pub card: u32,
    pub action: SupervisionAction,
    pub detail: String,
}

/// Per-card clocks, by card index.
pub fn card_clocks(events: &[&TimedEvent]) -> Vec<CardClock> {
    let mut by_card: BTreeMap<u32, Vec<(i64, u64)>> = BTreeMap::new();
    for e in events {
        if let Event::ClockOffset {
            card,
            offset_ns,
            rtt_ns,
        } = &e.event
        {
            by_card
                .entry(*card)
                .or_default()
                .push((*offset_ns, *rtt_ns));
        }
    }
    by_card
        .into_iter()
        .filter_map(|(card, samples)| {
            let &(offset, rtt) = samples.iter().min_by_key(|(_, rtt)| *rtt)?;
            let lo = samples.iter().map(|s| s.0).min()?;
            let hi = samples.iter().map(|s| s.0).max()?;
            Some(CardClock {
                card,
                samples: samples.len(),
                offset_ms: offset as f64 / 1e6,
                bound_ms: rtt as f64 / 2e6,
                min_rtt_ms: rtt as f64 / 1e6,
                offset_spread_ms: (hi as f64 - lo as f64) / 1e6,
            })
        })
        .collect()
}

/// Every supervision step, in time order.
pub fn supervision(events: &[&TimedEvent]) -> Vec<SupervisionStep> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            Event::Supervision {
                card,
                action,
                detail,
            } => Some(SupervisionStep {
                at_s: secs(e.time_ns),
                card: *card,
                action: *action,
                detail: detail.clone(),
            }),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(time_ns: u64, event: Event) -> TimedEvent {
        TimedEvent {
            time_ns,
            thread_id: 0,
            thread_kind: super::super::format::ThreadKind::Host,
            event,
        }
    }

    #[test]
    fn the_offset_comes_from_the_fastest_round_trip() {
        let evs = [
            at(
                1,
                Event::ClockOffset {
                    card: 1,
                    offset_ns: 5_000_000,
                    rtt_ns: 4_000_000,
                },
            ),
            at(
                2,
                Event::ClockOffset {
                    card: 1,
                    offset_ns: 1_000_000,
                    rtt_ns: 400_000,
                },
            ),
            at(
                3,
                Event::ClockOffset {
                    card: 0,
                    offset_ns: -200_000,
                    rtt_ns: 100_000,
                },
            ),
            at(
                4,
                Event::Supervision {
                    card: 1,
                    action: SupervisionAction::Restart,
                    detail: "agent gone".into(),
                },
            ),
        ];
        let refs: Vec<&TimedEvent> = evs.iter().collect();
        let clocks = card_clocks(&refs);
        assert_eq!(clocks.len(), 2);
        assert_eq!(clocks[0].card, 0);
        assert_eq!(clocks[1].samples, 2);
        assert_eq!(clocks[1].offset_ms, 1.0);
        assert_eq!(clocks[1].bound_ms, 0.2);
        assert_eq!(clocks[1].offset_spread_ms, 4.0);
        let steps = supervision(&refs);
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].detail, "agent gone");
    }
}
