//! Miner configuration: xmrig-style JSON (pools[], cpu{}, http{}) overlaid by command-line flags.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use phirig_pool::client::{ClientConfig, PoolConfig, TimeoutSeconds, Timeouts};
use phirig_pool::protocol::PoolUrl;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use crate::cli::{MineArgs, PoolTimeoutArgs};
use crate::worker::per_algo::deserialize_keyed;
use crate::worker::{PerAlgo, PerAlgoError, WorkerConfig, MAX_INTENSITY};
use phirig_journal::JournalConfig;
use phirig_kernel::cn::{AesPath, Algorithm};
use phirig_kernel::memory::PagePolicy;

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
    /// A per-algorithm value out of range (`cpu.intensity` above 5).
    #[error("{key}: {source}")]
    Cpu {
        key: &'static str,
        source: PerAlgoError,
    },
    #[error("config is not valid: {0}")]
    Body(String),
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
    /// phirig extension: `false` keeps explode and implode on AES-NI where the CPU has VAES.
    pub vaes: Option<bool>,
    /// phirig extension: thread count and intensity, a number for every algorithm or a map
    /// `{"default": 2, "cn/r": 1}` (xmrig keeps them in per-algorithm profiles).
    #[serde(deserialize_with = "cpu_threads")]
    pub threads: Option<PerAlgo>,
    #[serde(deserialize_with = "cpu_intensity")]
    pub intensity: Option<PerAlgo>,
}

fn cpu_threads<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PerAlgo>, D::Error> {
    deserialize_keyed("cpu.threads", d)
}

fn cpu_intensity<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PerAlgo>, D::Error> {
    deserialize_keyed("cpu.intensity", d)
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
        Self::load_value(path).map(|(file, _)| file)
    }

    /// The file parsed, and as raw JSON (kept whole for `GET /1/config`).
    pub fn load_value(path: &Path) -> Result<(Self, Value), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let parse = |e: serde_json::Error| ConfigError::Parse {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let raw: Value = serde_json::from_str(&text).map_err(parse)?;
        let file = serde_json::from_value(raw.clone()).map_err(parse)?;
        Ok((file, raw))
    }

    /// A config sent through the API (`PUT /1/config`): the same JSON as the file.
    pub fn from_body(body: &[u8]) -> Result<(Self, Value), ConfigError> {
        let raw: Value =
            serde_json::from_slice(body).map_err(|e| ConfigError::Body(e.to_string()))?;
        if !raw.is_object() {
            return Err(ConfigError::Body("expected a JSON object".into()));
        }
        let file =
            serde_json::from_value(raw.clone()).map_err(|e| ConfigError::Body(e.to_string()))?;
        Ok((file, raw))
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
    /// fsync interval, rotation size: from `--journal-fsync` and `--journal-max-mb`.
    pub journal_config: JournalConfig,
}

/// The journal file rig mode writes when no `--journal` is given.
pub const RIG_JOURNAL_FILE: &str = "phirig-agent.journal";

/// Where the journal goes: `--no-journal` wins, then `--journal FILE`, then rig mode's default.
pub fn journal_path(args: &MineArgs) -> Option<std::path::PathBuf> {
    if args.no_journal {
        return None;
    }
    args.journal
        .clone()
        .or_else(|| args.rig.then(|| std::path::PathBuf::from(RIG_JOURNAL_FILE)))
}

/// The journal's fsync interval and size cap from the flags.
pub fn journal_config(args: &MineArgs) -> JournalConfig {
    JournalConfig {
        fsync_interval: (args.journal_fsync > 0).then(|| Duration::from_secs(args.journal_fsync)),
        max_file_bytes: args.journal_max_mb.max(1) << 20,
        ..JournalConfig::default()
    }
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
        let algo: Algorithm = algo_name
            .parse()
            .map_err(|e: phirig_kernel::cn::KernelError| ConfigError::Algorithm(e.to_string()))?;
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
            timeouts: timeouts(args, file),
            ..ClientConfig::new(pools, &user_agent(), algos)
        };
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
            aes: if hw_aes {
                AesPath::detect()
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
            "algo": self.algo.to_string(),
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
        })
    }
}

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
        c.client
            .validate()
            .map_err(|e| ConfigError::Body(e.to_string()))?;
        Ok(c)
    }
}

/// What a reload changes, so only that is restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReloadPlan {
    /// Pools, login, timeouts: reconnect the stratum client.
    pub client: bool,
    /// Threads, intensity, AES path, pages: restart the workers.
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
            )
        };
        let h = |c: &MinerConfig| {
            c.http
                .as_ref()
                .map(|h| (h.addr, h.token.clone(), h.restricted_read))
        };
        Self {
            client: old.client != new.client,
            workers: w(old) != w(new),
            http_needs_restart: h(old) != h(new),
        }
    }
}

