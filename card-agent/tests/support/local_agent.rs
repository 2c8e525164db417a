//! Starting a local agent from a copy the test has just written (shared with `host/tests/cli.rs`).

use std::process::{Child, Command};
use std::time::Duration;

/// Spawns a binary this process has just written. A child another test thread forks meanwhile
/// holds the copy's write descriptor until its own exec, and exec then fails with "text file
/// busy"; that clears within milliseconds, so retry a bounded number of times.
pub fn spawn_fresh_copy(cmd: &mut Command) -> std::io::Result<Child> {
    for _ in 0..50 {
        match cmd.spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
    cmd.spawn()
}

/// Arguments for an agent that mines nowhere and answers its API on loopback `port`: nothing
/// listens on port 1, so it keeps retrying its pool while the API answers.
pub fn idle_agent_args(port: u16) -> Vec<String> {
    let port = port.to_string();
    [
        "-o",
        "stratum+tcp://127.0.0.1:1",
        "-u",
        "x",
        "-t",
        "1",
        "--http-host",
        "127.0.0.1",
        "--http-port",
        &port,
        "--print-time",
        "60",
    ]
    .map(String::from)
    .to_vec()
}
