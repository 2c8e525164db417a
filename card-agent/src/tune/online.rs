//! The online tuner's rule, free of threads and clocks: while mining, try one way more or fewer
//! in alternating paired rounds on the real job and keep it only on a paired win.

use std::time::{Duration, Instant};

use super::paired::{paired_win, Threads};

/// Round length and count of the online tuner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnlineConfig {
    /// One measured round of one setting.
    pub round: Duration,
    /// Time after a switch before the round's count starts (threads restart, caches refill).
    pub settle: Duration,
    /// Rounds of each side per comparison.
    pub pairs: usize,
    /// The incumbent alone between two pairs, unmeasured: what keeps the neighbours' share of
    /// the time, and so the tuner's cost, small.
    pub gap: Duration,
}

impl OnlineConfig {
    /// Mining: a pair of 5 s rounds a minute, 3 pairs per neighbour, so a neighbour runs about
    /// one minute in ten and a slower one costs a tenth of its shortfall.
    pub const MINING: OnlineConfig = OnlineConfig {
        round: Duration::from_secs(5),
        settle: Duration::from_millis(500),
        pairs: 3,
        gap: Duration::from_secs(50),
    };

    /// `round` with the mining schedule's proportions: settle a tenth of it, gap ten times it.
    pub fn with_round(round: Duration, pairs: usize) -> Self {
        Self {
            round,
            settle: round / 10,
            pairs: pairs.max(1),
            gap: round * 10,
        }
    }
}

/// What the workers must do now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// Run this many ways per thread.
    Set(usize),
    /// A comparison is over: run `ways` (the incumbent after it), measured at `hs`; `won` when
    /// the challenger took its place.
    Decided { ways: usize, hs: f64, won: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Incumbent,
    Challenger,
}

#[derive(Debug)]
struct Trial {
    challenger: usize,
    round: usize,
    started: Instant,
    /// Where the count of this round began, once settled.
    counted_from: Option<(Instant, u64)>,
    held: Vec<f64>,
    challenged: Vec<f64>,
}

/// One algorithm's online tuning: the incumbent ways against each untried neighbour in turn.
#[derive(Debug)]
pub struct OnlineTuner {
    cfg: OnlineConfig,
    incumbent: usize,
    max_ways: usize,
    tried: Vec<usize>,
    trial: Option<Trial>,
    /// The incumbent runs unmeasured until then.
    resting_until: Option<Instant>,
}

impl OnlineTuner {
    pub fn new(cfg: OnlineConfig, ways: usize, max_ways: usize) -> Self {
        Self {
            cfg,
            incumbent: ways,
            max_ways,
            tried: vec![ways],
            trial: None,
            resting_until: None,
        }
    }

    /// The ways in force when no comparison runs.
    pub fn incumbent(&self) -> usize {
        self.incumbent
    }

    /// Nothing left to try.
    pub fn finished(&self) -> bool {
        self.trial.is_none() && self.next_candidate().is_none()
    }

    fn next_candidate(&self) -> Option<usize> {
        [self.incumbent + 1, self.incumbent.saturating_sub(1)]
            .into_iter()
            .find(|k| (1..=self.max_ways).contains(k) && !self.tried.contains(k))
    }

    /// Which side runs round `r`: the order swaps every pair, so a drift favours neither.
    fn side(r: usize) -> Side {
        if r.is_multiple_of(2) == (r / 2).is_multiple_of(2) {
            Side::Incumbent
        } else {
            Side::Challenger
        }
    }

    fn ways(&self, side: Side, trial: &Trial) -> usize {
        match side {
            Side::Incumbent => self.incumbent,
            Side::Challenger => trial.challenger,
        }
    }

