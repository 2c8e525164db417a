//! Hash rates over 10 s / 60 s / 15 min windows, computed from cumulative counters (never from rates).

use std::collections::VecDeque;
use std::time::Duration;

/// The three windows xmrig reports, in order.
pub const WINDOWS: [Duration; 3] = [
    Duration::from_secs(10),
    Duration::from_secs(60),
    Duration::from_secs(15 * 60),
];

/// Samples of one cumulative counter on a monotonic time line (nanoseconds).
#[derive(Debug, Clone)]
pub struct RateMeter {
    samples: VecDeque<(u64, u64)>,
    keep_ns: u64,
    highest: f64,
}

impl Default for RateMeter {
    fn default() -> Self {
        Self::new(WINDOWS[2])
    }
}

impl RateMeter {
    /// Keeps enough history for windows up to `longest`.
    pub fn new(longest: Duration) -> Self {
        Self {
            samples: VecDeque::new(),
            keep_ns: longest.as_nanos() as u64,
            highest: 0.0,
        }
    }

    /// Records the counter's value at time `t_ns`. Out-of-order or decreasing samples (a counter
    /// reset, e.g. an agent restart) start the history afresh rather than producing negative rates.
    /// History starts at the last sample before the first hash: the time before that (page
    /// allocation, a RandomX dataset build) is not hashing time, and a window that took it in
    /// would report a rate below the one the workers run at, where xmrig reports none yet.
    pub fn record(&mut self, t_ns: u64, total: u64) {
        if total == 0 {
            self.samples.clear();
            self.samples.push_back((t_ns, 0));
            return;
        }
        if let Some(&(lt, lc)) = self.samples.back() {
            if t_ns <= lt {
                return;
            }
            if total < lc {
                self.samples.clear();
            }
        }
        self.samples.push_back((t_ns, total));
        // Drop samples older than needed, but keep one at or before the longest window's start.
        while self.samples.len() > 2 && t_ns - self.samples[1].0 >= self.keep_ns {
            self.samples.pop_front();
        }
        if let Some(r) = self.rate(WINDOWS[0]) {
            self.highest = self.highest.max(r);
        }
    }

    /// H/s over the last `window`, or `None` until that much history exists.
    pub fn rate(&self, window: Duration) -> Option<f64> {
        let &(t1, c1) = self.samples.back()?;
        let w = window.as_nanos() as u64;
        if t1 < w {
            return None;
        }
        let start = t1 - w;
        // The newest sample at or before the window start.
        let &(t0, c0) = self.samples.iter().rev().find(|(t, _)| *t <= start)?;
        if t1 == t0 {
            return None;
        }
        Some((c1 - c0) as f64 * 1e9 / (t1 - t0) as f64)
    }

    /// Rates for the standard windows, `None` for windows not yet full.
    pub fn rates(&self) -> [Option<f64>; 3] {
        WINDOWS.map(|w| self.rate(w))
    }

    /// The highest 10-second rate seen.
    pub fn highest(&self) -> f64 {
        self.highest
    }

    pub fn latest(&self) -> Option<(u64, u64)> {
        self.samples.back().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn windows_fill_and_measure() {
        let mut m = RateMeter::default();
        for sec in 0..=70u64 {
            m.record(sec * S, sec * 100);
            if sec < 10 {
                assert_eq!(m.rate(WINDOWS[0]), None, "10 s window not full at {sec}s");
            }
        }
        assert_eq!(m.rate(WINDOWS[0]), Some(100.0));
        assert_eq!(m.rate(WINDOWS[1]), Some(100.0));
        assert_eq!(m.rate(WINDOWS[2]), None);
        assert_eq!(m.highest(), 100.0);
    }

    #[test]
    fn a_missed_sample_loses_no_hashes() {
        let mut m = RateMeter::default();
        m.record(0, 0);
        m.record(5 * S, 500);
        // 10 s of samples missing, then the counter shows everything done meanwhile.
        m.record(20 * S, 2000);
        assert_eq!(m.rate(Duration::from_secs(15)), Some(100.0));
    }

    #[test]
    fn counter_reset_restarts_history() {
        let mut m = RateMeter::default();
        for sec in 0..=12u64 {
            m.record(sec * S, 1000 + sec * 10);
        }
        m.record(13 * S, 5); // agent restarted
        assert_eq!(m.rate(WINDOWS[0]), None);
        m.record(13 * S, 10); // same instant: ignored
        assert_eq!(m.latest(), Some((13 * S, 5)));
    }

    #[test]
    fn windows_start_at_the_first_counted_hash() {
        let mut m = RateMeter::default();
        // 20 s of dataset build, then 100 H/s from 20.5 s on, sampled once a second.
        for sec in 0..=20u64 {
            m.record(sec * S, 0);
        }
        for sec in 21..=25u64 {
            m.record(sec * S, (sec * S - 20 * S - S / 2) / 10_000_000);
        }
        // A window reaching back into the build would give 45 H/s here.
        assert_eq!(m.rate(WINDOWS[0]), None);
        for sec in 26..=31u64 {
            m.record(sec * S, (sec * S - 20 * S - S / 2) / 10_000_000);
        }
        assert_eq!(m.rate(WINDOWS[0]), Some(100.0));
        assert_eq!(m.highest(), 100.0);
    }

    #[test]
    fn history_is_bounded() {
        let mut m = RateMeter::new(Duration::from_secs(60));
        for sec in 0..10_000u64 {
            m.record(sec * S, sec);
        }
        assert!(m.samples.len() <= 62, "kept {}", m.samples.len());
        assert_eq!(m.rate(Duration::from_secs(60)), Some(1.0));
    }
}
