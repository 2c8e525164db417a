//! State every connection of one server shares: config, counters, job source, faults, verifier.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use super::config::ServerConfig;
use super::fault::FaultSetting;
use super::job_source::JobSource;
use super::stats::Stats;
use super::switching::AlgoValues;
use super::verify::{ShareHasher, Verifier};

pub(crate) struct Shared {
    pub config: ServerConfig,
    pub stats: Stats,
    pub jobs: JobSource,
    pub faults: watch::Sender<FaultSetting>,
    pub verifier: Verifier,
    /// Flips to `true` once; the accept loop and every connection watch it.
    pub shutdown: watch::Sender<bool>,
    /// Switching mode's table, as the operator last set it.
    algo_values: Mutex<AlgoValues>,
    next_id: AtomicU64,
    /// Random per server, so a job id from another server (or an earlier run) is never valid here.
    salt: u32,
}

impl Shared {
    pub fn new(config: ServerConfig, hasher: Arc<dyn ShareHasher>) -> Self {
        let jobs = JobSource::new(
            &config.algo,
            config.template.clone(),
            config.height,
            config.seed_hash.clone(),
            config.next_seed_hash.clone(),
        );
        let (faults, _) = watch::channel(FaultSetting {
            generation: 0,
            fault: config.fault.clone(),
        });
        let (shutdown, _) = watch::channel(false);
        let stats = Stats::default();
        stats.template_made();
        Shared {
            verifier: Verifier::new(hasher, config.verify_threads),
            algo_values: Mutex::new(config.switching.clone().unwrap_or_default()),
            config,
            stats,
            jobs,
            faults,
            shutdown,
            next_id: AtomicU64::new(1),
            salt: rand::random(),
        }
    }

    /// A job id unique within this server.
    pub fn new_job_id(&self) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        format!("{:08x}{n:08x}", self.salt)
    }

    /// A session id for a login; random so sessions cannot be guessed from one another.
    pub fn new_session_id(&self) -> String {
        format!(
            "{:016x}{:016x}",
            rand::random::<u64>(),
            rand::random::<u64>()
        )
    }

    /// Make and publish a new template to all connections.
    pub fn next_template(&self) {
        self.jobs.next();
        self.stats.template_made();
    }

    /// Move to the next block height and publish its template to all connections.
    pub fn next_block(&self) {
        self.jobs.next_block();
        self.stats.template_made();
    }

    /// The switching table now.
    pub fn algo_values(&self) -> MutexGuard<'_, AlgoValues> {
        // Plain data: a panic elsewhere cannot leave it half-written.
        self.algo_values.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publish `blob` as the next template, unchecked (see [`super::ServerHandle::new_job_with_blob`]).
    pub fn publish_template(&self, blob: Vec<u8>) {
        self.jobs.publish(blob);
        self.stats.template_made();
    }
}
