//! What `phirig run` uses from the merged arguments: the upstream pool list, timeouts, watchdog rules
//! and per-card settings. The run loop calls these instead of reading the raw flags.

use std::collections::BTreeMap;
use std::time::Duration;

use phirig_deploy::WatchdogConfig;
use phirig_pool::client::{PoolConfig, TimeoutSeconds, Timeouts};
use phirig_pool::protocol::PoolUrl;

use super::card_set::CardKey;
use super::file::PoolEntry;
use crate::cli::RunArgs;
use crate::HostError;

/// The failover list: the config file's `[[pools]]` (merged with any pool flags given), or one
/// pool per `-o` with the shared `-u/-p/--nicehash/--tls/--tls-fingerprint`. Empty: none given.
pub fn pool_configs(args: &RunArgs) -> Result<Vec<PoolConfig>, HostError> {
    let t = &args.tuning;
    let entries: Vec<PoolEntry> = if t.pools.is_empty() {
        args.url
            .iter()
            .map(|u| PoolEntry {
                url: u.clone(),
                user: Some(args.user.clone()),
                pass: Some(args.pass.clone()),
                nicehash: t.nicehash,
                tls: t.tls,
                tls_fingerprint: t.tls_fingerprint.clone(),
            })
            .collect()
    } else {
        t.pools.clone()
    };
    entries
        .iter()
        .map(|e| {
            let mut url = PoolUrl::parse(&e.url).map_err(|source| HostError::PoolUrl {
                url: e.url.clone(),
                source,
            })?;
            url.tls |= e.tls;
            let mut pool = PoolConfig::new(url, e.user.as_deref().unwrap_or(&args.user));
            pool.pass = e.pass.clone().unwrap_or_else(|| args.pass.clone());
            pool.nicehash = e.nicehash;
            pool.tls_fingerprint = e.tls_fingerprint.clone();
            pool.keepalive = args.rig.keepalive;
            Ok(pool)
        })
        .collect()
}

/// Upstream timeouts: the flags (or file) where given, the client's defaults elsewhere.
pub fn timeouts(args: &RunArgs) -> Timeouts {
    Timeouts::from_seconds(TimeoutSeconds {
        keepalive: args.rig.keepalive_interval,
        ..args.tuning.timeouts.seconds()
    })
}

/// One card's own settings (unset: the rig-wide value).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CardOverride {
    pub threads: Option<usize>,
    /// Expected H/s, for the watchdog's low-rate rule.
    pub benchmark: Option<f64>,
    pub agent_port: Option<u16>,
}

/// Per-card settings by card name as written in `--card` / `cards[].target`. Later settings win,
/// and the merge puts the command line's after the file's.
pub fn card_overrides(args: &RunArgs) -> BTreeMap<String, CardOverride> {
    let mut map: BTreeMap<String, CardOverride> = BTreeMap::new();
    for s in &args.tuning.card_set {
        let o = map.entry(s.card.clone()).or_default();
        // Ranges were checked when the flag or file was parsed.
        match s.key {
            CardKey::Threads => o.threads = Some(s.value as usize),
            CardKey::Benchmark => o.benchmark = Some(s.value),
            CardKey::AgentPort => o.agent_port = Some(s.value as u16),
        }
    }
    map
}

/// The watchdog's rules: the flags (or file) where given, its defaults elsewhere.
pub fn watchdog_config(args: &RunArgs) -> WatchdogConfig {
    let t = &args.tuning;
    let d = WatchdogConfig::default();
    WatchdogConfig {
        probe_interval: Duration::from_secs(args.rig.watchdog_interval.max(1)),
        low_rate_fraction: t.watchdog_restart_below.unwrap_or(d.low_rate_fraction),
        low_rate_window: t
            .watchdog_minutes
            .map_or(d.low_rate_window, |m| Duration::from_secs_f64(m * 60.0)),
        backoff_max: t
            .watchdog_backoff
            .map_or(d.backoff_max, |s| Duration::from_secs(s.max(1))),
        ..d
    }
}
