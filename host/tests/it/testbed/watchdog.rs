//! The watchdog against namespace cards running the real agent against a real pool: a killed
//! agent is restarted, a deleted binary redeployed, a slow one restarted, a card whose link goes
//! down marked unreachable and recovered, an MPSS card in `error` reset and booted; an operator's
//! stop is respected, and racing restarts never leave two agents. Needs root.

use phirig_deploy::discovery::Card;
use phirig_deploy::remote::{DeployConfig, Deployer, StopOutcome};
use phirig_deploy::ssh::{run, Input};
use phirig_deploy::watchdog::{
    run_watchdog, ActionKind, Cause, DeployerOps, Supervised, WatchdogAction, WatchdogConfig,
};
use phirig_test_support::mining;
use phirig_test_support::testbed::{self, Testbed, AGENT_PORT, CARD_DIR};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::deployable_agent;
use tokio::sync::{mpsc, watch, Mutex};

/// Each test runs real miners; one test at a time keeps a 2-core machine responsive enough for
/// the timing rules (restart within 10 s) to mean something.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// A real pool and the config that points the real agent at it.
async fn pool_and_config(token: &str) -> (phirig_pool::server::ServerHandle, DeployConfig) {
    let pool = mining::start_card_pool().await;
    let cfg = Testbed::agent_config(
        &deployable_agent(),
        token,
        pool.local_addr().port(),
        mining::ALGO,
    );
    (pool, cfg)
}

