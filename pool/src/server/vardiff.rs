//! Per-connection variable difficulty: steer each miner toward one share per target interval.
//!
//! Pure and clock-free: the connection feeds it `Instant`s. Estimates the miner's rate from the
//! shares in a window (difficulty × shares / elapsed) and picks the difficulty that would give one
//! share per target interval, moving at most ×4 per step so one lucky burst cannot overshoot.

use std::time::{Duration, Instant};

/// Largest factor one retarget may move the difficulty by, up or down.
const MAX_STEP: f64 = 4.0;
/// Changes smaller than this fraction are not worth a new job.
const DEADBAND: f64 = 0.1;

/// Vardiff bounds and pacing (from [`super::ServerConfig`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VardiffConfig {
    pub min: u64,
    pub max: u64,
    pub target_share_time: Duration,
    /// Retarget after this many shares ...
    pub retarget_shares: u32,
    /// ... or once this much time has passed.
    pub retarget_time: Duration,
}

/// One connection's difficulty controller.
#[derive(Debug, Clone)]
pub struct Vardiff {
    cfg: VardiffConfig,
    difficulty: u64,
    window_start: Instant,
    shares: u32,
}

impl Vardiff {
    /// Start at `difficulty` (clamped to the bounds) with an empty window at `now`.
    pub fn new(cfg: VardiffConfig, difficulty: u64, now: Instant) -> Self {
        let max = cfg.max.max(cfg.min).max(1);
        Vardiff {
            cfg,
            difficulty: difficulty.clamp(cfg.min.max(1), max),
            window_start: now,
            shares: 0,
        }
    }

    /// The difficulty new jobs should carry.
    pub fn difficulty(&self) -> u64 {
        self.difficulty
    }

    /// An accepted share at `now`; returns the new difficulty when it changed.
    pub fn on_share(&mut self, now: Instant) -> Option<u64> {
        self.shares = self.shares.saturating_add(1);
        if self.shares >= self.cfg.retarget_shares.max(1) {
            return self.retarget(now);
        }
        self.on_tick(now)
    }

    /// Periodic check (so a miner that finds nothing gets easier work); returns a changed difficulty.
    pub fn on_tick(&mut self, now: Instant) -> Option<u64> {
        if now.saturating_duration_since(self.window_start) >= self.cfg.retarget_time {
            return self.retarget(now);
        }
        None
    }

    fn retarget(&mut self, now: Instant) -> Option<u64> {
        let elapsed = now
            .saturating_duration_since(self.window_start)
            .as_secs_f64()
            .max(1e-3);
        let shares = self.shares;
        self.window_start = now;
        self.shares = 0;
        let current = self.difficulty as f64;
        let ideal = if shares == 0 {
            current / MAX_STEP
        } else {
            current * f64::from(shares) * self.cfg.target_share_time.as_secs_f64() / elapsed
        };
        let stepped = ideal.clamp(current / MAX_STEP, current * MAX_STEP);
        let max = self.cfg.max.max(self.cfg.min).max(1);
        // `as` saturates, so a huge float cannot wrap.
        let next = (stepped.round() as u64).clamp(self.cfg.min.max(1), max);
        if next == self.difficulty || ((next as f64) / current - 1.0).abs() < DEADBAND {
            return None;
        }
        self.difficulty = next;
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> VardiffConfig {
        VardiffConfig {
            min: 1,
            max: 1_000_000,
            target_share_time: Duration::from_secs(10),
            retarget_shares: 5,
            retarget_time: Duration::from_secs(60),
        }
    }

    #[test]
    fn fast_shares_raise_difficulty_by_at_most_four() {
        let t0 = Instant::now();
        let mut v = Vardiff::new(cfg(), 100, t0);
        for i in 1..5 {
            assert_eq!(v.on_share(t0 + Duration::from_millis(100 * i)), None);
        }
        assert_eq!(v.on_share(t0 + Duration::from_millis(500)), Some(400));
    }

    #[test]
    fn converges_to_the_target_share_time() {
        // A miner doing 1000 H/s: at the right difficulty (10 000) a share comes every 10 s.
        let rate = 1000.0;
        let t0 = Instant::now();
        let mut now = t0;
        let mut v = Vardiff::new(cfg(), 10, t0);
        for _ in 0..200 {
            let share_time = v.difficulty() as f64 / rate;
            now += Duration::from_secs_f64(share_time);
            v.on_share(now);
        }
        let d = v.difficulty();
        assert!((9_000..=11_000).contains(&d), "difficulty {d}");
    }

    #[test]
    fn no_shares_lowers_difficulty_and_bounds_hold() {
        let t0 = Instant::now();
        let mut v = Vardiff::new(cfg(), 100, t0);
        assert_eq!(v.on_tick(t0 + Duration::from_secs(59)), None);
        assert_eq!(v.on_tick(t0 + Duration::from_secs(60)), Some(25));
        let mut now = t0 + Duration::from_secs(60);
        for _ in 0..10 {
            now += Duration::from_secs(60);
            v.on_tick(now);
        }
        assert_eq!(v.difficulty(), 1);
        let tight = VardiffConfig {
            min: 50,
            max: 60,
            ..cfg()
        };
        let mut v = Vardiff::new(tight, 1, t0);
        assert_eq!(v.difficulty(), 50);
        for i in 1..=5 {
            v.on_share(t0 + Duration::from_millis(i));
        }
        assert_eq!(v.difficulty(), 60);
    }

    #[test]
    fn on_target_shares_do_not_retarget() {
        let t0 = Instant::now();
        let mut v = Vardiff::new(cfg(), 100, t0);
        let mut out = None;
        for i in 1..=5 {
            out = v.on_share(t0 + Duration::from_secs(10 * i));
        }
        assert_eq!(out, None);
        assert_eq!(v.difficulty(), 100);
    }
}
