//! Reading a config file: TOML, or JSON when the name ends in `.json`; then checking every value.

use std::path::{Path, PathBuf};

use phirig_agent::worker::MAX_INTENSITY;
use phirig_deploy::discovery::CardSpec;
use phirig_pool::client::parse_fingerprint;
use phirig_pool::protocol::PoolUrl;

use super::file::ConfigFile;
use super::{ConfigError, SyntaxError};

/// Which syntax a file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Json,
}

impl Format {
    pub fn of(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("json") => Format::Json,
            _ => Format::Toml,
        }
    }
}

/// Reads, parses and checks `path`.
pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_str(&text, Format::of(path), path)
}

/// Parses and checks `text`; `path` only names the file in errors.
pub fn parse_str(text: &str, format: Format, path: &Path) -> Result<ConfigFile, ConfigError> {
    let file: ConfigFile = match format {
        Format::Toml => toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            where_: e.span().map(|s| line_col(text, s.start)),
            source: SyntaxError::Toml(Box::new(e)),
        })?,
        Format::Json => serde_json::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            where_: Some(format!("line {} column {}", e.line(), e.column())),
            source: SyntaxError::Json(e),
        })?,
    };
    validate(&file, path)?;
    Ok(file)
}

fn line_col(text: &str, offset: usize) -> String {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line} column {col}")
}

fn invalid(path: &Path, key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        path: PathBuf::from(path),
        key: key.into(),
        message: message.into(),
    }
}

/// Everything that can be checked without the network, so a bad file starts nothing.
fn validate(f: &ConfigFile, path: &Path) -> Result<(), ConfigError> {
    if let Some(a) = &f.algo {
        a.parse::<phirig_kernel::cn::Algorithm>()
            .map_err(|e| invalid(path, "algo", e.to_string()))?;
    }
    if f.difficulty == Some(0) {
        return Err(invalid(path, "difficulty", "must be at least 1"));
    }
    for (i, c) in f.cards.iter().enumerate() {
        c.target
            .parse::<CardSpec>()
            .map_err(|e| invalid(path, format!("cards[{i}].target"), e.to_string()))?;
        if c.threads == Some(0) {
            return Err(invalid(
                path,
                format!("cards[{i}].threads"),
                "must be at least 1",
            ));
        }
        if c.benchmark.is_some_and(|b| !(b.is_finite() && b > 0.0)) {
            return Err(invalid(
                path,
                format!("cards[{i}].benchmark"),
                "must be a positive H/s",
            ));
        }
        if c.agent_port == Some(0) {
            return Err(invalid(
                path,
                format!("cards[{i}].agent-port"),
                "must not be 0",
            ));
        }
        if f.cards[..i].iter().any(|o| o.target == c.target) {
            return Err(invalid(
                path,
                format!("cards[{i}].target"),
                format!("{} is listed twice", c.target),
            ));
        }
    }
    for (i, p) in f.pools.iter().enumerate() {
        PoolUrl::parse(&p.url)
            .map_err(|e| invalid(path, format!("pools[{i}].url"), e.to_string()))?;
        if let Some(fp) = &p.tls_fingerprint {
            parse_fingerprint(fp)
                .map_err(|e| invalid(path, format!("pools[{i}].tls-fingerprint"), e.to_string()))?;
        }
    }
    for (key, v) in [
        ("timeouts.connect", f.timeouts.connect),
        ("timeouts.response", f.timeouts.response),
        ("timeouts.idle", f.timeouts.idle),
        ("timeouts.retry-pause", f.timeouts.retry_pause),
    ] {
        if v == Some(0) {
            return Err(invalid(path, key, "must be at least 1 second"));
        }
    }
    // Threads of 0 and unknown algorithms are refused by the parser, with the line.
    if let Some(k) = f.agent.intensity {
        k.check_max(MAX_INTENSITY)
            .map_err(|e| invalid(path, "agent.intensity", e.to_string()))?;
    }
    if f.agent
        .remote_dir
        .as_deref()
        .is_some_and(|d| !d.starts_with('/'))
    {
        return Err(invalid(
            path,
            "agent.remote-dir",
            "must be an absolute path",
        ));
    }
    if f.watchdog
        .restart_below
        .is_some_and(|r| !(r > 0.0 && r <= 1.0))
    {
        return Err(invalid(
            path,
            "watchdog.restart-below",
            "must be a fraction in (0, 1]",
        ));
    }
    if f.watchdog
        .minutes
        .is_some_and(|m| !(m.is_finite() && m > 0.0))
    {
        return Err(invalid(path, "watchdog.minutes", "must be positive"));
    }
    if f.watchdog.backoff == Some(0) {
        return Err(invalid(
            path,
            "watchdog.backoff",
            "must be at least 1 second",
        ));
    }
    if f.http.restricted == Some(true) && f.http.access_token.is_none() {
        return Err(invalid(
            path,
            "http.restricted",
            "needs http.access-token (otherwise nobody could read the API)",
        ));
    }
    Ok(())
}
