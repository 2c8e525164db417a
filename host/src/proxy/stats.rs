//! What `ProxyHandle::stats` reports: a row per connection and per worker, and upstream figures.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use phirig_pool::client::ClientStats;
use phirig_pool::protocol::BEST_KEPT;

pub use super::card::ShareCounts;

/// A snapshot of the proxy.
#[derive(Debug, Clone)]
pub struct ProxyStats {
    /// Every card that logged in since start (connected or not) and every open connection, in
    /// connection order.
    pub cards: Vec<CardStats>,
    /// Upstream jobs received.
    pub jobs: u64,
    /// Gone cards' unleased remainders adopted by other cards, over all jobs.
    pub reassigned: u64,
    /// Counters of the newest job released by gone cards and not adopted yet.
    pub orphaned: u64,
    /// Difficulty of the newest upstream job (0 before the first).
    pub diff_current: u64,
    /// Best difficulties of the shares the proxy verified, highest first.
    pub best: [u64; BEST_KEPT],
    pub upstream: ClientStats,
    /// Every login name seen (cards and any other stratum miner), by name.
    pub workers: Vec<WorkerStats>,
    /// Addresses flagged for bad shares over all their connections (deployed cards exempt).
    pub flagged_peers: Vec<IpAddr>,
}

/// The windows of xmrig-proxy's worker rows: 1 min, 10 min, 1 h, 12 h, 24 h.
pub const XMRIG_PROXY_WINDOWS: [Duration; 5] = [
    Duration::from_secs(60),
    Duration::from_secs(600),
    Duration::from_secs(3600),
    Duration::from_secs(12 * 3600),
    Duration::from_secs(24 * 3600),
];

/// One worker: the connections that logged in under one name. Its rates are *estimated* from
/// the difficulty the pool accepted, as xmrig-proxy does.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerStats {
    pub name: String,
    /// Address of its newest connection.
    pub ip: IpAddr,
    /// Connections open now.
    pub connections: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub invalid: u64,
    /// Sum of accepted difficulty.
    pub hashes: u64,
    /// Wall-clock time of its last accepted share (ms since the Unix epoch; 0 for none).
    pub last_share_ms: u64,
    /// Estimated H/s over [`XMRIG_PROXY_WINDOWS`].
    pub rates: [f64; 5],
    /// Estimated H/s over the rig's windows (10 s, 60 s, 15 min).
    pub hashrate: [f64; 3],
}

/// One card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardStats {
    /// Proxy-local card id (connection order).
    pub id: u64,
    pub peer: SocketAddr,
    /// Login name the card sent (empty before login).
    pub login: String,
    pub connected: bool,
    pub shares: ShareCounts,
    /// Too many invalid shares: its shares are no longer sent upstream.
    pub flagged: bool,
    /// Nonce leases handed to it, across all jobs.
    pub slices: u64,
    /// Leases that came from a gone card's unleased remainder.
    pub adopted: u64,
    /// What the miner sent at login (xmrig-proxy's miner row).
    pub pass: String,
    pub agent: String,
    pub rig_id: Option<String>,
    /// Bytes sent to and received from it.
    pub tx: u64,
    pub rx: u64,
    /// Difficulty of the job it mines now (0 when none).
    pub diff: u64,
}
