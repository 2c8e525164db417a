//! The RandomX workers: one thread per core, one VM each, all on the card's one dataset.
//!
//! A job and the epoch (seed's memory) it is hashed on travel together, so no job is ever mined
//! on another seed's dataset: a job with a new seed waits, the previous job running, until its
//! epoch is built in the background, and then replaces job and epoch at once.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use phirig_pool::protocol::hash_value;
use phirig_rx::{Backing, Epoch, Epochs, Lookup, RxOptions, Seed, Vm};
use tokio::sync::mpsc::UnboundedSender;
use tracing::{error, info};

use super::job::RxJob;
use super::status::RxThreadInfo;
use crate::worker::affinity::pin_current_thread;
use crate::worker::{put_nonce, FoundResult, NonceCursor, WorkerNote};

/// Nonces a thread claims at once: one atomic add per batch, and a switch seen within it.
const BATCH: u64 = 4;

/// What happens when a job starts mining on its epoch (the miner stops the CryptoNight
/// workers then, not before: until the dataset is built the previous job keeps running).
pub type OnStart = Box<dyn Fn(&RxJob) + Send + Sync>;

struct Active {
    job: RxJob,
    epoch: Arc<Epoch>,
    cursor: NonceCursor,
}

struct Shared {
    stop: AtomicBool,
    paused: AtomicBool,
    /// Bumped whenever `active` changes.
    generation: AtomicU64,
    active: Mutex<Option<Arc<Active>>>,
    /// The latest job still waiting for its epoch.
    pending: Mutex<Option<RxJob>>,
    hashes: Vec<AtomicU64>,
    /// What backs each thread's scratchpad, once it has a VM.
    scratchpads: Mutex<Vec<Option<Backing>>>,
    notes: UnboundedSender<WorkerNote>,
    on_start: OnStart,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain data set in single statements: still valid after a panic elsewhere.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The card's RandomX workers; threads start with the first rx/0 job.
pub struct RxWorkers {
    epochs: Arc<Epochs>,
    shared: Arc<Shared>,
    threads: usize,
    /// One logical CPU per core to pin thread `i` to; empty, or fewer than the threads: unpinned
    /// (two threads pinned to one CPU would share it however many others sit idle).
    cpus: Vec<usize>,
    handles: Mutex<Vec<JoinHandle<()>>>,
}

impl RxWorkers {
    pub fn new(
        options: RxOptions,
        threads: usize,
        cpus: Vec<usize>,
        notes: UnboundedSender<WorkerNote>,
        on_start: OnStart,
    ) -> Self {
        let threads = threads.max(1);
        RxWorkers {
            epochs: Epochs::new(options),
            shared: Arc::new(Shared {
                stop: AtomicBool::new(false),
                paused: AtomicBool::new(false),
                generation: AtomicU64::new(0),
                active: Mutex::new(None),
                pending: Mutex::new(None),
                hashes: (0..threads).map(|_| AtomicU64::new(0)).collect(),
                scratchpads: Mutex::new(vec![None; threads]),
                notes,
                on_start,
            }),
            threads,
            cpus,
            handles: Mutex::new(Vec::new()),
        }
    }

    /// Mines `job` as soon as its seed's epoch is ready: at once when it is current, else when
    /// its background build ends (a later job replaces this one while waiting). A next seed the
    /// pool announced is built ahead. Returns whether the job started now.
    pub fn set_job(&self, job: RxJob) -> bool {
        let seed = job.seed;
        let next = job.next_seed;
        *lock(&self.shared.pending) = Some(job);
        let started = self.start_job(seed, next);
        if let Some(next) = next {
            build_ahead(&self.epochs, &self.shared, next);
        }
        started
    }

