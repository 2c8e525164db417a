//! A full config file, and the command line parsed and merged with a file as the binary does.

use std::path::{Path, PathBuf};

use clap::{CommandFactory, FromArgMatches};
use phirig_host::cli::{Cli, Command};
use phirig_host::config::{self};

pub const FULL: &str = r#"
algo = "cn-pico"
difficulty = 33

[[cards]]
target = "mic0"
threads = 60
benchmark = 450.0

[[cards]]
target = "root@172.31.2.1"
agent-port = 8641

[discovery]
sysfs-root = "/tmp/fake-sys"
etc-root = "/tmp/fake-etc"
ssh-user = "micuser"
ssh-args = ["-i", "/root/.ssh/mic"]
agent-port = 8650

[[pools]]
url = "stratum+tcp://127.0.0.1:3333"
user = "wallet-a"
pass = "pa"
nicehash = true

[[pools]]
url = "stratum+tcp://127.0.0.1:4444"
user = "wallet-b"
tls = true
tls-fingerprint = "ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB"

[timeouts]
connect = 11
response = 12
idle = 13
retry-pause = 14

[http]
host = "127.0.0.2"
port = 18080
access-token = "file-token"
restricted = true

[agent]
remote-dir = "/opt/phirig"
threads = 3
intensity = 2
no-aesni = true
binary = "/opt/agent-bin"

[watchdog]
restart-below = 0.25
minutes = 2.5
backoff = 30
"#;

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write config");
    p
}

/// Parses `args` as the binary does and merges the config file into them.
pub fn parse(args: &[&str]) -> Result<Command, String> {
    let argv = std::iter::once("phirig").chain(args.iter().copied());
    let matches = Cli::command()
        .try_get_matches_from(argv)
        .map_err(|e| e.to_string())?;
    let mut cli = Cli::from_arg_matches(&matches).map_err(|e| e.to_string())?;
    config::apply(&mut cli.command, &matches).map_err(|e| e.to_string())?;
    Ok(cli.command)
}

pub fn run_args(args: &[&str]) -> phirig_host::cli::RunArgs {
    match parse(args) {
        Ok(Command::Run(a)) => a,
        other => panic!("not a run: {other:?}"),
    }
}
