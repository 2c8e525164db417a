//! Every injected fault, observed on the wire by a raw loopback client.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use super::support::*;
use phirig_pool::server::{Fault, ServerConfig};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

/// Nothing at all arrives within [`QUIET`], and the connection is still open.
async fn assert_quiet(c: &mut RawClient) {
    match c.read_some(QUIET).await {
        Err(e) if e.kind() == ErrorKind::TimedOut => {}
        other => panic!(
            "expected silence, got {other:?} ({:?})",
            String::from_utf8_lossy(c.buffered())
        ),
    }
}

fn faulty(fault: Fault) -> ServerConfig {
    ServerConfig {
        fault,
        ..test_config()
    }
}

#[tokio::test]
async fn silent_after_login() {
    let pool = start(faulty(Fault::SilentAfterLogin)).await;
    let mut c = RawClient::connect(pool.local_addr()).await;
    let (session, _) = c.login("rig1").await;
    c.keepalived(&session).await;
    pool.new_job();
    assert_quiet(&mut c).await;
    // Lifting the fault lets the connection talk again.
    pool.set_fault(Fault::None);
    let id = c.keepalived(&session).await;
    assert_eq!(c.reply(id).await["result"]["status"], "KEEPALIVED");
    stop(pool).await;
}

#[tokio::test]
async fn silent_after_messages() {
    let pool = start(faulty(Fault::SilentAfterMessages(2))).await;
    let mut c = RawClient::connect(pool.local_addr()).await;
    let (session, _) = c.login("rig1").await;
    pool.new_job();
    c.job_notification().await;
    pool.new_job();
    c.keepalived(&session).await;
    assert_quiet(&mut c).await;
    stop(pool).await;
}

#[tokio::test]
async fn stop_reading_stalls_client_writes() {
    let pool = start(ServerConfig {
        recv_buffer: Some(4096),
        ..faulty(Fault::StopReading)
    })
    .await;
    let mut c = RawClient::connect(pool.local_addr()).await;
    c.login("rig1").await;
    let chunk = vec![b' '; 64 * 1024];
    let mut stalled = false;
    // Bounded: at most 64 MiB, each write given 300 ms.
    for _ in 0..1024 {
        match tokio::time::timeout(Duration::from_millis(300), c.stream.write_all(&chunk)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("write failed instead of stalling: {e}"),
            Err(_) => {
                stalled = true;
                break;
            }
        }
    }
    assert!(stalled, "64 MiB went into a server that does not read");
    // The server still sends jobs while it does not read.
    pool.new_job();
    c.job_notification().await;
    stop(pool).await;
}

#[tokio::test]
async fn reset_after_login_and_live() {
    let pool = start(faulty(Fault::Reset)).await;
    let mut c = RawClient::connect(pool.local_addr()).await;
    c.login("rig1").await;
    let end = c.line(STEP).await.unwrap_err();
    assert_eq!(end.kind(), ErrorKind::ConnectionReset, "{end}");

    pool.set_fault(Fault::None);
    let mut d = RawClient::connect(pool.local_addr()).await;
    let (session, _) = d.login("rig2").await;
    let id = d.keepalived(&session).await;
    d.reply(id).await;
    pool.set_fault(Fault::Reset);
    let end = d.line(STEP).await.unwrap_err();
    assert_eq!(end.kind(), ErrorKind::ConnectionReset, "{end}");
    stop(pool).await;
}

#[tokio::test]
async fn garbage_line_then_normal_service() {
    let pool = start(faulty(Fault::GarbageLine)).await;
    let mut c = RawClient::connect(pool.local_addr()).await;
    let (session, _) = c.login("rig1").await;
    let garbage = c.line(STEP).await.unwrap();
    assert!(
        serde_json::from_str::<Value>(&garbage).is_err(),
        "{garbage}"
    );
    let id = c.keepalived(&session).await;
    assert_eq!(c.reply(id).await["result"]["status"], "KEEPALIVED");
    stop(pool).await;
}

