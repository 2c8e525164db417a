//! The reference pool server: jobs, variable difficulty, share verification, and fault injection for tests.
//!
//! A real Monero-style stratum server on tokio. It is the built-in pool of `phirig run`
//! ([`demo_config`]) and the test suite's misbehaving pool ([`Fault`]). It never hashes on the
//! reactor: shares are recomputed through the injected [`ShareHasher`] on blocking threads.
//!
//! ```no_run
//! # async fn demo() -> Result<(), phirig_pool::server::ServerError> {
//! use std::sync::Arc;
//! use phirig_pool::server::{demo_config, Fault, PoolServer, Sha3ShareHasher};
//! let pool = PoolServer::start(demo_config("127.0.0.1:0".parse().unwrap()), Arc::new(Sha3ShareHasher)).await?;
//! pool.set_fault(Fault::SilentAfterLogin);
//! println!("{:?}", pool.stats());
//! pool.shutdown().await;
//! # Ok(()) }
//! ```

mod config;
mod connection;
mod error;
mod fault;
mod handle;
mod issued_jobs;
mod job_source;
mod listener;
mod sha3_hasher;
mod shared;
mod stats;
mod switching;
mod vardiff;
mod verify;

pub use config::{demo_config, ServerConfig};
pub use error::ServerError;
pub use fault::{Fault, FaultParseError};
pub use handle::{ServerHandle, SHUTDOWN_WAIT};
pub use job_source::{random_hashing_blob, HASHING_BLOB_LEN};
pub use listener::PoolServer;
pub use sha3_hasher::Sha3ShareHasher;
pub use stats::{RejectCounts, SentJob, ServerStats, WorkerStats, RECENT_SENT_JOBS};
pub use switching::{best as best_algorithm, AlgoValues, CURRENT_BONUS};
pub use vardiff::{Vardiff, VardiffConfig};
pub use verify::{Reject, ShareHasher};
