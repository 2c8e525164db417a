//! The reference pool over real loopback TCP: login, jobs, and every share verdict.

use std::sync::Arc;
use std::time::Duration;

use super::support::*;
use phirig_pool::protocol::{Target, NICEHASH_BYTE_OFFSET, NONCE_OFFSET};
use phirig_pool::server::{PoolServer, ServerConfig, Sha3ShareHasher, ShareHasher};
use serde_json::{json, Value};

#[tokio::test]
async fn login_returns_session_job_and_extensions() {
    let pool = start(ServerConfig {
        height: 1234,
        ..test_config()
    })
    .await;
    let mut c = RawClient::connect(pool.local_addr()).await;
    let id = c
        .request(
            "login",
            json!({"login": "w", "pass": "x", "agent": "t", "algo": ["cn/0"]}),
        )
        .await;
    let r = c.reply(id).await;
    assert_eq!(r["jsonrpc"], "2.0");
    assert_eq!(r["error"], Value::Null);
    let result = &r["result"];
    assert_eq!(result["status"], "OK");
    assert_eq!(result["extensions"], json!(["algo", "keepalive"]));
    assert!(!result["id"].as_str().unwrap().is_empty());
    let job = &result["job"];
    let blob = hex::decode(job["blob"].as_str().unwrap()).unwrap();
    assert_eq!(blob.len(), 76);
    assert_eq!(&blob[NONCE_OFFSET..NONCE_OFFSET + 4], &[0; 4]);
    assert_eq!(job["target"], "ffffffff");
    assert_eq!(job["algo"], "cn/0");
    assert_eq!(job["height"], 1234);
    let s = wait_stats(&pool, |s| s.logins == 1).await;
    assert_eq!(s.connections_active, 1);
    assert_eq!(
        s.workers["w"].logins, 1,
        "no rigid: the login names the worker"
    );
    stop(pool).await;
}

#[tokio::test]
async fn good_share_is_accepted_then_duplicate() {
    let pool = start(test_config()).await;
    let mut c = RawClient::connect(pool.local_addr()).await;
    let (session, job) = c.login("rig1").await;
    let job_id = job["job_id"].as_str().unwrap();
    let (nonce, result) = find_share(&job, 0, 1000, false).expect("difficulty 1 share");
    let r = c.submit(&session, job_id, &nonce, &result).await;
    assert_eq!(r["error"], Value::Null, "{r}");
    assert_eq!(r["result"]["status"], "OK");
    let r = c.submit(&session, job_id, &nonce, &result).await;
    assert_eq!(error_message(&r), Some("Duplicate share"));
    assert_eq!(r["error"]["code"], -1);
    let s = wait_stats(&pool, |s| s.accepted == 1 && s.rejected.duplicate == 1).await;
    assert_eq!(s.hashes, 1);
    let w = &s.workers["rig1"];
    assert_eq!((w.accepted, w.hashes, w.rejected.duplicate), (1, 1, 1));
    stop(pool).await;
}

#[tokio::test]
async fn malformed_submits_get_the_standard_messages() {
    let pool = start(test_config()).await;
    let mut c = RawClient::connect(pool.local_addr()).await;
    let (session, job) = c.login("rig1").await;
    let job_id = job["job_id"].as_str().unwrap();
    let any_result = "00".repeat(32);
    let r = c
        .submit(&session, "no-such-job", "00000000", &any_result)
        .await;
    assert_eq!(error_message(&r), Some("Invalid job id"));
    for bad in ["zzzzzzzz", "0102030", "0102030405", ""] {
        let r = c.submit(&session, job_id, bad, &any_result).await;
        assert_eq!(error_message(&r), Some("Invalid nonce"), "nonce {bad:?}");
    }
    // A result that is not the hash of the blob: what real pools call a low difficulty share.
    let r = c.submit(&session, job_id, "01000000", &any_result).await;
    assert_eq!(error_message(&r), Some("Low difficulty share"));
    let s = wait_stats(&pool, |s| s.rejected.invalid_result == 1).await;
    assert_eq!(s.rejected.invalid_job_id, 1);
    assert_eq!(s.rejected.invalid_nonce, 4);
    assert_eq!(s.accepted, 0);
    stop(pool).await;
}

#[tokio::test]
async fn hash_above_target_is_low_difficulty() {
    let pool = start(ServerConfig {
        start_difficulty: 1 << 40,
        max_difficulty: 1 << 40,
        ..test_config()
    })
    .await;
    let mut c = RawClient::connect(pool.local_addr()).await;
    let (session, job) = c.login("rig1").await;
    assert_eq!(
        Target::from_hex(job["target"].as_str().unwrap()).unwrap(),
        Target::from_difficulty(1 << 40)
    );
    let nonce = [7, 0, 0, 0];
    let result = hash_for(&job, nonce);
    let r = c
        .submit(
            &session,
            job["job_id"].as_str().unwrap(),
            &hex::encode(nonce),
            &result,
        )
        .await;
    assert_eq!(error_message(&r), Some("Low difficulty share"));
    wait_stats(&pool, |s| {
        s.rejected.low_difficulty == 1 && s.workers["rig1"].rejected.low_difficulty == 1
    })
    .await;
    stop(pool).await;
}

