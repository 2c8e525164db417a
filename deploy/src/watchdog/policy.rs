//! The watchdog's decisions without I/O: observations and instants in, actions out.

use super::action::{ActionKind, Cause, Observation, WatchdogAction};
use crate::discovery::CardState;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct WatchdogConfig {
    /// How often a healthy card is probed (bounds how fast a dead agent is restarted).
    pub probe_interval: Duration,
    /// Restart when the rate is below `low_rate_fraction × benchmark` …
    pub low_rate_fraction: f64,
    /// … continuously for this long.
    pub low_rate_window: Duration,
    /// Rates are ignored this long after a (re)start, while the agent warms up.
    pub start_grace: Duration,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// Reset and boot an MPSS card found in `error` through sysfs.
    pub reset_on_error: bool,
}

impl Default for WatchdogConfig {
    fn default() -> Self {
        WatchdogConfig {
            probe_interval: Duration::from_secs(2),
            low_rate_fraction: 0.5,
            low_rate_window: Duration::from_secs(300),
            start_grace: Duration::from_secs(120),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            reset_on_error: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recovery {
    None,
    ResetSent,
    BootSent,
    /// In `error` without reset enabled; reported once.
    Failed,
}

#[derive(Debug, Clone)]
struct CardWatch {
    benchmark: Option<f64>,
    next_probe: Instant,
    started_at: Instant,
    low_since: Option<Instant>,
    /// Current backoff while unreachable.
    unreachable: Option<Duration>,
    recovery: Recovery,
}

/// Per-card supervision state. Feed it [`Observation`]s and the time; do what it returns.
#[derive(Debug, Clone)]
pub struct Watchdog {
    config: WatchdogConfig,
    cards: BTreeMap<String, CardWatch>,
}

impl Watchdog {
    pub fn new(config: WatchdogConfig) -> Watchdog {
        Watchdog {
            config,
            cards: BTreeMap::new(),
        }
    }

    pub fn config(&self) -> &WatchdogConfig {
        &self.config
    }

    /// Supervise `card`, probing it first at `now`. `benchmark` is its expected H/s.
    pub fn add_card(&mut self, card: &str, benchmark: Option<f64>, now: Instant) {
        self.cards.insert(
            card.to_string(),
            CardWatch {
                benchmark,
                next_probe: now,
                started_at: now,
                low_since: None,
                unreachable: None,
                recovery: Recovery::None,
            },
        );
    }

    /// Cards whose probe is due at `now`.
    pub fn due(&self, now: Instant) -> Vec<String> {
        self.cards
            .iter()
            .filter(|(_, w)| w.next_probe <= now)
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// The earliest next probe, to sleep until.
    pub fn next_wake(&self) -> Option<Instant> {
        self.cards.values().map(|w| w.next_probe).min()
    }

    /// Whether `card` is currently marked unreachable.
    pub fn is_unreachable(&self, card: &str) -> bool {
        self.cards
            .get(card)
            .is_some_and(|w| w.unreachable.is_some())
    }

    /// Decides what to do about what a probe of `card` saw at `now`.
    pub fn observe(&mut self, card: &str, obs: &Observation, now: Instant) -> Vec<WatchdogAction> {
        let cfg = self.config.clone();
        let Some(w) = self.cards.get_mut(card) else {
            return Vec::new();
        };
        w.next_probe = now + cfg.probe_interval;
        let mut out = Vec::new();
        let act = |kind, cause| WatchdogAction::new(card, kind, cause);

        if let Some(state) = &obs.mpss_state {
            let cause = || Cause::CardState {
                state: state.to_string(),
            };
            match (state, w.recovery) {
                (CardState::Error, Recovery::None) if cfg.reset_on_error => {
                    w.recovery = Recovery::ResetSent;
                    return vec![act(ActionKind::ResetCard, cause())];
                }
                (CardState::Error, Recovery::None) => {
                    w.recovery = Recovery::Failed;
                    return vec![act(ActionKind::MarkFailed, cause())];
                }
                (CardState::Error, _) => return out,
                (CardState::Ready, Recovery::ResetSent) => {
                    w.recovery = Recovery::BootSent;
                    return vec![act(ActionKind::BootCard, cause())];
                }
                (CardState::Online, Recovery::BootSent | Recovery::Failed) => {
                    w.recovery = Recovery::None;
                }
                (CardState::Online, _) => {}
                // Booting, resetting, ready before a boot we did not send: wait, do nothing.
                _ => return out,
            }
        }

        let seen = match &obs.agent {
            Err(reason) => {
                let backoff = match w.unreachable {
                    None => cfg.backoff_initial,
                    Some(b) => (b * 2).min(cfg.backoff_max),
                };
                let first = w.unreachable.is_none();
                w.unreachable = Some(backoff);
                w.next_probe = now + backoff;
                if first {
                    out.push(act(
                        ActionKind::MarkUnreachable {
                            retry_in_ms: backoff.as_millis() as u64,
                        },
                        Cause::Unreachable {
                            reason: reason.clone(),
                        },
                    ));
                }
                return out;
            }
            Ok(seen) => seen,
        };
        if w.unreachable.take().is_some() {
            out.push(act(ActionKind::Recovered, Cause::Reachable));
        }
        if seen.stopped_by_operator && !seen.running {
            // Stopped on purpose: nothing to repair until someone starts it again, and the
            // low-rate clock starts afresh then.
            w.started_at = now;
            w.low_since = None;
        } else if !seen.binary_present {
            w.started_at = now;
            w.low_since = None;
            out.push(act(ActionKind::Redeploy, Cause::BinaryGone));
        } else if !seen.running {
            w.started_at = now;
            w.low_since = None;
            out.push(act(ActionKind::Restart, Cause::AgentGone));
        } else if let (Some(rate), Some(bench)) = (seen.hash_rate, w.benchmark) {
            let warm = now.saturating_duration_since(w.started_at) >= cfg.start_grace;
            if warm && rate < cfg.low_rate_fraction * bench {
                let since = *w.low_since.get_or_insert(now);
                let lasted = now.saturating_duration_since(since);
                if lasted >= cfg.low_rate_window {
                    w.started_at = now;
                    w.low_since = None;
                    out.push(act(
                        ActionKind::Restart,
                        Cause::LowHashRate {
                            rate,
                            benchmark: bench,
                            fraction: cfg.low_rate_fraction,
                            for_secs: lasted.as_secs(),
                        },
                    ));
                }
            } else {
                w.low_since = None;
            }
        }
        out
    }

    /// An action on `card` failed; an unreachable card is backed off like a failed probe.
    pub fn action_failed(
        &mut self,
        card: &str,
        unreachable: bool,
        reason: &str,
        now: Instant,
    ) -> Vec<WatchdogAction> {
        if unreachable {
            let obs = Observation {
                mpss_state: None,
                agent: Err(reason.to_string()),
            };
            return self.observe(card, &obs, now);
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watchdog::action::AgentSeen;

    fn seen(binary_present: bool, running: bool, hash_rate: Option<f64>) -> Observation {
        Observation {
            mpss_state: None,
            agent: Ok(AgentSeen {
                binary_present,
                running,
                hash_rate,
                stopped_by_operator: false,
            }),
        }
    }

    fn kinds(a: &[WatchdogAction]) -> Vec<ActionKind> {
        a.iter().map(|a| a.kind).collect()
    }

    fn dog(cfg: WatchdogConfig) -> (Watchdog, Instant) {
        let t0 = Instant::now();
        let mut w = Watchdog::new(cfg);
        w.add_card("mic0", Some(1000.0), t0);
        (w, t0)
    }

    #[test]
    fn dead_agent_restarted_missing_binary_redeployed() {
        let (mut w, t0) = dog(WatchdogConfig::default());
        assert_eq!(w.due(t0), vec!["mic0".to_string()]);
        assert!(w.observe("mic0", &seen(true, true, None), t0).is_empty());
        assert!(w.due(t0 + Duration::from_secs(1)).is_empty());
        let t = t0 + Duration::from_secs(2);
        assert_eq!(w.due(t).len(), 1);
        let a = w.observe("mic0", &seen(true, false, None), t);
        assert_eq!(kinds(&a), vec![ActionKind::Restart]);
        assert_eq!(a[0].cause, Cause::AgentGone);
        let a = w.observe(
            "mic0",
            &seen(false, false, None),
            t + Duration::from_secs(2),
        );
        assert_eq!(kinds(&a), vec![ActionKind::Redeploy]);
        assert_eq!(a[0].cause, Cause::BinaryGone);
    }

    #[test]
    fn operator_stop_is_left_alone_until_started_again() {
        let (mut w, t0) = dog(WatchdogConfig {
            start_grace: Duration::ZERO,
            low_rate_window: Duration::from_secs(3),
            ..WatchdogConfig::default()
        });
        let s = |secs| t0 + Duration::from_secs(secs);
        let stopped = |binary_present| Observation {
            mpss_state: None,
            agent: Ok(AgentSeen {
                binary_present,
                running: false,
                hash_rate: None,
                stopped_by_operator: true,
            }),
        };
        // A low rate seen just before the stop does not carry over the stopped time.
        assert!(w
            .observe("mic0", &seen(true, true, Some(1.0)), s(0))
            .is_empty());
        for t in 1..20 {
            assert!(
                w.observe("mic0", &stopped(true), s(t)).is_empty(),
                "at {t} s"
            );
        }
        assert!(w.observe("mic0", &stopped(false), s(20)).is_empty());
        // Started again by the operator (marker gone): supervised as before.
        assert!(w
            .observe("mic0", &seen(true, true, Some(1.0)), s(21))
            .is_empty());
        let a = w.observe("mic0", &seen(true, false, None), s(22));
        assert_eq!(kinds(&a), vec![ActionKind::Restart]);
    }

    #[test]
    fn low_rate_needs_the_whole_window_after_grace() {
        let cfg = WatchdogConfig {
            start_grace: Duration::from_secs(60),
            low_rate_window: Duration::from_secs(300),
            ..WatchdogConfig::default()
        };
        let (mut w, t0) = dog(cfg);
        let s = |secs| t0 + Duration::from_secs(secs);
        // Inside the grace period a low rate is ignored.
        assert!(w
            .observe("mic0", &seen(true, true, Some(10.0)), s(30))
            .is_empty());
        assert!(w
            .observe("mic0", &seen(true, true, Some(10.0)), s(60))
            .is_empty());
        // A good sample resets the window.
        assert!(w
            .observe("mic0", &seen(true, true, Some(900.0)), s(200))
            .is_empty());
        assert!(w
            .observe("mic0", &seen(true, true, Some(400.0)), s(300))
            .is_empty());
        assert!(w
            .observe("mic0", &seen(true, true, Some(400.0)), s(599))
            .is_empty());
        let a = w.observe("mic0", &seen(true, true, Some(400.0)), s(600));
        assert_eq!(kinds(&a), vec![ActionKind::Restart]);
        assert!(matches!(
            a[0].cause,
            Cause::LowHashRate { for_secs: 300, .. }
        ));
        // After the restart the grace applies again.
        assert!(w
            .observe("mic0", &seen(true, true, Some(1.0)), s(610))
            .is_empty());
    }

    #[test]
    fn unreachable_backs_off_capped_then_recovers() {
        let cfg = WatchdogConfig {
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(8),
            ..WatchdogConfig::default()
        };
        let (mut w, t0) = dog(cfg);
        let down = Observation {
            mpss_state: None,
            agent: Err("no route".into()),
        };
        let a = w.observe("mic0", &down, t0);
        assert_eq!(
            kinds(&a),
            vec![ActionKind::MarkUnreachable { retry_in_ms: 1000 }]
        );
        assert!(w.is_unreachable("mic0"));
        let mut t = t0;
        let mut waits = Vec::new();
        for _ in 0..6 {
            let next = w.next_wake().expect("one card");
            waits.push(next.duration_since(t).as_secs());
            t = next;
            assert!(w.observe("mic0", &down, t).is_empty(), "marked only once");
        }
        assert_eq!(waits, vec![1, 2, 4, 8, 8, 8]);
        let a = w.observe("mic0", &seen(true, true, None), t);
        assert_eq!(kinds(&a), vec![ActionKind::Recovered]);
        assert!(!w.is_unreachable("mic0"));
    }

    #[test]
    fn mpss_error_reset_boot_redeploy() {
        let cfg = WatchdogConfig {
            reset_on_error: true,
            ..WatchdogConfig::default()
        };
        let (mut w, t0) = dog(cfg);
        let st = |s: CardState, agent: Result<AgentSeen, String>| Observation {
            mpss_state: Some(s),
            agent,
        };
        let gone = Err("down".to_string());
        let a = w.observe("mic0", &st(CardState::Error, gone.clone()), t0);
        assert_eq!(kinds(&a), vec![ActionKind::ResetCard]);
        assert!(w
            .observe("mic0", &st(CardState::Error, gone.clone()), t0)
            .is_empty());
        assert!(w
            .observe("mic0", &st(CardState::Resetting, gone.clone()), t0)
            .is_empty());
        let a = w.observe("mic0", &st(CardState::Ready, gone.clone()), t0);
        assert_eq!(kinds(&a), vec![ActionKind::BootCard]);
        assert!(w
            .observe("mic0", &st(CardState::Booting, gone), t0)
            .is_empty());
        let fresh = Ok(AgentSeen {
            binary_present: false,
            running: false,
            hash_rate: None,
            stopped_by_operator: false,
        });
        let a = w.observe("mic0", &st(CardState::Online, fresh), t0);
        assert_eq!(kinds(&a), vec![ActionKind::Redeploy]);
    }

    #[test]
    fn mpss_error_without_reset_is_reported_once() {
        let (mut w, t0) = dog(WatchdogConfig::default());
        let obs = Observation {
            mpss_state: Some(CardState::Error),
            agent: Err("down".into()),
        };
        assert_eq!(
            kinds(&w.observe("mic0", &obs, t0)),
            vec![ActionKind::MarkFailed]
        );
        assert!(w.observe("mic0", &obs, t0).is_empty());
    }
}
