//! Variable difficulty over the wire: fast shares raise it, a quiet miner gets it lowered.

use std::time::Duration;

use super::support::*;
use phirig_pool::protocol::Target;
use phirig_pool::server::ServerConfig;

fn difficulty(job: &serde_json::Value) -> u64 {
    Target::from_hex(job["target"].as_str().expect("target"))
        .expect("valid target")
        .difficulty()
}

#[tokio::test]
async fn fast_shares_raise_difficulty_toward_the_target_share_time() {
    let pool = start(ServerConfig {
        vardiff: true,
        start_difficulty: 1,
        min_difficulty: 1,
        max_difficulty: 1 << 20,
        target_share_time: Duration::from_secs(2),
        retarget_shares: 4,
        retarget_time: Duration::from_secs(60),
        recent_jobs: 8,
        ..test_config()
    })
    .await;
    let mut c = RawClient::connect(pool.local_addr()).await;
    let (session, mut job) = c.login("rig1").await;
    let mut seen = vec![difficulty(&job)];
    let mut next_nonce = 0u32;
    // Each round: four quick shares, then vardiff (at most x4 a step) sends a harder job.
    for _round in 0..3 {
        for _ in 0..4 {
            let (nonce, result) =
                find_share(&job, next_nonce, 100_000, false).expect("share within 100k tries");
            next_nonce = u32::from_le_bytes(hex::decode(&nonce).unwrap().try_into().unwrap()) + 1;
            let r = c
                .submit(&session, job["job_id"].as_str().unwrap(), &nonce, &result)
                .await;
            assert_eq!(r["result"]["status"], "OK", "{r}");
        }
        job = c.job_notification().await;
        next_nonce = 0;
        seen.push(difficulty(&job));
    }
    assert_eq!(
        seen,
        vec![1, 4, 16, 64],
        "difficulty steps x4 while shares come far too fast"
    );
    let s = wait_stats(&pool, |s| s.accepted == 12).await;
    assert_eq!(s.workers["rig1"].difficulty, 64);
    assert_eq!(s.hashes, 4 * (1 + 4 + 16));
    stop(pool).await;
}

#[tokio::test]
async fn a_quiet_miner_gets_easier_work() {
    let pool = start(ServerConfig {
        vardiff: true,
        start_difficulty: 1000,
        min_difficulty: 100,
        target_share_time: Duration::from_secs(1),
        retarget_shares: 4,
        retarget_time: Duration::from_millis(200),
        ..test_config()
    })
    .await;
    let mut c = RawClient::connect(pool.local_addr()).await;
    let (_, job) = c.login("rig1").await;
    assert_eq!(difficulty(&job), 1000);
    let easier = c.job_notification().await;
    assert_eq!(difficulty(&easier), 250);
    let easier = c.job_notification().await;
    assert_eq!(difficulty(&easier), 100, "never below min_difficulty");
    stop(pool).await;
}

#[tokio::test]
async fn vardiff_off_keeps_the_start_difficulty() {
    let pool = start(ServerConfig {
        vardiff: false,
        start_difficulty: 3,
        ..test_config()
    })
    .await;
    let mut c = RawClient::connect(pool.local_addr()).await;
    let (session, job) = c.login("rig1").await;
    for i in 0..6u32 {
        let (nonce, result) = find_share(&job, i * 10_000, 10_000, false).unwrap();
        let r = c
            .submit(&session, job["job_id"].as_str().unwrap(), &nonce, &result)
            .await;
        assert_eq!(r["result"]["status"], "OK", "{r}");
    }
    pool.new_job();
    assert_eq!(difficulty(&c.job_notification().await), 3);
    stop(pool).await;
}
