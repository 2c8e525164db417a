//! `phirig-agent bench --algo rx/0`: the card's epoch, one VM per thread, hashes per second and
//! the memory it took.

use std::fmt;
use std::time::Duration;

use phirig_rx::{dataset_bytes, Epoch, RxError, RxOptions, Seed, CACHE_BYTES, SCRATCHPAD_BYTES};
use serde::Serialize;

use super::hashing::Hashing;

/// Warm-up before measuring: JIT, caches and page faults settle.
const WARM_UP: Duration = Duration::from_secs(2);
/// The fixed seed bench and tune build their epoch from, so runs are comparable.
pub const BENCH_SEED: Seed = Seed([7; 32]);

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
    let epoch = Epoch::build(BENCH_SEED, opts)?;
    let hashing = Hashing::start(&epoch, threads)?;
    hashing.set_active(threads);
    std::thread::sleep(WARM_UP);
    let thread_hs = hashing.measure(Duration::from_secs_f64(seconds.max(0.5)));
    let rss = crate::system::current_rss();
    let scratchpad_pages = hashing.scratchpads.iter().map(|b| b.to_string()).collect();
    drop(hashing);
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
        cache_bytes: CACHE_BYTES as u64,
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
