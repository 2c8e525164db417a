//! The real client against a tiny scripted pool on loopback: every fault mode is detected within
//! its timeout + 1 s, the client reconnects or fails over (and back), and shares add up.
use std::time::{Duration, Instant};

use phirig_pool::client::{ClientEvent, HangCause, PoolUrl, ShareId, ShareOutcome, Timeouts};
use phirig_pool::latency::StampSource;
use phirig_pool::protocol::{ReconnectParams, Response, ServerMessage};
use tokio::net::TcpSocket;

use super::events::{assert_books_balance, spawn, within, SEC};
use super::scripted_pool::{config, share, Step, TestPool};

#[tokio::test]
async fn silent_after_login_fails_over_and_kernel_rtt_is_reported() {
    let primary = TestPool::start(vec![vec![Step::Login("p-1", &[]), Step::Silent]]).await;
    let backup = TestPool::start(vec![vec![Step::Login("b-1", &[]), Step::Serve]]).await;
    let (handle, mut rx) = spawn(config(&[primary.url(), backup.url()]));

    let job = rx.job_from(0).await;
    let sent_at = Instant::now();
    let lost = handle.submit(share(&job, 1));
    let (cause, at) = rx.disconnect(0).await;
    assert_eq!(cause, HangCause::ResponseTimeout { method: "submit" });
    within(at - sent_at, 2 * SEC, "response timeout");
    assert!(matches!(rx.outcome(lost).await, ShareOutcome::Stale(_)));

    let job = rx.job_from(1).await;
    within(sent_at.elapsed(), 3 * SEC, "failover to the next pool");
    for n in 0..5 {
        let id = handle.submit(share(&job, 100 + n));
        assert_eq!(rx.outcome(id).await, ShareOutcome::Accepted);
    }
    let stats = handle.stats();
    assert_eq!(stats.current_pool, Some(1));
    assert_eq!(stats.reconnects.get("response_timeout"), Some(&1));
    let rtt = stats.pools[1].rtt.clone().expect("rtt samples");
    assert_ne!(rtt.source, StampSource::UserSpace, "{rtt:?}");
    assert!(rtt.kernel_gap_median.is_some());
    assert!(rtt.min <= rtt.median && rtt.median <= rtt.p99);
    assert_eq!(stats.shares.accepted, 5);
    assert_eq!(stats.shares.stale, 1);
    assert_books_balance(&handle);
    handle.shutdown(SEC).await;
}

#[tokio::test]
async fn pool_that_never_answers_login_is_left_within_the_response_timeout() {
    let primary = TestPool::start(vec![vec![Step::Silent]]).await;
    let backup = TestPool::start(vec![vec![Step::Login("b-1", &[]), Step::Serve]]).await;
    let started = Instant::now();
    let (handle, mut rx) = spawn(config(&[primary.url(), backup.url()]));
    let (cause, at) = rx.disconnect(0).await;
    assert_eq!(cause, HangCause::ResponseTimeout { method: "login" });
    within(at - started, 2 * SEC, "login response timeout");
    rx.job_from(1).await;
    handle.shutdown(SEC).await;
}

#[tokio::test]
async fn no_new_job_is_an_idle_timeout_then_reconnects() {
    let pool = TestPool::start(vec![
        vec![Step::Login("j-1", &[]), Step::Silent],
        vec![Step::Login("j-2", &[]), Step::Serve],
    ])
    .await;
    let mut cfg = config(&[pool.url()]);
    cfg.timeouts.idle = SEC;
    let (handle, mut rx) = spawn(cfg);
    let (_, job_at) = rx
        .wait_for("job", |e| matches!(e, ClientEvent::Job(_)))
        .await;
    let (cause, at) = rx.disconnect(0).await;
    assert_eq!(cause, HangCause::IdleTimeout);
    within(at - job_at, 2 * SEC, "idle timeout");
    let job = rx.job_from(0).await;
    assert_eq!(job.job_id, "j-2");
    handle.shutdown(SEC).await;
}

