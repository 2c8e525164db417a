//! `--online-tune` in the miner: the online tuner on the live workers, a win written to the
//! profile file, from where the profile watch re-plans the workers and offers the pool the rate.

use std::time::Instant;

use phirig_wire::{AlgoBest, Profile};
use tracing::{info, warn};

use super::config::MinerConfig;
use super::state::MinerState;
use crate::tune::online::OnlineConfig;
use crate::tune::online_driver::{OnlineDriver, Tuned};
use crate::worker::profile;

pub struct OnlineTune {
    driver: OnlineDriver,
}

impl OnlineTune {
    pub fn new() -> Self {
        Self {
            driver: OnlineDriver::new(OnlineConfig::MINING),
        }
    }

    /// One look, from the run loop's once-a-second tick.
    pub fn tick(&mut self, state: &MinerState, config: &MinerConfig) {
        let won = tokio::task::block_in_place(|| {
            self.driver
                .tick(&state.workers, &config.workers, Instant::now())
        });
        let Some(won) = won else {
            return;
        };
        info!(algo = %won.algo, ways = won.ways, hs = won.hs, "online tuner: a neighbouring setting won every pair");
        let updated = with_win(config.workers.profile.as_deref(), won, state, config);
        if let Err(e) = profile::save(&updated, &config.profile_path) {
            warn!("online tuner: {e}; the profile stays as it was");
        }
    }
}

/// The profile with `won` in it: the algorithm's ways and rate replaced, or a new entry with
/// the threads the workers run.
fn with_win(
    current: Option<&Profile>,
    won: Tuned,
    state: &MinerState,
    config: &MinerConfig,
) -> Profile {
    let mut p = current.cloned().unwrap_or_else(|| Profile {
        key: profile::current_key(),
        ..Profile::default()
    });
    let workers = &state.workers;
    let aes = config.workers.cpu().label(config.workers.aes);
    let best = p
        .algos
        .entry(won.algo.name().to_string())
        .or_insert_with(|| AlgoBest {
            threads: workers.threads(),
            intensity: won.ways,
            hs: won.hs,
            hugepages: workers.hugepages(),
            aes: aes.to_string(),
            rx_mode: None,
        });
    best.intensity = won.ways;
    best.hs = won.hs;
    p
}
