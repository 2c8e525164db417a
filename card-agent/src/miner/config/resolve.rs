//! `MinerConfig`: everything the miner needs, resolved from the flags over the file.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use phirig_pool::client::{ClientConfig, PoolConfig, TimeoutSeconds, Timeouts};
use phirig_pool::protocol::PoolUrl;
use serde_json::{json, Value};

use crate::cli::MineArgs;
use crate::worker::{profile, WorkerConfig, MAX_INTENSITY};
use phirig_journal::JournalConfig;
use phirig_kernel::cn::{AesPath, Algorithm};
use phirig_kernel::memory::PagePolicy;

use super::error::ConfigError;
use super::file::{ConfigFile, PoolEntry};
use super::journal::{journal_config, journal_path};
use super::login::{advertised_algos, offered_perf, user_agent};
use super::token::{resolve_token, TOKEN_FILE_ENV};

/// Where the HTTP API listens and who may use it.
#[derive(Clone)]
pub struct HttpConfig {
    pub addr: SocketAddr,
    pub token: Option<String>,
    pub restricted_read: bool,
}

impl std::fmt::Debug for HttpConfig {
    // Tokens never appear in logs, not even through a Debug print of the whole config.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConfig")
            .field("addr", &self.addr)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("restricted_read", &self.restricted_read)
            .finish()
    }
}

/// Everything the miner needs, resolved.
#[derive(Debug, Clone)]
pub struct MinerConfig {
    pub client: ClientConfig,
    pub workers: WorkerConfig,
    /// The algorithm to mine when a job does not name one.
    pub algo: Algorithm,
    pub http: Option<HttpConfig>,
    pub print_time: Duration,
    pub journal: Option<std::path::PathBuf>,
    /// fsync interval, rotation size: from `--journal-fsync` and `--journal-max-mb`.
    pub journal_config: JournalConfig,
    /// The tuned profile's file, watched for changes while mining.
    pub profile_path: std::path::PathBuf,
    /// The online tuner runs (`--online-tune`).
    pub online_tune: bool,
    /// The workers start paused (`--pause-on-start`); only read at start.
    pub paused: bool,
    /// `-a rx/0`: a job naming no algorithm is RandomX (`algo` is then only CryptoNight's default).
    pub rx_by_default: bool,
    pub rx: phirig_rx::RxOptions,
}

/// The card's own address in rig mode: the local address of the route to the host's proxy (the
/// first pool). A UDP `connect` only looks the route up; nothing is sent.
fn rig_address(client: &ClientConfig) -> Option<IpAddr> {
    let pool = client.pools.first()?;
    let sock = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    sock.connect((pool.url.host.as_str(), pool.url.port)).ok()?;
    Some(sock.local_addr().ok()?.ip()).filter(|ip| !ip.is_unspecified())
}

/// Stratum timeouts: flags win over the file (`retry-pause`, as xmrig names it), defaults otherwise.
fn timeouts(args: &MineArgs, file: &ConfigFile) -> Timeouts {
    let flags = args.timeouts.seconds();
    Timeouts::from_seconds(TimeoutSeconds {
        retry_pause: flags.retry_pause.or(file.retry_pause),
        ..flags
    })
}

