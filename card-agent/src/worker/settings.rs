//! Threads and ways for an algorithm: the flags, else the card's tuned profile, else the caches' plan.

use phirig_kernel::cn::Algorithm;

use super::config::WorkerConfig;
use super::profile::tuned_plan;
use super::topology::{plan, ThreadPlan, Topology, MAX_INTENSITY};

/// Ways per thread for `algo`: its own setting, else the default, else the planned one.
pub(super) fn intensity_for(config: &WorkerConfig, topology: &Topology, algo: Algorithm) -> usize {
    config
        .intensity
        .get(algo)
        .unwrap_or_else(|| planned(config, topology, algo).intensity)
        .clamp(1, MAX_INTENSITY)
}

/// Threads to run for `algo`: its own setting, else the default, else the planned count.
pub(super) fn threads_for(config: &WorkerConfig, topology: &Topology, algo: Algorithm) -> usize {
    config
        .threads
        .get(algo)
        .unwrap_or_else(|| planned(config, topology, algo).threads)
        .max(1)
}

/// What this card measured for `algo`, else what the caches suggest.
fn planned(config: &WorkerConfig, topology: &Topology, algo: Algorithm) -> ThreadPlan {
    config
        .profile
        .as_deref()
        .and_then(|p| tuned_plan(p, algo))
        .unwrap_or_else(|| plan(topology, algo))
}
