//! Pools that go quiet at a difficulty where no share is due, on loopback: with default settings
//! the client leaves a silent or deaf pool within 30 s, and keeps pools that merely dislike a
//! probe. Measured times are printed (`--nocapture`) for the README.

use std::time::{Duration, Instant};

use phirig_pool::client::{self, ClientConfig, ClientEvent, ClientHandle, HangCause, PoolConfig};
use phirig_pool::client::{PoolUrl, Timeouts};
use phirig_pool::server::{Fault, ServerConfig, ServerHandle};
use phirig_pool::session::STALE_HEIGHT_BOUND;
use serde_json::json;
use tokio::sync::mpsc::Receiver;
use tokio::time::timeout;

use crate::server::support::{error_message, start, stop, test_config, RawClient, STEP};

/// The bound from the fault to mining on the backup.
const FAILOVER_BOUND: Duration = Duration::from_secs(30);
/// Patience for a failover: the bound and some.
const FAILOVER_WAIT: Duration = Duration::from_secs(45);

/// A pool on which no share is due within any test window (difficulty 2^40).
fn no_share_pool(advertise_keepalive: bool) -> ServerConfig {
    ServerConfig {
        start_difficulty: 1 << 40,
        min_difficulty: 1 << 40,
        advertise_keepalive,
        ..test_config()
    }
}

fn url(pool: &ServerHandle) -> PoolUrl {
    PoolUrl::parse(&format!("stratum+tcp://{}", pool.local_addr())).expect("loopback url")
}

/// The agent's defaults: default timeouts, no `-k`.
fn default_client(pools: &[&ServerHandle]) -> ClientConfig {
    let pools = pools
        .iter()
        .map(|p| PoolConfig {
            keepalive: false,
            ..PoolConfig::new(url(p), "wallet")
        })
        .collect();
    ClientConfig::new(pools, "phirig-test", vec!["cn/0".into()])
}

/// The next event that `want` picks, skipping others; panics after `wait`.
async fn next_event<T>(
    events: &mut Receiver<ClientEvent>,
    wait: Duration,
    mut want: impl FnMut(&ClientEvent) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let ev = timeout(deadline - tokio::time::Instant::now(), events.recv())
            .await
            .unwrap_or_else(|_| panic!("no such event within {wait:?}"))
            .expect("the client is running");
        if let Some(t) = want(&ev) {
            return t;
        }
    }
}

fn job_from(pool: usize) -> impl FnMut(&ClientEvent) -> Option<()> {
    move |ev| matches!(ev, ClientEvent::Job(j) if j.pool == pool).then_some(())
}

/// Mine on a primary, inject `fault` right after its login reply (the worst moment: the probe
/// is then furthest away) and time it until a job from the backup arrives.
async fn time_to_backup(case: &str, primary_cfg: ServerConfig, fault: Fault) -> Duration {
    let primary = start(primary_cfg).await;
    let backup = start(no_share_pool(true)).await;
    let (handle, mut events) = client::spawn(default_client(&[&primary, &backup]));
    next_event(&mut events, STEP, job_from(0)).await;
    primary.set_fault(fault);
    let faulted = Instant::now();
    let took = time_failover(case, &handle, &mut events, faulted).await;
    handle.shutdown(Duration::from_secs(1)).await;
    stop(primary).await;
    stop(backup).await;
    took
}

/// From `faulted` until mining on the backup, which must be the standby taking over.
async fn time_failover(
    case: &str,
    handle: &ClientHandle,
    events: &mut Receiver<ClientEvent>,
    faulted: Instant,
) -> Duration {
    let cause = next_event(events, FAILOVER_WAIT, |ev| match ev {
        ClientEvent::Disconnected { pool: 0, cause } => Some(cause.clone()),
        _ => None,
    })
    .await;
    let left = faulted.elapsed();
    next_event(events, STEP, job_from(1)).await;
    let took = faulted.elapsed();
    println!(
        "{case}: pool left {left:.1?} after the fault ({cause}), mining on the backup {:.1?} later",
        took - left
    );
    check_no_share_lost(handle);
    assert!(took <= FAILOVER_BOUND, "{case}: {took:?}");
    assert_eq!(
        handle.stats().standby_promotions,
        1,
        "the standby took over"
    );
    took
}