/// Runs the watchdog over `cards` (benchmark per card) until the returned sender says stop.
fn spawn_watchdog(
    cfg: DeployConfig,
    mpss: Option<phirig_deploy::discovery::MpssDiscovery>,
    cards: &[(Card, Option<f64>)],
    config: WatchdogConfig,
) -> (
    mpsc::UnboundedReceiver<WatchdogAction>,
    watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
) {
    let ops = Arc::new(DeployerOps::new(Deployer::new(cfg), mpss));
    let (tx, rx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = watch::channel(false);
    let supervised = cards
        .iter()
        .map(|(c, b)| Supervised {
            card: c.clone(),
            benchmark: *b,
        })
        .collect();
    let driver = tokio::spawn(run_watchdog(ops, supervised, config, tx, stop_rx));
    (rx, stop_tx, driver)
}

async fn stop_watchdog(stop_tx: watch::Sender<bool>, driver: tokio::task::JoinHandle<()>) {
    stop_tx.send(true).expect("driver alive");
    tokio::time::timeout(Duration::from_secs(10), driver)
        .await
        .expect("driver stops")
        .expect("driver task");
}

/// Fails if any action about `card` other than those `allowed` arrives within `within`.
async fn expect_quiet(
    rx: &mut mpsc::UnboundedReceiver<WatchdogAction>,
    card: &str,
    within: Duration,
    allowed: impl Fn(&WatchdogAction) -> bool,
) {
    let deadline = tokio::time::Instant::now() + within;
    while let Ok(got) = tokio::time::timeout_at(deadline, rx.recv()).await {
        let a = got.expect("journal open");
        assert!(a.card != card || allowed(&a), "unexpected action {a:?}");
        eprintln!("journal (other card or allowed): {a:?}");
    }
}

/// The single live agent on card `i`, which the pid file must name.
async fn one_agent(dep: &Deployer, card: &Card, i: u32) -> u32 {
    let st = dep.status(card).await.expect("status");
    let pids = Testbed::pids_named(i, "phirig-agent");
    assert_eq!(pids.len(), 1, "agents on {}: {pids:?}", card.name);
    assert_eq!(st.pid, Some(pids[0]), "pid file names the live agent");
    pids[0]
}

/// Next journal entry matching `pred`, within `within`.
async fn wait_action(
    rx: &mut mpsc::UnboundedReceiver<WatchdogAction>,
    within: Duration,
    pred: impl Fn(&WatchdogAction) -> bool,
) -> WatchdogAction {
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
    let _serial = ONE_AT_A_TIME.lock().await;
    let Some(bed) = Testbed::up("watchdog", 30, 2) else {
        return;
    };
    let cards = bed.static_cards();
    let token = testbed::token();
    let (pool, cfg) = pool_and_config(&token).await;
    let dep = Deployer::new(cfg.clone());
    let mut pids = Vec::new();
    for card in &cards {
        pids.push(dep.deploy(card).await.expect("deploy").1.pid);
    }
    let config = WatchdogConfig {
        probe_interval: Duration::from_secs(1),
        backoff_initial: Duration::from_secs(1),
        backoff_max: Duration::from_secs(4),
        ..WatchdogConfig::default()
    };
    let both: Vec<_> = cards.iter().map(|c| (c.clone(), None)).collect();
    let (mut rx, stop_tx, driver) = spawn_watchdog(cfg, None, &both, config);

    // kill -9 the agent on card 0: restarted (and answering) within 10 s.
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
    let decided = t.elapsed();
    let pid = wait_healthy(&dep, &cards[0], Some(pids[0]), Duration::from_secs(10)).await;
    eprintln!(
        "killed agent: restart decided after {decided:?}, healthy again (pid {pid}) after {:?}",
        t.elapsed()
    );
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(one_agent(&dep, &cards[0], bed.first).await, pid);

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
    let pid = wait_healthy(&dep, &cards[1], Some(pids[1]), Duration::from_secs(20)).await;
    let st = dep.status(&cards[1]).await.expect("status");
    assert!(st.binary_present);
    assert_eq!(one_agent(&dep, &cards[1], bed.first + 1).await, pid);
    eprintln!(
        "deleted binary: redeployed (pid {pid}) after {:?}",
        t.elapsed()
    );

    // Card 0's link down: marked unreachable, retried with growing waits; back up: recovered.
    let t = Instant::now();
    Testbed::set_link(bed.first, false);
    let a = wait_action(&mut rx, Duration::from_secs(15), |a| {
        matches!(a.kind, ActionKind::MarkUnreachable { .. })
    })
    .await;
    assert_eq!(a.card, cards[0].name);
    assert!(matches!(a.cause, Cause::Unreachable { .. }), "{a:?}");
    eprintln!(
        "link down: marked unreachable after {:?} ({})",
        t.elapsed(),
        a.cause
    );
    // Down for a while: no restart or redeploy is attempted on a card that cannot be reached.
    expect_quiet(&mut rx, &cards[0].name, Duration::from_secs(5), |_| false).await;
    let t = Instant::now();
    Testbed::set_link(bed.first, true);
    let a = wait_action(&mut rx, Duration::from_secs(15), |a| {
        a.kind == ActionKind::Recovered
    })
    .await;
    assert_eq!(a.card, cards[0].name);
    eprintln!("link up: recovered after {:?}", t.elapsed());
    // The agent kept running behind the dead link: still the one, still healthy.
    let pid = one_agent(&dep, &cards[0], bed.first).await;
    assert!(
        dep.status(&cards[0]).await.expect("status").healthy,
        "pid {pid}"
    );

    stop_watchdog(stop_tx, driver).await;
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mpss_error_is_reset_booted_and_redeployed() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let Some(bed) = Testbed::up("mpss_error", 32, 1) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let mpss = bed.fake_sysfs(tmp.path(), "x200");
    let card = mpss.card(bed.first).expect("card from fake sysfs");
    let state_file = mpss.card_dir(bed.first).join("state");
    let token = testbed::token();
    let (pool, cfg) = pool_and_config(&token).await;
    let dep = Deployer::new(cfg.clone());
    let old = dep.deploy(&card).await.expect("deploy").1.pid;

    let config = WatchdogConfig {
        probe_interval: Duration::from_millis(500),
        reset_on_error: true,
        ..WatchdogConfig::default()
    };
    let (mut rx, stop_tx, driver) =
        spawn_watchdog(cfg, Some(mpss.clone()), &[(card.clone(), None)], config);

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
    let pid = wait_healthy(&dep, &card, Some(old), Duration::from_secs(20)).await;
    assert_eq!(one_agent(&dep, &card, bed.first).await, pid);

    stop_watchdog(stop_tx, driver).await;
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn operator_stop_is_respected_until_started_again() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let Some(bed) = Testbed::up("operator_stop", 33, 1) else {
        return;
    };
    let card = bed.static_cards().remove(0);
    let token = testbed::token();
    let (pool, cfg) = pool_and_config(&token).await;
    // The operator's own deployer, as `phirig stop` in another process would have.
    let operator = Deployer::new(cfg.clone());
    let first = operator.deploy(&card).await.expect("deploy").1.pid;
    let config = WatchdogConfig {
        probe_interval: Duration::from_millis(500),
        ..WatchdogConfig::default()
    };
    let (mut rx, stop_tx, driver) =
        spawn_watchdog(cfg.clone(), None, &[(card.clone(), None)], config);

    assert_eq!(
        operator.stop(&card).await.expect("stop"),
        StopOutcome::Terminated
    );
    // Eight probe intervals: the watchdog sees the agent gone and leaves it so.
    expect_quiet(&mut rx, &card.name, Duration::from_secs(4), |_| false).await;
    let st = operator.status(&card).await.expect("status");
    assert_eq!((st.summary(), st.stopped_by_operator), ("stopped", true));
    assert!(Testbed::pids_named(bed.first, "phirig-agent").is_empty());

    // A watchdog restart decided just before the stop landed still starts nothing.
    let late = Deployer::new(cfg);
    assert!(late
        .supervised_restart(&card, None)
        .await
        .expect("supervised restart")
        .is_none());
    assert!(Testbed::pids_named(bed.first, "phirig-agent").is_empty());

    // Started again by the operator: supervised again, so a kill -9 is repaired.
    let started = operator.start(&card).await.expect("start");
    assert!(started.pid != first && !started.already_running);
    let again = operator.start(&card).await.expect("second start");
    assert_eq!((again.pid, again.already_running), (started.pid, true));
    assert_eq!(one_agent(&operator, &card, bed.first).await, started.pid);
    on_card(
        &operator,
        &card,
        &format!("kill -9 \"$(cat {CARD_DIR}/agent/agent.pid)\""),
    )
    .await;
    let a = wait_action(&mut rx, Duration::from_secs(10), |a| {
        a.kind == ActionKind::Restart
    })
    .await;
    assert_eq!(a.cause, Cause::AgentGone);
    let pid = wait_healthy(&operator, &card, Some(started.pid), Duration::from_secs(15)).await;
    assert_eq!(one_agent(&operator, &card, bed.first).await, pid);

    stop_watchdog(stop_tx, driver).await;
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn operator_restarts_racing_the_watchdog_never_double_start() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let Some(bed) = Testbed::up("restart_race", 34, 1) else {
        return;
    };
    let card = bed.static_cards().remove(0);
    let token = testbed::token();
    let (pool, cfg) = pool_and_config(&token).await;
    let dep = Deployer::new(cfg.clone());
    dep.deploy(&card).await.expect("deploy");
    let config = WatchdogConfig {
        probe_interval: Duration::from_millis(300),
        ..WatchdogConfig::default()
    };
    let (mut rx, stop_tx, driver) =
        spawn_watchdog(cfg.clone(), None, &[(card.clone(), None)], config);

    for round in 0..3 {
        // The agent dies; the watchdog will restart it while three operators (separate
        // deployers, separate ssh sessions, as separate `phirig restart` processes) do too.
        on_card(
            &dep,
            &card,
            &format!("kill -9 \"$(cat {CARD_DIR}/agent/agent.pid)\""),
        )
        .await;
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..3 {
            let (card, d) = (card.clone(), Deployer::new(cfg.clone()));
            set.spawn(async move { d.restart(&card).await });
        }
        while let Some(r) = set.join_next().await {
            r.expect("task").expect("operator restart");
        }
        // Whether the watchdog saw the agent gone before an operator's restart landed is a
        // race by design; whatever it did must be a restart for that cause, and in the end
        // exactly one agent runs. Let its restart (and any probe after it) finish first.
        expect_quiet(&mut rx, &card.name, Duration::from_secs(4), |a| {
            a.kind == ActionKind::Restart && a.cause == Cause::AgentGone
        })
        .await;
        let pid = one_agent(&dep, &card, bed.first).await;
        assert!(dep.status(&card).await.expect("status").healthy);
        eprintln!("round {round}: one agent, pid {pid}");
    }

    stop_watchdog(stop_tx, driver).await;
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn low_hash_rate_for_the_window_restarts_the_agent() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let Some(bed) = Testbed::up("low_rate", 35, 2) else {
        return;
    };
    let cards = bed.static_cards();
    let token = testbed::token();
    let (pool, cfg) = pool_and_config(&token).await;
    let dep = Deployer::new(cfg.clone());
    let mut pids = Vec::new();
    for card in &cards {
        pids.push(dep.deploy(card).await.expect("deploy").1.pid);
    }
    // Both cards "benchmarked" at 20 H/s: a mining one-thread cn-pico agent does far more even
    // on a busy machine, a paused one does nothing. Rates come from the agents' own counters.
    let benchmark = Some(20.0);
    let config = WatchdogConfig {
        probe_interval: Duration::from_millis(500),
        low_rate_fraction: 0.5,
        low_rate_window: Duration::from_secs(3),
        start_grace: Duration::from_secs(2),
        ..WatchdogConfig::default()
    };
    let both: Vec<_> = cards.iter().map(|c| (c.clone(), benchmark)).collect();
    let (mut rx, stop_tx, driver) = spawn_watchdog(cfg, None, &both, config);

    // Pause card 1's miner through its API (a control request: needs the token).
    let url = format!("http://{}:{}/json_rpc", cards[1].address, AGENT_PORT);
    let http = reqwest::Client::new();
    let pause = serde_json::json!({"id": 1, "jsonrpc": "2.0", "method": "pause"});
    let denied = http.post(&url).json(&pause).send().await.expect("post");
    assert_eq!(denied.status(), 401);
    let t = Instant::now();
    let ok = http
        .post(&url)
        .bearer_auth(&token)
        .json(&pause)
        .send()
        .await
        .expect("post");
    assert!(ok.status().is_success());
    let a = wait_action(&mut rx, Duration::from_secs(20), |a| {
        a.kind == ActionKind::Restart
    })
    .await;
    assert_eq!(a.card, cards[1].name, "only the paused card is slow: {a:?}");
    let Cause::LowHashRate { rate, for_secs, .. } = a.cause else {
        panic!("{a:?}")
    };
    assert!(rate < 10.0 && for_secs >= 3, "{a:?}");
    eprintln!(
        "paused agent: restarted for {} after {:?}",
        a.cause,
        t.elapsed()
    );
    let pid = wait_healthy(&dep, &cards[1], Some(pids[1]), Duration::from_secs(15)).await;
    let body = dep.fetch(&cards[1]).await.expect("fetch");
    assert!(body.contains("\"paused\": false"), "{body}");
    assert_eq!(one_agent(&dep, &cards[1], bed.first + 1).await, pid);
    // The mining card was never touched.
    assert_eq!(one_agent(&dep, &cards[0], bed.first).await, pids[0]);

    stop_watchdog(stop_tx, driver).await;
    pool.shutdown().await;
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
