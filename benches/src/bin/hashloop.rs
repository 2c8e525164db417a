//! Hashes in a loop on one thread for a fixed time and prints the rate: the phirig side of
//! `compare_reference.py` until `phirig-agent bench` exists, and a quick manual probe after.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use phirig_benches::{input_with_nonce, CN_R_HEIGHT};
use phirig_kernel::cn::{AesPath, Algorithm, CnHasher, KernelError};
use phirig_kernel::cpu::Cpu;
use phirig_kernel::memory::PagePolicy;

/// Which AES path to run.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum AesChoice {
    /// The best this CPU has.
    Auto,
    Hardware,
    Software,
}

/// Hash in a loop on one thread and print hashes per second.
#[derive(Debug, Parser)]
#[command(name = "hashloop")]
struct Args {
    /// Algorithm name or alias (cn/0, cn/1, cn/2, cn/r, ...).
    #[arg(long)]
    algo: Algorithm,
    /// How long to hash, in seconds.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// AES path.
    #[arg(long, value_enum, default_value_t = AesChoice::Auto)]
    aes: AesChoice,
    /// Hashes per kernel call (interleaved scratchpads).
    #[arg(long, default_value_t = 1)]
    ways: usize,
    /// Print one JSON object instead of a sentence.
    #[arg(long)]
    json: bool,
}

/// Why a run could not start or finish.
#[derive(Debug, thiserror::Error)]
enum HashloopError {
    #[error("--seconds must be a finite number of seconds, not {0}")]
    BadSeconds(f64),
    #[error(transparent)]
    Kernel(#[from] KernelError),
}

struct Rate {
    hashes: u64,
    elapsed: Duration,
    /// CPU time of the hashing thread: on a shared machine hashes per CPU-second compare builds
    /// fairly where hashes per wall-second mostly measure the neighbours' load.
    cpu: Duration,
    aes: AesPath,
}

/// CPU time consumed so far by the calling thread.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid out-pointer and a clock id every Linux kernel supports.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn hash_for(args: &Args) -> Result<Rate, HashloopError> {
    let budget = Duration::try_from_secs_f64(args.seconds)
        .map_err(|_| HashloopError::BadSeconds(args.seconds))?;
    let aes = match args.aes {
        AesChoice::Auto => Cpu::detect().best_aes(),
        AesChoice::Hardware => AesPath::Hardware,
        AesChoice::Software => AesPath::Software,
    };
    let mut hasher = CnHasher::new(args.algo, aes, args.ways, PagePolicy::default())?;
    let height = if args.algo.needs_height() {
        CN_R_HEIGHT
    } else {
        0
    };
    let mut out = vec![[0u8; 32]; args.ways];
    let mut nonce = 0u32;
    let start = Instant::now();
    let cpu_start = thread_cpu();
    let mut hashes = 0u64;
    // Always at least one call, so a tiny budget still yields a rate.
    loop {
        let inputs: Vec<[u8; 76]> = (0..args.ways)
            .map(|i| input_with_nonce(nonce.wrapping_add(i as u32)))
            .collect();
        let refs: Vec<&[u8]> = inputs.iter().map(|i| i.as_slice()).collect();
        hasher.hash_ways(&refs, height, &mut out)?;
        std::hint::black_box(&out);
        nonce = nonce.wrapping_add(args.ways as u32);
        hashes += args.ways as u64;
        if start.elapsed() >= budget {
            break;
        }
    }
    Ok(Rate {
        hashes,
        elapsed: start.elapsed(),
        cpu: thread_cpu().saturating_sub(cpu_start),
        aes,
    })
}

fn main() -> ExitCode {
    let args = Args::parse();
    match hash_for(&args) {
        Ok(rate) => {
            let hs = rate.hashes as f64 / rate.elapsed.as_secs_f64();
            let cpu_hs = rate.hashes as f64 / rate.cpu.as_secs_f64().max(1e-9);
            if args.json {
                println!(
                    "{{\"algo\":\"{}\",\"aes\":\"{}\",\"ways\":{},\"hashes\":{},\"seconds\":{:.3},\"hs\":{:.3},\"cpu_hs\":{:.3}}}",
                    args.algo,
                    rate.aes,
                    args.ways,
                    rate.hashes,
                    rate.elapsed.as_secs_f64(),
                    hs,
                    cpu_hs
                );
            } else {
                println!(
                    "{}: {:.2} H/s, {:.2} H/s per CPU-second ({} hashes in {:.2} s, {}, {} way(s))",
                    args.algo,
                    hs,
                    cpu_hs,
                    rate.hashes,
                    rate.elapsed.as_secs_f64(),
                    rate.aes,
                    args.ways
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hashloop: {e}");
            ExitCode::FAILURE
        }
    }
}
