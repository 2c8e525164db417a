//! The worker threads: one per core, pinned, each hashing `intensity` nonces at a time on the current job.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use super::affinity::pin_current_thread;
use super::config::WorkerConfig;
use super::job::{ActiveJob, JobError, MiningJob};
use super::nonce_range::put_nonce;
use super::settings::{intensity_for, threads_for};
use super::topology::{Topology, MAX_INTENSITY};
use phirig_journal::{Event, HugePageStatus, ThreadJournal, ThreadKind, WorkerEvent};
use phirig_kernel::cn::{Algorithm, CnHasher};
use phirig_kernel::memory::PageKind;
use phirig_kernel::self_test::self_test;
use phirig_pool::protocol::hash_value;
use phirig_wire::Profile;

/// A result below the job's target, on its way to the pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundResult {
    pub seq: u64,
    pub job_id: String,
    pub nonce: u32,
    pub hash: [u8; 32],
    pub thread: usize,
}

/// What the workers tell whoever runs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerNote {
    Share(FoundResult),
    /// The job's nonce slice is used up; nothing more can be mined on it.
    Exhausted {
        seq: u64,
    },
    /// A worker is ready on a path (after its self-test passed).
    Ready {
        thread: usize,
        algo: Algorithm,
        aes: &'static str,
        intensity: usize,
        pages: Vec<PageKind>,
    },
    /// A path failed its self-test or could not get memory; that worker will not mine this algorithm.
    Refused {
        thread: usize,
        algo: Algorithm,
        error: String,
    },
    /// A worker panicked; it is restarted.
    Panicked {
        thread: usize,
        message: String,
    },
}

/// Per-thread counters and state, readable at any time without stopping the thread.
#[derive(Debug, Default)]
pub struct ThreadState {
    /// Hashes computed since start: rates are differences of this.
    pub hashes: AtomicU64,
    pub restarts: AtomicU64,
    info: Mutex<ThreadInfo>,
}

/// What a thread last reported about its path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadInfo {
    pub cpu: Option<usize>,
    pub algo: Option<String>,
    pub aes: Option<&'static str>,
    pub intensity: usize,
    pub pages: Vec<PageKind>,
}

struct Shared {
    /// Threads running; `threads` may be longer after a restart with fewer threads, so the
    /// cumulative counters of the retired ones are kept (totals never go backwards).
    running: usize,
    stop: AtomicBool,
    paused: AtomicBool,
    epoch: AtomicU64,
    job: Mutex<Option<Arc<ActiveJob>>>,
    threads: Vec<ThreadState>,
    notes: UnboundedSender<WorkerNote>,
    config: WorkerConfig,
    topology: Topology,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking worker is restarted; its poisoned lock holds plain data that is still valid.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn intensity_for(&self, algo: Algorithm) -> usize {
        intensity_for(&self.config, &self.topology, algo)
    }
}

/// The running workers.
pub struct Workers {
    /// Replaced whole by [`Workers::restart`]; the hash loop only ever sees its own `Shared`.
    shared: Mutex<Arc<Shared>>,
    handles: Mutex<Vec<JoinHandle<()>>>,
}

impl Workers {
    /// Starts the threads; the count comes from the config or from `algo`'s scratchpad and the caches.
    pub fn start(
        config: WorkerConfig,
        algo: Algorithm,
        notes: UnboundedSender<WorkerNote>,
    ) -> Self {
        let (shared, handles) = launch(config, algo, notes, None, None);
        Self {
            shared: Mutex::new(shared),
            handles: Mutex::new(handles),
        }
    }

    fn shared(&self) -> Arc<Shared> {
        lock(&self.shared).clone()
    }

    /// Stops every thread and starts them again on `config` (thread count, intensity, AES
    /// path, pages), for a configuration reload. The current job, its nonce cursor (so no
    /// nonce is hashed twice), the pause state and the cumulative counters carry over.
    /// The thread count is that of the current job's algorithm (`algo` when there is no job).
    pub fn restart(&self, config: WorkerConfig, algo: Algorithm) {
        let job = lock(&self.shared().job).clone();
        let algo = job.as_ref().map_or(algo, |j| j.job.algo);
        self.relaunch(config, algo, job);
    }

