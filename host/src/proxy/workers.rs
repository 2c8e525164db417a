//! Workers as xmrig-proxy counts them: per login name, a rate estimated from accepted difficulty.
//!
//! A miner that is not a phirig agent reports no hash counters, so the only evidence of its work
//! is the difficulty of the shares the pool accepted: over a window, their sum divided by the
//! window's length (or by the worker's age, while it is younger) estimates its hash rate.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The longest window asked for (xmrig-proxy's 24 h); older shares are forgotten.
pub const LONGEST_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Accepted difficulty over time, summed per second so a busy worker stays small.
#[derive(Debug, Clone, Default)]
pub struct DiffMeter {
    /// (second that started at this instant, difficulty accepted within it), oldest first.
    seconds: VecDeque<(Instant, u64)>,
}

impl DiffMeter {
    pub fn add(&mut self, at: Instant, diff: u64) {
        match self.seconds.back_mut() {
            Some((start, sum)) if at >= *start && at < *start + Duration::from_secs(1) => {
                *sum += diff
            }
            _ => self.seconds.push_back((at, diff)),
        }
        while self
            .seconds
            .front()
            .is_some_and(|(start, _)| at.saturating_duration_since(*start) > LONGEST_WINDOW)
        {
            self.seconds.pop_front();
        }
    }

    /// Estimated H/s over the `window` before `now`, for a worker first seen at `since`.
    pub fn rate(&self, window: Duration, since: Instant, now: Instant) -> f64 {
        let span = window.min(now.saturating_duration_since(since));
        if span.is_zero() {
            return 0.0;
        }
        let from = now.checked_sub(span).unwrap_or(since);
        let sum: u64 = self
            .seconds
            .iter()
            .rev()
            .take_while(|(start, _)| *start >= from)
            .map(|(_, d)| d)
            .sum();
        sum as f64 / span.as_secs_f64()
    }
}

/// One worker (all connections that logged in under one name).
#[derive(Debug, Clone)]
pub struct Worker {
    pub ip: IpAddr,
    /// Connections open now.
    pub connections: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// Refused by the proxy's own checks (the worker's fault).
    pub invalid: u64,
    /// Sum of accepted difficulty: xmrig-proxy's "hashes".
    pub hashes: u64,
    pub last_share: Option<Instant>,
    /// First login: rates of a young worker are over its age, not the whole window.
    pub since: Instant,
    pub meter: DiffMeter,
}

impl Worker {
    pub fn new(ip: IpAddr, since: Instant) -> Self {
        Worker {
            ip,
            connections: 0,
            accepted: 0,
            rejected: 0,
            invalid: 0,
            hashes: 0,
            last_share: None,
            since,
            meter: DiffMeter::default(),
        }
    }

    pub fn accepted(&mut self, diff: u64, at: Instant) {
        self.accepted += 1;
        self.hashes += diff;
        self.last_share = Some(self.last_share.map_or(at, |l| l.max(at)));
        self.meter.add(at, diff);
    }

    pub fn rate(&self, window: Duration, now: Instant) -> f64 {
        self.meter.rate(window, self.since, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_is_accepted_difficulty_over_the_window_or_the_age() {
        let t0 = Instant::now();
        let mut w = Worker::new("127.0.0.1".parse().unwrap(), t0);
        // 100 difficulty every 500 ms for 120 s: 200 H/s.
        for i in 1..=240u64 {
            w.accepted(100, t0 + Duration::from_millis(500 * i));
        }
        let now = t0 + Duration::from_secs(120);
        let r60 = w.rate(Duration::from_secs(60), now);
        assert!((r60 - 200.0).abs() < 5.0, "{r60}");
        // The 10 min window is older than the worker: divided by its 120 s of life.
        let r600 = w.rate(Duration::from_secs(600), now);
        assert!((r600 - 200.0).abs() < 5.0, "{r600}");
        assert_eq!((w.accepted, w.hashes), (240, 24_000));
        // Nothing for a minute: the 60 s rate falls to zero, the 10 min one halves.
        let later = now + Duration::from_secs(120);
        assert_eq!(w.rate(Duration::from_secs(60), later), 0.0);
        let half = w.rate(Duration::from_secs(600), later);
        assert!((half - 100.0).abs() < 5.0, "{half}");
    }

    #[test]
    fn shares_older_than_a_day_are_forgotten_and_one_second_is_one_entry() {
        let t0 = Instant::now();
        let mut m = DiffMeter::default();
        for i in 0..10u64 {
            m.add(t0 + Duration::from_millis(50 * i), 1);
        }
        assert_eq!(m.seconds.len(), 1);
        m.add(t0 + LONGEST_WINDOW + Duration::from_secs(2), 1);
        assert_eq!(m.seconds.len(), 1, "the first second fell out");
    }
}
