//! The tokio loop around the watchdog policy: probe due cards, log and journal, act.

use super::action::{ActionKind, Observation, WatchdogAction};
use super::ops::CardOps;
use super::policy::{Watchdog, WatchdogConfig};
use crate::discovery::Card;
use crate::remote::DeployError;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

enum Done {
    Probed(String, Observation),
    Acted(String, Vec<(WatchdogAction, Result<(), DeployError>)>),
}

/// A card to supervise and its benchmark rate (H/s) for the low-rate rule.
#[derive(Debug, Clone)]
pub struct Supervised {
    pub card: Card,
    pub benchmark: Option<f64>,
}

/// Supervises `cards` until `shutdown` turns true (or its sender is dropped). Every action is
/// logged with its cause and sent on `journal` (a closed journal is ignored).
pub async fn run_watchdog<O: CardOps>(
    ops: Arc<O>,
    cards: Vec<Supervised>,
    config: WatchdogConfig,
    journal: mpsc::UnboundedSender<WatchdogAction>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut dog = Watchdog::new(config);
    let now = Instant::now();
    let by_name: HashMap<String, Card> = cards
        .iter()
        .map(|s| (s.card.name.clone(), s.card.clone()))
        .collect();
    for s in &cards {
        dog.add_card(&s.card.name, s.benchmark, now);
    }
    // A card with a probe or an action in flight is not probed again until it finishes.
    let mut busy: HashSet<String> = HashSet::new();
    let mut tasks: JoinSet<Done> = JoinSet::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let now = Instant::now();
        for name in dog.due(now) {
            if busy.contains(&name) {
                continue;
            }
            let Some(card) = by_name.get(&name).cloned() else {
                continue;
            };
            busy.insert(name.clone());
            let ops = ops.clone();
            tasks.spawn(async move {
                let obs = ops.observe(&card).await;
                Done::Probed(card.name, obs)
            });
        }
        let wake = dog
            .next_wake()
            .map(|t| t.max(Instant::now()))
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(1))
            .min(Instant::now() + Duration::from_secs(1));
        tokio::select! {
            _ = shutdown.changed() => {
                if shutdown.has_changed().is_err() || *shutdown.borrow() {
                    break;
                }
            }
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                let Ok(done) = done else { continue };
                match done {
                    Done::Probed(name, obs) => {
                        debug!(card = %name, ?obs, "probed");
                        let actions = dog.observe(&name, &obs, Instant::now());
                        let mut work = Vec::new();
                        for action in actions {
                            record(&journal, &action);
                            if needs_work(action.kind) {
                                work.push(action);
                            }
                        }
                        match by_name.get(&name).cloned() {
                            // One task per card, its actions in order: the card stays busy
                            // (no probe, no other action) until all of them finished.
                            Some(card) if !work.is_empty() => {
                                let ops = ops.clone();
                                tasks.spawn(async move {
                                    let mut done = Vec::new();
                                    for action in work {
                                        let r = ops.act(&card, &action).await;
                                        let failed = r.is_err();
                                        done.push((action, r));
                                        if failed {
                                            break;
                                        }
                                    }
                                    Done::Acted(card.name, done)
                                });
                            }
                            _ => {
                                busy.remove(&name);
                            }
                        }
                    }
                    Done::Acted(name, done) => {
                        busy.remove(&name);
                        for (action, result) in done {
                            match result {
                                Ok(()) => info!(card = %name, action = %action.kind, cause = %action.cause, "done"),
                                Err(e) => {
                                    warn!(card = %name, action = %action.kind, cause = %action.cause, error = %e, "action failed");
                                    let more = dog.action_failed(&name, e.is_unreachable(), &e.to_string(), Instant::now());
                                    for a in more {
                                        record(&journal, &a);
                                    }
                                }
                            }
                        }
                    }
                }
            }
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {}
        }
    }
    tasks.abort_all();
}

fn needs_work(kind: ActionKind) -> bool {
    matches!(
        kind,
        ActionKind::Restart | ActionKind::Redeploy | ActionKind::ResetCard | ActionKind::BootCard
    )
}

fn record(journal: &mpsc::UnboundedSender<WatchdogAction>, action: &WatchdogAction) {
    match action.kind {
        ActionKind::Recovered => {
            info!(card = %action.card, action = %action.kind, cause = %action.cause, "watchdog")
        }
        _ => warn!(card = %action.card, action = %action.kind, cause = %action.cause, "watchdog"),
    }
    let _ = journal.send(action.clone());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watchdog::action::AgentSeen;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// A card whose agent dies once and comes back when restarted.
    struct FakeOps {
        running: AtomicBool,
        restarts: AtomicUsize,
    }

    impl CardOps for FakeOps {
        async fn observe(&self, _card: &Card) -> Observation {
            Observation {
                mpss_state: None,
                agent: Ok(AgentSeen {
                    binary_present: true,
                    running: self.running.load(Ordering::SeqCst),
                    hash_rate: None,
                    stopped_by_operator: false,
                }),
            }
        }

        async fn act(&self, _card: &Card, action: &WatchdogAction) -> Result<(), DeployError> {
            if action.kind == ActionKind::Restart {
                self.restarts.fetch_add(1, Ordering::SeqCst);
                self.running.store(true, Ordering::SeqCst);
            }
            Ok(())
        }
    }

    #[tokio::test]
    async fn dead_agent_is_restarted_once_and_journaled() {
        let ops = Arc::new(FakeOps {
            running: AtomicBool::new(false),
            restarts: AtomicUsize::new(0),
        });
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (stop_tx, stop_rx) = watch::channel(false);
        let config = WatchdogConfig {
            probe_interval: Duration::from_millis(50),
            ..WatchdogConfig::default()
        };
        let cards = vec![Supervised {
            card: Card::local(),
            benchmark: None,
        }];
        let driver = tokio::spawn(run_watchdog(ops.clone(), cards, config, tx, stop_rx));
        let first = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("an action within 5 s")
            .expect("journal open");
        assert_eq!(first.kind, ActionKind::Restart);
        assert_eq!(first.cause, super::super::Cause::AgentGone);
        // Several more probe rounds see a healthy agent: no further actions.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(rx.try_recv().is_err());
        assert_eq!(ops.restarts.load(Ordering::SeqCst), 1);
        stop_tx.send(true).expect("driver alive");
        tokio::time::timeout(Duration::from_secs(5), driver)
            .await
            .expect("driver stops")
            .expect("driver task");
    }
}
