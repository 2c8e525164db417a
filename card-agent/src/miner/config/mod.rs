//! Miner configuration: xmrig-style JSON (pools[], cpu{}, http{}) overlaid by command-line flags.

mod error;
mod file;
mod journal;
mod login;
mod reload_plan;
mod resolve;
#[cfg(test)]
mod tests;
mod token;

pub use error::{BodyError, ConfigError};
pub use file::{write_config_file, ConfigFile, CpuSection, HttpSection, PoolEntry};
pub use journal::{journal_config, journal_path, RIG_JOURNAL_FILE};
pub use login::{advertised_algos, offered_perf, user_agent};
pub use reload_plan::{ReloadArgs, ReloadPlan};
pub use resolve::{HttpConfig, MinerConfig};
pub use token::{resolve_token, TOKEN_FILE_ENV};
