//! The worker side of `ProxyState`: login names joining and leaving, and their rows.

use std::net::IpAddr;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use phirig_agent::hashrate::WINDOWS;

use super::ProxyState;
use crate::proxy::card::LocalReject;
use crate::proxy::stats::{WorkerStats, XMRIG_PROXY_WINDOWS};
use crate::proxy::workers::Worker;

/// What the pool said of a worker's share (a stale one counts for neither).
#[derive(Debug, Clone, Copy)]
pub(super) enum WorkerOutcome {
    /// Accepted at this difficulty; `at` is when it went upstream.
    Accepted {
        diff: u64,
        at: Instant,
    },
    Rejected,
}

impl ProxyState {
    pub(super) fn worker_joined(&mut self, name: &str, ip: IpAddr, now: Instant) {
        let w = self
            .workers
            .entry(name.to_string())
            .or_insert_with(|| Worker::new(ip, now));
        w.ip = ip;
        w.connections += 1;
    }

    pub(super) fn worker_left(&mut self, name: Option<&str>) {
        if let Some(w) = name.and_then(|n| self.workers.get_mut(n)) {
            w.connections = w.connections.saturating_sub(1);
        }
    }

    /// A refusal that was the worker's fault counts as xmrig-proxy's "invalid".
    pub(super) fn worker_refused(&mut self, name: Option<&str>, why: LocalReject) {
        if !why.is_card_fault() {
            return;
        }
        if let Some(w) = name.and_then(|n| self.workers.get_mut(n)) {
            w.invalid += 1;
        }
    }

    pub(super) fn worker_outcome(&mut self, name: Option<&str>, outcome: WorkerOutcome) {
        let Some(w) = name.and_then(|n| self.workers.get_mut(n)) else {
            return;
        };
        match outcome {
            WorkerOutcome::Accepted { diff, at } => w.accepted(diff, at),
            WorkerOutcome::Rejected => w.rejected += 1,
        }
    }

    /// One row per login name seen, rates as of `now`; `wall_now` dates the last shares.
    pub fn worker_stats(&self, now: Instant, wall_now: SystemTime) -> Vec<WorkerStats> {
        let wall_ms = |at: Instant| {
            let ago = now.saturating_duration_since(at);
            wall_now
                .checked_sub(ago)
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_millis() as u64)
        };
        self.workers
            .iter()
            .map(|(name, w)| WorkerStats {
                name: name.clone(),
                ip: w.ip,
                connections: w.connections,
                accepted: w.accepted,
                rejected: w.rejected,
                invalid: w.invalid,
                hashes: w.hashes,
                last_share_ms: w.last_share.map_or(0, wall_ms),
                rates: XMRIG_PROXY_WINDOWS.map(|win| w.rate(win, now)),
                hashrate: WINDOWS.map(|win| w.rate(win, now)),
            })
            .collect()
    }
}
