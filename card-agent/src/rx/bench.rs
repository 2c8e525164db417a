//! `phirig-agent bench --algo rx/0`: the card's epoch, one VM per thread, hashes per second and
//! the memory it took.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use phirig_rx::{dataset_bytes, Epoch, RxError, RxOptions, Seed, SCRATCHPAD_BYTES};
use serde::Serialize;

/// Warm-up before measuring: JIT, caches and page faults settle.
const WARM_UP: Duration = Duration::from_secs(2);
const CACHE_BYTES: u64 = 256 << 20;

/// What the rx/0 benchmark measured.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RxBenchReport {
    pub algo: &'static str,
    pub threads: usize,
    /// `full` or `light`.
    pub mode: &'static str,
    /// JIT or interpreter, AES and Argon2 paths.
    pub path: String,
    pub dataset_pages: Option<String>,
    pub cache_pages: String,
    pub scratchpad_pages: Vec<String>,
    /// Cache plus dataset, seconds.
    pub build_seconds: f64,
    pub total_hs: f64,
    pub thread_hs: Vec<f64>,
    pub dataset_bytes: u64,
    pub cache_bytes: u64,
    pub scratchpad_bytes: u64,
    /// The process's resident set while hashing.
    pub rss_bytes: u64,
}

/// Builds the epoch of a fixed seed, then hashes on `threads` threads for `seconds`.
pub fn run(opts: &RxOptions, threads: usize, seconds: f64) -> Result<RxBenchReport, RxError> {
    let threads = threads.max(1);
    let epoch = Epoch::build(Seed([7; 32]), opts)?;
    let stop = AtomicBool::new(false);
    let measuring = AtomicBool::new(false);
    let counts: Vec<AtomicU64> = (0..threads).map(|_| AtomicU64::new(0)).collect();
    let vms = (0..threads)
        .map(|_| epoch.vm())
        .collect::<Result<Vec<_>, _>>()?;
    let scratchpad_pages = vms.iter().map(|v| v.scratchpad().to_string()).collect();
    let cpus = crate::worker::Topology::detect().core_cpus;
    let (span, rss) = std::thread::scope(|s| {
        for (t, mut vm) in vms.into_iter().enumerate() {
            let (stop, measuring, count) = (&stop, &measuring, &counts[t]);
            let cpu = cpus.get(t).copied().filter(|_| threads <= cpus.len());
            s.spawn(move || {
                // One thread per core, as the miner's workers run.
                if let Some(cpu) = cpu {
                    crate::worker::affinity::pin_current_thread(cpu);
                }
                let mut blob: Vec<u8> = (0..76u8).map(|i| i.wrapping_mul(37)).collect();
                let mut nonce = (t as u32) << 24;
                while !stop.load(Ordering::Relaxed) {
                    crate::worker::put_nonce(&mut blob, nonce);
                    // Pipelined, as the miner hashes.
                    std::hint::black_box(vm.hash_next(&blob));
                    nonce = nonce.wrapping_add(1);
                    if measuring.load(Ordering::Relaxed) {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        std::thread::sleep(WARM_UP);
        measuring.store(true, Ordering::Relaxed);
        let started = Instant::now();
        std::thread::sleep(Duration::from_secs_f64(seconds.max(0.5)));
        let rss = crate::system::current_rss();
        measuring.store(false, Ordering::Relaxed);
        let span = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        (span, rss)
    });
    let thread_hs: Vec<f64> = counts
        .iter()
        .map(|c| c.load(Ordering::Relaxed) as f64 / span.as_secs_f64())
        .collect();
    Ok(RxBenchReport {
        algo: phirig_rx::ALGO,
        threads,
        mode: if epoch.is_full() { "full" } else { "light" },
        path: opts.path_name(),
        dataset_pages: epoch.dataset().map(|d| d.backing().to_string()),
        cache_pages: epoch.cache().backing().to_string(),
        scratchpad_pages,
        build_seconds: epoch.build_time().as_secs_f64(),
        total_hs: thread_hs.iter().sum(),
        thread_hs,
        dataset_bytes: if epoch.is_full() {
            dataset_bytes() as u64
        } else {
            0
        },
        cache_bytes: CACHE_BYTES,
        scratchpad_bytes: (threads * SCRATCHPAD_BYTES) as u64,
        rss_bytes: rss,
    })
}

impl fmt::Display for RxBenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mib = |b: u64| b as f64 / f64::from(1 << 20);
        writeln!(
            f,
            "{} {} mode, {} threads, {}",
            self.algo, self.mode, self.threads, self.path
        )?;
        writeln!(
            f,
            "built in {:.1} s: dataset {}, cache on {}, scratchpads on {}",
            self.build_seconds,
            self.dataset_pages.as_deref().unwrap_or("none (light mode)"),
            self.cache_pages,
            self.scratchpad_pages.join(", ")
        )?;
        let known = self.dataset_bytes + self.cache_bytes + self.scratchpad_bytes;
        writeln!(
            f,
            "memory: dataset {:.0} MiB + cache {:.0} MiB + scratchpads {:.0} MiB = {:.0} MiB; \
             resident {:.0} MiB (explicit huge pages are not counted there)",
            mib(self.dataset_bytes),
            mib(self.cache_bytes),
            mib(self.scratchpad_bytes),
            mib(known),
            mib(self.rss_bytes)
        )?;
        for (t, hs) in self.thread_hs.iter().enumerate() {
            writeln!(f, "thread {t}: {hs:.1} H/s")?;
        }
        writeln!(f, "total: {:.1} H/s", self.total_hs)
    }
}
