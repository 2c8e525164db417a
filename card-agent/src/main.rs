//! `phirig-agent`: the native miner copied to every card (and a complete miner on its own).

use std::process::ExitCode;

use clap::Parser;
use phirig_agent::bench::{self, BenchOptions};
use phirig_agent::cli::{BenchArgs, Cli, Command, HashArgs};
use phirig_agent::cn::{self, AesPath, Algorithm};
use phirig_agent::memory::PagePolicy;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Hash(args)) => hash(&args),
        Some(Command::Bench(args)) => run_bench(&args),
        None => phirig_agent::miner::run(cli.mine).map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("phirig-agent: {e}");
            ExitCode::FAILURE
        }
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
        let threads = args
            .threads
            .unwrap_or_else(|| phirig_agent::worker::Topology::detect().cores());
        let need =
            phirig_agent::memory::hugepages_needed(threads, args.intensity.unwrap_or(1), algo);
        phirig_agent::memory::reserve_hugepages(need).map_err(|e| e.to_string())?;
    }
    let report = bench::run(&BenchOptions {
        algo,
        threads: args.threads,
        intensity: args.intensity,
        seconds: args.seconds,
        aes: aes_path(args.no_aesni),
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
