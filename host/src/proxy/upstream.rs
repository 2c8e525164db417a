//! The upstream side: turns client events into job broadcasts and submit answers, expires waits,
//! and offers the rig's algo-perf when due.

use std::sync::Arc;
use std::time::{Duration, Instant};

use phirig_pool::client::ClientEvent;
use phirig_pool::protocol::ServerMessage;
use tokio::sync::{mpsc, watch};

use super::shared::Shared;

/// How often overdue outcome waits are checked when none is due sooner.
const IDLE_TICK: Duration = Duration::from_secs(1);

/// Runs until the client's event stream ends or shutdown is signalled.
pub(crate) async fn run(
    shared: Arc<Shared>,
    mut events: mpsc::Receiver<ClientEvent>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let now = Instant::now();
        // Here rather than on the timer alone, so a busy event stream cannot hold it back.
        shared.offer_perf(now);
        let next = [shared.state().next_deadline(), shared.perf_due()]
            .into_iter()
            .flatten()
            .min();
        let wake = next.map_or(IDLE_TICK, |d| {
            d.saturating_duration_since(now).min(IDLE_TICK)
        });
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => handle(&shared, event),
                None => break,
            },
            _ = tokio::time::sleep(wake) => {
                let overdue = shared.state().expire(Instant::now());
                for (card, response) in overdue {
                    shared.reply(card, response);
                }
            }
            _ = shutdown.changed() => break,
        }
    }
}

fn handle(shared: &Shared, event: ClientEvent) {
    match event {
        ClientEvent::Job(job) => {
            tracing::debug!(job_id = %job.job_id, pool = job.pool, nicehash = job.nicehash, "upstream job");
            // Broadcast at once: the state hands every card its slice and we queue the lines.
            let out = shared.state().upstream_job(job);
            for (card, params) in out {
                shared.send(card, &ServerMessage::Job(params));
            }
        }
        ClientEvent::ShareOutcome { id, outcome } => {
            let answer = shared.state().outcome(id, &outcome);
            if let Some((card, response)) = answer {
                shared.reply(card, response);
            }
        }
        ClientEvent::Connected { pool, url } => tracing::info!(pool, %url, "upstream connected"),
        ClientEvent::Disconnected { pool, cause } => {
            tracing::info!(pool, %cause, "upstream disconnected")
        }
        ClientEvent::PoolRecovered { pool } => tracing::info!(pool, "upstream pool recovered"),
        // The client logs probe changes itself; the proxy has nothing to do about them.
        ClientEvent::Probe { .. } => {}
    }
}
