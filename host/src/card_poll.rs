//! Polls an agent's `/v1/counters`: cumulative counters become rates, round trips become a clock offset.
//! Its tuned profile (`/v1/profile`) is read beside them when the agent is new and then once a minute.

use std::time::{Duration, Instant};

use phirig_agent::hashrate::RateMeter;
use phirig_wire::{Counters, Profile};

use crate::clock_offset::{Offset, OffsetEstimator, Sample};

/// What the host knows about one card.
#[derive(Debug)]
pub struct CardView {
    pub name: String,
    pub url: String,
    profile_url: String,
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
    /// The agent's tuned profile (`None`: not tuned, stale, or not read yet).
    pub profile: Option<Profile>,
    /// The boot id the profile was last read under, and when.
    profile_read: Option<(String, Instant)>,
}

/// How often a profile is read again from the same agent: it changes only when `tune` ran
/// and the agent reloaded, which is rare, and a new agent is read at once anyway.
pub const PROFILE_EVERY: Duration = Duration::from_secs(60);

/// What a profile read found.
enum ProfileRead {
    Found(Profile),
    /// The agent has none (404: not tuned, or the profile is stale).
    None,
    /// No answer or a bad one: keep what was read before.
    Failed(String),
}

/// How long a card whose agent has never answered counts as starting rather than failing: the
/// agent self-tests its kernels and reserves its memory before its API is up.
pub const START_GRACE: Duration = Duration::from_secs(30);

impl CardView {
    pub fn new(name: &str, base_url: &str, token: Option<String>) -> Self {
        let base = base_url.trim_end_matches('/');
        Self {
            name: name.to_string(),
            url: format!("{base}/v1/counters"),
            profile_url: format!("{base}/v1/profile"),
            token,
            offset: OffsetEstimator::default(),
            meter: RateMeter::default(),
            last: None,
            error: None,
            restarts: 0,
            last_sample: None,
            since: Instant::now(),
            stopped: false,
            profile: None,
            profile_read: None,
        }
    }

    /// Whether the profile is due: never read, read under another boot id than the agent's
    /// last one (it restarted or was upgraded), or read [`PROFILE_EVERY`] ago.
    fn profile_due(&self, now: Instant) -> bool {
        let Some(last) = &self.last else {
            return false;
        };
        match &self.profile_read {
            None => true,
            Some((boot, at)) => {
                *boot != last.boot_id || now.saturating_duration_since(*at) >= PROFILE_EVERY
            }
        }
    }

    async fn read_profile(&self, http: &reqwest::Client, timeout: Duration) -> ProfileRead {
        let mut req = http.get(&self.profile_url).timeout(timeout);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        match req.send().await {
            Ok(resp) if resp.status() == reqwest::StatusCode::NOT_FOUND => ProfileRead::None,
            Ok(resp) if resp.status().is_success() => match resp.json::<Profile>().await {
                Ok(p) => ProfileRead::Found(p),
                Err(e) => ProfileRead::Failed(format!("bad profile: {e}")),
            },
            Ok(resp) => ProfileRead::Failed(format!("HTTP {}", resp.status())),
            Err(e) => ProfileRead::Failed(e.to_string()),
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
        let now = Instant::now();
        let due = self.profile_due(now);
        let sent = phirig_journal::wall_ns();
        // The profile, when due, is read beside the counters: the poll's bound stays one timeout.
        let counters = async {
            let result = match req.send().await {
                Ok(resp) if resp.status().is_success() => resp
                    .json::<Counters>()
                    .await
                    .map_err(|e| format!("bad counters: {e}")),
                Ok(resp) => Err(format!("HTTP {}", resp.status())),
                Err(e) if e.is_timeout() => Err("timed out".into()),
                Err(e) => Err(format!("unreachable: {e}")),
            };
            (result, phirig_journal::wall_ns())
        };
        let profile = async {
            if due {
                Some(self.read_profile(http, timeout).await)
            } else {
                None
            }
        };
        let ((result, received), profile) = tokio::join!(counters, profile);
        if let (Some(read), Some(last)) = (profile, &self.last) {
            self.profile_read = Some((last.boot_id.clone(), now));
            match read {
                ProfileRead::Found(p) => self.profile = Some(p),
                ProfileRead::None => self.profile = None,
                ProfileRead::Failed(e) => {
                    tracing::debug!(card = %self.name, error = %e, "profile not read; kept");
                }
            }
        }
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

    #[test]
    fn the_profile_is_read_for_a_new_agent_and_then_once_a_minute() {
        let mut v = CardView::new("local", "http://127.0.0.1:1", None);
        assert_eq!(v.profile_url, "http://127.0.0.1:1/v1/profile");
        let t0 = Instant::now();
        assert!(!v.profile_due(t0), "nothing answered yet");
        v.ingest(counters("a", 1000, 0));
        assert!(v.profile_due(t0), "never read");
        v.profile_read = Some(("a".into(), t0));
        assert!(!v.profile_due(t0 + Duration::from_secs(59)));
        assert!(v.profile_due(t0 + PROFILE_EVERY), "a minute on");
        v.ingest(counters("b", 1001, 0));
        assert!(v.profile_due(t0 + Duration::from_secs(1)), "a new agent");
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
