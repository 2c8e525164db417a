//! Miner configuration: xmrig-style JSON (pools[], cpu{}, http{}) overlaid by command-line flags.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use phirig_pool::client::{ClientConfig, PoolConfig, Timeouts};
use phirig_pool::protocol::PoolUrl;
use serde::Deserialize;

use crate::cli::MineArgs;
use crate::cn::{AesPath, Algorithm};
use crate::memory::PagePolicy;
use crate::worker::WorkerConfig;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config {path} is not valid: {reason}")]
    Parse { path: String, reason: String },
    #[error("no pool given: use -o URL or pools[] in the config")]
    NoPool,
    #[error("pool {url}: {reason}")]
    Url { url: String, reason: String },
    #[error("no wallet/login given for pool {0}: use -u")]
    NoUser(String),
    #[error("{0}")]
    Algorithm(String),
    #[error("cannot read the access token file {path}: {source}")]
    TokenFile {
        path: String,
        source: std::io::Error,
    },
}

/// One `pools[]` entry, as xmrig writes it.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, rename_all = "kebab-case")]
pub struct PoolEntry {
    pub url: String,
    pub user: Option<String>,
    pub pass: Option<String>,
    pub rig_id: Option<String>,
    pub nicehash: bool,
    pub keepalive: bool,
    pub tls: bool,
    pub tls_fingerprint: Option<String>,
    pub algo: Option<String>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, rename_all = "kebab-case")]
pub struct CpuSection {
    pub enabled: Option<bool>,
    pub huge_pages: Option<bool>,
    pub hw_aes: Option<bool>,
    /// phirig extension: thread count and intensity (xmrig keeps them in per-algorithm profiles).
    pub threads: Option<usize>,
    pub intensity: Option<usize>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, rename_all = "kebab-case")]
pub struct HttpSection {
    pub enabled: bool,
    pub host: Option<IpAddr>,
    pub port: Option<u16>,
    pub access_token: Option<String>,
    pub restricted: Option<bool>,
}

/// The JSON file.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, rename_all = "kebab-case")]
pub struct ConfigFile {
    pub pools: Vec<PoolEntry>,
    pub cpu: CpuSection,
    pub http: HttpSection,
    pub print_time: Option<u64>,
    pub algo: Option<String>,
    /// Seconds before reconnecting when every pool failed (xmrig's `retry-pause`).
    pub retry_pause: Option<u64>,
}

impl ConfigFile {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    }
}

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
}

/// Every algorithm we can mine, `first` first: what a login advertises to the pool.
pub fn advertised_algos(first: Algorithm) -> Vec<String> {
    std::iter::once(first)
        .chain(Algorithm::ALL.iter().copied().filter(|a| *a != first))
        .map(|a| a.to_string())
        .collect()
}

/// The agent string sent at login.
pub fn user_agent() -> String {
    format!("phirig-agent/{}", env!("CARGO_PKG_VERSION"))
}

/// Environment variable naming a file that holds the API token (set by `phirig deploy`).
pub const TOKEN_FILE_ENV: &str = "PHIRIG_TOKEN_FILE";

/// Reads a token given inline or as `@PATH` (keeps it out of process arguments).
pub fn resolve_token(raw: Option<String>) -> Result<Option<String>, ConfigError> {
    match raw {
        Some(t) if t.starts_with('@') => {
            let path = &t[1..];
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::TokenFile {
                path: path.to_string(),
                source,
            })?;
            Ok(Some(text.trim().to_string()).filter(|t| !t.is_empty()))
        }
        other => Ok(other.filter(|t| !t.is_empty())),
    }
}

/// Stratum timeouts: flags win over the file (`retry-pause`, as xmrig names it), defaults otherwise.
fn timeouts(args: &MineArgs, file: &ConfigFile) -> Timeouts {
    let secs = |flag: Option<u64>, default: Duration| {
        flag.map_or(default, |s| Duration::from_secs(s.max(1)))
    };
    let d = Timeouts::default();
    let retry = secs(args.retry_pause.or(file.retry_pause), d.backoff_initial);
    Timeouts {
        connect: secs(args.connect_timeout, d.connect),
        response: secs(args.response_timeout, d.response),
        idle: secs(args.idle_timeout, d.idle),
        backoff_initial: retry,
        // A long retry pause must not exceed the cap it doubles towards.
        backoff_max: d.backoff_max.max(retry),
        probe_interval: secs(args.probe_interval, d.probe_interval),
        ..d
    }
}