#[tokio::test]
async fn pool_that_stops_reading_is_a_write_stall() {
    // Small buffers on both ends so a few hundred KiB of submits fill them.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(8).unwrap();
    let pool = TestPool::serve(
        listener,
        vec![vec![Step::Login("j-1", &[]), Step::StopReading]],
        None,
    );
    let mut cfg = config(&[pool.url()]);
    cfg.send_buffer = Some(4096);
    cfg.timeouts.response = 10 * SEC;
    let (handle, mut rx) = spawn(cfg);
    let job = rx.job_from(0).await;
    let sent_at = Instant::now();
    // ~80 KB of submits: far more than the 4 KiB buffers on both ends hold, few enough that
    // queueing them costs nothing next to the 1 s stall timeout in a debug build.
    let ids: Vec<ShareId> = (0..400).map(|n| handle.submit(share(&job, n))).collect();
    let (cause, at) = rx.disconnect(0).await;
    assert_eq!(cause, HangCause::WriteStalled);
    within(at - sent_at, 2 * SEC, "write stall");
    for id in ids {
        assert!(matches!(rx.outcome(id).await, ShareOutcome::Stale(_)));
    }
    let s = handle.stats().shares;
    assert_eq!((s.found, s.stale, s.in_flight), (400, 400, 0));
    handle.shutdown(SEC).await;
}

#[tokio::test]
async fn reset_is_detected_at_once_and_the_pool_is_retried() {
    let pool = TestPool::start(vec![
        vec![
            Step::Login("j-1", &[]),
            Step::Sleep(Duration::from_millis(200)),
            Step::Reset,
        ],
        vec![Step::Login("j-2", &[]), Step::Serve],
    ])
    .await;
    let (handle, mut rx) = spawn(config(&[pool.url()]));
    let (_, job_at) = rx
        .wait_for("job", |e| matches!(e, ClientEvent::Job(_)))
        .await;
    let (cause, at) = rx.disconnect(0).await;
    assert!(
        matches!(cause, HangCause::Io(_) | HangCause::Closed),
        "{cause:?}"
    );
    within(at - job_at, SEC, "reset");
    assert_eq!(rx.job_from(0).await.job_id, "j-2");
    // The new session's link: plain TCP to the pool's address.
    let link = handle.stats().link.expect("a link while logged in");
    assert!(link.ip.is_loopback(), "{link:?}");
    assert_eq!((link.tls_version(), link.tls_fingerprint()), (None, None));
    handle.shutdown(SEC).await;
}

#[tokio::test]
async fn garbage_line_fails_over() {
    let primary = TestPool::start(vec![vec![
        Step::Login("p-1", &[]),
        Step::Raw("this is not json\n".into()),
        Step::Silent,
    ]])
    .await;
    let backup = TestPool::start(vec![vec![Step::Login("b-1", &[]), Step::Serve]]).await;
    let (handle, mut rx) = spawn(config(&[primary.url(), backup.url()]));
    let (cause, _) = rx.disconnect(0).await;
    assert!(matches!(cause, HangCause::Malformed(_)), "{cause:?}");
    rx.job_from(1).await;
    handle.shutdown(SEC).await;
}

#[tokio::test]
async fn oversized_line_is_refused_without_buffering_it() {
    let primary = TestPool::start(vec![vec![
        Step::Login("p-1", &[]),
        Step::Raw("x".repeat(70 * 1024)),
        Step::Silent,
    ]])
    .await;
    let backup = TestPool::start(vec![vec![Step::Login("b-1", &[]), Step::Serve]]).await;
    let (handle, mut rx) = spawn(config(&[primary.url(), backup.url()]));
    let (_, job_at) = rx
        .wait_for("job", |e| matches!(e, ClientEvent::Job(_)))
        .await;
    let (cause, at) = rx.disconnect(0).await;
    assert_eq!(cause, HangCause::Oversized);
    within(at - job_at, SEC, "oversized line");
    rx.job_from(1).await;
    handle.shutdown(SEC).await;
}

#[tokio::test]
async fn stall_mid_line_is_a_response_timeout() {
    let pool = TestPool::start(vec![
        vec![
            Step::Login("j-1", &[]),
            Step::AwaitLine,
            Step::Raw("{\"id\":2,\"jsonrpc\":\"2.0\",\"res".into()),
            Step::Silent,
        ],
        vec![Step::Login("j-2", &[]), Step::Serve],
    ])
    .await;
    let (handle, mut rx) = spawn(config(&[pool.url()]));
    let job = rx.job_from(0).await;
    let sent_at = Instant::now();
    let id = handle.submit(share(&job, 7));
    let (cause, at) = rx.disconnect(0).await;
    assert_eq!(cause, HangCause::ResponseTimeout { method: "submit" });
    within(at - sent_at, 2 * SEC, "stall mid-line");
    assert!(matches!(rx.outcome(id).await, ShareOutcome::Stale(_)));
    handle.shutdown(SEC).await;
}