/// Writes `value` to `path` atomically (temporary file in the same directory, fsync, rename), so
/// a crash leaves either the old or the new config, never half of one.
pub fn write_config_file(path: &Path, value: &Value) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
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
        assert_eq!(c.workers.threads, PerAlgo::all(1));
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
    fn vaes_is_on_unless_the_flag_or_the_file_says_no_and_a_change_restarts_the_workers() {
        let mut a = args();
        let on = MinerConfig::resolve(&a).expect("config");
        assert!(on.workers.vaes);
        assert_eq!(on.to_json()["cpu"]["vaes"], true);
        a.no_vaes = true;
        let off = MinerConfig::resolve(&a).expect("config");
        assert!(!off.workers.vaes);
        assert!(ReloadPlan::between(&on, &off).workers);
        assert!(!ReloadPlan::between(&off, &off).workers);

        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"pools":[{"url":"127.0.0.1:1","user":"w"}],"cpu":{"vaes":false}}"#,
        )
        .expect("write");
        let from_file = MinerConfig::resolve(&MineArgs {
            config: Some(path),
            ..Default::default()
        })
        .expect("config");
        assert!(!from_file.workers.vaes);
        assert_eq!(from_file.to_json()["cpu"]["vaes"], false);
    }

    #[test]
    fn timeout_flags_reach_the_client() {
        let mut a = args();
        assert_eq!(
            MinerConfig::resolve(&a).expect("config").client.timeouts,
            Timeouts::default()
        );
        a.timeouts.response_timeout = Some(2);
        a.timeouts.retry_pause = Some(90);
        a.timeouts.probe_interval = Some(0);
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
    fn rig_mode_journals_by_default_and_flags_win() {
        let mut a = args();
        assert_eq!(MinerConfig::resolve(&a).expect("config").journal, None);
        a.rig = true;
        let c = MinerConfig::resolve(&a).expect("config");
        assert_eq!(c.journal, Some(RIG_JOURNAL_FILE.into()));
        a.journal = Some("/tmp/x.journal".into());
        assert_eq!(
            MinerConfig::resolve(&a).expect("config").journal,
            Some("/tmp/x.journal".into())
        );
        a.journal = None;
        a.no_journal = true;
        assert_eq!(MinerConfig::resolve(&a).expect("config").journal, None);
        a.journal_fsync = 0;
        a.journal_max_mb = 2;
        let c = MinerConfig::resolve(&a).expect("config");
        assert_eq!(c.journal_config.fsync_interval, None, "0 = only on close");
        assert_eq!(c.journal_config.max_file_bytes, 2 << 20);
        // The API listens on the card's side of the route to the proxy (loopback here).
        a.http_port = Some(0);
        let c = MinerConfig::resolve(&a).expect("config");
        assert_eq!(
            c.http.expect("http").addr.ip(),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        a.journal_fsync = 3;
        assert_eq!(
            MinerConfig::resolve(&a)
                .expect("config")
                .journal_config
                .fsync_interval,
            Some(Duration::from_secs(3))
        );
    }

    #[test]
    fn a_reload_takes_the_new_json_over_the_flags_and_plans_the_restarts() {
        let mut a = args();
        a.threads = Some(PerAlgo::all(1));
        a.http_port = Some(4000);
        let old = MinerConfig::resolve(&a).expect("config");
        let reload = ReloadArgs::new(&a);
        let (file, _) = ConfigFile::from_body(
            br#"{"pools":[{"url":"127.0.0.1:4444","user":"w2"}],"cpu":{"threads":2}}"#,
        )
        .expect("body");
        let new = reload.resolve(&file).expect("new config");
        assert_eq!(new.client.pools[0].url.port, 4444);
        assert_eq!(new.client.pools[0].user, "w2");
        assert_eq!(new.workers.threads, PerAlgo::all(2));
        assert_eq!(
            new.http.as_ref().map(|h| h.addr.port()),
            Some(4000),
            "flag kept"
        );
        let plan = ReloadPlan::between(&old, &new);
        assert!(
            plan.client && plan.workers && !plan.http_needs_restart,
            "{plan:?}"
        );
        assert_eq!(ReloadPlan::between(&new, &new), ReloadPlan::default());
        // The effective JSON reads back to the same config.
        let again = ConfigFile::from_body(old.to_json().to_string().as_bytes()).expect("json");
        let back = ReloadArgs::new(&a).resolve(&again.0).expect("round trip");
        assert_eq!(ReloadPlan::between(&old, &back), ReloadPlan::default());
        // Bad bodies are clear errors.
        for bad in [&b"not json"[..], b"[1]", br#"{"pools":"x"}"#] {
            assert!(matches!(
                ConfigFile::from_body(bad),
                Err(ConfigError::Body(_))
            ));
        }
        let (nopool, _) = ConfigFile::from_body(b"{}").expect("empty object parses");
        assert!(matches!(reload.resolve(&nopool), Err(ConfigError::NoPool)));
    }

    #[test]
    fn threads_and_intensity_are_per_algorithm_in_the_file_and_the_flags() {
        use Algorithm::{Cn0, CnPico, CnR};
        let body = br#"{"pools":[{"url":"127.0.0.1:1","user":"w"}],
            "cpu":{"threads":{"default":2,"cn/r":1},"intensity":{"default":2,"cryptonight/r":1,"cn-pico":5}}}"#;
        let (file, _) = ConfigFile::from_body(body).expect("map form");
        let reload = ReloadArgs::new(&args());
        let c = reload.resolve(&file).expect("config");
        assert_eq!(c.workers.threads, PerAlgo::all(2).with(CnR, 1));
        assert_eq!(
            c.workers.intensity,
            PerAlgo::all(2).with(CnR, 1).with(CnPico, 5)
        );
        assert_eq!(c.workers.intensity.get(Cn0), Some(2));
        // The effective JSON shows the map and reads back to the same workers (no restart).
        let shown = c.to_json();
        assert_eq!(shown["cpu"]["threads"], json!({"default": 2, "cn/r": 1}));
        assert_eq!(
            shown["cpu"]["intensity"],
            json!({"default": 2, "cn/r": 1, "cn-pico": 5})
        );
        let (again, _) = ConfigFile::from_body(shown.to_string().as_bytes()).expect("json");
        let back = reload.resolve(&again).expect("round trip");
        assert_eq!(ReloadPlan::between(&c, &back), ReloadPlan::default());
        // Only the order of the keys changed: nothing to restart.
        let reordered = br#"{"pools":[{"url":"127.0.0.1:1","user":"w"}],
            "cpu":{"threads":{"cn/r":1,"default":2},"intensity":{"cn-pico":5,"default":2,"cn/r":1}}}"#;
        let (file, _) = ConfigFile::from_body(reordered).expect("reordered");
        let same = reload.resolve(&file).expect("config");
        assert!(!ReloadPlan::between(&c, &same).workers);
        // Plain numbers still work and show as plain numbers; unset shows as null (auto).
        let mut a = args();
        a.threads = Some("3".parse().expect("flag"));
        a.intensity = Some("1,cn-pico=4".parse().expect("flag"));
        let c = MinerConfig::resolve(&a).expect("config");
        assert_eq!(c.to_json()["cpu"]["threads"], json!(3));
        assert_eq!(
            c.to_json()["cpu"]["intensity"],
            json!({"default": 1, "cn-pico": 4})
        );
        assert_eq!(c.workers.intensity.get(CnPico), Some(4));
        let auto = MinerConfig::resolve(&args()).expect("config");
        assert_eq!(auto.to_json()["cpu"]["threads"], Value::Null);
        assert!(auto.workers.threads.is_auto() && auto.workers.intensity.is_auto());
    }

    #[test]
    fn bad_per_algorithm_values_name_the_key_and_the_algorithm() {
        let reload = ReloadArgs::new(&args());
        let body =
            |cpu: &str| format!(r#"{{"pools":[{{"url":"127.0.0.1:1","user":"w"}}],"cpu":{cpu}}}"#);
        for (cpu, words) in [
            (
                r#"{"intensity":{"cn/nope":2}}"#,
                &["cpu.intensity", "cn/nope"][..],
            ),
            (
                r#"{"threads":{"cn/r":0}}"#,
                &["cpu.threads", "cn/r", "less than 1"],
            ),
            (r#"{"threads":"many"}"#, &["cpu.threads"]),
            (
                r#"{"intensity":{"cn/r":"x"}}"#,
                &["cpu.intensity", "cn/r", "not a number"],
            ),
        ] {
            let e = ConfigFile::from_body(body(cpu).as_bytes())
                .expect_err(cpu)
                .to_string();
            for w in words {
                assert!(e.contains(w), "{cpu}: {e:?} lacks {w:?}");
            }
        }
        // In range only once resolved: 1 to 5, the algorithm named.
        let (file, _) =
            ConfigFile::from_body(body(r#"{"intensity":{"default":2,"cn-pico":6}}"#).as_bytes())
                .expect("parses");
        let e = reload
            .resolve(&file)
            .expect_err("6 is too many")
            .to_string();
        assert_eq!(e, "cpu.intensity: cn-pico: 6 is more than 5");
    }

    #[test]
    fn config_files_are_written_whole() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("c.json");
        std::fs::write(&path, "old").expect("write");
        write_config_file(&path, &json!({"a": 1})).expect("write config");
        let back: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        assert_eq!(back, json!({"a": 1}));
        assert_eq!(
            std::fs::read_dir(dir.path()).expect("dir").count(),
            1,
            "temp file left"
        );
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
