//! An agent started on this machine from a copy the test has just written, and its counters.

use std::process::{Child, Command};
use std::time::Duration;

use serde_json::Value;

use crate::loopback::http;
use crate::wait::wait_until;

/// A running agent, killed when the test ends.
pub struct LocalAgent(Child);

impl LocalAgent {
    /// Spawns a binary this process has just written. A child another test thread forks meanwhile
    /// holds the copy's write descriptor until its own exec, and exec then fails with "text file
    /// busy"; that clears within milliseconds, so retry a bounded number of times.
    pub fn spawn(cmd: &mut Command) -> std::io::Result<LocalAgent> {
        for _ in 0..50 {
            match cmd.spawn() {
                Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => return other.map(LocalAgent),
            }
        }
        cmd.spawn().map(LocalAgent)
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Whether the process is still running (an `execv` of itself keeps it running).
    pub fn running(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(None))
    }
}

impl Drop for LocalAgent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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

/// The agent's `/v1/counters` on loopback `port`, or `None` while it does not answer with them.
pub fn counters(port: u16) -> Option<Value> {
    match http(port, "GET", "/v1/counters", None, "") {
        Ok((200, body)) => serde_json::from_str(&body).ok(),
        _ => None,
    }
}

/// Polls the counters until `until` holds; at most 60 s.
pub fn wait_counters(port: u16, until: impl Fn(&Value) -> bool) -> Value {
    wait_until(
        &format!("the counters of the agent on {port}"),
        Duration::from_secs(60),
        || counters(port).filter(|v| until(v)),
    )
}
