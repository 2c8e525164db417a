//! `phirig`: the rig operator's command.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser};
use phirig_host::cli::{Cli, Command, ConfigCommand, LogCommand, PoolCommand};
use phirig_host::{bench, cards, config, log_cmd, pool_serve, run, upgrade_cmd, HostError};

/// Runs the agent with `args` (everything after the program name).
fn agent_main(args: impl Iterator<Item = String>) -> ExitCode {
    let argv = std::iter::once("phirig-agent".to_string()).chain(args);
    match phirig_agent::cli::Cli::try_parse_from(argv) {
        Ok(agent) => match phirig_agent::entry::run(agent) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("phirig-agent: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            let _ = e.print();
            ExitCode::from(2)
        }
    }
}

fn main() -> ExitCode {
    // Copied to a card as `phirig-agent`, this binary is the agent (one file to deploy).
    let mut argv = std::env::args();
    let invoked_as = argv.next().unwrap_or_default();
    if std::path::Path::new(&invoked_as)
        .file_name()
        .is_some_and(|n| n == "phirig-agent")
    {
        let mut rest = argv.peekable();
        if rest.peek().is_some_and(|a| a == "agent") {
            rest.next();
        }
        return agent_main(rest);
    }
    let matches = Cli::command().get_matches();
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // `phirig agent …` is the card agent itself, with its own runtime and logging.
    if let Command::Agent { args } = cli.command {
        return agent_main(args.into_iter());
    }
    // The config file fills what the command line left out; a bad file starts nothing.
    if let Err(e) = config::apply(&mut cli.command, &matches) {
        eprintln!("phirig: {e}");
        return ExitCode::from(2);
    }
    phirig_agent::miner::init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("phirig: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("phirig: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(command: Command) -> Result<(), HostError> {
    match command {
        Command::Run(args) => run::run(args).await,
        Command::Pool(PoolCommand::Serve(args)) => pool_serve::serve(args).await,
        Command::Cards {
            cards: args,
            check,
            json,
        } => cards::list(&args, check, json).await,
        Command::Deploy(args) => cards::deploy(args, false).await,
        Command::Restart(args) => cards::deploy(args, true).await,
        Command::Stop(args) => cards::stop(args).await,
        Command::Status(args) => cards::status(args).await,
        Command::Upgrade(args) => upgrade_cmd::upgrade(args).await,
        Command::Log(LogCommand::Report { file, json }) => log_cmd::report_cmd(&file, json),
        Command::Log(LogCommand::Dump { file }) => log_cmd::dump_cmd(&file),
        Command::Bench(args) => bench::bench(args).await,
        Command::Config(ConfigCommand::Example) => {
            print!("{}", config::EXAMPLE);
            Ok(())
        }
        Command::Config(ConfigCommand::Check { file }) => {
            let f = config::load(&file)?;
            println!(
                "{}: valid ({} cards, {} pools)",
                file.display(),
                f.cards.len(),
                f.pools.len()
            );
            Ok(())
        }
        Command::Agent { .. } => Ok(()),
    }
}
