//! `phirig run` over cards: deploy the agent to every card, proxy the pool to them, poll and supervise them, show the rig.
//!
//! The cards reach the pool only through the host's proxy (`crate::proxy`): each agent is
//! started in rig mode pointed at the proxy's address on its own link. Every second all cards
//! are polled at once (`poll`), the picture of the rig (`RigSnapshot`) is published to the host
//! API, the status file and the table (`faces`), each card's 60 s rate is handed to the
//! watchdog, and clock samples and supervision actions go to the host journal (`journal`).
//! The dashboard's commands (restart a card, pause or resume the rig) are carried out by
//! `control` beside the loop.

mod control;
mod deploy_cards;
mod faces;
mod instance_lock;
mod journal;
mod pause_hold;
mod poll;
mod proxy_addr;
mod stop_marks;
mod stop_signals;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use phirig_deploy::{
    run_watchdog, Card, CardKind, Deployer, DeployerOps, Supervised, WatchdogAction,
};
use phirig_journal::SupervisionAction;
use phirig_pool::server::ServerHandle;
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use crate::card_poll::CardView;
use crate::cli::RunArgs;
use crate::proxy::ProxyHandle;
use crate::snapshot::RigSnapshot;
use crate::HostError;

use control::{Restarted, RigControl};
pub use deploy_cards::{deploy_all, deploy_config, stop_all, CardResults, DeployCardError};
pub use faces::{write_atomic, Faces};
pub use instance_lock::{InstanceError, InstanceLock};
pub use journal::{HostJournal, DEFAULT_FILE as DEFAULT_JOURNAL};
pub use pause_hold::{PauseHold, Tell};
pub use poll::poll_all;
pub use proxy_addr::{agent_pool_url, unreachable_from};
use stop_marks::MarkedOps;
pub use stop_signals::{StopSignal, StopSignals};

/// Each card's poll gives up after this, so a round fits in the one-second tick.
pub const POLL_TIMEOUT: Duration = Duration::from_millis(800);
/// The rate window fed to the watchdog's low-rate rule.
const WATCHDOG_WINDOW: Duration = Duration::from_secs(60);
/// Longest the watchdog gets to finish an action in flight at shutdown.
const WATCHDOG_STOP: Duration = Duration::from_secs(30);

/// The agent's API base URL on `card`.
fn api_base(card: &Card, port: u16) -> String {
    let host = if card.kind == CardKind::Local {
        "127.0.0.1"
    } else {
        card.address.as_str()
    };
    if host.contains(':') && !host.starts_with('[') {
        format!("http://[{host}]:{port}")
    } else {
        format!("http://{host}:{port}")
    }
}

/// Where the host journal goes: `--journal FILE`, else `phirig.journal`; none with `--no-journal`.
pub fn journal_path(args: &RunArgs) -> Option<PathBuf> {
    (!args.rig.no_journal).then(|| {
        args.rig
            .journal
            .clone()
            .unwrap_or_else(|| DEFAULT_JOURNAL.into())
    })
}

/// The host journal, when there is one (see [`journal_path`]).
fn open_journal(args: &RunArgs) -> Result<Option<HostJournal>, HostError> {
    journal_path(args)
        .map(|path| HostJournal::create(&path, args.http.http_port))
        .transpose()
}

/// The line under the table: where the rig's one upstream connection goes and how it fares.
pub fn pool_line(server: Option<&ServerHandle>, proxy: &ProxyHandle, up: Duration) -> String {
    let st = proxy.stats();
    let up_shares = st.upstream.shares;
    let pool = st
        .upstream
        .current_pool
        .and_then(|i| st.upstream.pools.get(i))
        .map_or_else(|| "(connecting)".to_string(), |p| p.url.clone());
    let builtin = server.map_or(String::new(), |s| {
        format!(" (built-in, {} verified)", s.stats().accepted)
    });
    format!(
        "upstream {pool}{builtin}: accepted {} rejected {} stale {} | proxy {} cards, {} leases reassigned | uptime {}s",
        up_shares.accepted,
        up_shares.rejected,
        up_shares.stale,
        st.cards.iter().filter(|c| c.connected).count(),
        st.reassigned,
        up.as_secs()
    )
}

