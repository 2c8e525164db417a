//! One picture of the rig at an instant: what the table, the host API and the metrics all render.

use std::time::{SystemTime, UNIX_EPOCH};

use phirig_agent::hashrate::WINDOWS;
use phirig_pool::session::LedgerCounts;
use phirig_wire::ShareCounts;
use serde::Serialize;

use crate::card_poll::CardView;
use crate::card_state::CardState;
use crate::proxy::{CardStats, ProxyStats, WorkerStats};

/// The rig: every card, the totals, and the upstream connection.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RigSnapshot {
    /// Host wall clock when the snapshot was taken (ns since the Unix epoch).
    pub taken_ns: u64,
    pub uptime_s: u64,
    /// Algorithm of the current upstream job (empty before the first one).
    pub algo: String,
    pub cards: Vec<CardSnapshot>,
    pub total: RigTotal,
    pub upstream: Option<UpstreamSnapshot>,
    /// The proxy's nonce leases (absent without a proxy).
    pub leases: Option<LeaseSnapshot>,
    /// Every login name on the proxy, deployed cards and other stratum miners alike.
    pub workers: Vec<WorkerSnapshot>,
    /// The proxy's open connections.
    pub miners: Vec<MinerSnapshot>,
}

/// A worker on the proxy: all connections under one login name. Its rates are estimated from
/// the difficulty the pool accepted (xmrig-proxy's method), not counted.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct WorkerSnapshot {
    pub name: String,
    /// A deployed card's login (its counted rate is in `cards`); false for any other miner.
    pub card: bool,
    pub ip: String,
    pub connections: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub invalid: u64,
    /// Sum of accepted difficulty.
    pub hashes: u64,
    /// Its last accepted share (ms since the Unix epoch; 0 for none).
    pub last_share_ms: u64,
    /// Estimated H/s over 1 min, 10 min, 1 h, 12 h, 24 h (xmrig-proxy's windows).
    pub rates: [f64; 5],
    /// Estimated H/s over 10 s, 60 s, 15 min (the rig's windows).
    pub hashrate_estimated: [f64; 3],
    /// A card's state (`stopped`, `mining`, …); for another miner `flagged` when its address
    /// is, else `connected` or `gone`.
    pub state: String,
}

/// One open connection to the proxy (xmrig-proxy's miner row).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct MinerSnapshot {
    pub id: u64,
    pub ip: String,
    pub tx: u64,
    pub rx: u64,
    /// Logged in (true) or still waiting for its login.
    pub ready: bool,
    pub diff: u64,
    pub user: String,
    pub password: String,
    pub rig_id: Option<String>,
    pub agent: String,
}

/// How the proxy's nonce leases fare: a gone card's unleased remainder is reassigned.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct LeaseSnapshot {
    /// Gone cards' unleased remainders adopted by other cards, over all jobs.
    pub reassigned: u64,
    /// Nonces of the newest job released by gone cards and not adopted yet.
    pub orphaned: u64,
    /// Cards connected to the proxy now.
    pub connected: usize,
}

/// One card as the host sees it: its agent's counters plus the proxy's accounting of its shares.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CardSnapshot {
    pub name: String,
    /// "mining", "paused", "starting", "stopped" (by the operator), or the last poll error.
    pub status: String,
    /// The status in one word, the proxy's flag included (what the dashboard shows).
    pub state: CardState,
    /// The operator's stop marker is set (`phirig stop`).
    pub stopped: bool,
    pub error: Option<String>,
    /// H/s over 10 s, 60 s, 15 min; `None` until the window has data.
    pub hashrate: [Option<f64>; 3],
    pub hashes_total: u64,
    pub boot_id: Option<String>,
    /// Agent restarts seen (boot id changes).
    pub restarts: u64,
    pub algo: String,
    /// Shares as the agent counts them.
    pub shares: LedgerCounts,
    /// Shares as the proxy counts them (absent when the card never connected to the proxy).
    pub proxy: Option<ProxyCardSnapshot>,
    /// [allocated, wanted] huge pages.
    pub hugepages: [u64; 2],
    pub aes: Option<String>,
    pub clock: Option<ClockSnapshot>,
    pub temperature_c: Option<f64>,
    /// Seconds since the card's agent started.
    pub uptime_s: f64,
    /// The job the card mines and when it got it, on the host's clock (card stamp minus the
    /// clock offset): how long a new upstream job took to reach the card.
    pub job: Option<phirig_wire::JobSeen>,
    /// Its tuned threads × ways and H/s per algorithm (`phirig-agent tune`), as its agent
    /// serves them; `None` when it has no valid profile.
    pub profile: Option<phirig_wire::Profile>,
}

