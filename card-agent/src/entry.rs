//! The agent's command dispatch, callable from `phirig-agent` and from `phirig agent` alike.

use crate::bench::{self, BenchOptions};
use crate::cli::{BenchArgs, Cli, Command, HashArgs};
use phirig_kernel::cn::{self, AesPath, Algorithm};
use phirig_kernel::memory::PagePolicy;

/// Runs what the command line asks for; the error is one readable line.
pub fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Some(Command::Hash(args)) => hash(&args),
        Some(Command::Bench(args)) => run_bench(&args),
        None => crate::miner::run(cli.mine).map_err(|e| e.to_string()),
    }
}

/// The AES path the flags ask for, or the best one this CPU has.
fn aes_path(no_aesni: bool) -> AesPath {
    if no_aesni {
        AesPath::Software
    } else {
        AesPath::detect()
    }
}

fn hash(args: &HashArgs) -> Result<(), String> {
    let algo: Algorithm = args
        .algo
        .parse()
        .map_err(|e: cn::KernelError| e.to_string())?;
    let input = hex::decode(args.input.trim()).map_err(|e| format!("input is not hex: {e}"))?;
    if algo.needs_height() && args.height.is_none() {
        return Err(format!(
            "{algo} needs --height (the block height seeds its random program)"
        ));
    }
    AesPath::allow_vaes(!args.no_vaes);
    let out = cn::hash(
        algo,
        aes_path(args.no_aesni),
        &input,
        args.height.unwrap_or(0),
    )
    .map_err(|e| e.to_string())?;
    println!("{}", hex::encode(out));
    Ok(())
}

fn run_bench(args: &BenchArgs) -> Result<(), String> {
    let algo: Algorithm = args
        .algo
        .parse()
        .map_err(|e: cn::KernelError| e.to_string())?;
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
        phirig_kernel::memory::reserve_hugepages(need).map_err(|e| e.to_string())?;
    }
    let report = bench::run(&BenchOptions {
        algo,
        threads: args.threads.unwrap_or_default(),
        intensity: args.intensity.unwrap_or_default(),
        seconds: args.seconds,
        aes: aes_path(args.no_aesni),
        vaes: !args.no_vaes,
        pages,
    })
    .map_err(|e| e.to_string())?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| e.to_string())?
        );
    } else {
        print!("{report}");
    }
    Ok(())
}
