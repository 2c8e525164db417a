//! Runs one shell script on a card: through `ssh` for remote cards, `sh -c` for the local one.

use super::error::SshError;
use super::options::SshOptions;
use crate::discovery::Card;
use std::path::Path;
use std::process::Stdio;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// What the script reads on stdin. Secrets and file contents travel here, never in arguments.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    None,
    Bytes(&'a [u8]),
    File(&'a Path),
}

/// A finished remote command.
#[derive(Debug, Clone)]
pub struct Output {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == 0
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// The `ssh` argument list for `card` (the script must already be fully quoted).
pub fn ssh_args(card: &Card, opts: &SshOptions, script: &str) -> Option<Vec<String>> {
    let target = card.ssh.as_ref()?;
    let secs = opts.connect_timeout.as_secs().max(1);
    // ServerAlive: a card that vanishes mid-command (link down, reset) ends the session in about
    // 2 × ConnectTimeout instead of hanging on TCP retransmits until `command_timeout`.
    let mut args = vec![
        "-o".to_string(),
        "BatchMode=yes".to_string(),
        "-o".to_string(),
        format!("ConnectTimeout={secs}"),
        "-o".to_string(),
        format!("ServerAliveInterval={secs}"),
        "-o".to_string(),
        "ServerAliveCountMax=2".to_string(),
    ];
    if let Some(p) = target.port {
        args.push("-p".into());
        args.push(p.to_string());
    }
    args.extend(opts.extra_args.iter().cloned());
    // `--` so that nothing after it can be taken for an option.
    args.push("--".into());
    args.push(target.destination());
    args.push(script.to_string());
    Some(args)
}

/// Runs `script` (POSIX sh, every word quoted by the caller) on `card` and collects its output.
/// Exit status 255 from ssh means the card was not reached and becomes [`SshError::Unreachable`].
pub async fn run(
    card: &Card,
    opts: &SshOptions,
    script: &str,
    input: Input<'_>,
) -> Result<Output, SshError> {
    let (program, args, remote) = match ssh_args(card, opts, script) {
        Some(args) => (opts.ssh_program.clone(), args, true),
        None => (
            "sh".into(),
            vec!["-c".to_string(), script.to_string()],
            false,
        ),
    };
    let mut cmd = Command::new(&program);
    cmd.args(&args)
        .stdin(match input {
            Input::None => Stdio::null(),
            _ => Stdio::piped(),
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let card_name = card.name.clone();
    let mut child = cmd.spawn().map_err(|source| SshError::Spawn {
        card: card_name.clone(),
        program: program.display().to_string(),
        source,
    })?;
    let stdin = child.stdin.take();
    let feed = async move {
        let Some(mut stdin) = stdin else {
            return Ok(());
        };
        match input {
            Input::None => {}
            Input::Bytes(b) => stdin.write_all(b).await?,
            Input::File(p) => {
                let mut f = tokio::fs::File::open(p).await?;
                tokio::io::copy(&mut f, &mut stdin).await?;
            }
        }
        stdin.shutdown().await
    };
    let work = async {
        let (fed, out) = tokio::join!(feed, child.wait_with_output());
        (fed, out)
    };
    let (fed, out) = match tokio::time::timeout(opts.command_timeout, work).await {
        Ok(r) => r,
        Err(_) => {
            return Err(SshError::Timeout {
                card: card_name,
                secs: opts.command_timeout.as_secs(),
            })
        }
    };
    let out = out.map_err(|source| SshError::Io {
        card: card_name.clone(),
        source,
    })?;
    let code = out.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if remote && code == 255 {
        return Err(SshError::Unreachable {
            card: card_name,
            detail: if stderr.is_empty() {
                "ssh exited with status 255 (connection failed or lost)".into()
            } else {
                stderr
            },
        });
    }
    fed.map_err(|source| SshError::Input {
        card: card_name,
        source,
    })?;
    Ok(Output {
        code,
        stdout: out.stdout,
        stderr,
    })
}