/// The proxy's figures for one card (matched by its login name).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ProxyCardSnapshot {
    pub connected: bool,
    pub flagged: bool,
    pub slices: u64,
    /// Leases that came from a gone card's unleased remainder.
    pub adopted: u64,
    pub submitted: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub stale: u64,
    pub invalid: u64,
    pub withheld: u64,
}

/// The card's clock against the host's (minimum-RTT estimate).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ClockSnapshot {
    /// Card clock minus host clock.
    pub offset_ns: i64,
    /// The true offset lies within ± this.
    pub bound_ns: u64,
    pub min_rtt_ns: u64,
    pub samples: usize,
}

/// Sums over the cards.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RigTotal {
    /// A window's total is `None` while any card's is (a partial sum would mislead).
    pub hashrate: [Option<f64>; 3],
    pub hashes_total: u64,
    pub shares: LedgerCounts,
    pub cards: usize,
    pub cards_mining: usize,
    /// The part of `hashrate` estimated from other miners' accepted shares (0 without any).
    pub estimated: [f64; 3],
    /// Miners on the proxy that are not deployed cards.
    pub workers: usize,
}

/// The rig's one upstream connection.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UpstreamSnapshot {
    pub pool: Option<String>,
    pub connected: bool,
    pub uptime_s: u64,
    pub jobs: u64,
    pub shares: LedgerCounts,
    /// Ended sessions by cause (`hung-response`, `closed`, …).
    pub reconnects: Vec<(String, u64)>,
    pub rtt_ms: Option<RttMs>,
    /// Difficulty of the newest upstream job.
    pub diff_current: u64,
    /// Best difficulties of the rig's verified shares, highest first.
    pub best: Vec<u64>,
    /// The pool's address, TLS version and certificate fingerprint while connected.
    pub ip: Option<String>,
    pub tls: Option<String>,
    pub tls_fingerprint: Option<String>,
    /// The hot standby: the next pool, logged in but not mining, if there is one.
    pub standby: Option<StandbySnapshot>,
    /// Failovers that took the standby over (no connect, no login).
    pub standby_promotions: u64,
}

/// The upstream's hot standby.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StandbySnapshot {
    pub pool: String,
    /// `connecting`, `logging_in`, `ready` or `down`.
    pub state: String,
}

/// Round trips of upstream requests, in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RttMs {
    pub min: f64,
    pub median: f64,
    pub p99: f64,
    pub samples: usize,
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The agent's share counts in the rig's ledger type (the same five figures).
fn ledger_counts(s: ShareCounts) -> LedgerCounts {
    LedgerCounts {
        found: s.found,
        accepted: s.accepted,
        rejected: s.rejected,
        stale: s.stale,
        in_flight: s.in_flight,
    }
}

fn proxy_card<'a>(proxy: Option<&'a ProxyStats>, name: &str) -> Option<&'a CardStats> {
    // A card may have connected several times (restarts): the newest connection speaks for it.
    proxy?.cards.iter().rev().find(|c| c.login == name)
}

