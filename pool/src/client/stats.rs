//! Client statistics: share counters, per-pool RTT, reconnects by cause, current pool and link,
//! uptime.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::transport::Link;
use crate::latency::{RttRecorder, RttSummary};
use crate::session::LedgerCounts;

/// Snapshot returned by [`super::ClientHandle::stats`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientStats {
    /// `found = accepted + rejected + stale + in_flight`.
    pub shares: LedgerCounts,
    pub pools: Vec<PoolStats>,
    /// Ended sessions by [`crate::session::HangCause::kind`].
    pub reconnects: BTreeMap<&'static str, u64>,
    /// Pool we are logged in to, if any.
    pub current_pool: Option<usize>,
    /// What the current session's connection reached (address, TLS), while logged in.
    pub link: Option<Link>,
    /// The hot standby beside the mining connection, if there is a next pool.
    pub standby: Option<StandbyStats>,
    /// Failovers that took the standby over (no connect, no login).
    pub standby_promotions: u64,
    pub uptime: Duration,
}

/// The hot standby: the next pool of the list, connected and logged in but not mining.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandbyStats {
    pub pool: usize,
    /// `connecting`, `logging_in`, `ready` or `down` (waiting to retry).
    pub state: &'static str,
}

/// Per-pool figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolStats {
    pub url: String,
    /// Successful logins (mining sessions, not probes).
    pub logins: u64,
    /// Marked sick (hung or broken) and not yet answering a login again.
    pub sick: bool,
    /// Round trips of requests on mining sessions; `source` says whether kernel stamps were used.
    pub rtt: Option<RttSummary>,
}

/// The driver's side of the stats (behind the shared mutex).
#[derive(Debug)]
pub(crate) struct StatsState {
    pub started: Instant,
    pub urls: Vec<String>,
    pub logins: Vec<u64>,
    pub sick: Vec<bool>,
    pub rtt: Vec<RttRecorder>,
    pub reconnects: BTreeMap<&'static str, u64>,
    pub current_pool: Option<usize>,
    pub link: Option<Link>,
    pub standby: Option<StandbyStats>,
    pub standby_promotions: u64,
}

impl StatsState {
    pub fn new(urls: Vec<String>) -> StatsState {
        let n = urls.len();
        StatsState {
            started: Instant::now(),
            urls,
            logins: vec![0; n],
            sick: vec![false; n],
            rtt: vec![RttRecorder::default(); n],
            reconnects: BTreeMap::new(),
            current_pool: None,
            link: None,
            standby: None,
            standby_promotions: 0,
        }
    }

    pub fn snapshot(&self, shares: LedgerCounts) -> ClientStats {
        ClientStats {
            shares,
            pools: (0..self.urls.len())
                .map(|i| PoolStats {
                    url: self.urls[i].clone(),
                    logins: self.logins[i],
                    sick: self.sick[i],
                    rtt: self.rtt[i].summary(),
                })
                .collect(),
            reconnects: self.reconnects.clone(),
            current_pool: self.current_pool,
            link: self.link.clone(),
            standby: self.standby.clone(),
            standby_promotions: self.standby_promotions,
            uptime: self.started.elapsed(),
        }
    }
}
