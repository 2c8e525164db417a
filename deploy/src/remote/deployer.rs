//! Deploy, start, stop, restart and status of the agent on one card, over ssh or locally.

use super::config::{DeployConfig, DigestMethod};
use super::digest::{digest_script, local_digest, parse_digest_reply, remote_digest};
use super::error::DeployError;
use super::health::{check_once, health_url, wait_healthy};
use super::paths::AgentPaths;
use super::profile::{choose_binary, parse_probe, BinaryChoice, CardProfile, PROBE_SCRIPT};
use crate::discovery::{Card, CardKind};
use crate::ssh::{run, shell_join, shell_quote, Input, Output};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;
use tracing::{info, warn};

/// What a copy did.
#[derive(Debug, Clone, Serialize)]
pub struct UploadReport {
    pub card: String,
    pub local_binary: String,
    pub remote_binary: String,
    pub sha3_256: String,
    pub digest_method: DigestMethod,
    pub no_aesni: bool,
}

/// A started agent.
#[derive(Debug, Clone, Serialize)]
pub struct StartReport {
    pub card: String,
    pub pid: u32,
    pub url: String,
}

/// What `stop` found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopOutcome {
    NotRunning,
    Terminated,
    /// It ignored TERM for the grace period.
    Killed,
}

/// The agent on one card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentStatus {
    pub card: String,
    pub binary_present: bool,
    /// Pid from the pid file when that process is alive.
    pub pid: Option<u32>,
    /// The health check answered 2xx (only tried when the process is alive).
    pub healthy: bool,
}

impl AgentStatus {
    /// One word for the cards table.
    pub fn summary(&self) -> &'static str {
        match (self.pid.is_some(), self.healthy, self.binary_present) {
            (true, true, _) => "running",
            (true, false, _) => "unhealthy",
            (false, _, true) => "stopped",
            (false, _, false) => "no binary",
        }
    }
}

/// Does the work; holds the per-card probe cache (architecture, AES, digest tool: probed once).
pub struct Deployer {
    config: DeployConfig,
    http: reqwest::Client,
    profiles: Mutex<HashMap<String, CardProfile>>,
}

