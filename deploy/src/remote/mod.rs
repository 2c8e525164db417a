//! Putting the agent on a card and controlling it there: copy + digest check, start, stop, status.

mod agent_args;
mod config;
mod deployer;
mod digest;
mod error;
mod health;
mod paths;
mod profile;
mod report;
mod rows;
mod scripts;
mod stop_record;

pub use agent_args::{
    command_line as agent_command_line, expand as expand_agent_args, host_ip_for, PAUSE_ON_START,
};
pub use config::{AgentBinaries, DeployConfig, DigestMethod};
pub use deployer::Deployer;
pub use digest::{digest_script, local_digest, parse_digest_reply, remote_digest};
pub use error::DeployError;
pub use health::{health_url, wait_healthy};
pub use paths::AgentPaths;
pub use profile::{choose_binary, parse_probe, BinaryChoice, CardProfile, PROBE_SCRIPT};
pub use report::{AgentStatus, Replaced, StartReport, StopOutcome, UploadReport};
pub use rows::card_rows;
pub use scripts::Intent;
