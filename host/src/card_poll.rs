//! Polls an agent's `/v1/counters`: cumulative counters become rates, round trips become a clock offset.

use std::time::{Duration, Instant};

use phirig_agent::hashrate::RateMeter;
use phirig_wire::Counters;

use crate::clock_offset::{Offset, OffsetEstimator, Sample};

/// What the host knows about one card.
#[derive(Debug)]
pub struct CardView {
    pub name: String,
    pub url: String,
    token: Option<String>,
    pub offset: OffsetEstimator,
    pub meter: RateMeter,
    pub last: Option<Counters>,
    pub error: Option<String>,
    /// Agent restarts seen (boot id changes).
    pub restarts: u64,
    /// The last successful poll's round trip (for the host journal).
    pub last_sample: Option<Sample>,
    /// When the host started watching this card (its agent was just started).
    pub since: Instant,
    /// The operator stopped it (`phirig stop`), as the watchdog's last probe read the marker.
    pub stopped: bool,
}

/// How long a card whose agent has never answered counts as starting rather than failing: the
/// agent self-tests its kernels and reserves its memory before its API is up.
pub const START_GRACE: Duration = Duration::from_secs(30);

impl CardView {
    pub fn new(name: &str, base_url: &str, token: Option<String>) -> Self {
        Self {
            name: name.to_string(),
            url: format!("{}/v1/counters", base_url.trim_end_matches('/')),
            token,
            offset: OffsetEstimator::default(),
            meter: RateMeter::default(),
            last: None,
            error: None,
            restarts: 0,
            last_sample: None,
            since: Instant::now(),
            stopped: false,
        }
    }

    /// Never answered yet, and still within [`START_GRACE`] of being started.
    pub fn starting(&self) -> bool {
        self.last.is_none() && self.since.elapsed() < START_GRACE
    }

    /// One poll, bounded by `timeout`; a failure is recorded, never raised: one slow card must not
    /// hold up the others.
    pub async fn poll(&mut self, http: &reqwest::Client, timeout: Duration) {
        let mut req = http.get(&self.url).timeout(timeout);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let sent = phirig_journal::wall_ns();
        let result = match req.send().await {
            Ok(resp) if resp.status().is_success() => resp
                .json::<Counters>()
                .await
                .map_err(|e| format!("bad counters: {e}")),
            Ok(resp) => Err(format!("HTTP {}", resp.status())),
            Err(e) if e.is_timeout() => Err("timed out".into()),
            Err(e) => Err(format!("unreachable: {e}")),
        };
        let received = phirig_journal::wall_ns();
        match result {
            Ok(c) => {
                let sample = Sample {
                    host_send_ns: sent,
                    host_recv_ns: received,
                    card_ns: c.wall_ns,
                };
                self.offset.add(sample);
                self.last_sample = Some(sample);
                self.ingest(c);
                self.error = None;
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// Feeds counters into the meter on the host's time line (card stamp minus the offset).
    pub fn ingest(&mut self, c: Counters) {
        if let Some(prev) = &self.last {
            if prev.boot_id != c.boot_id {
                self.restarts += 1;
                self.meter = RateMeter::default();
            }
        }
        let t = self.offset.to_host_ns(c.wall_ns).unwrap_or(c.wall_ns);
        self.meter.record(t, c.hashes_total);
        self.last = Some(c);
    }

    pub fn clock(&self) -> Option<Offset> {
        self.offset.estimate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(boot: &str, wall_s: u64, hashes: u64) -> Counters {
        Counters {
            boot_id: boot.into(),
            wall_ns: wall_s * 1_000_000_000,
            hashes_total: hashes,
            algo: "cn/0".into(),
            hugepages: [1, 1],
            aes: Some("aes-ni".into()),
            ..Counters::default()
        }
    }

    #[test]
    fn rates_come_from_counter_differences_and_reset_on_restart() {
        let mut v = CardView::new("local", "http://127.0.0.1:1/", None);
        assert_eq!(v.url, "http://127.0.0.1:1/v1/counters");
        for s in 0..=10 {
            v.ingest(counters("a", 1000 + s, s * 50));
        }
        assert_eq!(v.meter.rate(Duration::from_secs(10)), Some(50.0));
        v.ingest(counters("b", 1011, 3));
        assert_eq!(v.restarts, 1);
        assert_eq!(v.meter.rate(Duration::from_secs(10)), None);
    }

    #[tokio::test]
    async fn an_unreachable_card_is_recorded_not_raised() {
        // Port 9 on loopback: nothing listens there in the test environment.
        let mut v = CardView::new("gone", "http://127.0.0.1:9", None);
        v.poll(&reqwest::Client::new(), Duration::from_millis(500))
            .await;
        assert!(v.error.is_some());
        assert!(v.last.is_none());
    }
}
