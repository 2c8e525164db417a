//! A scripted miner with a share every ~25 s on average: its `/1/workers` row never reads 0 after
//! the first share and stays near its true rate, as far as the few shares seen allow.
//!
//! 1000 H/s at difficulty 25 000 for 60 s. The pool hands out one fixed blob built from a fixed
//! seed, so which hashes meet the target (and so when the shares come) is the same every run.
//! Both the row's 1 min figure and the 10 s one the dashboard charts are read once a second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use phirig_host::proxy::{self, ProxyConfig};
use phirig_host::snapshot::RigSnapshot;
use phirig_pool::protocol::Target;
use phirig_pool::server::{random_hashing_blob, Fault, ServerConfig, Sha3ShareHasher};
use rand::SeedableRng;
use serde_json::json;

use super::card::{hash_at, slice_of, Card};
use super::setup::{client_config, start_pool, stop, wait_until};
use super::workers::{api_on_loopback, worker_row};

const RATE: u64 = 1000;
const DIFFICULTY: u64 = 25_000;
const MINING: Duration = Duration::from_secs(60);
/// Its shares fall at hashes 12 426, 23 526 and 56 092: at about 12, 24 and 56 s, with a
/// 33 s silence between the last two.
const BLOB_SEED: u64 = 20;

/// A hashing blob from a seeded RNG, its timestamp (bytes 2..7, a 5-byte varint) fixed too.
fn fixed_blob(seed: u64) -> Vec<u8> {
    let mut blob = random_hashing_blob("cn/0", &mut rand::rngs::StdRng::seed_from_u64(seed));
    blob[2..7].copy_from_slice(&[0x80, 0xd2, 0xda, 0xd8, 0x06]);
    blob
}

#[tokio::test]
async fn a_miner_with_a_share_every_half_minute_never_reads_zero_between_shares() {
    let blob = fixed_blob(BLOB_SEED);
    let config = ServerConfig {
        algo: "cn/0".into(),
        start_difficulty: DIFFICULTY,
        min_difficulty: 1,
        vardiff: false,
        job_interval: Duration::ZERO,
        template: Some(blob),
        fault: Fault::None,
        ..ServerConfig::default()
    };
    let pool = start_pool(config, Arc::new(Sha3ShareHasher)).await;
    let mut upstream_cfg = client_config(&[pool.local_addr()], "cn/0");
    upstream_cfg.timeouts.idle = MINING * 2;
    let config = ProxyConfig::new("127.0.0.1:0".parse().expect("addr"), upstream_cfg);
    let proxy = proxy::start(config, Arc::new(Sha3ShareHasher))
        .await
        .expect("proxy starts");
    wait_until("first upstream job", || proxy.stats().jobs >= 1).await;
    let (tx, addr, api_task) = api_on_loopback().await;

    let mut miner = Card::connect(proxy.local_addr()).await;
    let id = miner
        .request(
            "login",
            json!({"login": "sparse", "pass": "p", "agent": "script/1.0"}),
        )
        .await;
    let reply = miner.reply(id).await;
    let job: phirig_pool::protocol::JobParams =
        serde_json::from_value(reply["result"]["job"].clone()).expect("job in login result");
    let slice = slice_of(&job);
    let target = Target::from_hex(&job.target).expect("target");

    // Hash at RATE paced by the clock; once a second, read the row through the API.
    let start = Instant::now();
    let mut hashed = 0u64;
    let mut shares = Vec::new();
    let mut reads = Vec::new();
    while start.elapsed() < MINING {
        let due = (start.elapsed().as_secs_f64() * RATE as f64) as u64;
        while hashed < due {
            let nonce = slice.nonce(slice.start() + hashed);
            hashed += 1;
            let hash = hash_at(&Sha3ShareHasher, &job, nonce);
            if target.is_met_by(&hash) {
                let r = miner.submit(&job, nonce, &hash).await;
                assert_eq!(r, Ok("OK".to_string()), "a real share is accepted");
                shares.push(start.elapsed());
            }
        }
        if reads.len() < start.elapsed().as_secs() as usize {
            let snap = RigSnapshot::build(&[], Some(&proxy.stats()), 0);
            let ten_s = snap.total.estimated[0];
            tx.send_replace(Arc::new(snap));
            let (row, body) = worker_row(addr, "sparse").await;
            let minute = row.rates()[0] * 1000.0;
            reads.push((start.elapsed(), shares.len(), minute, ten_s));
            if !shares.is_empty() {
                assert!(
                    minute > 0.0 && ten_s > 0.0,
                    "0 after a share ({ten_s}): {body}"
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let true_rate = hashed as f64 / start.elapsed().as_secs_f64();
    println!("shares at {shares:?}, true {true_rate:.0} H/s");
    for (at, n, minute, ten_s) in &reads {
        let at = at.as_secs_f64();
        println!("{at:5.1} s  {n} shares  1 min {minute:5.0} H/s  10 s {ten_s:5.0} H/s");
    }
    assert_eq!(shares.len(), 3, "the fixed blob's shares: {shares:?}");
    // One to three shares fit any rate within about 4x either way (their Poisson 95 % band);
    // before 16 shares the estimate is their difficulty over the worker's age.
    for (at, n, minute, ten_s) in reads.iter().filter(|r| r.1 > 0) {
        for estimated in [minute, ten_s] {
            assert!(
                *estimated >= true_rate / 4.0 && *estimated <= true_rate * 4.0,
                "{estimated:.0} H/s at {at:?} after {n} shares, true {true_rate:.0}"
            );
        }
    }

    api_task.abort();
    stop(proxy, vec![pool]).await;
}
