//! Configuration reload (`PUT /1/config`, SIGHUP): validate the whole config, save it, then let the run loop apply what changed.

use std::sync::Mutex;

use serde_json::Value;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use super::config::{
    write_config_file, ConfigError, ConfigFile, MinerConfig, ReloadArgs, ReloadPlan,
};
use super::state::lock;

/// A validated configuration on its way to the run loop.
#[derive(Debug)]
pub struct Reload {
    pub config: MinerConfig,
    pub plan: ReloadPlan,
}

/// Why a reload was refused; the running configuration stays.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error(transparent)]
    Invalid(#[from] ConfigError),
    #[error("SIGHUP: the agent was not started with -c FILE, there is nothing to reload")]
    NoFile,
    #[error("cannot save the config to {path}: {source}")]
    Save {
        path: String,
        source: std::io::Error,
    },
}

/// Holds the running configuration and hands validated new ones to the run loop.
pub struct Reloader {
    args: ReloadArgs,
    /// The configuration last accepted, resolved and as JSON (what `GET /1/config` shows).
    current: Mutex<(MinerConfig, Value)>,
    tx: UnboundedSender<Reload>,
}

impl Reloader {
    /// `raw` is the `-c` file's JSON, or `None` to show the effective config built from flags.
    pub fn new(
        args: ReloadArgs,
        config: MinerConfig,
        raw: Option<Value>,
    ) -> (Self, UnboundedReceiver<Reload>) {
        let (tx, rx) = unbounded_channel();
        let raw = raw.unwrap_or_else(|| config.to_json());
        let me = Self {
            args,
            current: Mutex::new((config, raw)),
            tx,
        };
        (me, rx)
    }

    /// The configuration as xmrig's JSON.
    pub fn current_json(&self) -> Value {
        lock(&self.current).1.clone()
    }

    /// `PUT /1/config`: the body is the same JSON as the `-c` file. Validated whole, saved to
    /// the `-c` file (atomically) when there is one, then applied.
    pub fn put(&self, body: &[u8]) -> Result<ReloadPlan, ReloadError> {
        let (file, raw) = ConfigFile::from_body(body)?;
        let config = self.args.resolve(&file)?;
        if let Some(path) = self.args.file() {
            write_config_file(path, &raw).map_err(|source| ReloadError::Save {
                path: path.display().to_string(),
                source,
            })?;
        }
        Ok(self.queue(config, raw))
    }

    /// SIGHUP: read the `-c` file again.
    pub fn reload_file(&self) -> Result<ReloadPlan, ReloadError> {
        let path = self.args.file().ok_or(ReloadError::NoFile)?;
        let (file, raw) = ConfigFile::load_value(path)?;
        let config = self.args.resolve(&file)?;
        Ok(self.queue(config, raw))
    }

    fn queue(&self, config: MinerConfig, raw: Value) -> ReloadPlan {
        let mut current = lock(&self.current);
        let plan = ReloadPlan::between(&current.0, &config);
        *current = (config.clone(), raw);
        let _ = self.tx.send(Reload { config, plan });
        plan
    }
}
