//! What `ProxyHandle::stats` reports: one row per card plus the upstream client's figures.

use std::net::SocketAddr;

use phirig_pool::client::ClientStats;
use phirig_pool::protocol::BEST_KEPT;

pub use super::card::ShareCounts;

/// A snapshot of the proxy.
#[derive(Debug, Clone)]
pub struct ProxyStats {
    /// Every card seen since start, connected or not, in connection order.
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
}
