//! The dashboard's commands for the embedded default's one card: restart its agent, pause or
//! resume it through the agent's own control API.

use std::time::Duration;

use serde_json::json;

use crate::api::RigCommand;
use crate::local_card::{LocalCard, LocalCardConfig};
use crate::HostError;

/// Grace a restarted agent gets to stop before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Carries out `command` on the local card; returns the card to keep watching (a new one after a
/// restart, started paused when `paused`: the rig is). A pause the agent refuses is logged, not
/// fatal: the rig mines on.
pub async fn apply(
    command: RigCommand,
    card: LocalCard,
    cfg: &LocalCardConfig,
    http: &reqwest::Client,
    paused: bool,
) -> Result<LocalCard, HostError> {
    let method = match command {
        RigCommand::RestartCard(name) => {
            tracing::info!(card = %name, paused, "restarting the local agent (dashboard)");
            card.stop(STOP_GRACE).await;
            return Ok(LocalCard::start(cfg, paused)?);
        }
        RigCommand::Pause => "pause",
        RigCommand::Resume => "resume",
    };
    let url = format!("http://127.0.0.1:{}/json_rpc", cfg.http_port);
    let sent = http
        .post(url)
        .bearer_auth(&cfg.token)
        .json(&json!({"id": 1, "jsonrpc": "2.0", "method": method}))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .and_then(|r| r.error_for_status());
    match sent {
        Ok(_) => tracing::info!(method, "local agent told (dashboard)"),
        Err(e) => tracing::warn!(method, error = %e, "local agent did not take the command"),
    }
    Ok(card)
}
