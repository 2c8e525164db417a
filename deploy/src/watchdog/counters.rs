//! Hash rates from the agent's cumulative `/v1/counters`, for the watchdog's low-rate rule.

use phirig_wire::Counters;

/// One reading of an agent's counters: its boot, its monotonic clock and its total hashes.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterSample {
    pub boot_id: String,
    pub monotonic_ns: u64,
    pub hashes_total: u64,
}

impl CounterSample {
    /// The fields the rate needs from a `/v1/counters` body; `None` if it is not counters.
    pub fn parse(body: &str) -> Option<CounterSample> {
        let c: Counters = serde_json::from_str(body).ok()?;
        Some(CounterSample {
            boot_id: c.boot_id,
            monotonic_ns: c.monotonic_ns,
            hashes_total: c.hashes_total,
        })
    }

    /// H/s since `before`, on the agent's own clock (so ssh and HTTP delays do not skew it).
    /// `None` across an agent restart or when no time passed.
    pub fn rate_since(&self, before: &CounterSample) -> Option<f64> {
        if self.boot_id != before.boot_id || self.monotonic_ns <= before.monotonic_ns {
            return None;
        }
        let hashes = self.hashes_total.checked_sub(before.hashes_total)?;
        let secs = (self.monotonic_ns - before.monotonic_ns) as f64 / 1e9;
        Some(hashes as f64 / secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(boot: &str, ns: u64, hashes: u64) -> String {
        serde_json::to_string(&Counters {
            boot_id: boot.into(),
            monotonic_ns: ns,
            hashes_total: hashes,
            ..Counters::default()
        })
        .expect("counters as JSON")
    }

    #[test]
    fn rate_from_two_samples_of_one_boot() {
        let a = CounterSample::parse(&body("b1", 1_000_000_000, 100)).expect("a");
        let b = CounterSample::parse(&body("b1", 3_000_000_000, 900)).expect("b");
        assert_eq!(b.rate_since(&a), Some(400.0));
        // A restarted agent (new boot id) or a clock that did not move gives no rate.
        let c = CounterSample::parse(&body("b2", 4_000_000_000, 10)).expect("c");
        assert_eq!(c.rate_since(&b), None);
        assert_eq!(b.rate_since(&b), None);
        assert!(CounterSample::parse(r#"{"boot_id":"x"}"#).is_none());
        assert!(CounterSample::parse("not json").is_none());
    }
}
