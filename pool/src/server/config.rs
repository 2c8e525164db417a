//! Server settings and the defaults of the built-in pool that `phirig run` starts.

use std::net::SocketAddr;
use std::time::Duration;

use super::error::ServerError;
use super::fault::Fault;
use super::switching::AlgoValues;
use crate::protocol::{MAX_BLOB_LEN, MIN_BLOB_LEN, NICEHASH_BYTE_OFFSET};

/// Everything the reference pool can be told. Build one with [`demo_config`] and override fields.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen; port 0 picks a free port (see [`super::ServerHandle::local_addr`]).
    pub bind: SocketAddr,
    /// Algorithm named in every job (`cn/0`, `cn/r`, ...) and handed to the [`super::ShareHasher`].
    pub algo: String,
    /// Block height of the jobs until [`super::ServerHandle::new_block`] moves it up; cn/r
    /// derives its random program from it.
    pub height: u64,
    /// `seed_hash` of every job (64 hex digits): the RandomX key rx/0 jobs are mined and their
    /// shares verified with; unused by CryptoNight. Change it live with
    /// [`super::ServerHandle::set_seed_hash`].
    pub seed_hash: Option<String>,
    /// rx/0: the next epoch's seed, announced in every job (`next_seed_hash`) so miners build
    /// it ahead. Change it live with [`super::ServerHandle::set_next_seed_hash`].
    pub next_seed_hash: Option<String>,
    /// Difficulty of a fresh connection's first job.
    pub start_difficulty: u64,
    /// Vardiff never goes below this.
    pub min_difficulty: u64,
    /// Vardiff never goes above this.
    pub max_difficulty: u64,
    /// Per-connection variable difficulty on or off.
    pub vardiff: bool,
    /// The share interval vardiff aims for.
    pub target_share_time: Duration,
    /// Vardiff retargets after this many shares ...
    pub retarget_shares: u32,
    /// ... or after this long, whichever comes first (so a miner with no shares gets an easier job).
    pub retarget_time: Duration,
    /// A new job for everyone this often; zero = only on [`super::ServerHandle::new_job`].
    pub job_interval: Duration,
    /// Hashing blob to hand out instead of random ones (its nonce bytes are zeroed).
    pub template: Option<Vec<u8>>,
    /// NiceHash mode: advertise the `nicehash` extension and fix blob byte 42 per connection.
    pub nicehash: bool,
    /// Advertise the `keepalive` extension at login (`keepalived` is answered either way).
    pub advertise_keepalive: bool,
    /// How many of a connection's latest jobs still accept shares.
    pub recent_jobs: usize,
    /// Shares hashed at once across the server (each hash holds a 2 MiB scratchpad for ~10 ms).
    pub verify_threads: usize,
    /// Shares one connection may have waiting for verification before it gets "busy" errors.
    pub max_pending_shares: usize,
    /// Connections beyond this are closed at once.
    pub max_connections: usize,
    /// A connection that has not logged in by then is closed.
    pub login_timeout: Duration,
    /// SO_RCVBUF for accepted sockets; small values make [`Fault::StopReading`] stall a client sooner.
    pub recv_buffer: Option<u32>,
    /// Fault injected from the start; change it later with [`super::ServerHandle::set_fault`].
    pub fault: Fault,
    /// Switching mode: what one hash of each algorithm is worth. Each miner that reports
    /// `algo-perf` is sent the algorithm that pays it best ([`super::best_algorithm`]), the others
    /// `algo`. Change it live with [`super::ServerHandle::set_algo_values`].
    pub switching: Option<AlgoValues>,
}

/// The built-in pool of `phirig run`: cn/0, random blobs, vardiff aiming at a share every 30 s.
pub fn demo_config(bind: SocketAddr) -> ServerConfig {
    ServerConfig {
        bind,
        algo: "cn/0".into(),
        // Monero's cn/r fork height, so switching `algo` to cn/r gives a realistic program.
        height: 1_806_260,
        seed_hash: None,
        next_seed_hash: None,
        start_difficulty: 5_000,
        min_difficulty: 100,
        max_difficulty: 1 << 40,
        vardiff: true,
        target_share_time: Duration::from_secs(30),
        retarget_shares: 8,
        retarget_time: Duration::from_secs(120),
        job_interval: Duration::from_secs(60),
        template: None,
        nicehash: false,
        advertise_keepalive: true,
        recent_jobs: 4,
        verify_threads: 2,
        max_pending_shares: 64,
        max_connections: 1024,
        login_timeout: Duration::from_secs(30),
        recv_buffer: None,
        fault: Fault::None,
        switching: None,
    }
}

