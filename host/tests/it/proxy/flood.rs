//! A hostile miner on the proxy: bogus shares and a reconnect, over and over, for 5 s, beside an
//! honest card on the same address. Prints the figures the issue asks for. And the flag's
//! expiry: a flagged address logs in again once it has run out.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use phirig_host::proxy::{MAX_PEER_LEASES_PER_JOB, MAX_PEER_VERIFYING};
use phirig_pool::protocol::JobParams;
use phirig_pool::server::{Fault, Sha3ShareHasher, ShareHasher};
use serde_json::json;

use super::card::{counter, search, slice_of, Card};
use super::setup::{start_proxy, start_proxy_with, stop, upstream, wait_until, DIFFICULTY};

const FLOOD: Duration = Duration::from_secs(5);
const BOGUS_PER_CONNECTION: u64 = 5;

/// The test hasher, counting its calls: each is one verification the host paid for.
#[derive(Default)]
struct Counting(AtomicU64);

impl ShareHasher for Counting {
    fn hash(&self, algo: &str, blob: &[u8], height: u64) -> Result<[u8; 32], String> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Sha3ShareHasher.hash(algo, blob, height)
    }
}

/// A stranger's login as "flood": its connection and the job, or `None` when refused.
async fn stranger(addr: SocketAddr) -> (Card, Option<JobParams>) {
    let mut c = Card::connect(addr).await;
    let id = c
        .request(
            "login",
            json!({"login": "flood", "pass": "x", "agent": "flood"}),
        )
        .await;
    let r = c.reply(id).await;
    let job = serde_json::from_value::<JobParams>(r["result"]["job"].clone()).ok();
    (c, job)
}

/// Sends `count` bogus shares from the job's slice (random results) without waiting; returns
/// the last request's id.
async fn bogus(c: &mut Card, job: &JobParams, count: u64) -> u64 {
    let slice = slice_of(job);
    let mut id = 0;
    for k in 0..count {
        let nonce = slice.nonce(slice.start() + k);
        let params = json!({
            "id": "s",
            "job_id": job.job_id,
            "nonce": hex::encode(nonce.to_le_bytes()),
            "result": hex::encode(rand::random::<[u8; 32]>()),
        });
        id = c.request("submit", params).await;
    }
    id
}

/// Log in, send five bogus shares from its own slice without waiting, hang up; until `FLOOD`.
/// Returns (connections, logins refused).
async fn flood(addr: SocketAddr) -> (u64, u64) {
    let start = Instant::now();
    let (mut connections, mut refused) = (0, 0);
    while start.elapsed() < FLOOD {
        let (mut c, job) = stranger(addr).await;
        connections += 1;
        let Some(job) = job else {
            refused += 1;
            continue;
        };
        bogus(&mut c, &job, BOGUS_PER_CONNECTION).await;
    }
    (connections, refused)
}

#[tokio::test]
async fn a_flooding_stranger_is_flagged_by_address_and_honest_shares_pass() {
    let pool = upstream("cn/0", DIFFICULTY, Fault::None, Arc::new(Sha3ShareHasher)).await;
    let hasher = Arc::new(Counting::default());
    let proxy = start_proxy(&[pool.local_addr()], "cn/0", hasher.clone()).await;
    proxy.set_cards(["card".to_string()]);

    let mut honest = Card::connect(proxy.local_addr()).await;
    let job = honest.login("card").await;
    let flooder = tokio::spawn(flood(proxy.local_addr()));
    let start = Instant::now();
    let (mut good, mut slowest, mut next) = (0u64, Duration::ZERO, 0u64);
    while start.elapsed() < FLOOD {
        let (nonce, hash) = search(&job, true, next);
        next = counter(nonce) + 1 - slice_of(&job).start();
        let sent = Instant::now();
        assert_eq!(
            honest.submit(&job, nonce, &hash).await,
            Ok("OK".into()),
            "honest shares pass during the flood"
        );
        slowest = slowest.max(sent.elapsed());
        good += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (connections, refused) = flooder.await.expect("flooder");
    // Let the last verifications finish before counting.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let stats = proxy.stats();
    let bogus = hasher.0.load(Ordering::Relaxed) - good;
    let leases: u64 = stats
        .cards
        .iter()
        .filter(|c| c.login == "flood")
        .map(|c| c.slices)
        .sum();
    println!(
        "flood {:.0} s: {connections} connections ({refused} logins refused), {bogus} bogus \
         verifications ({:.1}/s), {leases} leases taken; honest: {good} shares OK, slowest {:?}",
        FLOOD.as_secs_f64(),
        bogus as f64 / FLOOD.as_secs_f64(),
        slowest
    );
    assert_eq!(
        stats.flagged_peers,
        vec!["127.0.0.1".parse::<std::net::IpAddr>().unwrap()]
    );
    // Flagged once bad shares are the majority of the judged ones; with at most MAX in
    // verification that is by the (MAX + 1)th bad one, and MAX more may be queued by then.
    assert!(
        bogus <= 2 * u64::from(MAX_PEER_VERIFYING) + 1,
        "verification work of one address is bounded: {bogus}"
    );
    assert!(
        leases <= u64::from(MAX_PEER_LEASES_PER_JOB),
        "a bounded number of leases for one address: {leases}"
    );
    assert!(
        connections - refused <= u64::from(MAX_PEER_LEASES_PER_JOB),
        "logins from it are refused once flagged"
    );
    assert!(
        stats.cards.len() as u64 <= connections - refused + 1,
        "refused connections leave no rows: {}",
        stats.cards.len()
    );
    let card = stats
        .cards
        .iter()
        .find(|c| c.login == "card")
        .expect("card");
    assert!(!card.flagged && card.shares.accepted == good, "{card:?}");
    stop(proxy, vec![pool]).await;
}

#[tokio::test]
async fn a_flagged_address_logs_in_again_once_its_flag_expires() {
    const EXPIRY: Duration = Duration::from_secs(2);
    let pool = upstream("cn/0", DIFFICULTY, Fault::None, Arc::new(Sha3ShareHasher)).await;
    let proxy = start_proxy_with(
        &[pool.local_addr()],
        "cn/0",
        Arc::new(Sha3ShareHasher),
        |c| {
            c.flag_expiry = EXPIRY;
        },
    )
    .await;
    let addr = proxy.local_addr();
    // One connection's bogus shares, each answered (refused), flag the address.
    let (mut c, job) = stranger(addr).await;
    let last = bogus(
        &mut c,
        &job.expect("work before the flag"),
        BOGUS_PER_CONNECTION,
    )
    .await;
    let answer = c.reply(last).await;
    assert!(answer["error"].is_object(), "{answer}");
    wait_until("the address flagged", || {
        !proxy.stats().flagged_peers.is_empty()
    })
    .await;
    let flagged = Instant::now();
    assert!(stranger(addr).await.1.is_none(), "a login while flagged");
    // Then, within the expiry and some slack, a login gets work again.
    let back = loop {
        if stranger(addr).await.1.is_some() {
            break flagged.elapsed();
        }
        assert!(
            flagged.elapsed() < EXPIRY + Duration::from_secs(5),
            "still refused {:?} after the flag",
            flagged.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        back + Duration::from_millis(200) >= EXPIRY,
        "let in {back:?} after the flag, before its {EXPIRY:?}"
    );
    assert!(proxy.stats().flagged_peers.is_empty());
    println!("flag expiry {EXPIRY:?}: logged in again {back:?} after the flag was seen");
    stop(proxy, vec![pool]).await;
}
