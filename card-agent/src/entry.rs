//! The agent's command dispatch, callable from `phirig-agent` and from `phirig agent` alike.

use std::time::Duration;

use crate::bench::{self, BenchError, BenchOptions};
use crate::cli::{BenchArgs, Cli, Command, HashArgs, TuneArgs};
use crate::miner::MinerError;
use crate::tune::online::OnlineConfig;
use crate::tune::{self, AlgoTuned, TuneOptions};
use crate::worker::profile::{self, ProfileError};
use crate::worker::PerAlgo;
use phirig_kernel::cn::{AesPath, Algorithm, CnHasher, KernelError};
use phirig_kernel::cpu::Cpu;
use phirig_kernel::memory::{MemoryError, PagePolicy};

/// Why an agent command failed; its `Display` is the one line the CLI prints.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Kernel(#[from] KernelError),
    #[error("input is not hex: {0}")]
    InputNotHex(#[source] hex::FromHexError),
    #[error("{0} needs --height (the block height seeds its random program)")]
    NeedsHeight(Algorithm),
    #[error("rx/0 needs --seed (the job's seed_hash, 64 hex digits)")]
    NeedsSeed,
    #[error("--seed is not hex: {0}")]
    SeedNotHex(#[source] hex::FromHexError),
    #[error(transparent)]
    HugePages(#[from] MemoryError),
    #[error(transparent)]
    Bench(#[from] BenchError),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Miner(#[from] MinerError),
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Rx(#[from] phirig_rx::RxError),
}

/// Runs what the command line asks for.
pub fn run(cli: Cli) -> Result<(), AgentError> {
    match cli.command {
        Some(Command::Hash(args)) => hash(&args),
        Some(Command::Bench(args)) => run_bench(&args),
        Some(Command::Tune(args)) => run_tune(&args),
        None => Ok(crate::miner::run(cli.mine)?),
    }
}

/// The AES path the flags ask for, or the best one this CPU has.
fn aes_path(no_aesni: bool) -> AesPath {
    if no_aesni {
        AesPath::Software
    } else {
        Cpu::detect().best_aes()
    }
}

fn hash(args: &HashArgs) -> Result<(), AgentError> {
    let input = hex::decode(args.input.trim()).map_err(AgentError::InputNotHex)?;
    if phirig_rx::is_rx(&args.algo) {
        // Any key length, as the reference vectors' keys are; pools' seeds are 32 bytes.
        let key = hex::decode(args.seed.as_deref().ok_or(AgentError::NeedsSeed)?.trim())
            .map_err(AgentError::SeedNotHex)?;
        if key.is_empty() {
            return Err(AgentError::NeedsSeed);
        }
        let out = crate::rx::hash_once(&key, &input, !args.no_aesni)?;
        println!("{}", hex::encode(out));
        return Ok(());
    }
    let algo: Algorithm = args.algo.parse()?;
    if algo.needs_height() && args.height.is_none() {
        return Err(AgentError::NeedsHeight(algo));
    }
    let cpu = Cpu::detect().with_vaes(!args.no_vaes);
    let out = CnHasher::with_cpu(cpu, algo, aes_path(args.no_aesni), 1, PagePolicy::default())
        .and_then(|mut h| h.hash(&input, args.height.unwrap_or(0)))?;
    println!("{}", hex::encode(out));
    Ok(())
}

fn run_bench(args: &BenchArgs) -> Result<(), AgentError> {
    if phirig_rx::is_rx(&args.algo) {
        return run_rx_bench(args);
    }
    let algo: Algorithm = args.algo.parse()?;
    let pages = if args.no_hugepages {
        PagePolicy::normal_only()
    } else {
        PagePolicy::default()
    };
    if args.reserve_hugepages {
        // What the workers will run: the flags for this algorithm, else the caches' plan.
        let plan = crate::worker::plan(&crate::worker::Topology::detect(), algo);
        let threads = args
            .threads
            .and_then(|t| t.get(algo))
            .unwrap_or(plan.threads);
        let ways = args
            .intensity
            .and_then(|k| k.get(algo))
            .unwrap_or(plan.intensity);
        let need = phirig_kernel::memory::hugepages_needed(threads, ways, algo);
        phirig_kernel::memory::reserve_hugepages(need)?;
    }
    let report = bench::run(&BenchOptions {
        algo,
        threads: args.threads.unwrap_or_default(),
        intensity: args.intensity.unwrap_or_default(),
        seconds: args.seconds,
        aes: aes_path(args.no_aesni),
        vaes: !args.no_vaes,
        pages,
        online: args.online_tune_round_ms.map(|ms| {
            OnlineConfig::with_round(Duration::from_millis(ms), OnlineConfig::MINING.pairs)
        }),
    })?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{report}");
    }
    Ok(())
}

/// rx/0's benchmark: threads from `--threads` (its `rx/0=` entry is not a CryptoNight name, so
/// the plain count), else one per core.
fn run_rx_bench(args: &BenchArgs) -> Result<(), AgentError> {
    let threads = args
        .threads
        .as_ref()
        .and_then(PerAlgo::default_value)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let opts = crate::rx::options(args.rx_mode, !args.no_aesni, !args.no_hugepages);
    if args.reserve_hugepages {
        // Pages others hold stay theirs: reserve ours on top.
        let need = phirig_rx::hugepages_in_use().unwrap_or(0)
            + phirig_rx::hugepages_for_full_mode(threads);
        phirig_kernel::memory::reserve_hugepages(usize::try_from(need).unwrap_or(usize::MAX))?;
    }
    let report = crate::rx::bench::run(&opts, threads, args.seconds)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{report}");
    }
    Ok(())
}

fn run_tune(args: &TuneArgs) -> Result<(), AgentError> {
    // No list: every algorithm, rx/0 last.
    let with_rx = args.algos.is_empty() || args.algos.iter().any(|a| phirig_rx::is_rx(a));
    let algos = if args.algos.is_empty() {
        Algorithm::ALL.to_vec()
    } else {
        args.algos
            .iter()
            .filter(|a| !phirig_rx::is_rx(a))
            .map(|a| a.parse())
            .collect::<Result<Vec<Algorithm>, _>>()?
    };
    let opts = TuneOptions {
        algos,
        round: std::time::Duration::from_millis(args.round_ms.max(50)),
        pairs: usize::try_from(args.pairs).unwrap_or(3),
        aes: aes_path(args.no_aesni),
        vaes: !args.no_vaes,
        pages: if args.no_hugepages {
            PagePolicy::normal_only()
        } else {
            PagePolicy::default()
        },
        rx: with_rx.then(|| crate::rx::options(args.rx_mode, !args.no_aesni, !args.no_hugepages)),
    };
    let started = std::time::Instant::now();
    let json = args.json;
    let profile =
        tune::tune(&opts, |t: &AlgoTuned| {
            if !json {
                println!(
                "{:<14} plan {}x{}  tuned {}x{}  {:>10.1} H/s  huge pages {}/{}  {}{}  ({} tried)",
                t.algo,
                t.first_guess.threads,
                t.first_guess.intensity,
                t.best.threads,
                t.best.intensity,
                t.best.hs,
                t.best.hugepages[0],
                t.best.hugepages[1],
                t.best.aes,
                t.best.rx_mode.as_ref().map_or(String::new(), |m| format!(" {m} mode")),
                t.tried
            );
            }
        })?;
    if !args.dry_run {
        let path = args.profile.clone().unwrap_or_else(profile::default_path);
        profile::save(&profile, &path)?;
        if !json {
            println!(
                "profile of {} algorithms written to {} in {:.0} s",
                profile.algos.len(),
                path.display(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    if json {
        println!("{}", serde_json::to_string(&profile)?);
    }
    Ok(())
}