impl CardSnapshot {
    pub fn from_view(view: &CardView, proxy: Option<&ProxyStats>) -> Self {
        let last = view.last.as_ref();
        let status = match (&view.error, last) {
            // A fresh agent's API is not up yet: not a failure until the grace has passed.
            // A stopped card's agent is gone on purpose: not an error, nor still starting.
            (Some(_), _) if view.stopped => "stopped".into(),
            (Some(_), None) if view.starting() => "starting".into(),
            (Some(e), _) => e.clone(),
            (None, Some(l)) if l.paused => "paused".into(),
            (None, Some(_)) => "mining".into(),
            (None, None) => "starting".into(),
        };
        let proxy = proxy_card(proxy, &view.name).map(|c| ProxyCardSnapshot {
            connected: c.connected,
            flagged: c.flagged,
            slices: c.slices,
            adopted: c.adopted,
            submitted: c.shares.submitted,
            accepted: c.shares.accepted,
            rejected: c.shares.rejected,
            stale: c.shares.stale,
            invalid: c.shares.invalid,
            withheld: c.shares.withheld,
        });
        let stopped = status == "stopped";
        Self {
            name: view.name.clone(),
            state: CardState::of(&status, proxy.as_ref().is_some_and(|p| p.flagged)),
            status,
            stopped: view.stopped,
            error: view.error.clone(),
            // Stopped hashes nothing, known: the rig's total stays a sum rather than unknown.
            hashrate: if stopped {
                [Some(0.0); 3]
            } else {
                WINDOWS.map(|w| view.meter.rate(w))
            },
            hashes_total: last.map_or(0, |l| l.hashes_total),
            boot_id: last.map(|l| l.boot_id.clone()),
            restarts: view.restarts,
            algo: last.map_or_else(String::new, |l| l.algo.clone()),
            shares: last.map_or_else(LedgerCounts::default, |l| ledger_counts(l.shares)),
            proxy,
            hugepages: last.map_or([0, 0], |l| l.hugepages),
            aes: last.and_then(|l| l.aes.clone()),
            clock: view.clock().map(|o| ClockSnapshot {
                offset_ns: o.offset_ns,
                bound_ns: o.bound_ns,
                min_rtt_ns: o.min_rtt_ns,
                samples: o.samples,
            }),
            temperature_c: None,
            uptime_s: last.map_or(0.0, |l| l.uptime_s),
            job: last.and_then(|l| l.job.clone()).map(|mut j| {
                j.received_wall_ns = view
                    .offset
                    .to_host_ns(j.received_wall_ns)
                    .unwrap_or(j.received_wall_ns);
                j
            }),
            profile: view.profile.clone(),
        }
    }
}

impl RigSnapshot {
    /// Builds the picture from the polled cards and, when the rig runs one, the proxy.
    pub fn build(cards: &[CardView], proxy: Option<&ProxyStats>, uptime_s: u64) -> Self {
        let cards: Vec<CardSnapshot> = cards
            .iter()
            .map(|v| CardSnapshot::from_view(v, proxy))
            .collect();
        let mut total = RigTotal {
            hashrate: [Some(0.0); 3],
            cards: cards.len(),
            ..RigTotal::default()
        };
        for c in &cards {
            for (t, r) in total.hashrate.iter_mut().zip(c.hashrate) {
                *t = match (*t, r) {
                    (Some(a), Some(b)) => Some(a + b),
                    _ => None,
                };
            }
            total.hashes_total += c.hashes_total;
            total.shares.found += c.shares.found;
            total.shares.accepted += c.shares.accepted;
            total.shares.rejected += c.shares.rejected;
            total.shares.stale += c.shares.stale;
            total.shares.in_flight += c.shares.in_flight;
            if c.error.is_none() && c.status == "mining" {
                total.cards_mining += 1;
            }
        }
        if cards.is_empty() {
            total.hashrate = [None; 3];
        }
        let workers: Vec<WorkerSnapshot> = proxy.map_or_else(Vec::new, |p| {
            p.workers
                .iter()
                .map(|w| {
                    let card = cards.iter().find(|c| c.name == w.name);
                    let state = match card {
                        Some(c) => c.state.as_str(),
                        None if p.flagged_peers.contains(&w.ip) => "flagged",
                        None if w.connections > 0 => "connected",
                        None => "gone",
                    };
                    WorkerSnapshot::from_stats(w, card.is_some(), state)
                })
                .collect()
        });
        for w in workers.iter().filter(|w| !w.card) {
            total.workers += 1;
            for ((t, e), r) in total
                .hashrate
                .iter_mut()
                .zip(&mut total.estimated)
                .zip(w.hashrate_estimated)
            {
                *e += r;
                *t = if cards.is_empty() {
                    Some(t.unwrap_or(0.0) + r)
                } else {
                    t.map(|a| a + r)
                };
            }
        }
        let algo = cards
            .iter()
            .find(|c| !c.algo.is_empty())
            .map_or_else(String::new, |c| c.algo.clone());
        Self {
            taken_ns: now_ns(),
            uptime_s,
            algo,
            cards,
            total,
            upstream: proxy.map(UpstreamSnapshot::from_proxy),
            leases: proxy.map(|p| LeaseSnapshot {
                reassigned: p.reassigned,
                orphaned: p.orphaned,
                connected: p.cards.iter().filter(|c| c.connected).count(),
            }),
            workers,
            miners: proxy.map_or_else(Vec::new, |p| {
                p.cards
                    .iter()
                    .filter(|c| c.connected)
                    .map(MinerSnapshot::from_stats)
                    .collect()
            }),
        }
    }
}