/// Runs the rig on `cards` until a stop signal (Ctrl-C, SIGTERM, SIGHUP) or `--seconds`, then
/// stops every agent, all cards at once, each within its bound.
pub async fn run_cards(
    args: &RunArgs,
    cards: Vec<Card>,
    proxy: &ProxyHandle,
    server: Option<&ServerHandle>,
    mut signals: StopSignals,
) -> Result<(), HostError> {
    if let Some(why) = unreachable_from(proxy.local_addr(), &cards) {
        return Err(HostError::Usage(why));
    }
    let token = args
        .http
        .http_access_token
        .clone()
        .unwrap_or_else(|| format!("{:032x}", rand::random::<u128>()));
    let url = agent_pool_url(args.rig.proxy_host, proxy.local_addr());
    let mpss = crate::cards::discovery(&args.rig.reach);
    let ops = Arc::new(DeployerOps::new(
        Deployer::new(deploy_config(args, &cards, &url, &token)?),
        Some(mpss),
    ));
    let mut journal = open_journal(args)?;
    let (control_tx, mut commands) = mpsc::channel(8);
    let mut faces = Faces::start_with_control(
        &args.http,
        args.rig.status_json.clone(),
        Duration::from_secs(args.refresh.max(1)),
        Some(control_tx),
    )
    .await?;
    let overrides = crate::config::card_overrides(args);
    let agents: Vec<String> = cards
        .iter()
        .map(|c| {
            let port = overrides
                .get(&c.name)
                .and_then(|o| o.agent_port)
                .unwrap_or(args.rig.reach.agent_port);
            api_base(c, port)
        })
        .collect();
    let mut views: Vec<CardView> = cards
        .iter()
        .zip(&agents)
        .map(|(c, base)| CardView::new(&c.name, base, Some(token.clone())))
        .collect();
    eprintln!(
        "phirig: deploying the agent to {} card(s); they mine through the proxy ({url}, port {})",
        cards.len(),
        proxy.local_addr().port()
    );
    if let Some(j) = &journal {
        eprintln!("phirig: host journal: {}", j.path.display());
    }
    let mut deploy_failed = deploy_and_report(&ops, &cards, journal.as_mut()).await;

    let (act_tx, mut act_rx) = mpsc::unbounded_channel::<WatchdogAction>();
    let (stop_tx, stop_rx) = watch::channel(false);
    let supervised = cards
        .iter()
        .map(|c| Supervised {
            card: c.clone(),
            benchmark: overrides
                .get(&c.name)
                .and_then(|o| o.benchmark)
                .or(args.rig.card_benchmark),
        })
        .collect();
    let dog_config = crate::config::watchdog_config(args);
    let marked = Arc::new(MarkedOps::new(ops.clone()));
    let dog = tokio::spawn(run_watchdog(
        marked.clone(),
        supervised,
        dog_config,
        act_tx,
        stop_rx,
    ));

    let http = reqwest::Client::new();
    let mut control = RigControl::new(
        ops.clone(),
        cards.clone(),
        agents,
        token.clone(),
        http.clone(),
    );
    let started = Instant::now();
    let deadline = args.seconds.map(Duration::from_secs);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut stopped_by = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            s = signals.recv() => {
                stopped_by = Some(s);
                break;
            }
            Some(command) = commands.recv() => control.apply(command),
        }
        for r in control.finished() {
            if r.outcome.is_ok() {
                marked.started(&cards[r.index].name);
            }
            journal_restart(journal.as_mut(), &r);
        }
        poll_all(&mut views, &http, POLL_TIMEOUT).await;
        control.hold_pause(&views);
        for (i, v) in views.iter_mut().enumerate() {
            v.stopped = marked.stopped(&v.name);
            if let (Some(s), Some(j)) = (v.last_sample.take(), journal.as_mut()) {
                j.clock_sample(i as u32, &s);
            }
            // A card the operator paused hashes nothing on purpose: the watchdog keeps its rate
            // from before, so the low-rate rule does not restart it.
            let paused = v.last.as_ref().is_some_and(|l| l.paused);
            if let (Some(rate), false) = (v.meter.rate(WATCHDOG_WINDOW), paused) {
                ops.set_hash_rate(&v.name, rate);
            }
            // A card whose deploy failed shows that until the watchdog brings it up.
            match (&v.error, &deploy_failed[i]) {
                (None, _) => deploy_failed[i] = None,
                (Some(_), Some(why)) => v.error = Some(format!("deploy failed: {why}")),
                (Some(_), None) => {}
            }
        }
        while let Ok(a) = act_rx.try_recv() {
            let index = cards.iter().position(|c| c.name == a.card);
            if let (Some(i), Some(j)) = (index, journal.as_mut()) {
                j.watchdog(i as u32, &a);
            }
        }
        let snap = RigSnapshot::build(&views, Some(&proxy.stats()), started.elapsed().as_secs())
            .with_temperatures(&args.rig.reach.sysfs_root);
        faces.show(snap, &pool_line(server, proxy, started.elapsed()), false);
        if deadline.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
    }

    signals.exit_on_next();
    let why = stopped_by.map_or("--seconds elapsed", |s| s.name);
    eprintln!(
        "phirig: {why}: stopping the agents on {} card(s) (each within {:?})",
        cards.len(),
        deploy_cards::STOP_BOUND
    );
    stop_tx.send_replace(true);
    // Dashboard commands in flight finish too, so no restart lands after the agents' stop.
    let (dog, restarted) = tokio::join!(tokio::time::timeout(WATCHDOG_STOP, dog), control.finish());
    if dog.is_err() {
        warn!("the watchdog did not stop in time");
    }
    for r in restarted {
        journal_restart(journal.as_mut(), &r);
    }
    while let Ok(a) = act_rx.try_recv() {
        let index = cards.iter().position(|c| c.name == a.card);
        if let (Some(i), Some(j)) = (index, journal.as_mut()) {
            j.watchdog(i as u32, &a);
        }
    }
    for (i, (card, r)) in cards.iter().zip(stop_all(&ops, &cards).await).enumerate() {
        match &r {
            Ok(o) => info!(card = %card.name, outcome = %o, "agent stopped"),
            Err(e) => warn!(card = %card.name, error = %e, "agent stop failed"),
        }
        if let Some(j) = journal.as_mut() {
            let detail = match r {
                Ok(o) => format!("stopped ({why}): {o}"),
                Err(e) => format!("stop failed ({why}): {e}"),
            };
            j.supervision(i as u32, SupervisionAction::Stop, &detail);
        }
    }
    // The last picture once the agents are gone: their final shares were answered through the
    // proxy while they stopped, so its per-card counts are complete.
    let snap = RigSnapshot::build(&views, Some(&proxy.stats()), started.elapsed().as_secs())
        .with_temperatures(&args.rig.reach.sysfs_root);
    faces.show(snap, &pool_line(server, proxy, started.elapsed()), true);
    if let Some(j) = journal {
        j.close()?;
    }
    Ok(())
}

