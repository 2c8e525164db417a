//! The config file (`-c/--config`, TOML or JSON): every option a flag has, loaded, checked in full,
//! then merged under the command line (a flag given wins; see `merge`).

mod card_set;
mod file;
mod load;
mod merge;
mod run_settings;

pub use card_set::{CardKey, CardSetError, CardSetting};
pub use file::{
    AgentSection, CardEntry, ConfigFile, Discovery, HttpSection, PoolEntry, Secret,
    TimeoutsSection, WatchdogSection,
};
pub use load::{load, parse_str, Format};
pub use merge::{apply, check_run};
pub use run_settings::{card_overrides, pool_configs, timeouts, watchdog_config, CardOverride};

use std::path::PathBuf;

/// A commented example of every section (`phirig config example`), shipped as phirig.example.toml.
pub const EXAMPLE: &str = include_str!("../../../phirig.example.toml");

/// What the TOML or JSON parser refused (syntax, unknown keys, wrong types).
#[derive(Debug, thiserror::Error)]
pub enum SyntaxError {
    /// Boxed: the TOML error is large and every command's error carries this.
    #[error(transparent)]
    Toml(Box<toml::de::Error>),
    #[error(transparent)]
    Json(serde_json::Error),
}

impl SyntaxError {
    /// The parser's message without its own location or snippet: the error says the line itself.
    pub fn message(&self) -> String {
        match self {
            SyntaxError::Toml(e) => e.message().trim().to_string(),
            // serde_json appends " at line L column C" itself.
            SyntaxError::Json(e) => {
                let text = e.to_string();
                text.split(" at line ")
                    .next()
                    .unwrap_or_default()
                    .to_string()
            }
        }
    }
}

/// Why a config file was not used; nothing is started when this happens.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Syntax errors, unknown keys, wrong types: `where_` is "line L column C" when known.
    #[error("config {}{}: {}", path.display(), where_.as_ref().map(|w| format!(" {w}")).unwrap_or_default(), source.message())]
    Parse {
        path: PathBuf,
        where_: Option<String>,
        #[source]
        source: SyntaxError,
    },
    /// A value of the right type that cannot work (bad URL, fraction out of range, …).
    #[error("config {}: {key}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
}
