//! The rig's algo-perf: each card's reported H/s per algorithm, summed into the upstream login,
//! so an algorithm-switching pool chooses for the whole rig of unlike cards.

use std::collections::BTreeMap;

use phirig_pool::client::ClientConfig;
use phirig_pool::protocol::AlgoPerf;

use super::slices::CardId;

/// What the cards reported, and what the upstream login last carried.
pub(crate) struct RigPerf {
    base: ClientConfig,
    cards: BTreeMap<CardId, (AlgoPerf, Option<u64>)>,
    sent: (Option<AlgoPerf>, Option<u64>),
}

impl RigPerf {
    /// `base` is the upstream configuration as started; its own `algo-min-time` wins.
    pub fn new(base: ClientConfig) -> Self {
        let sent = (base.algo_perf.clone(), base.algo_min_time);
        Self {
            base,
            cards: BTreeMap::new(),
            sent,
        }
    }

    /// Records what `card` reported at login (`None` when it left or reported nothing) and
    /// returns the upstream configuration to log in with when the rig's offer changed.
    pub fn update(
        &mut self,
        card: CardId,
        perf: Option<AlgoPerf>,
        min_time: Option<u64>,
    ) -> Option<ClientConfig> {
        match perf.filter(|p| !p.is_empty()) {
            Some(p) => self.cards.insert(card, (p, min_time)),
            None => self.cards.remove(&card),
        };
        let sum = AlgoPerf::sum(self.cards.values().map(|(p, _)| p));
        let perf = (!sum.is_empty())
            .then_some(sum)
            .or(self.base.algo_perf.clone());
        // The rig stays as long as its most patient card asks.
        let min_time =
            self.base
                .algo_min_time
                .or(self.cards.values().filter_map(|(_, t)| *t).max());
        if (perf.clone(), min_time) == self.sent {
            return None;
        }
        self.sent = (perf.clone(), min_time);
        Some(ClientConfig {
            algo_perf: perf,
            algo_min_time: min_time,
            ..self.base.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perf(cnr: f64, pico: f64) -> Option<AlgoPerf> {
        Some(AlgoPerf::new([
            ("cn/r".to_string(), cnr),
            ("cn-pico".to_string(), pico),
        ]))
    }

    #[test]
    fn the_login_offers_the_sum_over_cards_and_changes_only_with_it() {
        let mut rig = RigPerf::new(ClientConfig::new(Vec::new(), "proxy", vec!["cn/r".into()]));
        let first = rig
            .update(1, perf(100.0, 900.0), Some(30))
            .expect("changed");
        assert_eq!(first.algo_perf.and_then(|p| p.get("cn/r")), Some(100.0));
        assert_eq!(first.algo_min_time, Some(30));
        let both = rig
            .update(2, perf(50.0, 1000.0), Some(60))
            .expect("changed");
        let sum = both.algo_perf.expect("sum");
        assert_eq!(
            (sum.get("cn/r"), sum.get("cn-pico")),
            (Some(150.0), Some(1900.0))
        );
        assert_eq!(both.algo_min_time, Some(60));
        // The same report again changes nothing; a card leaving does.
        assert!(rig.update(2, perf(50.0, 1000.0), Some(60)).is_none());
        let left = rig.update(1, None, None).expect("changed");
        assert_eq!(left.algo_perf.and_then(|p| p.get("cn/r")), Some(50.0));
        let none = rig.update(2, None, None).expect("changed");
        assert!(none.algo_perf.is_none() && none.algo_min_time.is_none());
    }
}