    /// Feed the time and the workers' cumulative hash count; says when the ways must change.
    pub fn tick(&mut self, now: Instant, hashes: u64) -> Option<Action> {
        if let Some(until) = self.resting_until {
            if now < until {
                return None;
            }
            self.resting_until = None;
            if let Some(mut trial) = self.trial.take() {
                // The next pair: its first side runs from now.
                trial.started = now;
                trial.counted_from = None;
                let ways = self.ways(Self::side(trial.round), &trial);
                self.trial = Some(trial);
                return (ways != self.incumbent).then_some(Action::Set(ways));
            }
        }
        let Some(mut trial) = self.trial.take() else {
            let challenger = self.next_candidate()?;
            self.tried.push(challenger);
            let trial = Trial {
                challenger,
                round: 0,
                started: now,
                counted_from: None,
                held: Vec::new(),
                challenged: Vec::new(),
            };
            let ways = self.ways(Self::side(0), &trial);
            self.trial = Some(trial);
            return Some(Action::Set(ways));
        };
        let Some((t0, h0)) = trial.counted_from else {
            if now >= trial.started + self.cfg.settle {
                trial.counted_from = Some((now, hashes));
            }
            self.trial = Some(trial);
            return None;
        };
        if now < t0 + self.cfg.round {
            self.trial = Some(trial);
            return None;
        }
        let rate = hashes.saturating_sub(h0) as f64 / now.duration_since(t0).as_secs_f64();
        let side = Self::side(trial.round);
        match side {
            Side::Incumbent => trial.held.push(rate),
            Side::Challenger => trial.challenged.push(rate),
        }
        trial.round += 1;
        if trial.round.is_multiple_of(2) {
            // A pair is complete. Winning needs every pair, so one lost pair decides.
            let lost = trial.challenged.last() <= trial.held.last();
            if lost || trial.round == 2 * self.cfg.pairs {
                return Some(self.decide(trial, now));
            }
            self.resting_until = Some(now + self.cfg.gap);
            let back = side == Side::Challenger;
            self.trial = Some(trial);
            return back.then_some(Action::Set(self.incumbent));
        }
        let next = Self::side(trial.round);
        trial.started = now;
        trial.counted_from = None;
        let ways = (next != side).then(|| self.ways(next, &trial));
        self.trial = Some(trial);
        ways.map(Action::Set)
    }