    /// Mines the pending job on `seed`'s epoch: now if ready, else when built (and then builds
    /// `next` ahead, which needed a current epoch).
    fn start_job(&self, seed: Seed, next: Option<Seed>) -> bool {
        let shared = Arc::clone(&self.shared);
        let epochs = Arc::clone(&self.epochs);
        let lookup = self.epochs.get(seed, move |built| match built {
            Ok(epoch) => {
                info!("{}", epoch.describe());
                activate(&shared, epoch);
                if let Some(next) = next {
                    build_ahead(&epochs, &shared, next);
                }
            }
            Err(e) => error!("rx/0 seed {seed}: {e}; its jobs cannot be mined"),
        });
        match lookup {
            Lookup::Ready(epoch) => {
                self.ensure_threads();
                activate(&self.shared, epoch)
            }
            Lookup::Building => {
                info!("rx/0: building the dataset of seed {seed} in the background");
                self.ensure_threads();
                false
            }
            Lookup::Failed(e) => {
                error!("rx/0 seed {seed}: {e}; its jobs cannot be mined");
                false
            }
        }
    }

    /// Stops mining until the next rx/0 job (a CryptoNight job took over, or the pool is gone).
    pub fn clear_job(&self) {
        *lock(&self.shared.pending) = None;
        *lock(&self.shared.active) = None;
        self.shared.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The sequence number of the job being mined.
    pub fn current_seq(&self) -> Option<u64> {
        lock(&self.shared.active).as_ref().map(|a| a.job.seq)
    }

    pub fn pause(&self, paused: bool) {
        self.shared.paused.store(paused, Ordering::Release);
    }

    /// The epoch being mined; `None` while no rx/0 job is.
    pub fn mining(&self) -> Option<Arc<Epoch>> {
        lock(&self.shared.active)
            .as_ref()
            .map(|a| Arc::clone(&a.epoch))
    }

    /// [2 MiB pages on explicit huge pages, in all] of what rx/0 mining holds, as xmrig counts
    /// them; `None` while no rx/0 job is mined.
    pub fn hugepages(&self) -> Option<[u64; 2]> {
        let epoch = self.mining()?;
        let dataset = epoch.dataset().map(|d| d.backing());
        let cache = epoch.cache().backing();
        Some(super::status::hugepages(
            dataset,
            cache,
            &self.thread_info(),
        ))
    }

    /// Each thread's CPU and scratchpad pages.
    pub fn thread_info(&self) -> Vec<RxThreadInfo> {
        let pinned = self.threads <= self.cpus.len();
        lock(&self.shared.scratchpads)
            .iter()
            .enumerate()
            .map(|(t, scratchpad)| RxThreadInfo {
                cpu: self.cpus.get(t).copied().filter(|_| pinned),
                scratchpad: *scratchpad,
            })
            .collect()
    }

    /// Cumulative hashes per thread (zeros before the first rx/0 job).
    pub fn hash_counts(&self) -> Vec<u64> {
        self.shared
            .hashes
            .iter()
            .map(|h| h.load(Ordering::Relaxed))
            .collect()
    }

    fn ensure_threads(&self) {
        let mut handles = lock(&self.handles);
        if !handles.is_empty() {
            return;
        }
        for t in 0..self.threads {
            let shared = Arc::clone(&self.shared);
            let cpu = self
                .cpus
                .get(t)
                .copied()
                .filter(|_| self.threads <= self.cpus.len());
            match std::thread::Builder::new()
                .name(format!("rx-{t}"))
                .spawn(move || {
                    // Each on its own core, as the CryptoNight workers (idle meanwhile) are.
                    if let Some(cpu) = cpu {
                        pin_current_thread(cpu);
                    }
                    run_thread(&shared, t)
                }) {
                Ok(h) => handles.push(h),
                Err(e) => error!("rx/0 thread {t} did not start: {e}"),
            }
        }
    }

    /// Stops and joins the threads (at most one hash each).
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        for h in std::mem::take(&mut *lock(&self.handles)) {
            let _ = h.join();
        }
    }
}

impl Drop for RxWorkers {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The next epoch's dataset, built ahead in the background when the memory holds two, so the
/// switch to its first job is instant.
fn build_ahead(epochs: &Arc<Epochs>, shared: &Arc<Shared>, next: Seed) {
    let shared = Arc::clone(shared);
    let started = epochs.prebuild(next, move |built| match built {
        Ok(epoch) => {
            info!("built ahead: {}", epoch.describe());
            // A job on that seed may have come meanwhile.
            activate(&shared, epoch);
        }
        Err(e) => error!("rx/0 next seed {next}: {e}"),
    });
    if started {
        info!("rx/0: building the next seed {next}'s epoch ahead");
    }
}

/// Makes the pending job current if `epoch` is its seed's; true when it did.
fn activate(shared: &Shared, epoch: Arc<Epoch>) -> bool {
    let job = {
        let mut pending = lock(&shared.pending);
        match pending.take() {
            Some(job) if epoch.is_seed(&job.seed) => job,
            other => {
                *pending = other;
                return false;
            }
        }
    };
    (shared.on_start)(&job);
    let cursor = NonceCursor::new(job.range);
    *lock(&shared.active) = Some(Arc::new(Active { job, epoch, cursor }));
    shared.generation.fetch_add(1, Ordering::AcqRel);
    true
}

fn run_thread(shared: &Shared, thread: usize) {
    let mut seen = u64::MAX;
    let mut active: Option<Arc<Active>> = None;
    let mut vm: Option<Vm> = None;
    let mut blob = Vec::new();
    // The nonce whose hash the VM's pipeline is computing, on `active`'s job.
    let mut in_flight: Option<u32> = None;
    let mut exhausted_told = false;
    while !shared.stop.load(Ordering::Acquire) {
        let generation = shared.generation.load(Ordering::Acquire);
        if generation != seen {
            // The hash under way belongs to the replaced job: dropped with it.
            if let Some(v) = vm.as_mut() {
                let _ = v.finish();
            }
            in_flight = None;
            seen = generation;
            active = lock(&shared.active).clone();
            exhausted_told = false;
            if let Some(a) = &active {
                blob.clone_from(&a.job.blob);
            }
        }
        let paused = shared.paused.load(Ordering::Acquire);
        let Some(a) = active.as_ref().filter(|_| !paused) else {
            if let (Some(v), Some(a)) = (vm.as_mut(), active.as_ref()) {
                settle(shared, thread, a, seen, in_flight.take(), v.finish());
            }
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        // A VM reads one epoch: a new seed's job gets a new VM, the old epoch is freed with the
        // last VM on it.
        if !vm
            .as_ref()
            .is_some_and(|v| Arc::ptr_eq(v.epoch(), &a.epoch))
        {
            vm = None;
            in_flight = None;
            match a.epoch.vm() {
                Ok(v) => {
                    info!(
                        "rx/0 thread {thread} ready: scratchpad on {}",
                        v.scratchpad()
                    );
                    if let Some(slot) = lock(&shared.scratchpads).get_mut(thread) {
                        *slot = Some(v.scratchpad());
                    }
                    vm = Some(v);
                }
                Err(e) => {
                    error!("rx/0 thread {thread}: {e}");
                    std::thread::sleep(Duration::from_millis(500));
                    continue;
                }
            }
        }
        let Some(vm) = vm.as_mut() else { continue };
        let Some(run) = a.cursor.claim(BATCH) else {
            settle(shared, thread, a, seen, in_flight.take(), vm.finish());
            if !exhausted_told {
                exhausted_told = true;
                let _ = shared.notes.send(WorkerNote::Exhausted { seq: a.job.seq });
            }
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        for counter in run {
            let nonce = a.job.range.nonce(counter);
            put_nonce(&mut blob, nonce);
            // Pipelined: this starts `nonce` and returns the previous nonce's hash.
            let done = vm.hash_next(&blob);
            settle(shared, thread, a, seen, in_flight.replace(nonce), done);
            if shared.generation.load(Ordering::Acquire) != seen {
                break;
            }
        }
    }
}

/// Counts a finished hash and sends it as a share when it meets the target and its job is still
/// the current one: after a switch nothing of the old job (or seed) goes out.
fn settle(
    shared: &Shared,
    thread: usize,
    a: &Active,
    seen: u64,
    nonce: Option<u32>,
    hash: Option<[u8; 32]>,
) {
    let (Some(nonce), Some(hash)) = (nonce, hash) else {
        return;
    };
    shared.hashes[thread].fetch_add(1, Ordering::Relaxed);
    if hash_value(&hash) < a.job.target && shared.generation.load(Ordering::Acquire) == seen {
        let _ = shared.notes.send(WorkerNote::Share(FoundResult {
            seq: a.job.seq,
            job_id: a.job.job_id.clone(),
            nonce,
            hash,
            thread,
        }));
    }
}
