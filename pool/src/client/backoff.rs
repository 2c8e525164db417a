//! Exponential reconnect backoff with jitter, capped.

use std::time::Duration;

use rand::Rng;

/// Delay before retrying when no other pool is available.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max: max.max(initial),
            failures: 0,
        }
    }

    /// The next delay: `initial * 2^failures`, capped, times a random factor in [0.5, 1.0]
    /// so a pool restart is not met by every rig at the same instant.
    pub fn next_delay(&mut self) -> Duration {
        let exp = self.failures.min(20);
        self.failures = self.failures.saturating_add(1);
        let base = self.initial.saturating_mul(1u32 << exp).min(self.max);
        base.mul_f64(rand::rng().random_range(0.5..=1.0))
    }

    /// A login succeeded: start over.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_is_capped_and_resets() {
        let s = Duration::from_secs(1);
        let mut b = Backoff::new(s, 8 * s);
        let delays: Vec<Duration> = (0..8).map(|_| b.next_delay()).collect();
        assert!(delays[0] >= s / 2 && delays[0] <= s);
        assert!(delays[3] >= 4 * s && delays[3] <= 8 * s);
        assert!(delays.iter().all(|d| *d <= 8 * s));
        b.reset();
        assert!(b.next_delay() <= s);
    }
}
