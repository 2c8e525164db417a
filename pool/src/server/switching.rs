//! Switching mode: which algorithm a miner is sent, by the rule algorithm-switching pools use —
//! its H/s per algorithm times what a hash of that algorithm is worth, a bonus for the current
//! one, and no switch before the miner's `algo-min-time` has passed. No I/O and no clock.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::protocol::{AlgoOffer, AlgoPerf};

/// The current algorithm's score is raised by this much, so near-ties do not flap.
pub const CURRENT_BONUS: f64 = 1.05;

/// What one hash of each algorithm is worth; the operator (or a test) changes it at run time.
pub type AlgoValues = BTreeMap<String, f64>;

/// The best-scoring algorithm: perf × value, the current one × [`CURRENT_BONUS`]. `None` when
/// no algorithm the miner measured has a value.
pub fn best(perf: &AlgoPerf, values: &AlgoValues, current: Option<&str>) -> Option<String> {
    let mut best: Option<(&str, f64)> = None;
    for (algo, hs) in perf.iter() {
        let Some(value) = values.get(algo) else {
            continue;
        };
        let bonus = if Some(algo) == current {
            CURRENT_BONUS
        } else {
            1.0
        };
        let score = hs * value * bonus;
        if best.is_none_or(|(_, b)| score > b) {
            best = Some((algo, score));
        }
    }
    best.map(|(algo, _)| algo.to_string())
}

/// One miner's choice over time.
#[derive(Debug, Clone)]
pub(crate) struct AlgoChoice {
    perf: AlgoPerf,
    min_time: Duration,
    current: Option<(String, Instant)>,
}

impl AlgoChoice {
    /// The choice for a miner's offer; `None` when it has no figures to score.
    pub fn new(offer: &AlgoOffer) -> Option<Self> {
        Some(Self {
            perf: offer.scored_perf()?.clone(),
            min_time: offer.min_duration(),
            current: None,
        })
    }

    /// A new offer (a `getjob` with `algo-perf`): scored from the next job on; the current
    /// algorithm and when it was chosen stay, so `min_time` still holds. An offer without
    /// figures changes nothing.
    pub fn set_offer(&mut self, offer: &AlgoOffer) {
        if let Some(perf) = offer.scored_perf() {
            self.perf = perf.clone();
            self.min_time = offer.min_duration();
        }
    }

    /// The algorithm for the miner's next job: the current one until `min_time` has passed
    /// since it was chosen, then the best by [`best`]. `None` when nothing can be scored.
    pub fn next(&mut self, values: &AlgoValues, now: Instant) -> Option<String> {
        if let Some((algo, since)) = &self.current {
            if now.duration_since(*since) < self.min_time {
                return Some(algo.clone());
            }
        }
        let current = self.current.as_ref().map(|(a, _)| a.as_str());
        let chosen = best(&self.perf, values, current)?;
        if current != Some(chosen.as_str()) {
            self.current = Some((chosen.clone(), now));
        }
        Some(chosen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perf() -> AlgoPerf {
        AlgoPerf::new([("cn/r".to_string(), 100.0), ("cn-pico".to_string(), 1000.0)])
    }

    fn values(cnr: f64, pico: f64) -> AlgoValues {
        [("cn/r".to_string(), cnr), ("cn-pico".to_string(), pico)]
            .into_iter()
            .collect()
    }

    #[test]
    fn scores_perf_times_value_with_a_bonus_for_the_current_one() {
        assert_eq!(
            best(&perf(), &values(1.0, 0.05), None).as_deref(),
            Some("cn/r")
        );
        assert_eq!(
            best(&perf(), &values(1.0, 0.2), None).as_deref(),
            Some("cn-pico")
        );
        // cn-pico scores 104 against cn/r's 100, but cn/r's bonus makes it 105.
        assert_eq!(
            best(&perf(), &values(1.0, 0.104), Some("cn/r")).as_deref(),
            Some("cn/r")
        );
        let unknown = AlgoPerf::new([("cn/2".to_string(), 1.0)]);
        assert_eq!(best(&unknown, &values(1.0, 1.0), None), None);
    }

    #[test]
    fn keeps_the_algorithm_for_min_time() {
        let t0 = Instant::now();
        let offer = AlgoOffer {
            perf: Some(perf()),
            min_time: Some(10),
            ..AlgoOffer::default()
        };
        let mut c = AlgoChoice::new(&offer).expect("figures to score");
        assert_eq!(c.next(&values(1.0, 0.01), t0).as_deref(), Some("cn/r"));
        let flipped = values(0.01, 1.0);
        assert_eq!(
            c.next(&flipped, t0 + Duration::from_secs(9)).as_deref(),
            Some("cn/r")
        );
        assert_eq!(
            c.next(&flipped, t0 + Duration::from_secs(10)).as_deref(),
            Some("cn-pico")
        );
        // Switching back waits out its own min_time again.
        let back = values(1.0, 0.01);
        assert_eq!(
            c.next(&back, t0 + Duration::from_secs(15)).as_deref(),
            Some("cn-pico")
        );
        assert_eq!(
            c.next(&back, t0 + Duration::from_secs(20)).as_deref(),
            Some("cn/r")
        );
    }
}