/// Records a dashboard restart in the host journal, when there is one.
fn journal_restart(journal: Option<&mut HostJournal>, r: &Restarted) {
    let (action, detail) = match &r.outcome {
        Ok(msg) => (SupervisionAction::Restart, msg.clone()),
        Err(e) => (
            SupervisionAction::Unhealthy,
            format!("restart (dashboard) failed: {e}"),
        ),
    };
    if let Some(j) = journal {
        j.supervision(r.index as u32, action, &detail);
    }
}

/// Deploys to every card at once and reports each; returns why each card failed, if it did.
async fn deploy_and_report(
    ops: &Arc<DeployerOps>,
    cards: &[Card],
    mut journal: Option<&mut HostJournal>,
) -> Vec<Option<DeployCardError>> {
    let results = deploy_all(ops, cards).await;
    let mut failed = Vec::with_capacity(cards.len());
    for (i, (card, r)) in cards.iter().zip(results).enumerate() {
        let (action, detail) = match &r {
            Ok(msg) => {
                eprintln!("phirig: {:<18} {msg}", card.name);
                (SupervisionAction::Deploy, format!("deployed: {msg}"))
            }
            Err(e) => {
                eprintln!(
                    "phirig: {:<18} deploy FAILED (the watchdog retries): {e}",
                    card.name
                );
                (SupervisionAction::Unhealthy, format!("deploy failed: {e}"))
            }
        };
        if let Some(j) = journal.as_deref_mut() {
            j.supervision(i as u32, action, &detail);
        }
        failed.push(r.err());
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_base_brackets_ipv6_and_uses_loopback_for_the_local_card() {
        assert_eq!(api_base(&Card::local(), 8640), "http://127.0.0.1:8640");
        let mut c = Card::from_ssh("root@172.31.1.1".parse().unwrap());
        assert_eq!(api_base(&c, 1), "http://172.31.1.1:1");
        c.address = "fd00::1".into();
        assert_eq!(api_base(&c, 1), "http://[fd00::1]:1");
    }
}
