//! Deploy, start, stop, restart and status of the agent on one card, over ssh or locally.

use super::agent_args::command_line;
use super::config::{DeployConfig, DigestMethod};
use super::digest::{local_digest, parse_digest_reply, remote_digest};
use super::error::DeployError;
use super::health::{check_once, health_url, wait_healthy};
use super::paths::AgentPaths;
use super::profile::{choose_binary, parse_probe, BinaryChoice, CardProfile, PROBE_SCRIPT};
use super::report::{AgentStatus, StartReport, StopOutcome, UploadReport};
use super::scripts::{self, Intent, Launched};
use super::stop_record::StopRecord;
use crate::discovery::{Card, CardKind};
use crate::ssh::{run, shell_quote, Input, Output};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use tracing::{info, warn};

/// Does the work; holds the per-card probe cache (architecture, AES, digest tool: probed once).
pub struct Deployer {
    config: DeployConfig,
    http: reqwest::Client,
    profiles: Mutex<HashMap<String, CardProfile>>,
    stops: StopRecord,
    /// Agents start paused (the rig is paused); see [`Deployer::set_start_paused`].
    start_paused: AtomicBool,
}

impl Deployer {
    pub fn new(config: DeployConfig) -> Deployer {
        Deployer {
            stops: StopRecord::new(config.stop_record_dir.clone()),
            config,
            http: reqwest::Client::new(),
            profiles: Mutex::new(HashMap::new()),
            start_paused: AtomicBool::new(false),
        }
    }

    /// From now on every start, restart and deploy (the operator's and the watchdog's) starts
    /// the agent paused (`true`) or mining: the rig's pause, held by agents not yet running.
    pub fn set_start_paused(&self, paused: bool) {
        self.start_paused.store(paused, Ordering::Release);
    }

    pub fn config(&self) -> &DeployConfig {
        &self.config
    }

    /// The agent's health URL on `card`.
    pub fn url(&self, card: &Card) -> String {
        let port = self
            .config
            .card_ports
            .get(&card.name)
            .copied()
            .unwrap_or(self.config.agent_port);
        health_url(card, port, &self.config.health_path)
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

    fn bad_reply(card: &Card, step: &'static str, reply: String) -> DeployError {
        DeployError::BadReply {
            card: card.name.clone(),
            step,
            reply,
        }
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
        let report = UploadReport {
            card: card.name.clone(),
            local_binary: choice.path.display().to_string(),
            remote_binary: paths.binary.clone(),
            sha3_256: expected.clone(),
            digest_method: profile.digest,
            no_aesni: choice.no_aesni,
        };
        if card.kind == CardKind::Local {
            return Ok(report);
        }
        let tmp = format!(
            "{}/.phirig-agent.{:016x}.tmp",
            paths.dir,
            rand::random::<u64>()
        );
        info!(card = %card.name, from = %report.local_binary, to = %paths.binary, method = ?profile.digest, "copying agent");
        let actual = if profile.digest == DigestMethod::Stream {
            // No hashing tool on the card: read the copy back and hash it here.
            let copy = scripts::copy_script(&paths.dir, &tmp);
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
            let script = scripts::copy_verify_script(
                &paths.dir,
                &tmp,
                &paths.binary,
                profile.digest,
                &expected,
            );
            let out = self
                .sh_ok(card, "copy and verify", &script, Input::File(&choice.path))
                .await?;
            let text = out.stdout_text();
            parse_digest_reply(&text).ok_or_else(|| Self::bad_reply(card, "digest", text))?
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
            let script = format!("mv -f {} {}", shell_quote(&tmp), shell_quote(&paths.binary));
            self.sh_ok(card, "rename", &script, Input::None).await?;
        }
        info!(card = %card.name, sha3_256 = %expected, method = ?profile.digest, "agent copied and verified");
        Ok(report)
    }

    /// The last lines of the agent's log on the card, flattened to one line for an error message.
    async fn log_tail(&self, card: &Card, log: &str) -> String {
        match self.sh(card, &scripts::tail_script(log), Input::None).await {
            Ok(out) => out
                .stdout_text()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" | "),
            Err(e) => format!("(unavailable: {e})"),
        }
    }

