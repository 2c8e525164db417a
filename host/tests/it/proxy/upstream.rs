//! The upstream side: new jobs reach every card at once, and cards keep mining across a failover.

use std::sync::Arc;
use std::time::{Duration, Instant};

use phirig_pool::server::{Fault, Sha3ShareHasher};

use super::card::{disjoint, share, slice_of, Card};
use super::setup::{start_proxy, stop, upstream, DIFFICULTY};

#[tokio::test]
async fn new_upstream_jobs_reach_every_card_quickly() {
    let pool = upstream("cn/0", DIFFICULTY, Fault::None, Arc::new(Sha3ShareHasher)).await;
    let proxy = start_proxy(&[pool.local_addr()], "cn/0", Arc::new(Sha3ShareHasher)).await;
    let mut cards = Vec::new();
    for i in 0..4 {
        let mut card = Card::connect(proxy.local_addr()).await;
        card.login(&format!("card{i}")).await;
        cards.push(card);
    }
    let mut worst = Vec::new();
    for round in 1..=5 {
        let t0 = Instant::now();
        pool.new_job();
        let mut latest = Duration::ZERO;
        let mut slices = Vec::new();
        for card in &mut cards {
            let (job, at) = card.job().await;
            latest = latest.max(at.duration_since(t0));
            assert!(
                job.job_id.starts_with(&format!("{round}.")),
                "{}",
                job.job_id
            );
            slices.push(slice_of(&job));
        }
        assert!(disjoint(&slices));
        worst.push(latest);
    }
    worst.sort();
    println!(
        "job fan-out (pool new_job -> last of 4 cards has it), 5 rounds: min {:?}, median {:?}, max {:?}",
        worst[0],
        worst[worst.len() / 2],
        worst[worst.len() - 1]
    );
    // The target is 50 ms; the bound leaves room for a loaded shared test machine.
    assert!(
        worst[worst.len() / 2] < Duration::from_millis(500),
        "{worst:?}"
    );
    // Still mining on the newest job.
    let job = cards[0].getjob().await;
    assert!(job.job_id.starts_with("5."), "{}", job.job_id);
    let (nonce, hash) = share(&job);
    assert_eq!(cards[0].submit(&job, nonce, &hash).await, Ok("OK".into()));
    stop(proxy, vec![pool]).await;
}

#[tokio::test]
async fn cards_keep_mining_when_upstream_fails_over() {
    let primary = upstream(
        "cn/0",
        DIFFICULTY,
        Fault::SilentAfterLogin,
        Arc::new(Sha3ShareHasher),
    )
    .await;
    let secondary = upstream("cn/0", DIFFICULTY, Fault::None, Arc::new(Sha3ShareHasher)).await;
    let pools = [primary.local_addr(), secondary.local_addr()];
    let proxy = start_proxy(&pools, "cn/0", Arc::new(Sha3ShareHasher)).await;
    let mut a = Card::connect(proxy.local_addr()).await;
    let mut b = Card::connect(proxy.local_addr()).await;
    a.login("a").await;
    b.login("b").await;
    // The primary answered the login and went silent: keepalives go unanswered, the client
    // fails over, and the secondary's job reaches both cards.
    let t0 = Instant::now();
    for card in [&mut a, &mut b] {
        let mut job = None;
        for _ in 0..10 {
            let (j, _) = card.job().await;
            if proxy.stats().upstream.current_pool == Some(1) {
                job = Some(j);
                break;
            }
        }
        let job = job.expect("a job from the secondary");
        let (nonce, hash) = share(&job);
        assert_eq!(card.submit(&job, nonce, &hash).await, Ok("OK".into()));
    }
    println!(
        "failover: both cards mining on the secondary {:?} after login",
        t0.elapsed()
    );
    assert_eq!(secondary.stats().accepted, 2);
    assert_eq!(proxy.stats().upstream.pools[1].logins, 1);
    stop(proxy, vec![primary, secondary]).await;
}
