//! A reload's view of the flags, and which parts of the miner a new config restarts.

use std::path::Path;

use phirig_pool::client::ClientConfig;
use phirig_pool::protocol::AlgoOffer;

use crate::cli::{MineArgs, PoolTimeoutArgs};

use super::error::{BodyError, ConfigError};
use super::file::ConfigFile;
use super::resolve::MinerConfig;

/// The command-line flags a reloaded config is resolved under: those the JSON can say itself
/// (pools, login, algorithm, threads, retry pause) are dropped so the new JSON decides them;
/// the rest (HTTP, journal, timeouts the JSON has no key for, `--no-hugepages`) still apply.
#[derive(Clone)]
pub struct ReloadArgs {
    args: MineArgs,
    file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for ReloadArgs {
    // The flags may hold the API token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadArgs")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl ReloadArgs {
    pub fn new(args: &MineArgs) -> Self {
        let flags = MineArgs {
            url: Vec::new(),
            user: None,
            pass: None,
            rig_id: None,
            algo: None,
            threads: None,
            intensity: None,
            nicehash: false,
            keepalive: false,
            tls: false,
            tls_fingerprint: None,
            timeouts: PoolTimeoutArgs {
                retry_pause: None,
                ..args.timeouts.clone()
            },
            config: None,
            ..args.clone()
        };
        Self {
            args: flags,
            file: args.config.clone(),
        }
    }

    /// The `-c` file, if the agent was started with one (SIGHUP reloads it, PUTs are saved to it).
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Resolves a new config file under the remaining flags, validating everything.
    pub fn resolve(&self, file: &ConfigFile) -> Result<MinerConfig, ConfigError> {
        let c = MinerConfig::resolve_with(&self.args, file)?;
        c.client.validate().map_err(BodyError::from)?;
        Ok(c)
    }
}

/// What a reload changes, so only that is restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReloadPlan {
    /// Pools, login, timeouts: reconnect the stratum client.
    pub client: bool,
    /// The offer (`algo-perf`, `algo-min-time`): while the login stays, offered in a `getjob`.
    pub perf: bool,
    /// Threads, intensity, tuned profile, AES path, pages: restart the workers.
    pub workers: bool,
    /// HTTP address or token: only a restart of the agent applies it.
    pub http_needs_restart: bool,
}

impl ReloadPlan {
    pub fn between(old: &MinerConfig, new: &MinerConfig) -> Self {
        let w = |c: &MinerConfig| {
            (
                c.workers.threads,
                c.workers.intensity,
                c.workers.aes,
                c.workers.vaes,
                c.workers.pages,
                c.workers.profile.clone(),
            )
        };
        let h = |c: &MinerConfig| {
            c.http
                .as_ref()
                .map(|h| (h.addr, h.token.clone(), h.restricted_read))
        };
        let offer = |c: &MinerConfig| c.client.offer.clone();
        // The list is part of the login; the figures alone are not.
        let login = |c: &MinerConfig| ClientConfig {
            offer: AlgoOffer::new(c.client.offer.algo.clone()),
            ..c.client.clone()
        };
        Self {
            client: login(old) != login(new),
            perf: offer(old) != offer(new),
            workers: w(old) != w(new),
            http_needs_restart: h(old) != h(new),
        }
    }
}