    async fn remove_quietly(&self, card: &Card, path: &str) {
        let script = format!("rm -f {}", shell_quote(path));
        if let Err(e) = self.sh(card, &script, Input::None).await {
            warn!(card = %card.name, error = %e, "could not remove partial copy");
        }
    }

    /// Starts the agent detached (setsid, nohup, pid file, log) and waits for its health check;
    /// an agent already running is left alone. Clears the operator's "stopped" mark.
    /// The token goes over stdin into a 0600 file; the agent finds it through `PHIRIG_TOKEN_FILE`.
    pub async fn start(&self, card: &Card) -> Result<StartReport, DeployError> {
        self.launch_as(card, false, Intent::Operator).await
    }

    /// Start, first stopping a running agent in the same round trip when `stop_first`; all under
    /// the card's lock. `None` when `intent` is the supervisor's and the operator stopped the card.
    async fn launch(
        &self,
        card: &Card,
        stop_first: bool,
        intent: Intent,
    ) -> Result<Option<StartReport>, DeployError> {
        match intent {
            Intent::Supervisor { .. } if self.stops.is_marked(card) => {
                info!(card = %card.name, "stopped by the operator (host record): not started");
                return Ok(None);
            }
            Intent::Supervisor { .. } => {}
            Intent::Operator => self
                .stops
                .clear(card)
                .map_err(|e| self.stops.error(card, "clearing the stop record", e))?,
        }
        let choice = self.choose(card).await?;
        let paths = self.paths(card, Some(&choice));
        let paused = self.start_paused.load(Ordering::Acquire);
        let argv = command_line(&self.config, card, &paths.binary, choice.no_aesni, paused).await?;
        let token = self.config.token.as_deref();
        let script = scripts::launch_script(
            &paths,
            &argv,
            token.is_some(),
            stop_first.then_some(self.config.stop_grace),
            intent,
        );
        let input = token.map_or(Input::None, |t| Input::Bytes(t.as_bytes()));
        let out = self.sh_ok(card, "start", &script, input).await?;
        let reply = out.stdout_text();
        let (pid, already_running, replaced) = match scripts::parse_launch(&reply) {
            Some(Launched::Started(pid, replaced)) => (pid, false, replaced),
            Some(Launched::AlreadyRunning(pid)) => (pid, true, None),
            Some(Launched::OperatorStopped) => {
                info!(card = %card.name, "stopped by the operator: not started");
                return Ok(None);
            }
            None => return Err(Self::bad_reply(card, "start", reply)),
        };
        let url = self.url(card);
        if let Some(r) = replaced {
            info!(card = %card.name, old_pid = r.pid, outcome = ?r.outcome, "stopped the agent that was running");
        }
        info!(card = %card.name, pid, already_running, %url, "agent started, waiting for health check");
        let healthy = wait_healthy(&self.http, card, &url, token, self.config.health_timeout).await;
        if let Err(DeployError::Health {
            card: c,
            url,
            detail,
        }) = healthy
        {
            // The agent's own last words usually say why (bad config, port in use, self-test).
            let tail = self.log_tail(card, &paths.log).await;
            return Err(DeployError::Health {
                card: c,
                url,
                detail: format!("{detail}; agent log tail: {tail}"),
            });
        }
        healthy?;
        info!(card = %card.name, pid, "agent healthy");
        Ok(Some(StartReport {
            card: card.name.clone(),
            pid,
            url,
            already_running,
            replaced,
        }))
    }

    /// [`Self::launch`] for an intent that always starts.
    async fn launch_as(
        &self,
        card: &Card,
        stop_first: bool,
        intent: Intent,
    ) -> Result<StartReport, DeployError> {
        self.launch(card, stop_first, intent)
            .await?
            .ok_or_else(|| Self::bad_reply(card, "start", "operator-stopped".into()))
    }