impl WorkerSnapshot {
    fn from_stats(w: &WorkerStats, card: bool, state: &str) -> Self {
        Self {
            state: state.to_string(),
            name: w.name.clone(),
            card,
            ip: w.ip.to_string(),
            connections: w.connections,
            accepted: w.accepted,
            rejected: w.rejected,
            invalid: w.invalid,
            hashes: w.hashes,
            last_share_ms: w.last_share_ms,
            rates: w.rates,
            hashrate_estimated: w.hashrate,
        }
    }
}

impl MinerSnapshot {
    fn from_stats(c: &CardStats) -> Self {
        Self {
            id: c.id,
            ip: c.peer.ip().to_string(),
            tx: c.tx,
            rx: c.rx,
            ready: !c.login.is_empty(),
            diff: c.diff,
            user: c.login.clone(),
            password: c.pass.clone(),
            rig_id: c.rig_id.clone(),
            agent: c.agent.clone(),
        }
    }
}

impl RigSnapshot {
    /// Fills each card's temperature where this machine can see it (this machine, MPSS cards).
    pub fn with_temperatures(mut self, sysfs_root: &std::path::Path) -> Self {
        for c in &mut self.cards {
            c.temperature_c = crate::temperature::card_temperature(sysfs_root, &c.name);
        }
        self
    }
}