/// Wait until the client has its standby logged in.
async fn standby_ready(handle: &ClientHandle) {
    for _ in 0..100 {
        if handle.stats().standby.is_some_and(|s| s.state == "ready") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no standby: {:?}", handle.stats().standby);
}

fn check_no_share_lost(handle: &ClientHandle) {
    let s = handle.stats().shares;
    assert_eq!(
        s.found,
        s.accepted + s.rejected + s.stale + s.in_flight,
        "{s:?}"
    );
    assert_eq!((s.rejected, s.stale), (0, 0), "{s:?}");
}

#[tokio::test]
async fn silent_after_login_with_keepalive_is_left_within_30_s() {
    let took = time_to_backup(
        "keepalive advertised",
        no_share_pool(true),
        Fault::SilentAfterLogin,
    )
    .await;
    assert!(
        took >= Duration::from_secs(20),
        "found by the probe's timer"
    );
}

#[tokio::test]
async fn silent_after_login_without_keepalive_is_left_within_30_s() {
    time_to_backup(
        "no keepalive advertised",
        no_share_pool(false),
        Fault::SilentAfterLogin,
    )
    .await;
}

#[tokio::test]
async fn a_pool_that_stops_reading_is_left_within_30_s() {
    time_to_backup("stops reading", no_share_pool(false), Fault::StopReading).await;
}

#[tokio::test]
async fn a_zombie_pool_is_left_when_the_standby_is_a_block_ahead() {
    let primary = start(no_share_pool(true)).await;
    let backup = start(no_share_pool(true)).await;
    let (handle, mut events) = client::spawn(default_client(&[&primary, &backup]));
    next_event(&mut events, STEP, job_from(0)).await;
    standby_ready(&handle).await;
    // Alive to probes, work frozen; the chain moves on at the backup.
    primary.set_fault(Fault::StopJobs);
    backup.new_block();
    let faulted = Instant::now();
    let took = time_failover("zombie", &handle, &mut events, faulted).await;
    assert!(took >= STALE_HEIGHT_BOUND, "{took:?}");
    assert_eq!(handle.stats().reconnects.get("stale_height"), Some(&1));
    handle.shutdown(Duration::from_secs(1)).await;
    stop(primary).await;
    stop(backup).await;
}

// ------------------------------------------------------------ healthy pools that dislike probes

/// Shrunk so a few seconds hold many probe cycles.
fn quick_probes() -> Timeouts {
    Timeouts {
        liveness: Duration::from_millis(200),
        response: Duration::from_secs(2),
        ..Timeouts::default()
    }
}

/// Run the client on a healthy pool for `span`; returns (logins, jobs, session ends).
async fn stay(
    pool_cfg: ServerConfig,
    fault: Fault,
    span: Duration,
) -> (usize, usize, Vec<HangCause>) {
    let pool = start(ServerConfig { fault, ..pool_cfg }).await;
    let backup = start(no_share_pool(true)).await;
    let mut cfg = default_client(&[&pool, &backup]);
    cfg.timeouts = quick_probes();
    let (handle, mut events) = client::spawn(cfg);
    let (mut logins, mut jobs, mut ends) = (0, 0, Vec::new());
    let until = tokio::time::Instant::now() + span;
    while let Ok(Some(ev)) = tokio::time::timeout_at(until, events.recv()).await {
        match ev {
            ClientEvent::Connected { pool, .. } => {
                assert_eq!(pool, 0, "a healthy pool was left");
                logins += 1;
            }
            ClientEvent::Job(_) => jobs += 1,
            ClientEvent::Disconnected { cause, .. } => ends.push(cause),
            _ => {}
        }
    }
    check_no_share_lost(&handle);
    handle.shutdown(Duration::from_secs(1)).await;
    stop(pool).await;
    stop(backup).await;
    (logins, jobs, ends)
}

#[tokio::test]
async fn a_pool_closing_on_keepalived_is_kept_with_one_reconnect() {
    let (logins, jobs, ends) = stay(
        no_share_pool(true),
        Fault::CloseOnKeepalived,
        Duration::from_secs(6),
    )
    .await;
    assert_eq!(
        ends,
        vec![HangCause::ProbeRefused {
            method: phirig_pool::session::ProbeMethod::Keepalived
        }]
    );
    assert_eq!(
        (logins, jobs),
        (2, 2),
        "getjob probes after that restart nothing"
    );
}

#[tokio::test]
async fn a_pool_answering_each_getjob_with_a_new_job_is_kept_at_no_cost() {
    let (logins, jobs, ends) =
        stay(no_share_pool(false), Fault::None, Duration::from_secs(6)).await;
    assert_eq!(ends, vec![]);
    assert_eq!((logins, jobs), (1, 1), "probe answers restart nothing");
}

// ------------------------------------------------------------ the reference pool's side

#[tokio::test]
async fn the_reference_pool_answers_getjob_with_a_new_job_and_moves_blocks() {
    let pool = start(ServerConfig {
        height: 10,
        ..no_share_pool(false)
    })
    .await;
    let mut c = RawClient::connect(pool.local_addr()).await;
    let id = c
        .request("login", json!({"login": "w", "pass": "x", "agent": "t"}))
        .await;
    let login = c.reply(id).await;
    assert!(login["result"]["extensions"]
        .as_array()
        .is_some_and(|e| !e.contains(&json!("keepalive"))));
    let session = login["result"]["id"].as_str().expect("session").to_string();
    let first = login["result"]["job"].clone();
    let id = c.request("getjob", json!({"id": session})).await;
    let answer = c.reply(id).await["result"].clone();
    assert_ne!(answer["job_id"], first["job_id"]);
    assert_eq!(answer["height"], json!(10));
    pool.new_block();
    assert_eq!(c.job_notification().await["height"], json!(11));
    pool.set_fault(Fault::StopJobs);
    let id = c.request("getjob", json!({"id": session})).await;
    assert!(
        error_message(&c.reply(id).await).is_some(),
        "a zombie answers, with no work"
    );
    let id = c.request("getjob", json!({"id": "someone else"})).await;
    assert!(error_message(&c.reply(id).await).is_some());
    pool.set_fault(Fault::CloseOnKeepalived);
    c.keepalived(&session).await;
    assert!(c.line(STEP).await.is_err(), "closed on keepalived");
    stop(pool).await;
}

// ------------------------------------------------------------ the standby itself

/// Poll the client's standby until `want` holds for its state.
async fn standby_state(handle: &ClientHandle, want: &str) {
    for _ in 0..200 {
        if handle.stats().standby.is_some_and(|s| s.state == want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("standby never {want}: {:?}", handle.stats().standby);
}

#[tokio::test]
async fn a_failing_standby_rests_comes_back_and_still_takes_over() {
    let primary = start(no_share_pool(true)).await;
    let backup = start(no_share_pool(true)).await;
    let mut cfg = default_client(&[&primary, &backup]);
    cfg.timeouts = Timeouts {
        probe_interval: Duration::from_secs(1),
        ..quick_probes()
    };
    let (handle, mut events) = client::spawn(cfg);
    next_event(&mut events, STEP, job_from(0)).await;
    standby_state(&handle, "ready").await;
    // Reset is replayed on every new connection while it is set: the standby keeps failing.
    backup.set_fault(Fault::Reset);
    standby_state(&handle, "down").await;
    assert!(handle.stats().pools[1].sick);
    assert_eq!(
        handle.stats().current_pool,
        Some(0),
        "mining is not disturbed"
    );
    backup.set_fault(Fault::None);
    standby_state(&handle, "ready").await;
    assert!(!handle.stats().pools[1].sick, "a standby login clears it");
    primary.set_fault(Fault::SilentAfterLogin);
    next_event(&mut events, STEP, job_from(1)).await;
    assert_eq!(handle.stats().standby_promotions, 1);
    check_no_share_lost(&handle);
    handle.shutdown(Duration::from_secs(1)).await;
    stop(primary).await;
    stop(backup).await;
}
