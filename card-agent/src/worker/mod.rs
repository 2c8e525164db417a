//! Per-core workers: thread placement, intensity, nonce ranges, self-test and share detection.

pub mod affinity;
pub mod config;
pub mod job;
pub mod nonce_range;
pub mod per_algo;
pub mod profile;
mod settings;
pub mod topology;
pub mod workers;

pub use config::WorkerConfig;
pub use job::{JobError, MiningJob};
pub use nonce_range::{put_nonce, NonceCursor, NonceRange};
pub use per_algo::{parse_intensity, PerAlgo, PerAlgoError};
pub use topology::{plan, ThreadPlan, Topology, MAX_INTENSITY};
pub use workers::{FoundResult, ThreadInfo, WorkerNote, Workers};
