//! `phirig-agent bench`: run the real workers on a synthetic job and measure per-thread hash rates.

use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::mpsc;

use crate::tune::online::OnlineConfig;
use crate::tune::online_driver::OnlineDriver;
use crate::worker::{MiningJob, NonceRange, PerAlgo, WorkerConfig, WorkerNote, Workers};
use phirig_kernel::cn::{AesPath, Algorithm};
use phirig_kernel::memory::PagePolicy;

/// What the benchmark measured. Field names are relied on by scripts and by `phirig bench`.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct BenchReport {
    pub algo: String,
    pub threads: usize,
    pub intensity: usize,
    pub aes: String,
    /// Whether explode and implode ran on VAES, two AES blocks per instruction.
    #[serde(default)]
    pub vaes: bool,
    /// Scratchpads on huge pages, scratchpads in all.
    pub hugepages: [usize; 2],
    pub rss_bytes: u64,
    pub total_hs: f64,
    pub thread_hs: Vec<f64>,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("worker {thread} refused {algo}: {error}")]
    Refused {
        thread: usize,
        algo: Algorithm,
        error: String,
    },
    #[error("workers did not get ready within {0:?}")]
    NotReady(Duration),
    #[error("the benchmark job was refused: {0}")]
    Job(#[from] crate::worker::JobError),
    #[error("rx/0: {0}")]
    Rx(#[from] phirig_rx::RxError),
}

/// How often the online tuner looks at the workers during a benchmark.
const ONLINE_STEP: Duration = Duration::from_millis(50);

/// Height used for cn/r benchmarks: one of the published vector heights.
const BENCH_HEIGHT: u64 = 1_806_260;

/// A fixed 76-byte hashing blob, so runs are comparable.
fn bench_blob() -> Vec<u8> {
    (0..76u8)
        .map(|i| i.wrapping_mul(37).wrapping_add(11))
        .collect()
}

pub struct BenchOptions {
    pub algo: Algorithm,
    /// Per algorithm, as the miner takes them; the benchmark uses `algo`'s.
    pub threads: PerAlgo,
    pub intensity: PerAlgo,
    pub seconds: f64,
    pub aes: AesPath,
    /// Whether explode and implode may use VAES (`--no-vaes` says no).
    pub vaes: bool,
    pub pages: PagePolicy,
    /// The online tuner at work during the measurement (what it costs: compare with a run
    /// without it).
    pub online: Option<OnlineConfig>,
}

/// Workers running one setting on the benchmark job, every thread self-tested and holding its
/// memory. The tuner keeps two of these and lets them take turns.
pub(crate) struct Running {
    pub workers: Workers,
    /// Ways per thread, as the workers reported them.
    pub intensity: usize,
    /// Whether explode and implode run on VAES on this setting.
    pub vaes: bool,
    /// What the workers were started with.
    pub config: WorkerConfig,
    /// Kept so the workers' notes have somewhere to go.
    _notes: mpsc::UnboundedReceiver<WorkerNote>,
}

/// Starts the workers on a job that never yields shares and waits until they are hashing.
pub(crate) fn start(opts: &BenchOptions) -> Result<Running, BenchError> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let config = WorkerConfig {
        threads: opts.threads,
        intensity: opts.intensity,
        aes: opts.aes,
        vaes: opts.vaes,
        pages: opts.pages,
        ..WorkerConfig::default()
    };
    let vaes = config.cpu().wide(opts.aes);
    let workers = Workers::start(config.clone(), opts.algo, tx);
    workers.set_job(MiningJob {
        seq: 1,
        job_id: "bench".into(),
        blob: bench_blob(),
        target: 1,
        algo: opts.algo,
        height: if opts.algo.needs_height() {
            BENCH_HEIGHT
        } else {
            0
        },
        range: NonceRange::full(None),
    })?;
    // Wait until every thread passed its self-test and has memory.
    let ready_limit = Duration::from_secs(120);
    let started = Instant::now();
    let mut ready = 0;
    let mut intensity = 1;
    while ready < workers.threads() {
        if started.elapsed() > ready_limit {
            return Err(BenchError::NotReady(ready_limit));
        }
        match rx.try_recv() {
            Ok(WorkerNote::Ready { intensity: k, .. }) => {
                ready += 1;
                intensity = k;
            }
            Ok(WorkerNote::Refused {
                thread,
                algo,
                error,
            }) => {
                return Err(BenchError::Refused {
                    thread,
                    algo,
                    error,
                });
            }
            _ => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    Ok(Running {
        workers,
        intensity,
        vaes,
        config,
        _notes: rx,
    })
}

impl Running {
    /// Per-thread H/s over `span`, counted from the workers' cumulative hash counters.
    pub fn measure(&self, span: Duration) -> Vec<f64> {
        self.measure_while(|| std::thread::sleep(span))
    }

    /// Per-thread H/s while `work` runs (it returns when the span is over).
    pub fn measure_while(&self, work: impl FnOnce()) -> Vec<f64> {
        let before = self.workers.hash_counts();
        let t0 = Instant::now();
        work();
        let after = self.workers.hash_counts();
        let elapsed = t0.elapsed().as_secs_f64();
        before
            .iter()
            .zip(&after)
            .map(|(b, a)| a.saturating_sub(*b) as f64 / elapsed)
            .collect()
    }
}

/// Runs the workers on a job that never yields shares and measures them.
pub fn run(opts: &BenchOptions) -> Result<BenchReport, BenchError> {
    let running = start(opts)?;
    // Warm up: caches, TLB and turbo settle in the first moments.
    std::thread::sleep(Duration::from_millis(500).min(Duration::from_secs_f64(opts.seconds / 4.0)));
    let span = Duration::from_secs_f64(opts.seconds.max(0.1));
    let thread_hs = match opts.online {
        None => running.measure(span),
        Some(cfg) => running.measure_while(|| {
            let mut driver = OnlineDriver::new(cfg);
            for won in driver.run_for(&running.workers, &running.config, span, ONLINE_STEP) {
                tracing::info!(algo = %won.algo, ways = won.ways, hs = won.hs, "online tuner: kept");
            }
        }),
    };
    let workers = &running.workers;
    let report = BenchReport {
        algo: opts.algo.to_string(),
        threads: workers.threads(),
        intensity: running.intensity,
        aes: running.config.cpu().label(opts.aes).to_string(),
        vaes: running.vaes,
        hugepages: workers.hugepages(),
        rss_bytes: crate::system::current_rss(),
        total_hs: thread_hs.iter().sum(),
        thread_hs,
    };
    workers.stop();
    Ok(report)
}

impl BenchReport {
    /// The path as start-up lines name it (`aes-ni+vaes`, `soft+bitslice`, …). An agent from
    /// before the full label sent the AES path and `vaes` apart.
    pub fn aes_label(&self) -> String {
        if self.vaes && !self.aes.contains('+') {
            format!("{}+vaes", self.aes)
        } else {
            self.aes.clone()
        }
    }
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "algo {}  aes {}  threads {}  intensity {}",
            self.algo,
            self.aes_label(),
            self.threads,
            self.intensity
        )?;
        for (i, hs) in self.thread_hs.iter().enumerate() {
            writeln!(f, "  thread {i:>3}  {hs:>10.1} H/s")?;
        }
        let [got, all] = self.hugepages;
        let pct = (got * 100).checked_div(all).unwrap_or(0);
        writeln!(f, "  total       {:>10.1} H/s", self.total_hs)?;
        writeln!(
            f,
            "  huge pages {pct}% {got}/{all}   rss {:.1} MiB",
            self.rss_bytes as f64 / (1 << 20) as f64
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What an agent from before the `vaes` field printed: the host must still read it.
    const OLD_JSON: &str = r#"{"algo":"cn/2","threads":2,"intensity":3,"aes":"aes-ni",
        "hugepages":[6,6],"rss_bytes":4400000,"total_hs":140.5,"thread_hs":[70.0,70.5]}"#;

    #[test]
    fn a_report_without_the_vaes_field_still_parses_and_vaes_shows_in_the_label() {
        let mut r: BenchReport = serde_json::from_str(OLD_JSON).expect("old report");
        assert!(!r.vaes);
        assert_eq!(r.aes_label(), "aes-ni");
        assert!(r
            .to_string()
            .starts_with("algo cn/2  aes aes-ni  threads 2"));
        r.vaes = true;
        assert_eq!(r.aes_label(), "aes-ni+vaes");
        // A new agent sends the whole label.
        let new = BenchReport {
            aes: "aes-ni+vaes".into(),
            ..r.clone()
        };
        assert_eq!(new.aes_label(), "aes-ni+vaes");
        assert!(r
            .to_string()
            .starts_with("algo cn/2  aes aes-ni+vaes  threads 2"));
        let back: BenchReport =
            serde_json::from_str(&serde_json::to_string(&r).expect("json")).expect("round trip");
        assert_eq!(back, r);
    }
}