#[tokio::test]
async fn requests_before_login_are_unauthenticated() {
    let pool = start(test_config()).await;
    let mut c = RawClient::connect(pool.local_addr()).await;
    let r = c.submit("nobody", "j", "00000000", &"00".repeat(32)).await;
    assert_eq!(error_message(&r), Some("Unauthenticated"));
    let id = c.keepalived("nobody").await;
    assert_eq!(error_message(&c.reply(id).await), Some("Unauthenticated"));
    let (session, job) = c.login("rig1").await;
    let r = c
        .submit(
            "someone-else",
            job["job_id"].as_str().unwrap(),
            "00000000",
            &"00".repeat(32),
        )
        .await;
    assert_eq!(error_message(&r), Some("Unauthenticated"));
    let id = c.keepalived(&session).await;
    assert_eq!(c.reply(id).await["result"]["status"], "KEEPALIVED");
    wait_stats(&pool, |s| s.rejected.unauthenticated == 3).await;
    stop(pool).await;
}

#[tokio::test]
async fn nicehash_byte_is_fixed_per_connection_and_enforced() {
    let pool = start(ServerConfig {
        nicehash: true,
        ..test_config()
    })
    .await;
    let mut a = RawClient::connect(pool.local_addr()).await;
    let id = a
        .request("login", json!({"login": "w", "rigid": "a"}))
        .await;
    let r = a.reply(id).await;
    assert_eq!(
        r["result"]["extensions"],
        json!(["algo", "nicehash", "keepalive"])
    );
    let session = r["result"]["id"].as_str().unwrap().to_string();
    let job = r["result"]["job"].clone();
    let blob = hex::decode(job["blob"].as_str().unwrap()).unwrap();
    let fixed = blob[NICEHASH_BYTE_OFFSET];
    assert_ne!(fixed, 0);
    let mut b = RawClient::connect(pool.local_addr()).await;
    let (_, job_b) = b.login("b").await;
    let blob_b = hex::decode(job_b["blob"].as_str().unwrap()).unwrap();
    assert_ne!(
        blob_b[NICEHASH_BYTE_OFFSET], fixed,
        "each connection gets its own byte"
    );

    let job_id = job["job_id"].as_str().unwrap();
    let changed = [1, 0, 0, fixed.wrapping_add(1)];
    let r = a
        .submit(
            &session,
            job_id,
            &hex::encode(changed),
            &hash_for(&job, changed),
        )
        .await;
    assert_eq!(error_message(&r), Some("Invalid nonce"));
    let (nonce, result) = find_share(&job, 0, 1000, true).unwrap();
    let r = a.submit(&session, job_id, &nonce, &result).await;
    assert_eq!(r["result"]["status"], "OK", "{r}");
    wait_stats(&pool, |s| s.rejected.nicehash_byte == 1 && s.accepted == 1).await;
    stop(pool).await;
}

#[tokio::test]
async fn new_jobs_on_demand_and_old_jobs_expire() {
    let pool = start(ServerConfig {
        recent_jobs: 2,
        ..test_config()
    })
    .await;
    let mut c = RawClient::connect(pool.local_addr()).await;
    let (session, first) = c.login("rig1").await;
    pool.new_job();
    let second = c.job_notification().await;
    assert_ne!(second["job_id"], first["job_id"]);
    assert_ne!(second["blob"], first["blob"]);
    // The previous job still takes shares ...
    let (nonce, result) = find_share(&first, 0, 1000, false).unwrap();
    let r = c
        .submit(&session, first["job_id"].as_str().unwrap(), &nonce, &result)
        .await;
    assert_eq!(r["result"]["status"], "OK", "{r}");
    // ... until it falls out of the recent window.
    pool.new_job();
    c.job_notification().await;
    let (nonce, result) = find_share(&first, 5000, 1000, false).unwrap();
    let r = c
        .submit(&session, first["job_id"].as_str().unwrap(), &nonce, &result)
        .await;
    assert_eq!(error_message(&r), Some("Invalid job id"));
    stop(pool).await;
}

