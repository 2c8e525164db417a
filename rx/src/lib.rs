//! phirig-rx: RandomX (rx/0) over the reference implementation: seeds, the cache and dataset of
//! each seed (one dataset per card, built with every core, on huge pages where there are some),
//! background switching to a new seed, light mode, and per-thread VMs.
//!
//! ```no_run
//! use phirig_rx::{Epoch, RxOptions, Seed};
//! let seed: Seed = "00".repeat(32).parse()?;
//! let epoch = Epoch::build(seed, &RxOptions::light())?;
//! let hash = epoch.vm()?.hash(b"This is a test");
//! # Ok::<(), phirig_rx::RxError>(())
//! ```

mod cache;
mod dataset;
mod epoch;
mod epochs;
mod error;
mod ffi;
mod options;
mod pages;
mod seed;
mod verifier;
mod vm;

pub use cache::Cache;
pub use dataset::{dataset_bytes, Dataset};
pub use epoch::{resolve_mode, Epoch};
pub use epochs::{Epochs, Lookup};
pub use error::RxError;
pub use options::{Mode, RxOptions};
pub use pages::{hugepages_for_full_mode, hugepages_in_use, mem_available, Backing};
pub use seed::{Seed, SeedError};
pub use verifier::LightVerifier;
pub use vm::Vm;

/// The stratum name of the one RandomX variant phirig mines.
pub const ALGO: &str = "rx/0";

/// The RandomX cache every epoch holds: 256 MiB.
pub const CACHE_BYTES: usize = 256 << 20;

/// Memory one thread's VM takes beside the shared cache/dataset: the 2 MiB scratchpad.
pub const SCRATCHPAD_BYTES: usize = 2 << 20;

/// Whether a job's algorithm name is RandomX (`rx/0`, or the `randomx`/`rx` aliases pools use).
pub fn is_rx(algo: &str) -> bool {
    matches!(
        algo.to_ascii_lowercase().as_str(),
        "rx/0" | "randomx" | "rx" | "rx/monero"
    )
}
