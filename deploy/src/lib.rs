//! phirig-deploy: finds the cards (MPSS sysfs, static SSH hosts, the local machine), copies the agent
//! to them, starts, stops and supervises it.
//!
//! It is not the miner and not the CLI: `host/` wires these pieces to `phirig cards|deploy|stop|
//! restart|status`. Every remote command goes through [`ssh::run`] with each word passed through
//! [`ssh::shell_quote`]; secrets travel on stdin, never in arguments.

// Items reachable only inside the crate say so, so the public API is what `pub` marks.
#![warn(unreachable_pub)]

pub mod discovery;
pub mod remote;
pub mod ssh;
pub mod upgrade;
pub mod watchdog;
pub mod zerocopy;

pub use discovery::{
    render_table, select_cards, Card, CardKind, CardRow, CardSpec, CardState, MpssDiscovery,
    SshTarget,
};
pub use remote::{
    agent_command_line, card_rows, expand_agent_args, AgentBinaries, AgentStatus, DeployConfig,
    DeployError, Deployer, StartReport, StopOutcome,
};
pub use ssh::{shell_quote, SshOptions};
pub use watchdog::{
    run_watchdog, DeployerOps, Supervised, Watchdog, WatchdogAction, WatchdogConfig,
};