    /// Stops and joins every thread, then starts them on `config` with `job` (waits one batch).
    fn relaunch(&self, config: WorkerConfig, algo: Algorithm, job: Option<Arc<ActiveJob>>) {
        let old = self.shared();
        old.stop.store(true, Ordering::Release);
        for h in std::mem::take(&mut *lock(&self.handles)) {
            let _ = h.join();
        }
        let (shared, handles) = launch(config, algo, old.notes.clone(), Some(&old), job);
        *lock(&self.shared) = shared;
        *lock(&self.handles) = handles;
    }

    /// Threads running.
    pub fn threads(&self) -> usize {
        self.shared().running
    }

    /// Threads a job on `algo` runs on. When it differs from [`Workers::threads`], `set_job`
    /// restarts the workers, which blocks for up to one hash batch.
    pub fn threads_for(&self, algo: Algorithm) -> usize {
        let shared = self.shared();
        threads_for(&shared.config, &shared.topology, algo)
    }

    /// Switches every worker to `job` within one hash batch. A job that cannot be mined is refused
    /// and the current one keeps running. A job on an algorithm with another thread count (its
    /// own `threads` setting, or the caches' plan for it) restarts the workers on that count;
    /// intensity needs no restart, as each worker takes the algorithm's own when it switches.
    pub fn set_job(&self, job: MiningJob) -> Result<(), JobError> {
        job.validate()?;
        let shared = self.shared();
        let algo = job.algo;
        let active = Arc::new(ActiveJob::new(job));
        if threads_for(&shared.config, &shared.topology, algo) != shared.running {
            // The new job goes straight to the new threads: none prepares the old algorithm first.
            self.relaunch(shared.config.clone(), algo, Some(active));
            return Ok(());
        }
        *lock(&shared.job) = Some(active);
        shared.epoch.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// Stops mining until the next job (e.g. the pool connection is down and the job is stale).
    pub fn clear_job(&self) {
        let shared = self.shared();
        *lock(&shared.job) = None;
        shared.epoch.fetch_add(1, Ordering::Release);
    }

    /// The job being mined, if any.
    pub fn current_job(&self) -> Option<MiningJob> {
        lock(&self.shared().job).as_ref().map(|a| a.job.clone())
    }

    /// The tuned profile the workers plan from, if the card has a current one.
    pub fn profile(&self) -> Option<Arc<Profile>> {
        self.shared().config.profile.clone()
    }

    pub fn pause(&self) {
        self.shared().paused.store(true, Ordering::Release);
    }

    pub fn resume(&self) {
        self.shared().paused.store(false, Ordering::Release);
    }

    pub fn is_paused(&self) -> bool {
        self.shared().paused.load(Ordering::Acquire)
    }

    /// Cumulative hashes per thread.
    pub fn hash_counts(&self) -> Vec<u64> {
        self.shared()
            .threads
            .iter()
            .map(|t| t.hashes.load(Ordering::Relaxed))
            .collect()
    }

    /// Restarts per thread (after panics).
    pub fn restarts(&self) -> Vec<u64> {
        self.shared()
            .threads
            .iter()
            .map(|t| t.restarts.load(Ordering::Relaxed))
            .collect()
    }

    /// What each thread last reported about its path.
    pub fn thread_info(&self) -> Vec<ThreadInfo> {
        let shared = self.shared();
        shared
            .threads
            .iter()
            .take(shared.running)
            .map(|t| lock(&t.info).clone())
            .collect()
    }

    /// Scratchpads on huge pages and scratchpads in all, over every thread.
    pub fn hugepages(&self) -> [usize; 2] {
        let pages: Vec<PageKind> = self
            .thread_info()
            .into_iter()
            .flat_map(|t| t.pages)
            .collect();
        [pages.iter().filter(|p| p.is_huge()).count(), pages.len()]
    }

    /// Stops and joins every thread (their journal buffers are flushed as they end). Idempotent.
    pub fn stop(&self) {
        self.shared().stop.store(true, Ordering::Release);
        let handles = std::mem::take(&mut *lock(&self.handles));
        for h in handles {
            let _ = h.join();
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Builds the shared state (carrying `previous`'s counters and pause state over) and spawns the
/// threads for `algo`, on `job`.
fn launch(
    config: WorkerConfig,
    algo: Algorithm,
    notes: UnboundedSender<WorkerNote>,
    previous: Option<&Shared>,
    job: Option<Arc<ActiveJob>>,
) -> (Arc<Shared>, Vec<JoinHandle<()>>) {
    let topology = Topology::detect();
    let running = threads_for(&config, &topology, algo);
    let kept = previous.map_or(0, |p| p.threads.len());
    let threads = (0..running.max(kept))
        .map(|i| {
            let t = ThreadState::default();
            if let Some(old) = previous.and_then(|p| p.threads.get(i)) {
                t.hashes
                    .store(old.hashes.load(Ordering::Relaxed), Ordering::Relaxed);
                t.restarts
                    .store(old.restarts.load(Ordering::Relaxed), Ordering::Relaxed);
            }
            t
        })
        .collect();
    let shared = Arc::new(Shared {
        running,
        stop: AtomicBool::new(false),
        paused: AtomicBool::new(previous.is_some_and(|p| p.paused.load(Ordering::Acquire))),
        epoch: AtomicU64::new(0),
        job: Mutex::new(job),
        threads,
        notes,
        config,
        topology,
    });
    let handles = (0..running)
        .map(|index| {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("cn-worker-{index}"))
                .spawn(move || supervise(index, &shared))
                .expect("spawning a worker thread")
        })
        .collect();
    (shared, handles)
}

/// How often a worker records its hash count in the journal.
const JOURNAL_BATCH_INTERVAL: Duration = Duration::from_secs(1);

/// A worker's journal buffer and the hashes not yet recorded.
struct WorkerLog {
    journal: Option<ThreadJournal>,
    pending: u64,
    since: std::time::Instant,
}

impl WorkerLog {
    fn record(&mut self, ev: &Event) {
        if let Some(j) = &mut self.journal {
            j.record(ev);
        }
    }

    /// Adds hashes; writes one `HashBatch` event a second rather than one per batch.
    fn hashed(&mut self, n: u64) {
        self.pending += n;
        if self.journal.is_some() && self.since.elapsed() >= JOURNAL_BATCH_INTERVAL {
            let count = std::mem::take(&mut self.pending);
            self.since = std::time::Instant::now();
            self.record(&Event::HashBatch { count });
        }
    }
}

/// Runs a worker and restarts it after a panic, so a core is never silently lost.
fn supervise(index: usize, shared: &Shared) {
    let cpu = shared
        .topology
        .core_cpus
        .get(index % shared.topology.cores())
        .copied();
    if shared.config.pin {
        if let Some(cpu) = cpu {
            pin_current_thread(cpu);
        }
    }
    lock(&shared.threads[index].info).cpu = cpu;
    let mut log = WorkerLog {
        journal: shared
            .config
            .journal
            .as_ref()
            .map(|j| j.thread(index as u32, ThreadKind::Hash)),
        pending: 0,
        since: std::time::Instant::now(),
    };
    log.record(&Event::Worker(WorkerEvent::Start {
        cpu: cpu.map(|c| c as u32),
    }));
    while !shared.stop.load(Ordering::Acquire) {
        match catch_unwind(AssertUnwindSafe(|| mine(index, shared, &mut log))) {
            Ok(()) => {
                let hashes = shared.threads[index].hashes.load(Ordering::Relaxed);
                let pending = std::mem::take(&mut log.pending);
                log.record(&Event::HashBatch { count: pending });
                log.record(&Event::Worker(WorkerEvent::Stop { hashes }));
                return;
            }
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                shared.threads[index]
                    .restarts
                    .fetch_add(1, Ordering::Relaxed);
                log.record(&Event::Worker(WorkerEvent::Panic {
                    message: message.clone(),
                }));
                let _ = shared.notes.send(WorkerNote::Panicked {
                    thread: index,
                    message,
                });
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// What this worker's scratchpads got, for the journal.
fn hugepage_event(pages: &[PageKind], algo: Algorithm) -> Event {
    let huge = pages.iter().filter(|p| p.is_huge()).count();
    let status = match huge {
        0 => HugePageStatus::Failed,
        n if n == pages.len() => HugePageStatus::Allocated,
        _ => HugePageStatus::Partial,
    };
    let each = algo.scratchpad_bytes() as u64;
    Event::HugePages {
        status,
        requested_bytes: each * pages.len() as u64,
        huge_bytes: each * huge as u64,
        errno: 0,
    }
}

/// A hasher on one algorithm, or the reason this worker will not mine it.
enum Path {
    Ready(CnHasher),
    Refused(Algorithm),
}

fn prepare(index: usize, shared: &Shared, algo: Algorithm, log: &mut WorkerLog) -> Path {
    let ways = shared.intensity_for(algo);
    let aes = shared.config.aes;
    let made = CnHasher::with_cpu(shared.config.cpu(), algo, aes, ways, shared.config.pages)
        .map_err(|e| e.to_string())
        .and_then(|mut h| self_test(&mut h).map(|()| h).map_err(|e| e.to_string()));
    match made {
        Ok(h) => {
            let pages = h.pages().to_vec();
            log.record(&hugepage_event(&pages, algo));
            {
                let mut info = lock(&shared.threads[index].info);
                info.algo = Some(algo.to_string());
                info.aes = Some(h.label());
                info.intensity = ways;
                info.pages = pages.clone();
            }
            let _ = shared.notes.send(WorkerNote::Ready {
                thread: index,
                algo,
                aes: h.label(),
                intensity: ways,
                pages,
            });
            Path::Ready(h)
        }
        Err(error) => {
            let _ = shared.notes.send(WorkerNote::Refused {
                thread: index,
                algo,
                error,
            });
            Path::Refused(algo)
        }
    }
}

fn mine(index: usize, shared: &Shared, log: &mut WorkerLog) {
    let state = &shared.threads[index];
    let mut seen_epoch = u64::MAX;
    let mut job: Option<Arc<ActiveJob>> = None;
    let mut path: Option<Path> = None;
    let mut blobs: Vec<Vec<u8>> = Vec::new();
    let mut out = [[0u8; 32]; MAX_INTENSITY];
    let mut exhausted_seq = None;
    while !shared.stop.load(Ordering::Acquire) {
        let epoch = shared.epoch.load(Ordering::Acquire);
        if epoch != seen_epoch {
            seen_epoch = epoch;
            job = lock(&shared.job).clone();
            if let Some(active) = &job {
                #[cfg(any(test, feature = "test-hooks"))]
                if index == 0
                    && shared.config.panic_once_on_job == Some(active.job.seq)
                    && state.restarts.load(Ordering::Relaxed) == 0
                {
                    panic!("injected fault on job {}", active.job.seq);
                }
                // One copy of the blob per lane, per job: a batch then only writes nonces.
                blobs = vec![active.job.blob.clone(); MAX_INTENSITY];
                let algo = active.job.algo;
                let same = match &path {
                    Some(Path::Ready(h)) => h.algorithm() == algo,
                    Some(Path::Refused(a)) => *a == algo,
                    None => false,
                };
                if !same {
                    drop(path.take()); // free the old scratchpads before taking new ones
                    path = Some(prepare(index, shared, algo, log));
                }
            }
        }
        let (Some(active), Some(Path::Ready(hasher))) = (&job, &mut path) else {
            std::thread::sleep(shared.config.idle_poll);
            continue;
        };
        if shared.paused.load(Ordering::Acquire) {
            std::thread::sleep(shared.config.idle_poll);
            continue;
        }
        let ways = hasher.ways();
        let Some(run) = active.cursor.claim(ways as u64) else {
            if exhausted_seq != Some(active.job.seq) {
                exhausted_seq = Some(active.job.seq);
                let _ = shared.notes.send(WorkerNote::Exhausted {
                    seq: active.job.seq,
                });
            }
            std::thread::sleep(shared.config.idle_poll);
            continue;
        };
        let count = (run.end - run.start) as usize;
        let mut nonces = [0u32; MAX_INTENSITY];
        for (lane, blob) in blobs.iter_mut().take(ways).enumerate() {
            // A short last run still fills every lane; the spare lanes repeat the last nonce and
            // their results are neither counted nor reported.
            let counter = run.start + (lane.min(count - 1)) as u64;
            nonces[lane] = active.job.range.nonce(counter);
            put_nonce(blob, nonces[lane]);
        }
        let inputs: [&[u8]; MAX_INTENSITY] = std::array::from_fn(|lane| blobs[lane].as_slice());
        if let Err(e) = hasher.hash_ways(&inputs[..ways], active.job.height, &mut out[..ways]) {
            // Validation should make this unreachable; refuse the job rather than spin on errors.
            let _ = shared.notes.send(WorkerNote::Refused {
                thread: index,
                algo: active.job.algo,
                error: e.to_string(),
            });
            job = None;
            continue;
        }
        state.hashes.fetch_add(count as u64, Ordering::Relaxed);
        log.hashed(count as u64);
        for lane in 0..count {
            if hash_value(&out[lane]) < active.job.target {
                let _ = shared.notes.send(WorkerNote::Share(FoundResult {
                    seq: active.job.seq,
                    job_id: active.job.job_id.clone(),
                    nonce: nonces[lane],
                    hash: out[lane],
                    thread: index,
                }));
            }
        }
    }
}