#[tokio::test]
async fn oversized_line_arrives() {
    let pool = start(test_config()).await;
    let mut c = RawClient::connect(pool.local_addr()).await;
    c.login("rig1").await;
    pool.set_fault(Fault::OversizedLine);
    let line = c.line(STEP).await.unwrap();
    assert!(line.len() > 64 * 1024, "{}", line.len());
    stop(pool).await;
}

#[tokio::test]
async fn stall_mid_line() {
    let pool = start(faulty(Fault::StallMidLine)).await;
    let mut c = RawClient::connect(pool.local_addr()).await;
    let (session, _) = c.login("rig1").await;
    let half = c.line(Duration::from_millis(500)).await.unwrap_err();
    assert_eq!(half.kind(), ErrorKind::TimedOut);
    assert!(
        c.buffered().starts_with(b"{\"jsonrpc\""),
        "{:?}",
        String::from_utf8_lossy(c.buffered())
    );
    // Nothing follows, not even after the fault is lifted: the stream is mid-line for good.
    pool.set_fault(Fault::None);
    c.keepalived(&session).await;
    assert_quiet(&mut c).await;
    stop(pool).await;
}

#[tokio::test]
async fn slow_drip() {
    let pool = start(test_config()).await;
    let mut c = RawClient::connect(pool.local_addr()).await;
    let (session, _) = c.login("rig1").await;
    let gap = Duration::from_millis(20);
    pool.set_fault(Fault::SlowDrip(gap));
    // Let the connection see the fault before it has anything to send.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t0 = Instant::now();
    let id = c.keepalived(&session).await;
    let first = c.read_some(STEP).await.unwrap();
    assert!(first <= 3, "one byte at a time, got {first} at once");
    let reply = c.reply(id).await;
    assert_eq!(reply["result"]["status"], "KEEPALIVED");
    let line_len = reply.to_string().len() as u32;
    assert!(
        t0.elapsed() >= gap * (line_len / 2),
        "{line_len} bytes in {:?}",
        t0.elapsed()
    );
    stop(pool).await;
}

#[tokio::test]
async fn stop_jobs_keeps_replies() {
    let pool = start(faulty(Fault::StopJobs)).await;
    let mut c = RawClient::connect(pool.local_addr()).await;
    let (session, job) = c.login("rig1").await;
    assert!(job["blob"].is_string(), "the login job still comes");
    pool.new_job();
    assert_quiet(&mut c).await;
    let id = c.keepalived(&session).await;
    assert_eq!(c.reply(id).await["result"]["status"], "KEEPALIVED");
    pool.set_fault(Fault::None);
    pool.new_job();
    c.job_notification().await;
    stop(pool).await;
}

#[tokio::test]
async fn client_reconnect_is_sent() {
    let pool = start(test_config()).await;
    let mut c = RawClient::connect(pool.local_addr()).await;
    c.login("rig1").await;
    pool.set_fault(Fault::Reconnect {
        host: "127.0.0.1".into(),
        port: 3334,
        wait: 1,
    });
    let msg = c.json().await;
    assert_eq!(msg["method"], "client.reconnect");
    assert_eq!(msg["params"], json!(["127.0.0.1", 3334, 1]));
    assert_eq!(
        pool.fault(),
        "reconnect:127.0.0.1:3334"
            .parse::<Fault>()
            .map(|f| match f {
                Fault::Reconnect { host, port, .. } => Fault::Reconnect {
                    host,
                    port,
                    wait: 1
                },
                other => other,
            })
            .unwrap()
    );
    stop(pool).await;
}

#[tokio::test]
async fn action_faults_hit_each_new_login_until_cleared() {
    let pool = start(faulty(Fault::Reset)).await;
    for _ in 0..3 {
        let mut c = RawClient::connect(pool.local_addr()).await;
        c.login("rig1").await;
        assert_eq!(
            c.line(STEP).await.unwrap_err().kind(),
            ErrorKind::ConnectionReset
        );
    }
    pool.set_fault(Fault::None);
    let mut c = RawClient::connect(pool.local_addr()).await;
    let (session, _) = c.login("rig1").await;
    let id = c.keepalived(&session).await;
    c.reply(id).await;
    let s = wait_stats(&pool, |s| s.connections_active == 1).await;
    assert_eq!(s.workers["rig1"].logins, 4);
    stop(pool).await;
}
