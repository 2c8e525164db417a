//! The rig's algo-perf: each card's reported H/s per algorithm, summed and offered upstream in a
//! `getjob` (no new login), so an algorithm-switching pool chooses for the whole rig of unlike
//! cards. Sans-I/O: the caller passes the time and sends what [`RigPerf::take`] returns.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use phirig_pool::client::ClientConfig;
use phirig_pool::protocol::{AlgoOffer, AlgoPerf};

use super::slices::CardId;

/// Cards join over seconds: a change waits this long for the next before it goes upstream.
pub(crate) const SETTLE: Duration = Duration::from_secs(2);
/// At most one offer upstream this often.
pub(crate) const MIN_INTERVAL: Duration = Duration::from_secs(5);
/// A rate moving by less than this (relative) is noise, not worth telling the pool.
pub(crate) const MATERIAL: f64 = 0.05;

/// Another algorithm set, another `algo-min-time`, or one rate moved by more than [`MATERIAL`].
/// The offers' lists are the upstream's own and never differ.
fn differs_materially(one: &AlgoOffer, other: &AlgoOffer) -> bool {
    if one.min_time != other.min_time {
        return true;
    }
    let (a, b) = match (&one.perf, &other.perf) {
        (None, None) => return false,
        (Some(a), Some(b)) => (a, b),
        _ => return true,
    };
    let same_algos = a.iter().map(|(k, _)| k).eq(b.iter().map(|(k, _)| k));
    !same_algos
        || a.iter()
            .zip(b.iter())
            .any(|((_, x), (_, y))| (x - y).abs() > MATERIAL * x.abs().max(y.abs()))
}

/// What the cards reported, what went upstream last, and when.
pub(crate) struct RigPerf {
    /// The upstream login's offer: its list goes with every offer, its figures stand in when no
    /// card has any.
    base: AlgoOffer,
    /// The figures (and `algo-min-time`) of each card that offered any.
    cards: BTreeMap<CardId, (AlgoPerf, Option<u64>)>,
    sent: AlgoOffer,
    sent_at: Option<Instant>,
    /// When the offer first differed materially from `sent`, since the last send.
    changed_at: Option<Instant>,
}

impl RigPerf {
    /// `base` is the upstream configuration as started (what its login offers); its own
    /// `algo-min-time` wins over the cards'.
    pub fn new(base: &ClientConfig) -> Self {
        let base = base.offer.clone();
        Self {
            sent: base.clone(),
            base,
            cards: BTreeMap::new(),
            sent_at: None,
            changed_at: None,
        }
    }

    /// Records what `card` offered (`None` when it left).
    pub fn update(&mut self, card: CardId, offer: Option<&AlgoOffer>, now: Instant) {
        match offer.and_then(|o| Some((o.scored_perf()?.clone(), o.min_time))) {
            Some(figures) => self.cards.insert(card, figures),
            None => self.cards.remove(&card),
        };
        if differs_materially(&self.current(), &self.sent) {
            self.changed_at.get_or_insert(now);
        } else {
            self.changed_at = None;
        }
    }

    /// When the pending offer may go upstream: [`SETTLE`] after the first change, and
    /// [`MIN_INTERVAL`] after the last offer. `None` when nothing material is pending.
    pub fn due(&self) -> Option<Instant> {
        let settled = self.changed_at? + SETTLE;
        Some(match self.sent_at {
            Some(sent) => settled.max(sent + MIN_INTERVAL),
            None => settled,
        })
    }

    /// The offer to send now, if one is due.
    pub fn take(&mut self, now: Instant) -> Option<AlgoOffer> {
        if self.due().is_none_or(|due| now < due) {
            return None;
        }
        let offer = self.current();
        self.sent = offer.clone();
        self.sent_at = Some(now);
        self.changed_at = None;
        Some(offer)
    }

    fn current(&self) -> AlgoOffer {
        let sum = AlgoPerf::sum(self.cards.values().map(|(p, _)| p));
        AlgoOffer {
            algo: self.base.algo.clone(),
            perf: (!sum.is_empty()).then_some(sum).or(self.base.perf.clone()),
            // The rig stays as long as its most patient card asks.
            min_time: self
                .base
                .min_time
                .or(self.cards.values().filter_map(|(_, t)| *t).max()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a card offers: its figures and `algo-min-time`.
    fn offer(cnr: f64, pico: f64, min_time: Option<u64>) -> Option<AlgoOffer> {
        Some(AlgoOffer {
            perf: Some(AlgoPerf::new([
                ("cn/r".to_string(), cnr),
                ("cn-pico".to_string(), pico),
            ])),
            min_time,
            ..AlgoOffer::new(vec!["cn-pico".into()])
        })
    }

    fn rig() -> RigPerf {
        RigPerf::new(&ClientConfig::new(Vec::new(), "proxy", vec!["cn/r".into()]))
    }

    #[test]
    fn cards_joining_within_the_settle_time_make_one_offer_of_their_sum() {
        let t0 = Instant::now();
        let mut rig = rig();
        rig.update(1, offer(100.0, 900.0, Some(30)).as_ref(), t0);
        rig.update(
            2,
            offer(50.0, 1000.0, Some(60)).as_ref(),
            t0 + Duration::from_secs(1),
        );
        assert_eq!(rig.due(), Some(t0 + SETTLE));
        assert!(rig.take(t0 + Duration::from_secs(1)).is_none());
        let sent = rig.take(t0 + SETTLE).expect("due");
        assert_eq!(sent.algo, ["cn/r"], "the upstream's own list, not a card's");
        let sum = sent.perf.expect("sum");
        assert_eq!(
            (sum.get("cn/r"), sum.get("cn-pico")),
            (Some(150.0), Some(1900.0))
        );
        assert_eq!(sent.min_time, Some(60));
        assert_eq!(rig.due(), None);
    }

    #[test]
    fn small_moves_are_not_offered_and_offers_are_spaced() {
        let t0 = Instant::now();
        let mut rig = rig();
        rig.update(1, offer(100.0, 1000.0, None).as_ref(), t0);
        assert!(rig.take(t0 + SETTLE).is_some());
        // 4 % on one card is noise; the same report again is nothing.
        rig.update(1, offer(104.0, 1000.0, None).as_ref(), t0 + SETTLE);
        assert_eq!(rig.due(), None);
        // A card joining is material, but waits out the interval since the last offer.
        let joined = t0 + SETTLE + Duration::from_secs(1);
        rig.update(2, offer(100.0, 1000.0, None).as_ref(), joined);
        assert_eq!(rig.due(), Some(t0 + SETTLE + MIN_INTERVAL));
        let sent = rig.take(t0 + SETTLE + MIN_INTERVAL).expect("due");
        assert_eq!(sent.perf.and_then(|p| p.get("cn/r")), Some(204.0));
        // Leaving is material too; the last card gone leaves the configured offer (none).
        let later = t0 + Duration::from_secs(60);
        rig.update(1, None, later);
        rig.update(2, None, later);
        let none = rig.take(later + SETTLE).expect("due");
        assert_eq!(none, AlgoOffer::new(vec!["cn/r".into()]));
    }

    #[test]
    fn a_change_undone_before_it_is_due_sends_nothing() {
        let t0 = Instant::now();
        let mut rig = rig();
        rig.update(1, offer(100.0, 1000.0, None).as_ref(), t0);
        rig.update(1, None, t0 + Duration::from_secs(1));
        assert_eq!(rig.due(), None);
        assert!(rig.take(t0 + SETTLE).is_none());
    }
}
