//! The dashboard's commands on deployed cards: restart one card as `phirig restart` does, pause
//! or resume every card's agent at once, and hold the rig's pause or resume for cards that
//! (re)start meanwhile.
//!
//! Each command runs as its own task so the rig keeps polling while an ssh restart takes seconds;
//! the loop collects finished restarts for the host journal.

use std::sync::Arc;
use std::time::{Duration, Instant};

use phirig_deploy::{Card, DeployerOps};
use serde_json::json;
use tokio::task::JoinSet;
use tracing::{info, warn};

use super::deploy_cards::DeployCardError;
use super::pause_hold::PauseHold;
use crate::api::RigCommand;
use crate::card_poll::CardView;

/// Longest one agent gets to answer a pause or resume.
const AGENT_BOUND: Duration = Duration::from_secs(5);
/// Longest one dashboard restart may take: ssh connect, the stop grace, the start and the new
/// agent's health check.
const RESTART_BOUND: Duration = Duration::from_secs(90);

/// A finished dashboard restart of the card at `index`, for the host journal.
pub struct Restarted {
    pub index: usize,
    pub outcome: Result<String, DeployCardError>,
}

/// Carries out the dashboard's commands on the rig's cards; see the module doc.
pub struct RigControl {
    ops: Arc<DeployerOps>,
    cards: Vec<Card>,
    /// Each card's agent API base URL, in the order of `cards`.
    agents: Vec<String>,
    token: String,
    http: reqwest::Client,
    running: JoinSet<Option<Restarted>>,
    pause: PauseHold,
}

impl RigControl {
    pub fn new(
        ops: Arc<DeployerOps>,
        cards: Vec<Card>,
        agents: Vec<String>,
        token: String,
        http: reqwest::Client,
    ) -> Self {
        Self {
            pause: PauseHold::new(cards.len()),
            ops,
            cards,
            agents,
            token,
            http,
            running: JoinSet::new(),
        }
    }

    /// Starts `command`; a card this rig does not run is logged and ignored (the API already
    /// answered 404 for names it did not know).
    pub fn apply(&mut self, command: RigCommand) {
        match command {
            RigCommand::RestartCard(name) => {
                let Some(index) = self.cards.iter().position(|c| c.name == name) else {
                    warn!(card = %name, "dashboard restart of a card this rig does not run");
                    return;
                };
                self.restart(index);
            }
            RigCommand::Pause => self.tell_all(true),
            RigCommand::Resume => self.tell_all(false),
        }
    }

    /// After a poll: tells "pause" again to every card that answered unpaused while the rig is
    /// paused, and "resume" to an agent started paused that came up after the rig's resume
    /// (see `pause_hold`).
    pub fn hold_pause(&mut self, views: &[CardView]) {
        for (i, tell) in self.pause.due(views, Instant::now()) {
            info!(card = %self.cards[i].name, "card {}", tell.why());
            self.tell(i, tell.method());
        }
    }

    /// The operator's restart, like `phirig restart`: it clears a `phirig stop`, so the watchdog
    /// supervises the card again.
    fn restart(&mut self, index: usize) {
        let ops = self.ops.clone();
        let card = self.cards[index].clone();
        info!(card = %card.name, "restarting the agent (dashboard)");
        self.running.spawn(async move {
            let outcome =
                match tokio::time::timeout(RESTART_BOUND, ops.deployer.restart(&card)).await {
                    Ok(Ok(s)) => Ok(format!("restarted (dashboard), pid {}", s.pid)),
                    Ok(Err(e)) => Err(e.into()),
                    Err(_) => Err(DeployCardError::NoAnswer(RESTART_BOUND)),
                };
            match &outcome {
                Ok(msg) => info!(card = %card.name, "{msg}"),
                Err(e) => warn!(card = %card.name, error = %e, "dashboard restart failed"),
            }
            Some(Restarted { index, outcome })
        });
    }

    /// Pauses or resumes every card's agent at once, each bounded by [`AGENT_BOUND`]. A card
    /// that does not take it is logged: the others still do.
    fn tell_all(&mut self, pause: bool) {
        self.pause.set(pause, Instant::now());
        // Agents started from now on (dashboard restart, watchdog) start as the rig is.
        self.ops.deployer.set_start_paused(pause);
        for i in 0..self.cards.len() {
            self.tell(i, if pause { "pause" } else { "resume" });
        }
    }

    /// Sends `method` to the agent of card `index`, bounded by [`AGENT_BOUND`].
    fn tell(&mut self, index: usize, method: &'static str) {
        let (Some(card), Some(base)) = (self.cards.get(index), self.agents.get(index)) else {
            return;
        };
        let name = card.name.clone();
        let sent = self
            .http
            .post(format!("{base}/json_rpc"))
            .bearer_auth(&self.token)
            .json(&json!({"id": 1, "jsonrpc": "2.0", "method": method}))
            .timeout(AGENT_BOUND)
            .send();
        self.running.spawn(async move {
            match sent.await.and_then(|r| r.error_for_status()) {
                Ok(_) => info!(card = %name, method, "agent told (dashboard)"),
                Err(e) => warn!(card = %name, method, error = %e, "agent did not take it"),
            }
            None
        });
    }

    /// Restarts finished since the last call.
    pub fn finished(&mut self) -> Vec<Restarted> {
        let mut done = Vec::new();
        while let Some(r) = self.running.try_join_next() {
            done.extend(r.ok().flatten());
        }
        done
    }

    /// At shutdown: waits for the commands in flight, so no restart starts an agent after the
    /// rig's final stop; each is bounded, so this is too.
    pub async fn finish(mut self) -> Vec<Restarted> {
        let mut done = Vec::new();
        while let Some(r) = self.running.join_next().await {
            done.extend(r.ok().flatten());
        }
        done
    }
}
