//! Host↔card clock offset from poll round trips: keep the fastest samples, trust them within ±RTT/2.
//!
//! A poll sends at host time `t0`, the card stamps its wall clock `c` somewhere in the flight, and
//! the reply lands at `t1`. The card's stamp lies between t0 and t1 on the host's time line, so
//! `offset = c − (t0 + t1)/2` is off by at most `(t1 − t0)/2`. Queues only ever add delay, which
//! is why the samples with the smallest round trip are the ones to keep (NTP's clock filter does
//! the same).

use std::collections::VecDeque;

/// One poll: host send and receive times and the card's stamp, all in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub host_send_ns: u64,
    pub host_recv_ns: u64,
    pub card_ns: u64,
}

impl Sample {
    pub fn rtt_ns(&self) -> u64 {
        self.host_recv_ns.saturating_sub(self.host_send_ns)
    }

    /// Card minus host, in nanoseconds.
    pub fn offset_ns(&self) -> i64 {
        let mid = self.host_send_ns as i128 + (self.rtt_ns() as i128) / 2;
        (self.card_ns as i128 - mid) as i64
    }
}

/// The current estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Offset {
    /// Card clock minus host clock.
    pub offset_ns: i64,
    /// The true offset lies within ± this.
    pub bound_ns: u64,
    pub min_rtt_ns: u64,
    pub samples: usize,
}

/// Keeps the last `window` samples and estimates from the one with the smallest round trip.
#[derive(Debug, Clone)]
pub struct OffsetEstimator {
    window: usize,
    samples: VecDeque<Sample>,
}

impl Default for OffsetEstimator {
    fn default() -> Self {
        Self::new(32)
    }
}

impl OffsetEstimator {
    pub fn new(window: usize) -> Self {
        Self {
            window: window.max(1),
            samples: VecDeque::new(),
        }
    }

    /// Adds a sample; a reply that arrived before it was sent (clock trouble) is ignored.
    pub fn add(&mut self, s: Sample) {
        if s.host_recv_ns < s.host_send_ns {
            return;
        }
        self.samples.push_back(s);
        while self.samples.len() > self.window {
            self.samples.pop_front();
        }
    }

    pub fn estimate(&self) -> Option<Offset> {
        let best = self.samples.iter().min_by_key(|s| s.rtt_ns())?;
        Some(Offset {
            offset_ns: best.offset_ns(),
            bound_ns: best.rtt_ns().div_ceil(2),
            min_rtt_ns: best.rtt_ns(),
            samples: self.samples.len(),
        })
    }

    /// A card time stamp placed on the host's time line.
    pub fn to_host_ns(&self, card_ns: u64) -> Option<u64> {
        let o = self.estimate()?;
        Some((card_ns as i128 - o.offset_ns as i128).max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A card 5 ms ahead, answering after `out` ns on the way there and `back` ns on the way back.
    fn poll(t0: u64, out: u64, back: u64) -> Sample {
        let true_offset = 5_000_000;
        Sample {
            host_send_ns: t0,
            host_recv_ns: t0 + out + back,
            card_ns: t0 + out + true_offset,
        }
    }

    #[test]
    fn the_fastest_sample_wins_and_the_bound_holds() {
        let mut e = OffsetEstimator::default();
        // Queued samples: asymmetric delays of several ms.
        e.add(poll(0, 9_000_000, 100_000));
        e.add(poll(10_000_000, 100_000, 7_000_000));
        // One quick, nearly symmetric poll.
        e.add(poll(20_000_000, 60_000, 40_000));
        let o = e.estimate().expect("estimate");
        assert_eq!(o.min_rtt_ns, 100_000);
        assert!(
            (o.offset_ns - 5_000_000).unsigned_abs() <= o.bound_ns,
            "{o:?}"
        );
        assert!((o.offset_ns - 5_000_000).abs() < 50_000);
        assert_eq!(
            e.to_host_ns(25_000_000),
            Some((25_000_000 - o.offset_ns) as u64)
        );
    }

    #[test]
    fn every_sample_is_within_its_own_bound() {
        for (out, back) in [(1u64, 1u64), (10, 1_000_000), (3_000_000, 5)] {
            let s = poll(1_000, out, back);
            assert!((s.offset_ns() - 5_000_000).unsigned_abs() <= s.rtt_ns().div_ceil(2));
        }
    }

    #[test]
    fn window_forgets_old_samples_and_ignores_nonsense() {
        let mut e = OffsetEstimator::new(2);
        assert!(e.estimate().is_none());
        e.add(poll(0, 1, 1));
        e.add(poll(100, 500, 500));
        e.add(poll(200, 700, 700));
        assert_eq!(e.estimate().map(|o| o.min_rtt_ns), Some(1000));
        e.add(Sample {
            host_send_ns: 10,
            host_recv_ns: 5,
            card_ns: 0,
        });
        assert_eq!(e.estimate().map(|o| o.samples), Some(2));
    }
}
