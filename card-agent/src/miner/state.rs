//! What the running miner knows: workers, the pool client, rates and results, read by the API and console.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use phirig_pool::client::{ClientHandle, ClientStats, Job};
use phirig_pool::protocol::BestDifficulties;
use tokio::sync::Notify;

use crate::hashrate::RateMeter;
use crate::worker::Workers;
/// The counters' clocks are the journal's, so a card's journal and its API share one time line.
pub use phirig_journal::{monotonic_ns, wall_ns};
use phirig_journal::{Event, ThreadJournal};
use phirig_kernel::cn::Algorithm;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Share results as xmrig reports them.
#[derive(Debug, Clone, Default)]
pub struct Results {
    pub diff_current: u64,
    pub shares_good: u64,
    pub shares_total: u64,
    /// The best difficulties reached.
    pub best: BestDifficulties,
    pub pool_url: Option<String>,
    pub connected_at: Option<Instant>,
    pub failures: u64,
    /// Index of the pool of the last login, to journal failovers.
    pub last_pool: Option<usize>,
    /// The job the workers mine and when (wall clock, ns) it was handed to them: the host
    /// measures how long a new upstream job takes to reach every card from this.
    pub job: Option<(String, u64)>,
}

/// Rates per thread and in total, from the workers' cumulative counters.
#[derive(Debug, Default)]
pub struct Meters {
    pub threads: Vec<RateMeter>,
    pub total: RateMeter,
}

pub struct MinerState {
    pub workers: Workers,
    pub client: Mutex<Option<ClientHandle>>,
    pub boot_id: String,
    pub started: Instant,
    pub meters: Mutex<Meters>,
    pub results: Mutex<Results>,
    pub algo: Mutex<Algorithm>,
    /// Recent pool jobs by local sequence number, so a late share finds the job it belongs to.
    pub jobs: Mutex<VecDeque<(u64, Job)>>,
    pub stopping: AtomicBool,
    pub stop: Notify,
    /// The pool loop's journal buffer and when each share was submitted (for its round trip).
    log: Mutex<Option<PoolLog>>,
    /// Configuration reload (`PUT /1/config`, SIGHUP); set once at start.
    pub reloader: std::sync::OnceLock<super::reload::Reloader>,
    /// The RandomX workers, set once at start (they call back into this state).
    pub rx: std::sync::OnceLock<crate::rx::RxWorkers>,
}

/// Journal state of the pool loop (one task: the lock is never contended).
pub struct PoolLog {
    pub journal: ThreadJournal,
    pub submitted: std::collections::HashMap<u64, Instant>,
}

impl MinerState {
    pub fn new(workers: Workers, algo: Algorithm) -> Self {
        Self {
            workers,
            client: Mutex::new(None),
            boot_id: new_boot_id(),
            started: Instant::now(),
            meters: Mutex::new(Meters::default()),
            results: Mutex::new(Results::default()),
            algo: Mutex::new(algo),
            jobs: Mutex::new(VecDeque::new()),
            stopping: AtomicBool::new(false),
            stop: Notify::new(),
            log: Mutex::new(None),
            reloader: std::sync::OnceLock::new(),
            rx: std::sync::OnceLock::new(),
        }
    }

    /// Starts journaling the pool loop's events into `journal`.
    pub fn set_journal(&self, journal: ThreadJournal) {
        *lock(&self.log) = Some(PoolLog {
            journal,
            submitted: Default::default(),
        });
    }

    /// Records an event when journaling is on.
    pub fn journal(&self, ev: &Event) {
        if let Some(log) = lock(&self.log).as_mut() {
            log.journal.record(ev);
        }
    }

    /// Notes when share `id` went out, for the round trip recorded with its result.
    pub fn journal_submitted(&self, id: u64) {
        if let Some(log) = lock(&self.log).as_mut() {
            log.submitted.insert(id, Instant::now());
        }
    }

    /// How long ago share `id` went out (0 if unknown), forgetting it.
    pub fn journal_rtt_ns(&self, id: u64) -> u64 {
        lock(&self.log)
            .as_mut()
            .and_then(|log| log.submitted.remove(&id))
            .map_or(0, |t| t.elapsed().as_nanos() as u64)
    }

    /// Hands the pool loop's buffered events to the journal writer (called every second, so
    /// they reach the file within about a second even when the loop is quiet).
    pub fn flush_journal(&self) {
        if let Some(log) = lock(&self.log).as_mut() {
            log.journal.flush();
        }
    }

    /// Flushes and releases the pool loop's journal buffer.
    pub fn close_journal(&self) {
        if let Some(mut log) = lock(&self.log).take() {
            log.journal.flush();
        }
    }

    pub fn client_stats(&self) -> Option<ClientStats> {
        lock(&self.client).as_ref().map(|c| c.stats())
    }

    /// Samples the workers' counters into the rate meters (called once a second).
    pub fn sample(&self, now_ns: u64) {
        let counts = self.hash_counts();
        let mut m = lock(&self.meters);
        m.threads.resize_with(counts.len(), RateMeter::default);
        for (meter, c) in m.threads.iter_mut().zip(&counts) {
            meter.record(now_ns, *c);
        }
        m.total.record(now_ns, counts.iter().sum());
    }

    /// The algorithm being mined, as the API names it: rx/0 while the rx workers have a job.
    pub fn algo_name(&self) -> String {
        match self.rx.get().and_then(|r| r.current_seq()) {
            Some(_) => phirig_rx::ALGO.to_string(),
            None => lock(&self.algo).to_string(),
        }
    }

    /// Pauses or resumes hashing, CryptoNight and RandomX workers alike.
    pub fn set_paused(&self, paused: bool) {
        if paused {
            self.workers.pause();
        } else {
            self.workers.resume();
        }
        if let Some(rx) = self.rx.get() {
            rx.pause(paused);
        }
    }

    /// Cumulative hashes per thread, CryptoNight and RandomX workers added by thread index.
    pub fn hash_counts(&self) -> Vec<u64> {
        let mut counts = self.workers.hash_counts();
        for (i, c) in self
            .rx
            .get()
            .map(|r| r.hash_counts())
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            match counts.get_mut(i) {
                Some(total) => *total += c,
                None => counts.push(c),
            }
        }
        counts
    }

    pub fn request_stop(&self) {
        self.stopping.store(true, Ordering::Release);
        self.stop.notify_one();
    }

    pub fn remember_job(&self, seq: u64, job: Job) {
        let mut jobs = lock(&self.jobs);
        jobs.push_back((seq, job));
        while jobs.len() > 16 {
            jobs.pop_front();
        }
    }

    pub fn job_by_seq(&self, seq: u64) -> Option<Job> {
        lock(&self.jobs)
            .iter()
            .find(|(s, _)| *s == seq)
            .map(|(_, j)| j.clone())
    }
}

/// A random id for this run of the agent: counters restart from zero when it changes.
fn new_boot_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}