    /// `upload` (skipped for the local card), then stop any running agent and start (one trip).
    /// Clears the operator's "stopped" mark.
    pub async fn deploy(&self, card: &Card) -> Result<(UploadReport, StartReport), DeployError> {
        let up = self.upload(card).await?;
        let started = self.launch_as(card, true, Intent::Operator).await?;
        Ok((up, started))
    }

    /// Stop then start (one round trip), without copying. Clears the operator's "stopped" mark.
    pub async fn restart(&self, card: &Card) -> Result<StartReport, DeployError> {
        self.launch_as(card, true, Intent::Operator).await
    }

    /// The watchdog's restart of the agent its probe saw (`seen`, `None` when none ran): like
    /// [`Self::restart`], but `None` (and nothing started) when the operator has stopped the card,
    /// even if that stop landed after the watchdog decided; and an agent started since the probe
    /// is left running (`already_running`).
    pub async fn supervised_restart(
        &self,
        card: &Card,
        seen: Option<u32>,
    ) -> Result<Option<StartReport>, DeployError> {
        self.launch(card, true, Intent::Supervisor { seen }).await
    }

    /// The watchdog's redeploy: copy, then start unless the operator has stopped the card; `seen`
    /// as for [`Self::supervised_restart`].
    pub async fn supervised_deploy(
        &self,
        card: &Card,
        seen: Option<u32>,
    ) -> Result<Option<(UploadReport, StartReport)>, DeployError> {
        if self.stops.is_marked(card) {
            // Not even the copy: the card stays as the operator left it.
            return Ok(None);
        }
        let up = self.upload(card).await?;
        Ok(self
            .launch(card, true, Intent::Supervisor { seen })
            .await?
            .map(|s| (up, s)))
    }

    /// The operator's stop: marks the card "stopped", on the card and on this machine (the
    /// watchdog leaves it so until the next start, restart or deploy, even across a card reboot
    /// that wipes the card's files), TERMs the agent and KILLs it after the grace period.
    pub async fn stop(&self, card: &Card) -> Result<StopOutcome, DeployError> {
        // The intent first: even if the card cannot be reached now, it stays stopped when it is.
        self.stops.mark(card).map_err(|e| {
            self.stops
                .error(card, "recording the stop on this machine", e)
        })?;
        let paths = self.paths(card, None);
        let script = scripts::stop_script(&paths, self.config.stop_grace);
        let out = self.sh_ok(card, "stop", &script, Input::None).await?;
        let reply = out.stdout_text();
        let outcome =
            scripts::parse_stop(&reply).ok_or_else(|| Self::bad_reply(card, "stop", reply))?;
        info!(card = %card.name, ?outcome, "agent stop");
        Ok(outcome)
    }

    /// Binary present? Process alive? Health check answering? Stopped by the operator?
    pub async fn status(&self, card: &Card) -> Result<AgentStatus, DeployError> {
        Ok(self.probe(card).await?.0)
    }

    /// [`Self::status`] plus the health check's body (the agent's counters) when it answered.
    pub async fn probe(&self, card: &Card) -> Result<(AgentStatus, Option<String>), DeployError> {
        let local = self.config.binaries.x86_64.as_deref();
        let paths =
            AgentPaths::for_card(card, &self.config.remote_dir, &self.config.local_dir, local);
        let script = scripts::status_script(&paths);
        let out = self.sh_ok(card, "status", &script, Input::None).await?;
        let reply = out.stdout_text();
        let st =
            scripts::parse_status(&reply).ok_or_else(|| Self::bad_reply(card, "status", reply))?;
        let body = match st.pid {
            Some(_) => self.fetch(card).await.ok(),
            None => None,
        };
        Ok((
            AgentStatus {
                card: card.name.clone(),
                binary_present: st.binary_present,
                pid: st.pid,
                healthy: body.is_some(),
                stopped_by_operator: st.stopped_by_operator || self.stops.is_marked(card),
            },
            body,
        ))
    }

    /// The health check body (e.g. the agent's counters JSON), one attempt.
    pub async fn fetch(&self, card: &Card) -> Result<String, DeployError> {
        let token = self.config.token.as_deref();
        check_once(&self.http, card, &self.url(card), token).await
    }
}
