//! Runs the online tuner on live workers: the current job's algorithm is tuned on the real job,
//! its ways switched by restarting the workers (job and nonce cursor carry over, so every hash
//! still counts and shares still go out), and a paired win is handed back for the profile.

use std::time::{Duration, Instant};

use phirig_kernel::cn::Algorithm;

use super::online::{Action, OnlineConfig, OnlineTuner};
use super::paired::max_ways;
use crate::worker::{WorkerConfig, Workers};

/// A setting that won its paired rounds on live work.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tuned {
    pub algo: Algorithm,
    pub ways: usize,
    pub hs: f64,
}

/// The online tuner for whatever algorithm the workers mine.
pub struct OnlineDriver {
    cfg: OnlineConfig,
    /// The algorithm being tuned, and its tuner (`None` where a flag fixes its ways).
    current: Option<(Algorithm, Option<OnlineTuner>)>,
    /// The workers run ways other than `base` says.
    overridden: bool,
}

impl OnlineDriver {
    pub fn new(cfg: OnlineConfig) -> Self {
        Self {
            cfg,
            current: None,
            overridden: false,
        }
    }

    /// One look (every second or so): follows the job's algorithm, moves the rounds on and
    /// restarts the workers where the ways change. `base` is the configuration the workers run
    /// without the tuner. Blocks for up to one hash batch when it restarts them.
    pub fn tick(&mut self, workers: &Workers, base: &WorkerConfig, now: Instant) -> Option<Tuned> {
        let algo = workers.current_job()?.algo;
        let ways = workers.thread_info().iter().map(|t| t.intensity).max()?;
        if ways == 0 {
            return None; // not hashing yet
        }
        if self.current.as_ref().map(|(a, _)| *a) != Some(algo) {
            // Another algorithm: what was being compared no longer applies.
            if std::mem::take(&mut self.overridden) {
                workers.restart(base.clone(), algo);
            }
            let tuner = base
                .intensity
                .get(algo)
                .is_none()
                .then(|| OnlineTuner::new(self.cfg, ways, max_ways(algo)));
            self.current = Some((algo, tuner));
        }
        let tuner = self.current.as_mut()?.1.as_mut()?;
        let hashes = workers.hash_counts().iter().sum();
        let (set, tuned) = match tuner.tick(now, hashes)? {
            Action::Set(k) => (k, None),
            Action::Decided { ways, hs, won } => (ways, won.then_some(Tuned { algo, ways, hs })),
        };
        if set != ways {
            let config = WorkerConfig {
                intensity: base.intensity.with(algo, set),
                ..base.clone()
            };
            workers.restart(config, algo);
            self.overridden = true;
        }
        tuned
    }

    /// Mines for `span` with the tuner at work, looking every `step`; the wins it found.
    pub fn run_for(
        &mut self,
        workers: &Workers,
        base: &WorkerConfig,
        span: Duration,
        step: Duration,
    ) -> Vec<Tuned> {
        let end = Instant::now() + span;
        let mut won = Vec::new();
        while Instant::now() < end {
            won.extend(self.tick(workers, base, Instant::now()));
            std::thread::sleep(step.min(end.saturating_duration_since(Instant::now())));
        }
        won
    }
}
