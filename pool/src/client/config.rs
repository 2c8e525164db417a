//! Client configuration: the priority-ordered pool list, timeouts, and how we introduce ourselves.

use crate::protocol::{is_nicehash_host, AlgoOffer, PoolUrl};
use crate::session::Timeouts;

use super::tls::{parse_fingerprint, TlsConfigError};

/// One pool of the failover list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    pub url: PoolUrl,
    /// Wallet or account login.
    pub user: String,
    pub pass: String,
    pub rig_id: Option<String>,
    /// Force NiceHash mode (also on for `*.nicehash.com`, the `nicehash` extension, or a job
    /// blob with a non-zero nonce).
    pub nicehash: bool,
    /// SHA-256 of the pool's DER certificate, hex (colons allowed). When set, exactly that
    /// certificate is accepted, instead of the webpki roots.
    pub tls_fingerprint: Option<String>,
    /// Send `keepalived` when the pool advertises support.
    pub keepalive: bool,
}

impl PoolConfig {
    /// A pool with just a URL and login; everything else off.
    pub fn new(url: PoolUrl, user: &str) -> PoolConfig {
        PoolConfig {
            url,
            user: user.into(),
            pass: "x".into(),
            rig_id: None,
            nicehash: false,
            tls_fingerprint: None,
            keepalive: true,
        }
    }

    /// Whether NiceHash mode is forced by configuration or host name.
    pub fn nicehash_forced(&self) -> bool {
        self.nicehash || is_nicehash_host(&self.url.host)
    }
}

/// Everything [`super::spawn`] needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Highest priority first; mining returns to the first healthy one.
    pub pools: Vec<PoolConfig>,
    pub timeouts: Timeouts,
    /// Sent as `agent` in the login.
    pub agent: String,
    /// Algorithms we can mine (the configured one first), and for algorithm-switching pools our
    /// H/s on each and least seconds per algorithm: sent in every login.
    pub offer: AlgoOffer,
    /// SO_SNDBUF for pool sockets; `None` keeps the kernel default. Stratum traffic is tiny, and
    /// a small buffer makes a pool that stopped reading show up as a write stall sooner.
    pub send_buffer: Option<u32>,
    /// Shares held while no session can take them; beyond this the oldest become stale.
    pub max_held_shares: usize,
}

impl ClientConfig {
    /// A config with default timeouts for the given pools, offering `algos` with no figures.
    pub fn new(pools: Vec<PoolConfig>, agent: &str, algos: Vec<String>) -> ClientConfig {
        ClientConfig {
            pools,
            timeouts: Timeouts::default(),
            agent: agent.into(),
            offer: AlgoOffer::new(algos),
            send_buffer: None,
            max_held_shares: crate::session::DEFAULT_MAX_HELD,
        }
    }

    /// Check what can be checked before connecting.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.pools.is_empty() {
            return Err(ConfigError::NoPools);
        }
        for (i, p) in self.pools.iter().enumerate() {
            if let Some(pin) = &p.tls_fingerprint {
                parse_fingerprint(pin)
                    .map_err(|source| ConfigError::Fingerprint { pool: i, source })?;
            }
        }
        Ok(())
    }
}

/// A configuration that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no pools configured")]
    NoPools,
    #[error("pool #{pool}: {source}")]
    Fingerprint {
        pool: usize,
        #[source]
        source: TlsConfigError,
    },
}
