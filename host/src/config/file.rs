//! The config file's shape: sections and keys (kebab-case, xmrig's names where xmrig has one).
//! Unknown keys are refused so a typo never silently does nothing.

use std::net::IpAddr;
use std::path::PathBuf;

use phirig_agent::worker::per_algo::deserialize_keyed;
use phirig_agent::worker::PerAlgo;
use serde::{Deserialize, Deserializer};

/// A whole `phirig.toml` (or `.json`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigFile {
    /// Algorithm for the built-in pool and benchmarks.
    pub algo: Option<String>,
    /// Starting difficulty of the built-in pool.
    pub difficulty: Option<u64>,
    #[serde(default)]
    pub cards: Vec<CardEntry>,
    #[serde(default)]
    pub discovery: Discovery,
    #[serde(default)]
    pub pools: Vec<PoolEntry>,
    #[serde(default)]
    pub timeouts: TimeoutsSection,
    #[serde(default)]
    pub http: HttpSection,
    #[serde(default)]
    pub agent: AgentSection,
    #[serde(default)]
    pub watchdog: WatchdogSection,
}

/// One card of the static list, with its own settings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CardEntry {
    /// `local`, `micN`, `user@host`, `user@host:port`.
    pub target: String,
    pub threads: Option<usize>,
    /// The card's expected H/s (the watchdog restarts it when well below).
    pub benchmark: Option<f64>,
    pub agent_port: Option<u16>,
}

/// How cards are found and reached.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Discovery {
    pub sysfs_root: Option<PathBuf>,
    pub etc_root: Option<PathBuf>,
    pub ssh_user: Option<String>,
    pub ssh_args: Option<Vec<String>>,
    /// Agent HTTP port on every card (a card entry's `agent-port` wins).
    pub agent_port: Option<u16>,
}

/// One pool of the failover list, highest priority first.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PoolEntry {
    pub url: String,
    pub user: Option<String>,
    pub pass: Option<String>,
    #[serde(default)]
    pub nicehash: bool,
    #[serde(default)]
    pub tls: bool,
    pub tls_fingerprint: Option<String>,
}

/// Upstream timeouts, in seconds.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TimeoutsSection {
    pub connect: Option<u64>,
    pub response: Option<u64>,
    pub idle: Option<u64>,
    pub retry_pause: Option<u64>,
}

/// The host API.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HttpSection {
    pub host: Option<IpAddr>,
    pub port: Option<u16>,
    pub access_token: Option<Secret>,
    /// Reads need the token too.
    pub restricted: Option<bool>,
}

/// What runs on the cards.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AgentSection {
    pub remote_dir: Option<String>,
    /// A number for every algorithm, or a table such as `{ default = 2, "cn/r" = 1 }`.
    #[serde(default, deserialize_with = "agent_threads")]
    pub threads: Option<PerAlgo>,
    #[serde(default, deserialize_with = "agent_intensity")]
    pub intensity: Option<PerAlgo>,
    pub no_aesni: Option<bool>,
    pub binary: Option<PathBuf>,
}

fn agent_threads<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PerAlgo>, D::Error> {
    deserialize_keyed("agent.threads", d)
}

fn agent_intensity<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PerAlgo>, D::Error> {
    deserialize_keyed("agent.intensity", d)
}

/// When the watchdog restarts a card.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct WatchdogSection {
    /// Restart a card whose rate stays below this fraction of its benchmark …
    pub restart_below: Option<f64>,
    /// … for this many minutes.
    pub minutes: Option<f64>,
    /// Longest pause between restart attempts, in seconds.
    pub backoff: Option<u64>,
}

/// A token: read from the file, never printed.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}
