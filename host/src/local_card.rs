//! This machine as a card: the agent runs as a child process of `phirig` (`phirig agent …`), in place.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

/// How to start the local agent.
#[derive(Debug, Clone)]
pub struct LocalCardConfig {
    pub pools: Vec<String>,
    pub user: String,
    pub pass: String,
    pub algo: String,
    pub threads: Option<phirig_agent::worker::PerAlgo>,
    pub no_aesni: bool,
    /// rx/0: the agent's `--rx-mode` (auto, full or light); none: the agent's default.
    pub rx_mode: Option<String>,
    pub http_port: u16,
    pub token: String,
    pub log: PathBuf,
}

impl LocalCardConfig {
    /// The arguments of `phirig` run as the agent (the token is not among them).
    pub fn agent_args(&self, paused: bool) -> Vec<String> {
        let mut args = vec!["agent".to_string()];
        for p in &self.pools {
            args.extend(["-o".into(), p.clone()]);
        }
        args.extend([
            "-u".into(),
            self.user.clone(),
            "-p".into(),
            self.pass.clone(),
            "-a".into(),
            self.algo.clone(),
            "--http-host".into(),
            "127.0.0.1".into(),
            "--http-port".into(),
            self.http_port.to_string(),
            "--print-time".into(),
            "10".into(),
        ]);
        if let Some(t) = self.threads {
            args.extend(["-t".into(), t.to_string()]);
        }
        if self.no_aesni {
            args.push("--no-aesni".into());
        }
        if let Some(mode) = &self.rx_mode {
            args.extend(["--rx-mode".into(), mode.clone()]);
        }
        if paused {
            args.push(phirig_deploy::remote::PAUSE_ON_START.into());
        }
        args
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LocalCardError {
    #[error("cannot find the phirig executable: {0}")]
    Exe(std::io::Error),
    #[error("cannot open the agent log {path}: {source}")]
    Log {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot start the local agent: {0}")]
    Spawn(std::io::Error),
}

/// The running local agent; killed if dropped without `stop`.
pub struct LocalCard {
    child: Child,
    pub log: PathBuf,
}

impl LocalCard {
    /// Starts the agent; with mining paused when `paused` (the rig is paused).
    pub fn start(cfg: &LocalCardConfig, paused: bool) -> Result<Self, LocalCardError> {
        let exe = std::env::current_exe().map_err(LocalCardError::Exe)?;
        let log = std::fs::File::create(&cfg.log).map_err(|source| LocalCardError::Log {
            path: cfg.log.display().to_string(),
            source,
        })?;
        let log_err = log.try_clone().map_err(|source| LocalCardError::Log {
            path: cfg.log.display().to_string(),
            source,
        })?;
        let mut cmd = Command::new(exe);
        cmd.args(cfg.agent_args(paused));
        // The token goes through the environment, never the argument list (`ps` shows that).
        cmd.env("PHIRIG_HTTP_TOKEN", &cfg.token);
        cmd.stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .kill_on_drop(true);
        die_with_parent(&mut cmd);
        let child = cmd.spawn().map_err(LocalCardError::Spawn)?;
        Ok(Self {
            child,
            log: cfg.log.clone(),
        })
    }

    /// Whether the agent has exited (and how).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGTERM, then SIGKILL after `grace`.
    pub async fn stop(mut self, grace: Duration) {
        if let Some(pid) = self.child.id() {
            // SAFETY: sending a signal to our own child's pid.
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        }
        if tokio::time::timeout(grace, self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// A port on loopback nobody listens on right now.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The last lines of a log file, for error messages.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The agent gets SIGTERM when the host dies, even by SIGKILL: a killed host must not leave an
/// orphan mining beside the agent the next host starts.
fn die_with_parent(cmd: &mut Command) {
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    let hook = move || {
        // SAFETY: PR_SET_PDEATHSIG takes a signal number and touches no memory of ours.
        if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // The host may have died between fork and prctl: then no signal would ever come.
        // SAFETY: getppid has no preconditions.
        if unsafe { libc::getppid() } != parent {
            return Err(std::io::Error::other(
                "the host exited while starting the agent",
            ));
        }
        Ok(())
    };
    // SAFETY: the hook runs in the forked child before exec, makes only async-signal-safe calls
    // (prctl, getppid) and does not allocate.
    unsafe { cmd.pre_exec(hook) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn config() -> LocalCardConfig {
        LocalCardConfig {
            pools: vec!["stratum+tcp://127.0.0.1:3334".into()],
            user: "local".into(),
            pass: "x".into(),
            algo: "cn-pico".into(),
            threads: Some(phirig_agent::worker::PerAlgo::all(1)),
            no_aesni: false,
            rx_mode: Some("light".into()),
            http_port: 4100,
            token: "secret".into(),
            log: "/tmp/agent.log".into(),
        }
    }

    /// The agent's flags as it parses them (the words after `phirig agent`).
    fn parsed(args: &[String]) -> phirig_agent::cli::MineArgs {
        let argv = std::iter::once("phirig-agent").chain(args[1..].iter().map(String::as_str));
        phirig_agent::cli::Cli::try_parse_from(argv)
            .expect("the agent parses what the host passes")
            .mine
    }

    #[test]
    fn the_local_agent_starts_paused_only_while_the_rig_is_paused() {
        let cfg = config();
        let running = cfg.agent_args(false);
        assert_eq!(running[0], "agent");
        let mine = parsed(&running);
        assert!(!mine.pause_on_start);
        assert_eq!(mine.url, cfg.pools);
        assert_eq!(mine.http_port, Some(4100));
        assert_eq!(mine.rx_mode, phirig_rx::Mode::Light);
        let paused = cfg.agent_args(true);
        assert_eq!(paused.last().map(String::as_str), Some("--pause-on-start"));
        assert!(parsed(&paused).pause_on_start);
        assert!(
            !paused.iter().any(|a| a.contains("secret")),
            "token in argv"
        );
    }
}
