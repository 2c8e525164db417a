//! Mining mode: the stratum client feeding the workers, shares back to the pool, the HTTP API and the console.

pub mod api;
pub mod config;
pub mod console;
mod online_tune;
mod profile_watch;
pub mod reload;
pub mod run_loop;
pub mod state;

use std::sync::Arc;

use tracing::info;

use crate::cli::MineArgs;
use crate::http::{serve, AuthPolicy};
use crate::worker::Workers;
pub use config::{ConfigError, MinerConfig};
use phirig_journal::{HeaderInfo, Journal, ThreadKind};
pub use state::MinerState;

/// Journal thread id of the pool loop (hash threads use 0, 1, …).
pub const POOL_THREAD_ID: u32 = 1 << 16;

#[derive(Debug, thiserror::Error)]
pub enum MinerError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
    #[error("journal: {0}")]
    Journal(#[from] phirig_journal::JournalError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot re-execute the upgraded binary: {0}")]
    Reexec(std::io::Error),
}

/// Mines with the given flags until stopped.
pub fn run(args: MineArgs) -> Result<(), MinerError> {
    init_logging();
    let (config, raw) = match &args.config {
        Some(p) => {
            let (file, raw) = config::ConfigFile::load_value(p)?;
            (MinerConfig::resolve_with(&args, &file)?, Some(raw))
        }
        None => (MinerConfig::resolve(&args)?, None),
    };
    let reload_args = config::ReloadArgs::new(&args);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("agent-io")
        .build()
        .map_err(MinerError::Runtime)?;
    runtime.block_on(run_async(config, reload_args, raw))
}

/// Mines on the current runtime until stopped. `raw` is the `-c` file's JSON, if any.
pub async fn run_async(
    mut config: MinerConfig,
    reload_args: config::ReloadArgs,
    raw: Option<serde_json::Value>,
) -> Result<(), MinerError> {
    let (tx, notes) = tokio::sync::mpsc::unbounded_channel();
    info!(
        "phirig-agent {} aes {} core window {} pools {}",
        env!("CARGO_PKG_VERSION"),
        config.workers.cpu().label(config.workers.aes),
        config.workers.cpu().window.name(),
        config.client.pools.len()
    );
    let journal = match &config.journal {
        Some(path) => {
            let port = config.http.as_ref().map_or(0, |h| h.addr.port());
            let j = Journal::create(
                path,
                config.journal_config.clone(),
                HeaderInfo::from_env(0, port),
            )?;
            info!("journal: {}", path.display());
            Some(Arc::new(j))
        }
        None => None,
    };
    let (reloader, reloads) = reload::Reloader::new(reload_args, config.clone(), raw);
    // The run loop's copy carries the journal, so restarted workers keep journaling.
    config.workers.journal = journal.clone();
    let workers = Workers::start(config.workers.clone(), config.algo, tx.clone());
    let state = Arc::new(MinerState::new(workers, config.algo));
    let _ = state.rx.set(crate::rx::start(&config, &state, tx));
    // Before the pool loop hands them a job: not one batch is hashed, by the CryptoNight or
    // the RandomX workers, until `resume`.
    if config.paused {
        state.set_paused(true);
        info!("mining paused from the start (--pause-on-start) until the API's resume");
    }
    let _ = state.reloader.set(reloader);
    if let Some(j) = &journal {
        state.set_journal(j.thread(POOL_THREAD_ID, ThreadKind::Pool));
    }
    // A weak handle: the upgrader must not keep the state (and its journal) alive at shutdown.
    let weak = Arc::downgrade(&state);
    let upgrader = Arc::new(crate::upgrade::Upgrader::new(move || {
        if let Some(s) = weak.upgrade() {
            s.request_stop();
        }
    }));
    let api_task = match &config.http {
        Some(http) => {
            let auth = AuthPolicy::new(http.token.clone(), http.restricted_read);
            let routes = Arc::new(api::AgentApi {
                state: state.clone(),
                worker_id: crate::system::hostname(),
                upgrader: Some(upgrader.clone()),
                restricted: !auth.has_token(),
            });
            let (addr, task) = serve(http.addr, routes, auth).await?;
            info!("HTTP API on http://{addr}");
            Some(task)
        }
        None => None,
    };
    run_loop::run(config, state.clone(), notes, reloads).await;
    if let Some(t) = api_task {
        t.abort();
        let _ = t.await;
    }
    // Workers first, so their last hash counts reach the journal before it closes.
    state.workers.stop();
    if let Some(rx) = state.rx.get() {
        rx.stop();
    }
    state.close_journal();
    drop(state);
    if let Some(j) = journal {
        match Arc::try_unwrap(j) {
            Ok(j) => {
                j.close()?;
            }
            // An API connection still holds the state: write out what we have.
            Err(j) => j.flush()?,
        }
    }
    info!("stopped");
    if upgrader.installed() {
        // Same path, argv and environment: configuration and token file carry over.
        return Err(MinerError::Reexec(upgrader.reexec()));
    }
    Ok(())
}

/// Plain log lines on stderr; `RUST_LOG` adjusts the level.
pub fn init_logging() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        // Colour codes only for a person at a terminal, not in files and journals on the cards.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}