    /// Ends a comparison: the winner becomes the incumbent and runs through a gap before the next.
    fn decide(&mut self, trial: Trial, now: Instant) -> Action {
        let won = trial.round == 2 * self.cfg.pairs
            && paired_win(&trial.held, &trial.challenged, Threads::Same);
        let rounds = if won {
            self.incumbent = trial.challenger;
            &trial.challenged
        } else {
            &trial.held
        };
        let hs = rounds.iter().sum::<f64>() / rounds.len() as f64;
        self.resting_until = Some(now + self.cfg.gap);
        Action::Decided {
            ways: self.incumbent,
            hs,
            won,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: OnlineConfig = OnlineConfig {
        round: Duration::from_secs(10),
        settle: Duration::from_secs(1),
        pairs: 2,
        gap: Duration::from_secs(20),
    };

    /// Drives the tuner second by second over synthetic workers hashing `rate(ways)` H/s, and
    /// returns every action with the second it came.
    fn drive(
        tuner: &mut OnlineTuner,
        seconds: u64,
        rate: impl Fn(usize) -> u64,
    ) -> Vec<(u64, Action)> {
        let t0 = Instant::now();
        let mut ways = tuner.incumbent();
        let mut hashes = 0;
        let mut out = Vec::new();
        for s in 0..seconds {
            if let Some(a) = tuner.tick(t0 + Duration::from_secs(s), hashes) {
                ways = match a {
                    Action::Set(k) => k,
                    Action::Decided { ways, .. } => ways,
                };
                out.push((s, a));
            }
            hashes += rate(ways);
        }
        out
    }

    #[test]
    fn a_faster_neighbour_is_kept_only_after_winning_its_pairs() {
        let mut t = OnlineTuner::new(CFG, 2, 5);
        // Three ways hash 110 H/s, two 100, one 60: 3 wins, then 4 (100) loses to it, 2 was tried.
        let rate = |k: usize| match k {
            3 => 110,
            4 => 100,
            1 => 60,
            _ => 100,
        };
        let actions = drive(&mut t, 400, rate);
        let sets: Vec<usize> = actions
            .iter()
            .filter_map(|(_, a)| match a {
                Action::Set(k) => Some(*k),
                _ => None,
            })
            .collect();
        // Incumbent 2, then challenger 3 twice (order swapped in the second pair), then 2.
        assert_eq!(&sets[..4], &[2, 3, 2, 3]);
        let decided: Vec<(usize, bool)> = actions
            .iter()
            .filter_map(|(_, a)| match a {
                Action::Decided { ways, won, .. } => Some((*ways, *won)),
                _ => None,
            })
            .collect();
        assert_eq!(decided, [(3, true), (3, false)]);
        assert!(t.finished());
        assert_eq!(t.incumbent(), 3);
        let Some((_, Action::Decided { hs, .. })) = actions
            .iter()
            .find(|(_, a)| matches!(a, Action::Decided { .. }))
        else {
            panic!("no decision");
        };
        assert!((hs - 110.0).abs() < 1.0, "{hs}");
    }

    #[test]
    fn a_tie_or_a_loss_keeps_the_incumbent() {
        let mut t = OnlineTuner::new(CFG, 1, 2);
        let actions = drive(&mut t, 200, |_| 100);
        let decided: Vec<_> = actions
            .iter()
            .filter(|(_, a)| matches!(a, Action::Decided { .. }))
            .collect();
        assert_eq!(decided.len(), 1, "{actions:?}");
        assert!(matches!(
            decided[0].1,
            Action::Decided {
                ways: 1,
                won: false,
                ..
            }
        ));
        assert!(t.finished());
    }

    #[test]
    fn the_settle_time_is_not_counted() {
        // The first second after each switch hashes nothing (a restart); rounds still compare.
        let mut t = OnlineTuner::new(CFG, 1, 2);
        let t0 = Instant::now();
        assert_eq!(t.tick(t0, 0), Some(Action::Set(1)));
        assert_eq!(t.tick(t0 + Duration::from_millis(500), 0), None);
        assert_eq!(t.tick(t0 + Duration::from_secs(1), 0), None);
        // Counted from second 1 to 11: 1000 hashes, 100 H/s; the challenger runs next.
        assert_eq!(
            t.tick(t0 + Duration::from_secs(11), 1000),
            Some(Action::Set(2))
        );
    }

    #[test]
    fn a_challenger_that_loses_its_first_pair_is_dropped_at_once() {
        let mut t = OnlineTuner::new(CFG, 2, 3);
        let actions = drive(&mut t, 200, |k| if k == 2 { 100 } else { 90 });
        let decided: Vec<u64> = actions
            .iter()
            .filter_map(|(s, a)| matches!(a, Action::Decided { .. }).then_some(*s))
            .collect();
        // Two neighbours (3, then 1), each over after one pair: 2 × (1 + 10) s of rounds.
        assert_eq!(decided.len(), 2, "{actions:?}");
        assert!(decided[0] <= 23, "{decided:?}");
        assert!(t.finished());
        assert_eq!(t.incumbent(), 2);
    }

    #[test]
    fn at_the_mining_schedule_slower_neighbours_cost_under_three_percent_of_any_minute() {
        // Neighbours a fifth slower; every 60 s window keeps 97 % of the incumbent's rate.
        let mut t = OnlineTuner::new(OnlineConfig::MINING, 3, 5);
        let t0 = Instant::now();
        let mut ways = t.incumbent();
        let mut per_second = Vec::new();
        let mut hashes = 0;
        for s in 0..900 {
            if let Some(a) = t.tick(t0 + Duration::from_secs(s), hashes) {
                ways = match a {
                    Action::Set(k) | Action::Decided { ways: k, .. } => k,
                };
            }
            let rate = if ways == 3 { 100 } else { 80 };
            per_second.push(rate);
            hashes += rate;
        }
        assert!(t.finished(), "the tuner did not get through its neighbours");
        let worst = per_second
            .windows(60)
            .map(|w| w.iter().sum::<u64>())
            .min()
            .unwrap_or(0);
        assert!(worst >= 97 * 60, "worst minute {worst} of 6000");
    }
}
