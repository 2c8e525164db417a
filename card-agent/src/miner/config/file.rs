//! The xmrig-style JSON file (pools[], cpu{}, http{}) as read, and written back whole.

use std::net::IpAddr;
use std::path::Path;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::worker::per_algo::deserialize_keyed;
use crate::worker::PerAlgo;

use super::error::{BodyError, ConfigError};

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
    /// Seconds an algorithm-switching pool should keep us on one algorithm (MoneroOcean's
    /// `algo-min-time`).
    #[serde(rename = "algo-min-time")]
    pub algo_min_time: Option<u64>,
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
        let parse = |source| ConfigError::Parse {
            path: path.display().to_string(),
            source,
        };
        let raw: Value = serde_json::from_str(&text).map_err(parse)?;
        let file = serde_json::from_value(raw.clone()).map_err(parse)?;
        Ok((file, raw))
    }

    /// A config sent through the API (`PUT /1/config`): the same JSON as the file.
    pub fn from_body(body: &[u8]) -> Result<(Self, Value), ConfigError> {
        let raw: Value = serde_json::from_slice(body).map_err(BodyError::from)?;
        if !raw.is_object() {
            return Err(BodyError::NotAnObject.into());
        }
        let file = serde_json::from_value(raw.clone()).map_err(BodyError::from)?;
        Ok((file, raw))
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
