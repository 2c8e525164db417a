//! Proxy settings: where cards connect, the upstream pools, and the limits that keep it bounded.

use std::net::SocketAddr;
use std::time::Duration;

use phirig_pool::client::ClientConfig;

/// Default lease: 2^20 nonces, minutes of a card's work at CryptoNight speeds.
pub const DEFAULT_LEASE_LEN: u64 = 1 << 20;

/// Everything [`super::start`] needs. Build with [`ProxyConfig::new`] and override fields.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Downstream listen address (the host side of the cards' virtual network); port 0 picks one.
    pub bind: SocketAddr,
    /// The upstream client: failover pool list, timeouts, login.
    pub upstream: ClientConfig,
    /// How many upstream jobs still take shares from cards (older ones: "Invalid job id").
    pub recent_jobs: usize,
    /// Nonce counters per card block when the upstream job is NiceHash (2^24 counters in all).
    pub nicehash_slice_len: u64,
    /// Nonce counters per lease: a card gets its block in leases of this size and asks for the
    /// next with `getjob`; a gone card's unleased rest goes to another card.
    pub lease_len: u64,
    /// Longest a card's submit waits for the upstream outcome before it is answered as stale.
    pub outcome_timeout: Duration,
    /// Connections beyond this are closed at once.
    pub max_cards: usize,
    /// Shares hashed at once (each blocking-pool hash may hold a 2 MiB scratchpad).
    pub verify_threads: usize,
    /// Longest line accepted from a card.
    pub max_line: usize,
    /// Lines queued for one card before it is considered stuck and disconnected.
    pub outbox: usize,
    /// How long an address flagged for bad shares stays flagged (doubling for a repeat offence).
    pub flag_expiry: Duration,
}

impl ProxyConfig {
    /// Defaults: 4 recent jobs, 2^20-counter NiceHash slices (16 per job), 60 s outcome wait,
    /// flags for 10 minutes.
    pub fn new(bind: SocketAddr, upstream: ClientConfig) -> Self {
        ProxyConfig {
            bind,
            upstream,
            recent_jobs: 4,
            nicehash_slice_len: 1 << 20,
            lease_len: DEFAULT_LEASE_LEN,
            outcome_timeout: Duration::from_secs(60),
            max_cards: 256,
            verify_threads: 2,
            max_line: 16 * 1024,
            outbox: 256,
            flag_expiry: super::DEFAULT_FLAG_EXPIRY,
        }
    }
}
