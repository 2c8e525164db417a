//! How the system OpenSSH client is invoked: program, timeouts, extra options.

use std::path::PathBuf;
use std::time::Duration;

/// Options for every `ssh` process. The user's `~/.ssh/config` still applies: we only add
/// `BatchMode` (never prompt) and `ConnectTimeout` (fail fast on a dead card).
#[derive(Debug, Clone)]
pub struct SshOptions {
    /// Normally `ssh` from `PATH`.
    pub ssh_program: PathBuf,
    pub connect_timeout: Duration,
    /// Upper bound on one remote command, connection included.
    pub command_timeout: Duration,
    /// Passed before the destination, e.g. `-i key`, `-o UserKnownHostsFile=…`, `-F file`.
    pub extra_args: Vec<String>,
}

impl Default for SshOptions {
    fn default() -> Self {
        SshOptions {
            ssh_program: PathBuf::from("ssh"),
            connect_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(60),
            extra_args: Vec::new(),
        }
    }
}
