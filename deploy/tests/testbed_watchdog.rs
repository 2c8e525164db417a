//! The watchdog against namespace cards: a killed agent is restarted, a deleted binary
//! redeployed, a card whose link goes down is marked unreachable and recovered. Needs root.

mod support;

use phirig_deploy::discovery::Card;
use phirig_deploy::remote::Deployer;
use phirig_deploy::ssh::{run, Input};
use phirig_deploy::watchdog::{
    run_watchdog, ActionKind, Cause, DeployerOps, Supervised, SupervisionAction, WatchdogConfig,
};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{Testbed, CARD_DIR};
use tokio::sync::{mpsc, watch};

/// Next journal entry matching `pred`, within `within`.
async fn wait_action(
    rx: &mut mpsc::UnboundedReceiver<SupervisionAction>,
    within: Duration,
    pred: impl Fn(&SupervisionAction) -> bool,
) -> SupervisionAction {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(a)) if pred(&a) => return a,
            Ok(Some(a)) => eprintln!("journal (not waited for): {a:?}"),
            Ok(None) => panic!("journal closed"),
            Err(_) => panic!("no matching watchdog action within {within:?}"),
        }
    }
}

/// Polls until the agent on `card` is healthy with a pid other than `old_pid`.
async fn wait_healthy(dep: &Deployer, card: &Card, old_pid: Option<u32>, within: Duration) -> u32 {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(st) = dep.status(card).await {
            if let (true, Some(pid)) = (st.healthy, st.pid) {
                if Some(pid) != old_pid {
                    return pid;
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} not healthy within {within:?}",
            card.name
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn on_card(dep: &Deployer, card: &Card, script: &str) {
    let out = run(card, &dep.config().ssh, script, Input::None)
        .await
        .expect("ssh");
    assert!(out.success(), "{script}: {}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn watchdog_restarts_redeploys_and_tracks_reachability() {
    let Some(bed) = Testbed::up("watchdog", 30, 2) else {
        return;
    };
    let cards = bed.static_cards();
    let token = support::token();
    let dep = Deployer::new(Testbed::deploy_config(&token));
    let mut pids = Vec::new();
    for card in &cards {
        pids.push(dep.deploy(card).await.expect("deploy").1.pid);
    }

    let ops = Arc::new(DeployerOps::new(
        Deployer::new(Testbed::deploy_config(&token)),
        None,
    ));
    let config = WatchdogConfig {
        probe_interval: Duration::from_secs(1),
        backoff_initial: Duration::from_secs(1),
        backoff_max: Duration::from_secs(4),
        ..WatchdogConfig::default()
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = watch::channel(false);
    let supervised = cards
        .iter()
        .map(|c| Supervised {
            card: c.clone(),
            benchmark: None,
        })
        .collect();
    let driver = tokio::spawn(run_watchdog(ops, supervised, config, tx, stop_rx));

    // kill -9 the agent on card 0: restarted within 10 s.
    let t = Instant::now();
    on_card(
        &dep,
        &cards[0],
        &format!("kill -9 \"$(cat {CARD_DIR}/agent/agent.pid)\""),
    )
    .await;
    let a = wait_action(&mut rx, Duration::from_secs(10), |a| {
        a.kind == ActionKind::Restart
    })
    .await;
    assert_eq!(
        (a.card.as_str(), &a.cause),
        (cards[0].name.as_str(), &Cause::AgentGone)
    );
    let pid = wait_healthy(&dep, &cards[0], Some(pids[0]), Duration::from_secs(10)).await;
    eprintln!(
        "killed agent: restart decided and healthy again (pid {pid}) after {:?}",
        t.elapsed()
    );
    assert!(
        t.elapsed() < Duration::from_secs(15),
        "took {:?}",
        t.elapsed()
    );

    // Delete card 1's binary: redeployed.
    let t = Instant::now();
    on_card(
        &dep,
        &cards[1],
        &format!("rm -f {CARD_DIR}/agent/phirig-agent"),
    )
    .await;
    let a = wait_action(&mut rx, Duration::from_secs(10), |a| {
        a.kind == ActionKind::Redeploy
    })
    .await;
    assert_eq!(
        (a.card.as_str(), &a.cause),
        (cards[1].name.as_str(), &Cause::BinaryGone)
    );
    let pid = wait_healthy(&dep, &cards[1], Some(pids[1]), Duration::from_secs(15)).await;
    let st = dep.status(&cards[1]).await.expect("status");
    assert!(st.binary_present);
    eprintln!(
        "deleted binary: redeployed (pid {pid}) after {:?}",
        t.elapsed()
    );

    // Card 0's link down: marked unreachable; back up: recovered.
    let t = Instant::now();
    Testbed::set_link(bed.first, false);
    let a = wait_action(&mut rx, Duration::from_secs(15), |a| {
        matches!(a.kind, ActionKind::MarkUnreachable { .. })
    })
    .await;
    assert_eq!(a.card, cards[0].name);
    eprintln!(
        "link down: marked unreachable after {:?} ({})",
        t.elapsed(),
        a.cause
    );
    let t = Instant::now();
    Testbed::set_link(bed.first, true);
    let a = wait_action(&mut rx, Duration::from_secs(15), |a| {
        a.kind == ActionKind::Recovered
    })
    .await;
    assert_eq!(a.card, cards[0].name);
    eprintln!("link up: recovered after {:?}", t.elapsed());

    stop_tx.send(true).expect("driver alive");
    tokio::time::timeout(Duration::from_secs(10), driver)
        .await
        .expect("driver stops")
        .expect("driver task");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mpss_error_is_reset_booted_and_redeployed() {
    let Some(bed) = Testbed::up("mpss_error", 32, 1) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let mpss = bed.fake_sysfs(tmp.path(), "x200");
    let card = mpss.card(bed.first).expect("card from fake sysfs");
    let state_file = mpss.card_dir(bed.first).join("state");
    let token = support::token();
    let dep = Deployer::new(Testbed::deploy_config(&token));
    let old = dep.deploy(&card).await.expect("deploy").1.pid;

    let ops = Arc::new(DeployerOps::new(
        Deployer::new(Testbed::deploy_config(&token)),
        Some(mpss.clone()),
    ));
    let config = WatchdogConfig {
        probe_interval: Duration::from_millis(500),
        reset_on_error: true,
        ..WatchdogConfig::default()
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = watch::channel(false);
    let supervised = vec![Supervised {
        card: card.clone(),
        benchmark: None,
    }];
    let driver = tokio::spawn(run_watchdog(ops, supervised, config, tx, stop_rx));

    std::fs::write(&state_file, "error\n").expect("state");
    let a = wait_action(&mut rx, Duration::from_secs(10), |a| {
        a.kind == ActionKind::ResetCard
    })
    .await;
    assert_eq!(
        a.cause,
        Cause::CardState {
            state: "error".into()
        }
    );
    wait_file(&state_file, "reset").await;
    // The card comes back from reset as a freshly booted card would: agent and RAM disk gone.
    on_card(
        &dep,
        &card,
        &format!("kill -9 \"$(cat {CARD_DIR}/agent/agent.pid)\"; rm -rf {CARD_DIR}/agent"),
    )
    .await;
    std::fs::write(&state_file, "ready\n").expect("state");
    wait_action(&mut rx, Duration::from_secs(10), |a| {
        a.kind == ActionKind::BootCard
    })
    .await;
    wait_file(&state_file, "boot").await;
    std::fs::write(&state_file, "online\n").expect("state");
    let a = wait_action(&mut rx, Duration::from_secs(10), |a| {
        a.kind == ActionKind::Redeploy
    })
    .await;
    assert_eq!(a.cause, Cause::BinaryGone);
    wait_healthy(&dep, &card, Some(old), Duration::from_secs(15)).await;

    stop_tx.send(true).expect("driver alive");
    tokio::time::timeout(Duration::from_secs(10), driver)
        .await
        .expect("driver stops")
        .expect("driver task");
}

/// Waits (bounded) until the fake sysfs `state` file holds `word`, as written by the watchdog.
async fn wait_file(path: &std::path::Path, word: &str) {
    for _ in 0..50 {
        if std::fs::read_to_string(path).is_ok_and(|s| s.trim() == word) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{} never became {word:?}", path.display());
}