#[tokio::test]
async fn slow_drip_reply_is_a_response_timeout() {
    let reply = ServerMessage::Response(Response::status(2, "OK")).encode();
    let pool = TestPool::start(vec![
        vec![
            Step::Login("j-1", &[]),
            Step::AwaitLine,
            Step::Drip(reply, Duration::from_millis(100)),
        ],
        vec![Step::Login("j-2", &[]), Step::Serve],
    ])
    .await;
    let (handle, mut rx) = spawn(config(&[pool.url()]));
    let job = rx.job_from(0).await;
    let sent_at = Instant::now();
    let id = handle.submit(share(&job, 7));
    let (cause, at) = rx.disconnect(0).await;
    assert_eq!(cause, HangCause::ResponseTimeout { method: "submit" });
    within(at - sent_at, 2 * SEC, "slow drip");
    assert!(matches!(rx.outcome(id).await, ShareOutcome::Stale(_)));
    assert_books_balance(&handle);
    handle.shutdown(SEC).await;
}

#[tokio::test]
async fn client_reconnect_moves_to_the_given_port() {
    let target = TestPool::start(vec![vec![Step::Login("t-1", &[]), Step::Serve]]).await;
    let msg = ServerMessage::Reconnect(ReconnectParams {
        host: "127.0.0.1".into(),
        port: target.addr.port(),
        wait: None,
    });
    let pool = TestPool::start(vec![vec![
        Step::Login("j-1", &[]),
        Step::Raw(msg.encode()),
        Step::Silent,
    ]])
    .await;
    let (handle, mut rx) = spawn(config(&[pool.url()]));
    let (cause, _) = rx.disconnect(0).await;
    assert_eq!(cause, HangCause::ReconnectRequested);
    let (ev, _) = rx
        .wait_for("connected", |e| matches!(e, ClientEvent::Connected { .. }))
        .await;
    let ClientEvent::Connected { url, .. } = ev else {
        unreachable!()
    };
    assert!(url.ends_with(&format!(":{}", target.addr.port())), "{url}");
    let job = rx.job_from(0).await;
    assert_eq!(job.job_id, "t-1");
    assert_eq!(target.connections(), 1);
    handle.shutdown(SEC).await;
}

#[tokio::test]
async fn mining_returns_to_the_primary_when_it_answers_a_login_again() {
    let primary = TestPool::start(vec![
        vec![Step::Login("p-1", &[]), Step::Silent],
        vec![Step::Login("p-2", &[]), Step::Serve],
    ])
    .await;
    let backup = TestPool::start(vec![vec![Step::Login("b-1", &[]), Step::Serve]]).await;
    let (handle, mut rx) = spawn(config(&[primary.url(), backup.url()]));
    let job = rx.job_from(0).await;
    let lost = handle.submit(share(&job, 1));
    rx.disconnect(0).await;
    let backup_job = rx.job_from(1).await;
    let id = handle.submit(share(&backup_job, 2));
    assert_eq!(rx.outcome(id).await, ShareOutcome::Accepted);
    rx.wait_for("recovery", |e| {
        matches!(e, ClientEvent::PoolRecovered { pool: 0 })
    })
    .await;
    let (cause, _) = rx.disconnect(1).await;
    assert_eq!(cause, HangCause::FailBack { to: 0 });
    let job = rx.job_from(0).await;
    let id = handle.submit(share(&job, 3));
    assert_eq!(rx.outcome(id).await, ShareOutcome::Accepted);
    assert_eq!(handle.stats().current_pool, Some(0));
    assert!(matches!(rx.outcome(lost).await, ShareOutcome::Stale(_)));
    let s = handle.stats().shares;
    assert_eq!((s.found, s.accepted, s.stale, s.in_flight), (3, 2, 1, 0));
    handle.shutdown(SEC).await;
}

#[tokio::test]
async fn shares_found_while_down_are_kept_and_never_sent_twice() {
    // The pool drops us, then re-sends the same job after the next login.
    let pool = TestPool::start(vec![
        vec![
            Step::Login("same", &[]),
            Step::AwaitLine,
            Step::Sleep(Duration::from_millis(300)),
        ],
        vec![Step::Login("same", &[]), Step::Serve],
    ])
    .await;
    let mut cfg = config(&[pool.url()]);
    cfg.timeouts.backoff_initial = Duration::from_millis(300);
    let (handle, mut rx) = spawn(cfg);
    let job = rx.job_from(0).await;
    let first = handle.submit(share(&job, 1));
    rx.disconnect(0).await;
    // Down now: these are held.
    let kept = handle.submit(share(&job, 2));
    let dup = handle.submit(share(&job, 2));
    let mut other_job = job.clone();
    other_job.job_id = "gone".into();
    let gone = handle.submit(share(&other_job, 3));
    assert!(matches!(rx.outcome(dup).await, ShareOutcome::Rejected(_)));
    assert!(matches!(rx.outcome(first).await, ShareOutcome::Stale(_)));
    assert_eq!(rx.outcome(kept).await, ShareOutcome::Accepted);
    assert!(matches!(rx.outcome(gone).await, ShareOutcome::Stale(_)));
    assert_eq!(pool.submits(), vec![("same".to_string(), 2)]);
    let s = handle.stats().shares;
    assert_eq!(
        (s.found, s.accepted, s.rejected, s.stale, s.in_flight),
        (4, 1, 1, 2, 0)
    );
    handle.shutdown(SEC).await;
}

