//! Runs the agent's real workers with the event journal off and on, alternately, and prints the
//! hash-rate ratio (issue 9: journaling must keep ≥ 99 % of the rate).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use phirig_agent::worker::{MiningJob, NonceRange, WorkerConfig, Workers};
use phirig_benches::BENCH_INPUT;
use phirig_journal::{HeaderInfo, Journal, JournalConfig, JournalError};
use phirig_kernel::cn::Algorithm;

/// Alternate journal-off and journal-on rounds of the mining workers and compare their rates.
#[derive(Debug, Parser)]
#[command(name = "journal_overhead")]
struct Args {
    #[arg(long, default_value = "cn-pico")]
    algo: Algorithm,
    /// Worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Pairs of rounds (off, on).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Measured seconds per round, after one second of warm-up.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
}

#[derive(Debug, thiserror::Error)]
enum BenchError {
    #[error("--seconds must be a positive number, not {0}")]
    BadSeconds(f64),
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// Hashes, wall time and process CPU time of one round.
struct Round {
    hashes: u64,
    wall: Duration,
    cpu: Duration,
}

/// CPU time of the whole process (all worker threads).
fn process_cpu() -> Duration {
    let mut ts = libc_timespec();
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn libc_timespec() -> libc::timespec {
    libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    }
}

fn round(args: &Args, journal: Option<Arc<Journal>>) -> Round {
    let (tx, mut notes) = tokio::sync::mpsc::unbounded_channel();
    let config = WorkerConfig {
        threads: phirig_agent::worker::PerAlgo::all(args.threads),
        journal,
        ..WorkerConfig::default()
    };
    let workers = Workers::start(config, args.algo, tx);
    let job = MiningJob {
        seq: 1,
        job_id: "bench".into(),
        blob: BENCH_INPUT.to_vec(),
        // No hash is below 1: no shares, only hashing.
        target: 1,
        algo: args.algo,
        height: 1,
        range: NonceRange::full(None),
    };
    if let Err(e) = workers.set_job(job) {
        eprintln!("journal_overhead: {e}");
    }
    std::thread::sleep(Duration::from_secs(1));
    let (h0, t0, c0) = (total(&workers), Instant::now(), process_cpu());
    std::thread::sleep(Duration::from_secs_f64(args.seconds));
    let (h1, wall, c1) = (total(&workers), t0.elapsed(), process_cpu());
    workers.stop();
    while notes.try_recv().is_ok() {}
    Round {
        hashes: h1 - h0,
        wall,
        cpu: c1.saturating_sub(c0),
    }
}

fn total(w: &Workers) -> u64 {
    w.hash_counts().iter().sum()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn run(args: &Args) -> Result<(), BenchError> {
    if !(args.seconds.is_finite() && args.seconds > 0.0) {
        return Err(BenchError::BadSeconds(args.seconds));
    }
    let path = std::env::temp_dir().join(format!("journal_overhead.{}.bin", std::process::id()));
    let mut wall_ratios = Vec::new();
    let mut cpu_ratios = Vec::new();
    let mut bytes = 0u64;
    for i in 0..args.rounds.max(1) {
        let off = round(args, None);
        let journal = Arc::new(Journal::create(
            &path,
            JournalConfig::default(),
            HeaderInfo::from_env(0, 0),
        )?);
        let on = round(args, Some(journal.clone()));
        if let Ok(j) = Arc::try_unwrap(journal) {
            j.close()?;
        }
        bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
        let rate = |r: &Round| r.hashes as f64 / r.wall.as_secs_f64();
        let per_cpu = |r: &Round| r.hashes as f64 / r.cpu.as_secs_f64().max(1e-9);
        wall_ratios.push(rate(&on) / rate(&off));
        cpu_ratios.push(per_cpu(&on) / per_cpu(&off));
        println!(
            "round {i}: off {:.1} H/s ({:.1} H/cpu-s), on {:.1} H/s ({:.1} H/cpu-s), ratio {:.4} (cpu {:.4})",
            rate(&off),
            per_cpu(&off),
            rate(&on),
            per_cpu(&on),
            wall_ratios[i],
            cpu_ratios[i]
        );
    }
    let _ = std::fs::remove_file(&path);
    println!(
        "journal on/off over {} pairs: median ratio {:.4} per wall second, {:.4} per CPU second; journal {bytes} B per round",
        wall_ratios.len(),
        median(wall_ratios),
        median(cpu_ratios)
    );
    Ok(())
}

fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("journal_overhead: {e}");
            ExitCode::FAILURE
        }
    }
}