impl UpstreamSnapshot {
    pub fn from_proxy(p: &ProxyStats) -> Self {
        let up = &p.upstream;
        let current = up.current_pool.and_then(|i| up.pools.get(i));
        let link = up.link.as_ref();
        Self {
            pool: current.map(|c| c.url.clone()),
            connected: current.is_some(),
            uptime_s: up.uptime.as_secs(),
            jobs: p.jobs,
            shares: up.shares,
            reconnects: up
                .reconnects
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            rtt_ms: current.and_then(|c| c.rtt.as_ref()).map(|r| RttMs {
                min: r.min.as_secs_f64() * 1e3,
                median: r.median.as_secs_f64() * 1e3,
                p99: r.p99.as_secs_f64() * 1e3,
                samples: r.samples,
            }),
            diff_current: p.diff_current,
            best: p.best.to_vec(),
            ip: link.map(|l| l.ip.to_string()),
            tls: link.and_then(|l| l.tls_version()).map(str::to_string),
            tls_fingerprint: link.and_then(|l| l.tls_fingerprint()).map(str::to_string),
            standby: up.standby.as_ref().map(|s| StandbySnapshot {
                pool: up
                    .pools
                    .get(s.pool)
                    .map_or_else(String::new, |p| p.url.clone()),
                state: s.state.to_string(),
            }),
            standby_promotions: up.standby_promotions,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::card_poll::START_GRACE;
    use phirig_wire::Counters;

    fn view(name: &str, per_s: u64) -> CardView {
        let mut v = CardView::new(name, "http://x", None);
        for s in 0..=10u64 {
            v.ingest(Counters {
                boot_id: "b".into(),
                wall_ns: (100 + s) * 1_000_000_000,
                hashes_total: s * per_s,
                algo: "cn/0".into(),
                shares: ShareCounts {
                    found: 2,
                    accepted: 1,
                    rejected: 1,
                    stale: 0,
                    in_flight: 0,
                },
                hugepages: [1, 2],
                aes: Some("aes-ni".into()),
                ..Counters::default()
            });
        }
        v
    }

    #[test]
    fn totals_are_sums_of_cards_and_unknown_windows_stay_unknown() {
        let cards = vec![view("mic0", 100), view("mic1", 50)];
        let s = RigSnapshot::build(&cards, None, 12);
        assert_eq!(s.cards.len(), 2);
        assert_eq!(s.total.hashrate[0], Some(150.0));
        assert_eq!(s.total.hashrate[2], None, "15 min window not full yet");
        assert_eq!(s.total.hashes_total, 1500);
        assert_eq!(s.total.shares.accepted, 2);
        assert_eq!(s.total.cards_mining, 2);
        assert_eq!(s.algo, "cn/0");
        assert_eq!(s.cards[1].hugepages, [1, 2]);
        assert!(s.upstream.is_none());
        let json = serde_json::to_value(&s).expect("serialises");
        assert_eq!(json["cards"][0]["name"], "mic0");
    }

    #[test]
    fn an_empty_rig_has_no_rate() {
        let s = RigSnapshot::build(&[], None, 0);
        assert_eq!(s.total.hashrate, [None; 3]);
    }

    #[test]
    fn a_fresh_agent_that_does_not_answer_yet_is_starting_then_failing() {
        let mut v = CardView::new("mic0", "http://x", None);
        v.error = Some("unreachable: connection refused".into());
        let s = CardSnapshot::from_view(&v, None);
        assert_eq!(s.status, "starting");
        assert_eq!(s.error, v.error, "the error is kept for the API");
        // Past the grace, the error is the status.
        let Some(long_ago) = Instant::now().checked_sub(START_GRACE + Duration::from_secs(1))
        else {
            return; // a machine up for less than the grace: nothing to go back to
        };
        v.since = long_ago;
        let s = CardSnapshot::from_view(&v, None);
        assert_eq!(s.status, "unreachable: connection refused");
        // A card that answered once and then failed shows the failure at once.
        let mut w = view("mic1", 50);
        w.error = Some("timed out".into());
        assert_eq!(CardSnapshot::from_view(&w, None).status, "timed out");
        assert_eq!(
            CardSnapshot::from_view(&w, None).state,
            CardState::Unreachable
        );
    }

    #[test]
    fn a_card_the_operator_stopped_is_stopped_not_failing() {
        let mut v = view("mic0", 50);
        v.stopped = true;
        // Marked but its agent still answers (a start raced the probe): what it does wins.
        assert_eq!(CardSnapshot::from_view(&v, None).state, CardState::Mining);
        v.error = Some("unreachable: connection refused".into());
        let s = CardSnapshot::from_view(&v, None);
        assert_eq!(
            (s.status.as_str(), s.state),
            ("stopped", CardState::Stopped)
        );
        assert!(s.stopped && s.error.is_some(), "{s:?}");
        // It hashes nothing, knowingly: the rig's total is still a sum.
        assert_eq!(s.hashrate, [Some(0.0); 3]);
        let rig = RigSnapshot::build(&[v, view("mic1", 50)], None, 1);
        assert_eq!(rig.total.hashrate[0], Some(50.0));
        let json = serde_json::to_value(&s).expect("json");
        assert_eq!(json["state"], "stopped");
    }
}
