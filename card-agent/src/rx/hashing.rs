//! Threads hashing a fixed input on one epoch, the first N of them active: what the rx/0 bench
//! and tune measure. Idle threads keep their VM (and scratchpad), so a round starts warm.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use phirig_rx::{Backing, Epoch, RxError};

/// How long an idle thread sleeps before it looks again whether it should hash.
const IDLE_POLL: Duration = Duration::from_millis(5);

struct Shared {
    active: AtomicUsize,
    stop: AtomicBool,
    counts: Vec<AtomicU64>,
}

/// Up to `threads` hashing threads on `epoch`, pinned one per core as the miner's.
pub struct Hashing {
    shared: Arc<Shared>,
    handles: Vec<JoinHandle<()>>,
    /// What backs each thread's scratchpad.
    pub scratchpads: Vec<Backing>,
}

impl Hashing {
    /// Starts `threads` threads, none hashing yet.
    pub fn start(epoch: &Arc<Epoch>, threads: usize) -> Result<Self, RxError> {
        let threads = threads.max(1);
        let vms = (0..threads)
            .map(|_| epoch.vm())
            .collect::<Result<Vec<_>, _>>()?;
        let scratchpads = vms.iter().map(|v| v.scratchpad()).collect();
        let shared = Arc::new(Shared {
            active: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            counts: (0..threads).map(|_| AtomicU64::new(0)).collect(),
        });
        let cpus = crate::worker::Topology::detect().core_cpus;
        let handles = vms
            .into_iter()
            .enumerate()
            .map(|(t, mut vm)| {
                let shared = Arc::clone(&shared);
                let cpu = cpus.get(t).copied().filter(|_| threads <= cpus.len());
                std::thread::spawn(move || {
                    if let Some(cpu) = cpu {
                        crate::worker::affinity::pin_current_thread(cpu);
                    }
                    let mut blob: Vec<u8> = (0..76u8).map(|i| i.wrapping_mul(37)).collect();
                    let mut nonce = (t as u32) << 24;
                    while !shared.stop.load(Ordering::Relaxed) {
                        if t >= shared.active.load(Ordering::Relaxed) {
                            std::thread::sleep(IDLE_POLL);
                            continue;
                        }
                        crate::worker::put_nonce(&mut blob, nonce);
                        // Pipelined, as the miner hashes.
                        std::hint::black_box(vm.hash_next(&blob));
                        nonce = nonce.wrapping_add(1);
                        shared.counts[t].fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        Ok(Hashing {
            shared,
            handles,
            scratchpads,
        })
    }

    /// Threads `0..n` hash from now on, the others idle.
    pub fn set_active(&self, n: usize) {
        self.shared.active.store(n, Ordering::Relaxed);
    }

    /// Per-thread H/s over `span` (idle threads measure 0).
    pub fn measure(&self, span: Duration) -> Vec<f64> {
        let counts = || -> Vec<u64> {
            let c = &self.shared.counts;
            c.iter().map(|c| c.load(Ordering::Relaxed)).collect()
        };
        let before = counts();
        let started = Instant::now();
        std::thread::sleep(span);
        let after = counts();
        let elapsed = started.elapsed().as_secs_f64();
        before
            .iter()
            .zip(&after)
            .map(|(b, a)| a.saturating_sub(*b) as f64 / elapsed)
            .collect()
    }
}

impl Drop for Hashing {
    /// Stops and joins the threads (at most one hash each).
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}