impl MinerConfig {
    /// Flags win over the file; the file wins over defaults.
    pub fn resolve(args: &MineArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(p) => ConfigFile::load(p)?,
            None => ConfigFile::default(),
        };
        Self::resolve_with(args, &file)
    }

    /// Resolves `file` under the command-line `args` (flags win).
    pub fn resolve_with(args: &MineArgs, file: &ConfigFile) -> Result<Self, ConfigError> {
        let mut entries: Vec<PoolEntry> = if args.url.is_empty() {
            file.pools
                .iter()
                .filter(|p| p.enabled != Some(false))
                .cloned()
                .collect()
        } else {
            args.url
                .iter()
                .map(|u| PoolEntry {
                    url: u.clone(),
                    ..Default::default()
                })
                .collect()
        };
        if entries.is_empty() {
            return Err(ConfigError::NoPool);
        }
        let algo_name = args
            .algo
            .clone()
            .or(file.algo.clone())
            .or_else(|| entries.iter().find_map(|p| p.algo.clone()))
            .unwrap_or_else(|| "cn/0".into());
        let rx_by_default = phirig_rx::is_rx(&algo_name);
        let algo: Algorithm = if rx_by_default {
            "cn/0".parse()?
        } else {
            algo_name.parse()?
        };
        let mut pools = Vec::new();
        for e in entries.iter_mut() {
            let mut url = PoolUrl::parse(&e.url).map_err(|source| ConfigError::Url {
                url: e.url.clone(),
                source,
            })?;
            if args.tls || e.tls {
                url.tls = true;
            }
            let user = args
                .user
                .clone()
                .or(e.user.clone())
                .ok_or_else(|| ConfigError::NoUser(e.url.clone()))?;
            let mut pool = PoolConfig::new(url, &user);
            pool.pass = args
                .pass
                .clone()
                .or(e.pass.clone())
                .unwrap_or_else(|| "x".into());
            pool.rig_id = args.rig_id.clone().or(e.rig_id.clone());
            pool.nicehash = args.nicehash || e.nicehash;
            pool.keepalive = args.keepalive || e.keepalive;
            pool.tls_fingerprint = args.tls_fingerprint.clone().or(e.tls_fingerprint.clone());
            pools.push(pool);
        }
        let algos = advertised_algos(&algo_name)?;
        let profile_path = args.profile.clone().unwrap_or_else(profile::default_path);
        let profile = profile::load_current(&profile_path, &profile::current_key()).map(Arc::new);
        let mut client = ClientConfig::new(pools, &user_agent(), algos);
        client.timeouts = timeouts(args, file);
        client.offer.perf = offered_perf(profile.as_deref());
        client.offer.min_time = args.algo_min_time.or(file.algo_min_time);
        let hw_aes = !args.no_aesni && file.cpu.hw_aes != Some(false);
        let huge = !args.no_hugepages && file.cpu.huge_pages != Some(false);
        // A flag replaces the file's whole setting, not single algorithms of it.
        let intensity = args
            .intensity
            .or(file.cpu.intensity)
            .unwrap_or_default()
            .check_max(MAX_INTENSITY)
            .map_err(|source| ConfigError::Cpu {
                key: "cpu.intensity",
                source,
            })?;
        let workers = WorkerConfig {
            threads: args.threads.or(file.cpu.threads).unwrap_or_default(),
            intensity,
            profile,
            aes: if hw_aes {
                phirig_kernel::cpu::Cpu::detect().best_aes()
            } else {
                AesPath::Software
            },
            vaes: !args.no_vaes && file.cpu.vaes != Some(false),
            pages: if huge {
                PagePolicy::default()
            } else {
                PagePolicy::normal_only()
            },
            ..WorkerConfig::default()
        };
        let port = args.http_port.or(if file.http.enabled {
            file.http.port
        } else {
            None
        });
        let http = match port {
            Some(port) => Some(HttpConfig {
                addr: SocketAddr::new(
                    args.http_host
                        .or(file.http.host)
                        .or_else(|| args.rig.then(|| rig_address(&client)).flatten())
                        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                    port,
                ),
                token: resolve_token(
                    args.http_access_token
                        .clone()
                        .or(file.http.access_token.clone())
                        // Deployed agents get their token as a 0600 file, never in argv.
                        .or_else(|| std::env::var(TOKEN_FILE_ENV).ok().map(|p| format!("@{p}"))),
                )?,
                restricted_read: args.restricted_read || file.http.restricted == Some(true),
            }),
            None => None,
        };
        Ok(Self {
            client,
            workers,
            algo,
            http,
            print_time: Duration::from_secs(file.print_time.unwrap_or(args.print_time).max(1)),
            journal: journal_path(args),
            journal_config: journal_config(args),
            profile_path,
            online_tune: args.online_tune,
            paused: args.pause_on_start,
            rx_by_default,
            rx: crate::rx::options(args.rx_mode, hw_aes, huge),
        })
    }

    /// The effective configuration as xmrig's JSON (what `GET /1/config` shows when the agent
    /// was not started from a file). Includes the access token: the route needs the token.
    pub fn to_json(&self) -> Value {
        let pools: Vec<Value> = self
            .client
            .pools
            .iter()
            .map(|p| {
                json!({
                    "url": p.url.to_string(),
                    "user": p.user,
                    "pass": p.pass,
                    "rig-id": p.rig_id,
                    "nicehash": p.nicehash,
                    "keepalive": p.keepalive,
                    "tls": p.url.tls,
                    "tls-fingerprint": p.tls_fingerprint,
                })
            })
            .collect();
        let http = match &self.http {
            Some(h) => json!({
                "enabled": true,
                "host": h.addr.ip().to_string(),
                "port": h.addr.port(),
                "access-token": h.token,
                "restricted": h.restricted_read,
            }),
            None => json!({"enabled": false}),
        };
        json!({
            "algo": if self.rx_by_default { phirig_rx::ALGO.to_string() } else { self.algo.to_string() },
            "pools": pools,
            "cpu": {
                "enabled": true,
                "huge-pages": self.workers.pages != PagePolicy::normal_only(),
                "hw-aes": self.workers.aes != AesPath::Software,
                "vaes": self.workers.vaes,
                "threads": self.workers.threads,
                "intensity": self.workers.intensity,
            },
            "http": http,
            "print-time": self.print_time.as_secs(),
            "retry-pause": self.client.timeouts.backoff_initial.as_secs(),
            "algo-min-time": self.client.offer.min_time,
        })
    }
}