impl Deployer {
    pub fn new(config: DeployConfig) -> Deployer {
        Deployer {
            config,
            http: reqwest::Client::new(),
            profiles: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &DeployConfig {
        &self.config
    }

    /// The agent's health URL on `card`.
    pub fn url(&self, card: &Card) -> String {
        health_url(card, self.config.agent_port, &self.config.health_path)
    }

    async fn sh(&self, card: &Card, script: &str, input: Input<'_>) -> Result<Output, DeployError> {
        Ok(run(card, &self.config.ssh, script, input).await?)
    }

    async fn sh_ok(
        &self,
        card: &Card,
        step: &'static str,
        script: &str,
        input: Input<'_>,
    ) -> Result<Output, DeployError> {
        let out = self.sh(card, script, input).await?;
        if !out.success() {
            return Err(DeployError::RemoteCommand {
                card: card.name.clone(),
                step,
                code: out.code,
                stderr: out.stderr,
            });
        }
        Ok(out)
    }

    /// Architecture, AES and digest tool of `card`, probed on first use and then cached.
    pub async fn profile(&self, card: &Card) -> Result<CardProfile, DeployError> {
        if let Some(p) = self.cached_profile(&card.name) {
            return Ok(p);
        }
        let out = self.sh_ok(card, "probe", PROBE_SCRIPT, Input::None).await?;
        let mut profile = parse_probe(&card.name, &out.stdout_text())?;
        if let Some(forced) = self.config.digest_method {
            profile.digest = forced;
        }
        info!(card = %card.name, arch = %profile.arch, aes = profile.aes, digest = ?profile.digest, "probed card");
        if let Ok(mut cache) = self.profiles.lock() {
            cache.insert(card.name.clone(), profile.clone());
        }
        Ok(profile)
    }

    fn cached_profile(&self, name: &str) -> Option<CardProfile> {
        self.profiles.lock().ok()?.get(name).cloned()
    }

    /// The build for `card` and whether it needs `--no-aesni`.
    pub async fn choose(&self, card: &Card) -> Result<BinaryChoice, DeployError> {
        let profile = self.profile(card).await?;
        choose_binary(card, &profile, &self.config.binaries)
    }

    fn paths(&self, card: &Card, choice: Option<&BinaryChoice>) -> AgentPaths {
        AgentPaths::for_card(
            card,
            &self.config.remote_dir,
            &self.config.local_dir,
            choice.map(|c| c.path.as_path()),
        )
    }

    /// Copies the agent to a temporary name, checks its SHA3-256 on the card, then renames it
    /// into place. A mismatch removes the copy and returns [`DeployError::DigestMismatch`].
    /// The local card is not copied to: its binary runs in place.
    pub async fn upload(&self, card: &Card) -> Result<UploadReport, DeployError> {
        let profile = self.profile(card).await?;
        let choice = choose_binary(card, &profile, &self.config.binaries)?;
        let paths = self.paths(card, Some(&choice));
        let expected = local_digest(&choice.path).await?;
        let local_binary = choice.path.display().to_string();
        if card.kind == CardKind::Local {
            return Ok(UploadReport {
                card: card.name.clone(),
                local_binary,
                remote_binary: paths.binary,
                sha3_256: expected,
                digest_method: profile.digest,
                no_aesni: choice.no_aesni,
            });
        }
        let tmp = format!(
            "{}/.phirig-agent.{:016x}.tmp",
            paths.dir,
            rand::random::<u64>()
        );
        let (dir_q, tmp_q, bin_q) = (
            shell_quote(&paths.dir),
            shell_quote(&tmp),
            shell_quote(&paths.binary),
        );
        let copy = format!("umask 077 && mkdir -p {dir_q} && cat > {tmp_q} && chmod 700 {tmp_q}");
        info!(card = %card.name, from = %local_binary, to = %paths.binary, method = ?profile.digest, "copying agent");
        let actual = if profile.digest == DigestMethod::Stream {
            // No hashing tool on the card: read the copy back and hash it here.
            self.sh_ok(card, "copy", &copy, Input::File(&choice.path))
                .await?;
            match remote_digest(card, &self.config.ssh, profile.digest, &tmp).await {
                Ok(a) => a,
                Err(e) => {
                    self.remove_quietly(card, &tmp).await;
                    return Err(e);
                }
            }
        } else {
            // One round trip: copy, hash on the card, and rename only when the card's digest
            // matches ours (the expected value is our own hex, safe to embed quoted).
            let script = format!(
                "{copy} || exit 1\nd=$({digest}) || {{ rm -f {tmp_q}; exit 3; }}\necho \"$d\"\ncase \"$d\" in *{want}) mv -f {tmp_q} {bin_q} ;; *) rm -f {tmp_q} ;; esac",
                digest = digest_script(profile.digest, &tmp),
                want = shell_quote(&expected),
            );
            let out = self
                .sh_ok(card, "copy and verify", &script, Input::File(&choice.path))
                .await?;
            let text = out.stdout_text();
            parse_digest_reply(&text).ok_or_else(|| DeployError::BadReply {
                card: card.name.clone(),
                step: "digest",
                reply: text,
            })?
        };
        if actual != expected {
            warn!(card = %card.name, %expected, %actual, "agent copy corrupt, removed");
            self.remove_quietly(card, &tmp).await;
            return Err(DeployError::DigestMismatch {
                card: card.name.clone(),
                path: paths.binary,
                expected,
                actual,
            });
        }
        if profile.digest == DigestMethod::Stream {
            let script = format!("mv -f {tmp_q} {bin_q}");
            self.sh_ok(card, "rename", &script, Input::None).await?;
        }
        info!(card = %card.name, sha3_256 = %expected, method = ?profile.digest, "agent copied and verified");
        Ok(UploadReport {
            card: card.name.clone(),
            local_binary,
            remote_binary: paths.binary,
            sha3_256: expected,
            digest_method: profile.digest,
            no_aesni: choice.no_aesni,
        })
    }

    async fn remove_quietly(&self, card: &Card, path: &str) {
        let script = format!("rm -f {}", shell_quote(path));
        if let Err(e) = self.sh(card, &script, Input::None).await {
            warn!(card = %card.name, error = %e, "could not remove partial copy");
        }
    }

    /// Starts the agent detached (setsid, nohup, pid file, log) and waits for its health check.
    /// The token goes over stdin into a 0600 file; the agent finds it through `PHIRIG_TOKEN_FILE`.
    pub async fn start(&self, card: &Card) -> Result<StartReport, DeployError> {
        self.launch(card, false).await
    }

    /// Start, first stopping a running agent in the same round trip when `stop_first`.
    async fn launch(&self, card: &Card, stop_first: bool) -> Result<StartReport, DeployError> {
        let choice = self.choose(card).await?;
        let paths = self.paths(card, Some(&choice));
        let mut script = String::new();
        if stop_first {
            // In a subshell: the stop script's `exit`s must not end the start script.
            script.push_str(&format!(
                "(\n{}\n) >/dev/null 2>&1\n",
                self.stop_script(&paths)
            ));
        }
        script.push_str(&format!(
            "umask 077 && mkdir -p {dir} && cd {dir} || exit 1\n",
            dir = shell_quote(&paths.dir)
        ));
        let mut env = String::new();
        let input = match &self.config.token {
            // The token arrives on stdin into a 0600 file; only its path is in the environment.
            Some(token) => {
                let tmp = shell_quote(&format!("{}.tmp", paths.token));
                let tok = shell_quote(&paths.token);
                script.push_str(&format!("cat > {tmp} && mv -f {tmp} {tok} || exit 1\n"));
                env = format!("PHIRIG_TOKEN_FILE={tok} ");
                Input::Bytes(token.as_bytes())
            }
            None => Input::None,
        };
        let mut argv = vec![paths.binary.clone()];
        argv.extend(self.config.agent_args.iter().cloned());
        if choice.no_aesni {
            argv.push("--no-aesni".into());
        }
        // A simple command with `&` keeps `$!` the agent's pid: setsid and nohup exec in place.
        script.push_str(&format!(
            "{env}setsid nohup {cmd} > {log} 2>&1 < /dev/null &\npid=$!\necho \"$pid\" > {pidfile} && echo \"$pid\"",
            cmd = shell_join(&argv),
            log = shell_quote(&paths.log),
            pidfile = shell_quote(&paths.pidfile),
        ));
        let out = self.sh_ok(card, "start", &script, input).await?;
        let reply = out.stdout_text();
        let pid: u32 = reply.trim().parse().map_err(|_| DeployError::BadReply {
            card: card.name.clone(),
            step: "start",
            reply: reply.clone(),
        })?;
        let url = self.url(card);
        info!(card = %card.name, pid, %url, "agent started, waiting for health check");
        wait_healthy(
            &self.http,
            card,
            &url,
            self.config.token.as_deref(),
            self.config.health_timeout,
        )
        .await?;
        info!(card = %card.name, pid, "agent healthy");
        Ok(StartReport {
            card: card.name.clone(),
            pid,
            url,
        })
    }

    /// `upload` (skipped for the local card), stop any running agent, `start`.
    pub async fn deploy(&self, card: &Card) -> Result<(UploadReport, StartReport), DeployError> {
        let up = self.upload(card).await?;
        let started = self.launch(card, true).await?;
        Ok((up, started))
    }

    /// Stop then start (one round trip), without copying.
    pub async fn restart(&self, card: &Card) -> Result<StartReport, DeployError> {
        self.launch(card, true).await
    }

    /// TERM the pid from the pid file, KILL it after the grace period, remove the pid file.
    pub async fn stop(&self, card: &Card) -> Result<StopOutcome, DeployError> {
        let script = self.stop_script(&self.paths(card, None));
        let out = self.sh_ok(card, "stop", &script, Input::None).await?;
        let outcome = match out.stdout_text().trim() {
            "notrunning" => StopOutcome::NotRunning,
            "terminated" => StopOutcome::Terminated,
            "killed" => StopOutcome::Killed,
            other => {
                return Err(DeployError::BadReply {
                    card: card.name.clone(),
                    step: "stop",
                    reply: other.into(),
                })
            }
        };
        info!(card = %card.name, ?outcome, "agent stop");
        Ok(outcome)
    }

    /// Prints `notrunning`, `terminated` or `killed`.
    fn stop_script(&self, paths: &AgentPaths) -> String {
        // Polls of 0.2 s; a `sleep` without fractions (old busybox) fails at once and we sleep 1 s,
        // which only makes the bounded wait longer, never endless.
        let polls = (self.config.stop_grace.as_millis() / 200).max(1);
        format!(
            r#"pf={pf}
pid=$(cat "$pf" 2>/dev/null)
case "$pid" in ''|*[!0-9]*) rm -f "$pf"; echo notrunning; exit 0;; esac
if ! kill -0 "$pid" 2>/dev/null; then rm -f "$pf"; echo notrunning; exit 0; fi
kill -TERM "$pid" 2>/dev/null
i=0
while kill -0 "$pid" 2>/dev/null; do
  i=$((i+1))
  if [ "$i" -gt {polls} ]; then kill -KILL "$pid" 2>/dev/null; rm -f "$pf"; echo killed; exit 0; fi
  sleep 0.2 2>/dev/null || sleep 1
done
rm -f "$pf"; echo terminated"#,
            pf = shell_quote(&paths.pidfile),
        )
    }

    /// Binary present? Process alive? Health check answering?
    pub async fn status(&self, card: &Card) -> Result<AgentStatus, DeployError> {
        let local = self.config.binaries.x86_64.as_deref();
        let paths =
            AgentPaths::for_card(card, &self.config.remote_dir, &self.config.local_dir, local);
        let script = format!(
            r#"if [ -f {bin} ]; then echo binary; else echo nobinary; fi
pid=$(cat {pf} 2>/dev/null)
case "$pid" in ''|*[!0-9]*) echo stopped; exit 0;; esac
if kill -0 "$pid" 2>/dev/null; then echo "running $pid"; else echo stopped; fi"#,
            bin = shell_quote(&paths.binary),
            pf = shell_quote(&paths.pidfile),
        );
        let out = self.sh_ok(card, "status", &script, Input::None).await?;
        let text = out.stdout_text();
        let bad = || DeployError::BadReply {
            card: card.name.clone(),
            step: "status",
            reply: text.clone(),
        };
        let mut lines = text.lines().map(str::trim);
        let binary_present = match lines.next() {
            Some("binary") => true,
            Some("nobinary") => false,
            _ => return Err(bad()),
        };
        let pid = match lines.next() {
            Some("stopped") => None,
            Some(l) => match l.strip_prefix("running ").map(str::parse::<u32>) {
                Some(Ok(p)) => Some(p),
                _ => return Err(bad()),
            },
            None => return Err(bad()),
        };
        let healthy = pid.is_some()
            && check_once(
                &self.http,
                card,
                &self.url(card),
                self.config.token.as_deref(),
            )
            .await
            .is_ok();
        Ok(AgentStatus {
            card: card.name.clone(),
            binary_present,
            pid,
            healthy,
        })
    }

    /// The health check body (e.g. the agent's counters JSON), one attempt.
    pub async fn fetch(&self, card: &Card) -> Result<String, DeployError> {
        check_once(
            &self.http,
            card,
            &self.url(card),
            self.config.token.as_deref(),
        )
        .await
    }
}