impl MinerConfig {
    /// Flags win over the file; the file wins over defaults.
    pub fn resolve(args: &MineArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(p) => ConfigFile::load(p)?,
            None => ConfigFile::default(),
        };
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
        let algo: Algorithm = algo_name
            .parse()
            .map_err(|e: crate::cn::KernelError| ConfigError::Algorithm(e.to_string()))?;
        let mut pools = Vec::new();
        for e in entries.iter_mut() {
            let mut url = PoolUrl::parse(&e.url).map_err(|err| ConfigError::Url {
                url: e.url.clone(),
                reason: err.to_string(),
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
        let algos = advertised_algos(algo);
        let client = ClientConfig {
            timeouts: timeouts(args, &file),
            ..ClientConfig::new(pools, &user_agent(), algos)
        };
        let hw_aes = !args.no_aesni && file.cpu.hw_aes != Some(false);
        let huge = !args.no_hugepages && file.cpu.huge_pages != Some(false);
        let workers = WorkerConfig {
            threads: args.threads.or(file.cpu.threads),
            intensity: args.intensity.or(file.cpu.intensity),
            aes: if hw_aes {
                AesPath::detect()
            } else {
                AesPath::Software
            },
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
            journal: args.journal.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> MineArgs {
        MineArgs {
            url: vec!["stratum+tcp://127.0.0.1:3333".into()],
            user: Some("wallet".into()),
            print_time: 10,
            ..Default::default()
        }
    }

    #[test]
    fn flags_make_a_config() {
        let c = MinerConfig::resolve(&args()).expect("config");
        assert_eq!(c.client.pools.len(), 1);
        assert_eq!(c.client.pools[0].user, "wallet");
        assert_eq!(c.client.algos[0], "cn/0");
        assert_eq!(c.client.algos.len(), Algorithm::ALL.len());
        assert!(c.http.is_none());
    }

    #[test]
    fn xmrig_json_is_read_and_flags_win() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"pools":[{"url":"127.0.0.1:1","user":"a","rig-id":"r1","nicehash":true},{"url":"127.0.0.1:2","user":"b","enabled":false}],
               "cpu":{"huge-pages":false,"hw-aes":false,"threads":1},"http":{"enabled":true,"port":4000,"access-token":"t","restricted":true},"print-time":5}"#,
        )
        .expect("write");
        let mut a = MineArgs {
            config: Some(path),
            print_time: 10,
            ..Default::default()
        };
        let c = MinerConfig::resolve(&a).expect("config");
        assert_eq!(c.client.pools.len(), 1, "disabled pool kept");
        assert!(c.client.pools[0].nicehash);
        assert_eq!(c.client.pools[0].rig_id.as_deref(), Some("r1"));
        assert_eq!(c.workers.aes, AesPath::Software);
        assert_eq!(c.workers.threads, Some(1));
        let http = c.http.expect("http");
        assert_eq!(http.addr.port(), 4000);
        assert!(http.restricted_read);
        assert_eq!(c.print_time, Duration::from_secs(5));
        a.user = Some("override".into());
        assert_eq!(
            MinerConfig::resolve(&a).expect("config").client.pools[0].user,
            "override"
        );
    }

    #[test]
    fn timeout_flags_reach_the_client() {
        let mut a = args();
        assert_eq!(
            MinerConfig::resolve(&a).expect("config").client.timeouts,
            Timeouts::default()
        );
        a.response_timeout = Some(2);
        a.retry_pause = Some(90);
        a.probe_interval = Some(0);
        let t = MinerConfig::resolve(&a).expect("config").client.timeouts;
        assert_eq!(t.response, Duration::from_secs(2));
        assert_eq!(t.backoff_initial, Duration::from_secs(90));
        assert!(t.backoff_max >= t.backoff_initial);
        assert_eq!(t.probe_interval, Duration::from_secs(1), "zero is clamped");
    }

    #[test]
    fn debug_output_hides_the_token() {
        let mut a = args();
        a.http_port = Some(0);
        a.http_access_token = Some("s3cret-token".into());
        let c = MinerConfig::resolve(&a).expect("config");
        assert!(!format!("{c:?}").contains("s3cret-token"));
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        assert!(matches!(
            MinerConfig::resolve(&MineArgs::default()),
            Err(ConfigError::NoPool)
        ));
        let mut a = args();
        a.algo = Some("cn/nonsense".into());
        assert!(MinerConfig::resolve(&a)
            .unwrap_err()
            .to_string()
            .contains("nonsense"));
        let mut a = args();
        a.url = vec!["ftp://x".into()];
        assert!(matches!(
            MinerConfig::resolve(&a),
            Err(ConfigError::Url { .. })
        ));
        let mut a = args();
        a.config = Some("/nonexistent/phirig.json".into());
        assert!(matches!(
            MinerConfig::resolve(&a),
            Err(ConfigError::Read { .. })
        ));
        assert_eq!(resolve_token(Some(String::new())).expect("empty"), None);
    }
}
