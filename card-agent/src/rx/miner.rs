//! The miner's side of rx/0: which pool jobs are RandomX, and handing them to the rx workers.

use phirig_journal::Event;
use phirig_pool::client::Job;
use tracing::{error, info};

use super::job::RxJob;
use crate::miner::state::{lock, wall_ns, MinerState};

/// A job is rx/0 when it names it, or names nothing and the agent was started with `-a rx/0`.
pub fn is_rx_job(job: &Job, rx_by_default: bool) -> bool {
    job.algo.as_deref().map_or(rx_by_default, phirig_rx::is_rx)
}

/// Validates `job` and gives it to the rx workers; a bad seed is refused and the previous job
/// (CryptoNight or RandomX) keeps running.
pub fn on_job(state: &MinerState, job: Job, seq: u64) {
    let Some(rx) = state.rx.get() else {
        error!("job {}: rx/0 workers are not running", job.job_id);
        return;
    };
    let rx_job = match RxJob::from_pool(&job, seq) {
        Ok(j) => j,
        Err(e) => {
            error!("{e}; the previous job keeps running");
            return;
        }
    };
    let diff = job.target.difficulty();
    state.journal(&Event::JobReceived {
        job_id: job.job_id.clone(),
        algo: phirig_rx::ALGO.to_string(),
        height: job.height.unwrap_or(0),
        difficulty: diff,
    });
    info!(
        "new job {} from pool {} algo rx/0 diff {diff} height {:?} seed {}",
        job.job_id, job.pool, job.height, rx_job.seed
    );
    {
        let mut results = lock(&state.results);
        results.diff_current = diff;
        results.job = Some((job.job_id.clone(), wall_ns()));
    }
    state.remember_job(seq, job);
    rx.set_job(rx_job);
}
