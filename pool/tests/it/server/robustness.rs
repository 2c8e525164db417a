//! Hostile or careless clients: random bytes, floods of shares, no login. The server stays up.

use std::sync::Arc;
use std::time::Duration;

use super::support::*;
use phirig_pool::server::{PoolServer, ServerConfig, Sha3ShareHasher, ShareHasher};
use rand::{Rng, SeedableRng};
use serde_json::json;

#[tokio::test]
async fn random_bytes_never_take_the_server_down() {
    let pool = start(test_config()).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    for round in 0..8 {
        let mut c = RawClient::connect(pool.local_addr()).await;
        let mut junk = vec![0u8; 32 * 1024];
        rng.fill(&mut junk[..]);
        if round % 2 == 0 {
            // Short lines too, so the parser (not only the framer) sees the junk.
            for b in junk.iter_mut().step_by(97) {
                *b = b'\n';
            }
        }
        c.send_raw(&junk).await;
        c.send_raw(b"\n").await;
        // Whatever came back, drain a little and hang up.
        let _ = c.read_some(Duration::from_millis(50)).await;
    }
    let mut c = RawClient::connect(pool.local_addr()).await;
    let (session, job) = c.login("after-junk").await;
    let (nonce, result) = find_share(&job, 0, 1000, false).unwrap();
    let r = c
        .submit(&session, job["job_id"].as_str().unwrap(), &nonce, &result)
        .await;
    assert_eq!(r["result"]["status"], "OK", "{r}");
    let s = pool.stats();
    assert!(s.malformed_lines > 0);
    assert_eq!(s.connections_total, 9);
    stop(pool).await;
}

struct SlowHasher;

impl ShareHasher for SlowHasher {
    fn hash(&self, algo: &str, blob: &[u8], height: u64) -> Result<[u8; 32], String> {
        std::thread::sleep(Duration::from_millis(300));
        Sha3ShareHasher.hash(algo, blob, height)
    }
}

#[tokio::test]
async fn a_share_flood_is_refused_not_queued() {
    let config = ServerConfig {
        max_pending_shares: 1,
        ..test_config()
    };
    let pool = start_with(config, Arc::new(SlowHasher)).await;
    let mut c = RawClient::connect(pool.local_addr()).await;
    let (session, job) = c.login("flooder").await;
    let mut ids = Vec::new();
    for start in [0u32, 10_000] {
        let (nonce, result) = find_share(&job, start, 1000, false).unwrap();
        let p = json!({"id": session, "job_id": job["job_id"], "nonce": nonce, "result": result});
        ids.push(c.request("submit", p).await);
    }
    let busy = c.reply(ids[1]).await;
    assert_eq!(
        error_message(&busy),
        Some("Server busy, too many pending shares")
    );
    let ok = c.reply(ids[0]).await;
    assert_eq!(ok["result"]["status"], "OK", "{ok}");
    wait_stats(&pool, |s| s.rejected.busy == 1 && s.accepted == 1).await;
    stop(pool).await;
}

#[tokio::test]
async fn connections_that_never_log_in_are_closed() {
    let pool = start(ServerConfig {
        login_timeout: Duration::from_millis(200),
        ..test_config()
    })
    .await;
    let mut c = RawClient::connect(pool.local_addr()).await;
    let end = c.line(STEP).await.unwrap_err();
    assert_eq!(end.kind(), std::io::ErrorKind::UnexpectedEof, "{end}");
    wait_stats(&pool, |s| {
        s.connections_active == 0 && s.connections_total == 1
    })
    .await;
    stop(pool).await;
}

#[tokio::test]
async fn ipv6_loopback_works_when_available() {
    let Ok(addr) = "[::1]:0".parse() else {
        return;
    };
    let started = PoolServer::start(
        ServerConfig {
            bind: addr,
            ..test_config()
        },
        Arc::new(Sha3ShareHasher),
    );
    let pool = match tokio::time::timeout(STEP, started)
        .await
        .expect("start returns in time")
    {
        Ok(p) => p,
        // No IPv6 in this sandbox: nothing to check.
        Err(_) => return,
    };
    let mut c = RawClient::connect(pool.local_addr()).await;
    c.login("v6").await;
    stop(pool).await;
}