#[tokio::test]
async fn shutdown_waits_for_in_flight_submits() {
    let pool = TestPool::start(vec![vec![Step::Login("j-1", &[]), Step::Serve]]).await;
    let (handle, mut rx) = spawn(config(&[pool.url()]));
    let job = rx.job_from(0).await;
    for n in 0..20 {
        handle.submit(share(&job, n));
    }
    let started = Instant::now();
    let stats_before = handle.stats();
    assert_eq!(stats_before.shares.found, 20);
    handle.shutdown(SEC).await;
    within(started.elapsed(), 2 * SEC, "shutdown");
    let outcomes = rx.drain_outcomes();
    assert_eq!(outcomes.len(), 20);
    assert!(
        outcomes.iter().all(|o| *o == ShareOutcome::Accepted),
        "{outcomes:?}"
    );
    assert_eq!(pool.submits().len(), 20);
}

#[tokio::test]
async fn keepalive_is_sent_only_when_advertised() {
    let pool = TestPool::start(vec![vec![Step::Login("j-1", &["keepalive"]), Step::Serve]]).await;
    let mut cfg = config(&[pool.url()]);
    cfg.timeouts.keepalive = Duration::from_millis(200);
    let (handle, mut rx) = spawn(cfg);
    rx.job_from(0).await;
    tokio::time::sleep(Duration::from_millis(900)).await;
    let rtt = handle.stats().pools[0]
        .rtt
        .clone()
        .expect("keepalives were answered");
    assert!(rtt.samples >= 3, "{rtt:?}");
    assert_eq!(handle.stats().reconnects.len(), 0);
    handle.shutdown(SEC).await;
}

#[tokio::test]
async fn connect_timeout_fails_over() {
    // A listener that never accepts, its backlog filled: further SYNs are dropped, so a
    // connect hangs instead of being refused.
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let full = socket.listen(1).unwrap();
    let addr = full.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..8 {
        let s = TcpSocket::new_v4().unwrap();
        if let Ok(Ok(c)) = tokio::time::timeout(Duration::from_millis(200), s.connect(addr)).await {
            fillers.push(c);
        }
    }
    let backup = TestPool::start(vec![vec![Step::Login("b-1", &[]), Step::Serve]]).await;
    let dead = PoolUrl::parse(&format!("stratum+tcp://{addr}")).unwrap();
    let started = Instant::now();
    let (handle, mut rx) = spawn(config(&[dead, backup.url()]));
    let (cause, at) = rx.disconnect(0).await;
    assert_eq!(cause, HangCause::ConnectTimeout);
    within(at - started, 2 * SEC, "connect timeout");
    rx.job_from(1).await;
    handle.shutdown(SEC).await;
    drop((full, fillers));
}

#[tokio::test]
async fn default_timeouts_leave_a_silent_pool_within_30_s() {
    let primary = TestPool::start(vec![vec![Step::Login("p-1", &[]), Step::Silent]]).await;
    let backup = TestPool::start(vec![vec![Step::Login("b-1", &[]), Step::Serve]]).await;
    let mut cfg = config(&[primary.url(), backup.url()]);
    cfg.timeouts = Timeouts::default();
    let (handle, mut rx) = spawn(cfg);
    let job = rx.job_from(0).await;
    let sent_at = Instant::now();
    let lost = handle.submit(share(&job, 1));
    let deadline = tokio::time::Instant::now() + 30 * SEC;
    let mining = tokio::time::timeout_at(deadline, rx.job_from(1)).await;
    assert!(
        mining.is_ok(),
        "backup not mining 30 s after the unanswered submit"
    );
    within(
        sent_at.elapsed(),
        21 * SEC,
        "failover with default timeouts",
    );
    assert!(matches!(rx.outcome(lost).await, ShareOutcome::Stale(_)));
    handle.shutdown(SEC).await;
}
