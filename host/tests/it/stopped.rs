//! A child process the test stops when it ends, pass or fail.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A child process stopped when the test ends, pass or fail: Ctrl-C first, so `phirig run`
/// stops the agent it started, then a kill after a bound.
pub struct Stopped(pub Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status();
        let start = Instant::now();
        while matches!(self.0.try_wait(), Ok(None)) && start.elapsed() < Duration::from_secs(15) {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
