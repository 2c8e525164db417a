//! `phirig-agent`: the native miner copied to every card (and a complete miner on its own).

use std::process::ExitCode;

use clap::Parser;
use phirig_agent::cli::Cli;

fn main() -> ExitCode {
    match phirig_agent::entry::run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("phirig-agent: {e}");
            ExitCode::FAILURE
        }
    }
}