impl Default for ServerConfig {
    /// [`demo_config`] on an ephemeral loopback port.
    fn default() -> Self {
        demo_config(SocketAddr::from(([127, 0, 0, 1], 0)))
    }
}

impl ServerConfig {
    /// Refuse settings that would make the server misbehave later rather than now.
    pub fn validate(&self) -> Result<(), ServerError> {
        let bad = |m: String| Err(ServerError::Config(m));
        if self.algo.is_empty() {
            return bad("algo is empty".into());
        }
        for (name, seed) in [
            ("seed_hash", &self.seed_hash),
            ("next_seed_hash", &self.next_seed_hash),
        ] {
            if let Some(seed) = seed {
                if seed.len() != 64 || hex::decode(seed).is_err() {
                    return bad(format!("{name} {seed:?} is not 64 hex digits"));
                }
            }
        }
        if self.start_difficulty == 0 || self.min_difficulty == 0 {
            return bad("difficulties must be at least 1".into());
        }
        if self.min_difficulty > self.max_difficulty {
            return bad(format!(
                "min_difficulty {} > max_difficulty {}",
                self.min_difficulty, self.max_difficulty
            ));
        }
        if self.vardiff && (self.target_share_time.is_zero() || self.retarget_time.is_zero()) {
            return bad("vardiff needs a non-zero target_share_time and retarget_time".into());
        }
        if let Some(t) = &self.template {
            let need = MIN_BLOB_LEN.max(NICEHASH_BYTE_OFFSET + 1);
            if t.len() < need || t.len() > MAX_BLOB_LEN {
                return bad(format!(
                    "template is {} bytes, need {need} to {MAX_BLOB_LEN}",
                    t.len()
                ));
            }
        }
        if let Some((algo, value)) = self
            .switching
            .iter()
            .flatten()
            .find(|(_, v)| !v.is_finite() || **v < 0.0)
        {
            return bad(format!("switching value of {algo} is {value}"));
        }
        if self.recent_jobs == 0 || self.verify_threads == 0 || self.max_pending_shares == 0 {
            return bad(
                "recent_jobs, verify_threads and max_pending_shares must be at least 1".into(),
            );
        }
        Ok(())
    }

    /// The starting difficulty, kept inside the vardiff bounds.
    pub(crate) fn clamped_start_difficulty(&self) -> u64 {
        self.start_difficulty.clamp(
            self.min_difficulty,
            self.max_difficulty.max(self.min_difficulty),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_config_is_valid_and_overridable() {
        let c = ServerConfig::default();
        c.validate().unwrap();
        assert_eq!(c.algo, "cn/0");
        let c = ServerConfig {
            algo: "cn/r".into(),
            start_difficulty: 1,
            min_difficulty: 1,
            ..c
        };
        c.validate().unwrap();
        assert_eq!(c.clamped_start_difficulty(), 1);
        let longest = ServerConfig {
            template: Some(vec![0; MAX_BLOB_LEN]),
            ..c
        };
        longest.validate().unwrap();
    }

    #[test]
    fn bad_configs_are_refused() {
        let base = ServerConfig::default();
        for c in [
            ServerConfig {
                start_difficulty: 0,
                ..base.clone()
            },
            ServerConfig {
                min_difficulty: 10,
                max_difficulty: 5,
                ..base.clone()
            },
            ServerConfig {
                template: Some(vec![0; 10]),
                ..base.clone()
            },
            ServerConfig {
                template: Some(vec![0; MAX_BLOB_LEN + 1]),
                ..base.clone()
            },
            ServerConfig {
                algo: String::new(),
                ..base.clone()
            },
            ServerConfig {
                verify_threads: 0,
                ..base.clone()
            },
        ] {
            assert!(c.validate().is_err(), "{c:?}");
        }
    }
}