#[tokio::test]
async fn job_timer_sends_jobs() {
    let pool = start(ServerConfig {
        job_interval: Duration::from_millis(100),
        ..test_config()
    })
    .await;
    let mut c = RawClient::connect(pool.local_addr()).await;
    let (_, first) = c.login("rig1").await;
    let a = c.job_notification().await;
    let b = c.job_notification().await;
    assert_ne!(a["job_id"], first["job_id"]);
    assert_ne!(a["job_id"], b["job_id"]);
    assert!(pool.stats().templates >= 3);
    stop(pool).await;
}

#[tokio::test]
async fn template_blob_is_served_with_a_zero_nonce() {
    let mut template: Vec<u8> = (0..90u8).collect();
    template[NONCE_OFFSET] = 0xee;
    let pool = start(ServerConfig {
        template: Some(template.clone()),
        ..test_config()
    })
    .await;
    let mut c = RawClient::connect(pool.local_addr()).await;
    let (_, job) = c.login("rig1").await;
    template[NONCE_OFFSET..NONCE_OFFSET + 4].fill(0);
    assert_eq!(job["blob"], hex::encode(&template));
    stop(pool).await;
}

#[tokio::test]
async fn malformed_lines_get_errors_and_oversized_lines_close() {
    let pool = start(test_config()).await;
    let mut c = RawClient::connect(pool.local_addr()).await;
    c.send_raw(b"this is not json\n").await;
    let r = c.json().await;
    assert_eq!(r["id"], Value::Null);
    assert!(error_message(&r).is_some());
    let id = c.request("mining.subscribe", json!([])).await;
    assert_eq!(error_message(&c.reply(id).await), Some("Invalid method"));
    let id = c.request("login", json!({"pass": "no login field"})).await;
    assert!(error_message(&c.reply(id).await).is_some());
    c.send_raw(&[0xff, 0xfe, b'\n']).await;
    assert!(error_message(&c.json().await).is_some());
    // Still a working connection.
    let (session, _) = c.login("rig1").await;
    let id = c.keepalived(&session).await;
    assert_eq!(c.reply(id).await["result"]["status"], "KEEPALIVED");
    // A line over 64 KiB: error, then the server hangs up.
    let mut huge = vec![b'x'; 70 * 1024];
    huge.push(b'\n');
    c.send_raw(&huge).await;
    assert_eq!(error_message(&c.json().await), Some("Line too long"));
    let end = c.line(STEP).await.unwrap_err();
    assert!(
        matches!(
            end.kind(),
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
        ),
        "{end}"
    );
    wait_stats(&pool, |s| {
        s.malformed_lines == 5 && s.connections_active == 0
    })
    .await;
    stop(pool).await;
}

/// A hasher that takes its time, like the real kernel does.
struct SlowHasher(Duration);

impl ShareHasher for SlowHasher {
    fn hash(&self, algo: &str, blob: &[u8], height: u64) -> Result<[u8; 32], String> {
        std::thread::sleep(self.0);
        Sha3ShareHasher.hash(algo, blob, height)
    }
}

#[tokio::test(flavor = "current_thread")]
async fn hashing_never_blocks_the_reactor() {
    let pool = start_with(
        test_config(),
        Arc::new(SlowHasher(Duration::from_millis(500))),
    )
    .await;
    let mut c = RawClient::connect(pool.local_addr()).await;
    let (session, job) = c.login("rig1").await;
    let (nonce, result) = find_share(&job, 0, 1000, false).unwrap();
    let submit = c
        .request(
            "submit",
            json!({"id": session, "job_id": job["job_id"], "nonce": nonce, "result": result}),
        )
        .await;
    let keepalive = c.keepalived(&session).await;
    // On a single-threaded runtime, the keepalive reply overtakes the share being hashed.
    let first = c.json().await;
    assert_eq!(first["id"], json!(keepalive), "{first}");
    let second = c.json().await;
    assert_eq!(second["id"], json!(submit));
    assert_eq!(second["result"]["status"], "OK");
    stop(pool).await;
}

#[tokio::test]
async fn shutdown_closes_connections_and_frees_the_port() {
    let pool = start(test_config()).await;
    let addr = pool.local_addr();
    let mut c = RawClient::connect(addr).await;
    c.login("rig1").await;
    stop(pool).await;
    let end = c.line(STEP).await.unwrap_err();
    assert_eq!(end.kind(), std::io::ErrorKind::UnexpectedEof, "{end}");
    let again = start(ServerConfig {
        bind: addr,
        ..test_config()
    })
    .await;
    assert_eq!(again.local_addr(), addr);
    stop(again).await;
}

#[tokio::test]
async fn bad_config_is_an_error_not_a_panic() {
    let started = PoolServer::start(
        ServerConfig {
            start_difficulty: 0,
            ..test_config()
        },
        Arc::new(Sha3ShareHasher),
    );
    let err = tokio::time::timeout(STEP, started)
        .await
        .expect("start returns in time")
        .unwrap_err();
    assert!(err.to_string().contains("difficult"), "{err}");
}
