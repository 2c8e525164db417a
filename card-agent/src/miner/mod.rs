//! Mining mode: the stratum client feeding the workers, shares back to the pool, the HTTP API and the console.

pub mod api;
pub mod config;
pub mod console;
pub mod run_loop;
pub mod state;

use std::sync::Arc;

use tracing::info;

use crate::cli::MineArgs;
use crate::http::{serve, AuthPolicy};
use crate::journal::{HeaderInfo, Journal, JournalConfig, ThreadKind};
use crate::worker::Workers;
pub use config::{ConfigError, MinerConfig};
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
    Journal(#[from] crate::journal::JournalError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// Mines with the given flags until stopped.
pub fn run(args: MineArgs) -> Result<(), MinerError> {
    init_logging();
    let config = MinerConfig::resolve(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("agent-io")
        .build()
        .map_err(MinerError::Runtime)?;
    runtime.block_on(run_async(config))
}

/// Mines on the current runtime until stopped.
pub async fn run_async(config: MinerConfig) -> Result<(), MinerError> {
    let (tx, notes) = tokio::sync::mpsc::unbounded_channel();
    info!(
        "phirig-agent {} aes {} pools {}",
        env!("CARGO_PKG_VERSION"),
        config.workers.aes.name(),
        config.client.pools.len()
    );
    let journal = match &config.journal {
        Some(path) => {
            let port = config.http.as_ref().map_or(0, |h| h.addr.port());
            let j = Journal::create(
                path,
                JournalConfig::default(),
                HeaderInfo::from_env(0, port),
            )?;
            info!("journal: {}", path.display());
            Some(Arc::new(j))
        }
        None => None,
    };
    let mut worker_config = config.workers.clone();
    worker_config.journal = journal.clone();
    let workers = Workers::start(worker_config, config.algo, tx);
    let state = Arc::new(MinerState::new(workers, config.algo));
    if let Some(j) = &journal {
        state.set_journal(j.thread(POOL_THREAD_ID, ThreadKind::Pool));
    }
    let api_task = match &config.http {
        Some(http) => {
            let routes = Arc::new(api::AgentApi {
                state: state.clone(),
                worker_id: hostname(),
            });
            let (addr, task) = serve(
                http.addr,
                routes,
                AuthPolicy::new(http.token.clone(), http.restricted_read),
            )
            .await?;
            info!("HTTP API on http://{addr}");
            Some(task)
        }
        None => None,
    };
    run_loop::run(config, state.clone(), notes).await;
    if let Some(t) = api_task {
        t.abort();
        let _ = t.await;
    }
    // Workers first, so their last hash counts reach the journal before it closes.
    state.workers.stop();
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
    Ok(())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "phirig".into())
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
