//! RandomX (rx/0) in the agent, beside the CryptoNight workers: jobs with a seed, the workers
//! on the card's one dataset, `hash --algo rx/0 --seed` and the rx/0 benchmark.
//!
//! rx/0 is not a row of the kernel's CryptoNight table: a job or flag naming it
//! ([`phirig_rx::is_rx`]) is routed here, everything else to the CryptoNight workers.

pub mod bench;
pub mod hashing;
pub mod job;
pub mod miner;
pub mod status;
pub mod workers;

pub use job::{RxJob, RxJobError};
pub use workers::RxWorkers;

use std::sync::Arc;

use phirig_kernel::cn::Algorithm;
use phirig_rx::{Epoch, Mode, RxError, RxOptions};
use tokio::sync::mpsc::UnboundedSender;
use tracing::info;

use crate::miner::{MinerConfig, MinerState};
use crate::worker::WorkerNote;

/// The miner's rx workers: as many threads as CryptoNight's 2 MiB pads get (the same
/// scratchpad size meets the same caches), and starting an rx/0 job stops the CryptoNight one.
pub fn start(
    config: &MinerConfig,
    state: &Arc<MinerState>,
    notes: UnboundedSender<WorkerNote>,
) -> RxWorkers {
    let planned = pad_twin().map_or(1, |a| state.workers.threads_for(a));
    // `-t N` wins, then the card's tuned rx/0 threads, then CryptoNight's plan for 2 MiB pads.
    let tuned = config
        .workers
        .profile
        .as_deref()
        .and_then(crate::worker::profile::tuned_rx_threads);
    let threads = match (config.workers.threads.default_value(), tuned) {
        (None, Some(tuned)) => tuned,
        _ => planned,
    };
    let mode = phirig_rx::resolve_mode(config.rx.mode);
    info!(
        "rx/0: {} mode, {threads} threads{}",
        if mode == Mode::Light {
            "light (cache only)"
        } else {
            "full (2 GiB dataset)"
        },
        if mode == Mode::Light && config.rx.mode == Mode::Auto {
            ", as the memory free cannot hold a dataset"
        } else {
            ""
        }
    );
    let weak = Arc::downgrade(state);
    let cpus = if config.workers.pin {
        crate::worker::Topology::detect().core_cpus
    } else {
        Vec::new()
    };
    RxWorkers::new(
        RxOptions { mode, ..config.rx },
        threads,
        cpus,
        notes,
        Box::new(move |job: &RxJob| {
            if let Some(state) = weak.upgrade() {
                state.workers.clear_job();
                info!("rx/0 job {} mining on seed {}", job.job_id, job.seed);
            }
        }),
    )
}

/// The CryptoNight variant with RandomX's 2 MiB scratchpad: the same pad size meets the same
/// caches, so its planned threads are rx/0's first guess.
pub fn pad_twin() -> Option<Algorithm> {
    Algorithm::ALL
        .into_iter()
        .find(|a| a.scratchpad_bytes() == phirig_rx::SCRATCHPAD_BYTES)
}

/// `--rx-mode`: `auto` (full when the memory is free), `full` or `light`.
pub fn parse_mode(s: &str) -> Result<Mode, String> {
    match s {
        "auto" => Ok(Mode::Auto),
        "full" => Ok(Mode::Full),
        "light" => Ok(Mode::Light),
        other => Err(format!("rx mode {other:?}: auto, full or light")),
    }
}

/// The options the agent's flags ask for.
pub fn options(mode: Mode, hw_aes: bool, huge_pages: bool) -> RxOptions {
    RxOptions {
        mode,
        hard_aes: hw_aes,
        huge_pages,
        ..RxOptions::default()
    }
}

/// `phirig-agent hash --algo rx/0 --seed KEY_HEX INPUT_HEX`, in light mode (one hash needs no
/// dataset). The key is a job's 32-byte seed, or any bytes, as in the reference vectors.
pub fn hash_once(key: &[u8], input: &[u8], hw_aes: bool) -> Result<[u8; 32], RxError> {
    let opts = options(Mode::Light, hw_aes, false);
    Ok(Epoch::build_with_key(key, &opts)?.vm()?.hash(input))
}
