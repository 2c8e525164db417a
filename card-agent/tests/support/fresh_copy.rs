//! Starting a binary the test process has just written (shared with `host/tests/cli.rs`).

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
