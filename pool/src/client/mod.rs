//! The tokio driver around the session: sockets, TLS, reconnects with backoff, failover across pools.
//!
//! [`spawn`] starts one task that owns the connection. It tries pools in priority order; when a
//! pool is found hung or broken (see [`crate::session::HangCause`]) it goes to the next healthy
//! pool at once, probes the sick higher-priority pools in the background (connect + login) and
//! returns to the best one as soon as it answers. Only when every pool is sick does it wait,
//! with exponential backoff and jitter. Every session end is logged in one line with its cause.
//!
//! Beside the mining connection the next pool of the list is kept logged in, not mining (the
//! hot standby, `standby.rs`): leaving for it costs no connect or login, and its block height
//! shows when the mining pool's work has stopped advancing (a zombie pool).
//!
//! Shares: [`ClientHandle::submit`] records the share in a [`crate::session::ShareLedger`] and
//! returns its id; exactly one [`ClientEvent::ShareOutcome`] follows for it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use phirig_pool::client::{self, ClientConfig, ClientEvent, FoundShare, PoolConfig, PoolUrl};
//! let pools = vec![
//!     PoolConfig::new(PoolUrl::parse("stratum+tcp://127.0.0.1:3333")?, "wallet"),
//!     PoolConfig::new(PoolUrl::parse("stratum+ssl://127.0.0.1:3334")?, "wallet"),
//! ];
//! let config = ClientConfig::new(pools, "phirig/0.1", vec!["cn/r".into()]);
//! config.validate()?;
//! let (handle, mut events) = client::spawn(config);
//! while let Some(event) = events.recv().await {
//!     match event {
//!         // Hash the job; for each nonce whose hash meets `job.target`:
//!         ClientEvent::Job(job) => {
//!             let _id = handle.submit(FoundShare::for_job(&job, 42, [0; 32]));
//!         }
//!         ClientEvent::ShareOutcome { id, outcome } => println!("{id:?}: {outcome:?}"),
//!         _ => {}
//!     }
//! }
//! handle.shutdown(std::time::Duration::from_secs(5)).await;
//! # Ok(())
//! # }
//! ```

mod backoff;
mod config;
mod connection;
mod driver;
mod event;
mod handle;
mod probe;
mod standby;
mod stats;
mod tls;
mod transport;
mod wire;

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

pub use crate::protocol::{Job, PoolUrl};
pub use crate::session::{FoundShare, HangCause, ShareId, ShareOutcome, TimeoutSeconds, Timeouts};
pub use backoff::Backoff;
pub use config::{ClientConfig, ConfigError, PoolConfig};
pub use event::ClientEvent;
pub use handle::ClientHandle;
pub use stats::{ClientStats, PoolStats, StandbyStats};
pub use tls::{fingerprint, parse_fingerprint, TlsConfigError};
pub use transport::{Link, TlsLink};

/// Capacity of the event channel. The driver waits when it is full, so keep receiving.
pub const EVENT_CAPACITY: usize = 4096;

/// Start the client on the current tokio runtime. Returns the handle and the event stream.
/// A configuration that fails [`ClientConfig::validate`] is logged and the client stops at once.
pub fn spawn(config: ClientConfig) -> (ClientHandle, mpsc::Receiver<ClientEvent>) {
    let (events_tx, events_rx) = mpsc::channel(EVENT_CAPACITY);
    let (commands_tx, commands_rx) = mpsc::unbounded_channel();
    let urls = config.pools.iter().map(|p| p.url.to_string()).collect();
    let shared = Arc::new(handle::Shared {
        ledger: Mutex::new(crate::session::ShareLedger::new(config.max_held_shares)),
        stats: Mutex::new(stats::StatsState::new(urls)),
    });
    let driver = driver::Driver::new(config, shared.clone(), commands_rx, events_tx.clone());
    let task = tokio::spawn(driver.run());
    let handle = ClientHandle {
        shared,
        commands: commands_tx,
        task: Some(task),
        events: events_tx,
    };
    (handle, events_rx)
}
