//! Nonce slices: cards mine disjoint ones, a NiceHash pool's byte stays, a gone card's rest moves on.

use std::sync::Arc;
use std::time::Duration;

use phirig_agent::worker::NonceRange;
use phirig_host::proxy::{self, ProxyConfig};
use phirig_pool::server::{Fault, ServerConfig, Sha3ShareHasher};

use super::card::{disjoint, share, slice_of, Card};
use super::setup::{
    client_config, start_pool, start_proxy, stop, upstream, wait_until, DIFFICULTY,
};

#[tokio::test]
async fn cards_mine_disjoint_slices_and_shares_are_accepted_upstream() {
    let pool = upstream("cn/0", DIFFICULTY, Fault::None, Arc::new(Sha3ShareHasher)).await;
    let proxy = start_proxy(&[pool.local_addr()], "cn/0", Arc::new(Sha3ShareHasher)).await;
    let mut cards = Vec::new();
    let mut jobs = Vec::new();
    for i in 0..3 {
        let mut card = Card::connect(proxy.local_addr()).await;
        jobs.push(card.login(&format!("card{i}")).await);
        cards.push(card);
    }
    let slices: Vec<NonceRange> = jobs.iter().map(slice_of).collect();
    assert!(disjoint(&slices), "{slices:?}");
    for (card, job) in cards.iter_mut().zip(&jobs) {
        let (nonce, hash) = share(job);
        assert_eq!(card.submit(job, nonce, &hash).await, Ok("OK".into()));
    }
    // A card that used its slice up asks for more and gets a fresh, still disjoint one.
    let fresh = cards[0].getjob().await;
    let mut all = slices.clone();
    all.push(slice_of(&fresh));
    assert!(disjoint(&all), "{all:?}");
    let (nonce, hash) = share(&fresh);
    assert_eq!(cards[0].submit(&fresh, nonce, &hash).await, Ok("OK".into()));

    let up = pool.stats();
    assert_eq!(up.accepted, 4);
    assert_eq!(up.rejected.total(), 0);
    let stats = proxy.stats();
    assert_eq!(stats.upstream.shares.accepted, 4);
    let accepted: Vec<u64> = stats.cards.iter().map(|c| c.shares.accepted).collect();
    assert_eq!(accepted, vec![2, 1, 1]);
    assert_eq!(stats.cards[0].slices, 2);
    assert_eq!(stats.cards[1].login, "card1");
    // The rig's summary figures: the pool's difficulty, and the four best shares (of at least
    // that difficulty each, since the pool took them), in order.
    assert_eq!(stats.diff_current, DIFFICULTY);
    assert!(
        stats.best[..4].iter().all(|&d| d >= DIFFICULTY),
        "{:?}",
        stats.best
    );
    assert!(
        stats.best.windows(2).all(|w| w[0] >= w[1]),
        "{:?}",
        stats.best
    );
    assert_eq!(stats.best[4..], [0; 6]);
    let link = stats.upstream.link.expect("logged in upstream");
    assert_eq!(link.ip, pool.local_addr().ip());
    stop(proxy, vec![pool]).await;
}

#[tokio::test]
async fn nicehash_upstream_keeps_the_pool_byte_and_splits_beneath_it() {
    let config = ServerConfig {
        algo: "cn/0".into(),
        start_difficulty: DIFFICULTY,
        min_difficulty: 1,
        vardiff: false,
        job_interval: Duration::ZERO,
        nicehash: true,
        ..ServerConfig::default()
    };
    let pool = start_pool(config, Arc::new(Sha3ShareHasher)).await;
    let proxy = start_proxy(&[pool.local_addr()], "cn/0", Arc::new(Sha3ShareHasher)).await;
    let mut cards = Vec::new();
    let mut slices = Vec::new();
    for i in 0..3 {
        let mut card = Card::connect(proxy.local_addr()).await;
        let job = card.login(&format!("card{i}")).await;
        slices.push(slice_of(&job));
        let (nonce, hash) = share(&job);
        assert_eq!(card.submit(&job, nonce, &hash).await, Ok("OK".into()));
        cards.push(card);
    }
    // One pool byte for everyone, disjoint counter ranges beneath it.
    assert!(slices
        .iter()
        .all(|s| s.fixed_byte() == slices[0].fixed_byte()));
    assert!(slices.iter().all(|s| s.len() < 1 << 24));
    assert!(disjoint(&slices), "{slices:?}");
    let up = pool.stats();
    assert_eq!((up.accepted, up.rejected.total()), (3, 0));
    stop(proxy, vec![pool]).await;
}

#[tokio::test]
async fn a_card_that_dies_hands_its_unleased_nonces_to_the_next_card() {
    let pool = upstream("cn/0", DIFFICULTY, Fault::None, Arc::new(Sha3ShareHasher)).await;
    let proxy = start_proxy(&[pool.local_addr()], "cn/0", Arc::new(Sha3ShareHasher)).await;
    let mut a = Card::connect(proxy.local_addr()).await;
    let mut b = Card::connect(proxy.local_addr()).await;
    let job_a = a.login("a").await;
    let job_b = b.login("b").await;
    drop(b);
    wait_until("card b seen as gone", || !proxy.stats().cards[1].connected).await;
    let mut c = Card::connect(proxy.local_addr()).await;
    let job_c = c.login("c").await;
    let slices = [slice_of(&job_a), slice_of(&job_b), slice_of(&job_c)];
    assert!(disjoint(&slices), "{slices:?}");
    // c continues b's block right after b's abandoned lease.
    assert_eq!(slices[2].fixed_byte(), slices[1].fixed_byte());
    assert_eq!(slices[2].start(), slices[1].end());
    assert_eq!(proxy.stats().reassigned, 1);
    let (nonce, hash) = share(&job_c);
    assert_eq!(c.submit(&job_c, nonce, &hash).await, Ok("OK".into()));
    // The next job goes to the live cards only.
    pool.new_job();
    let (next_a, _) = a.job().await;
    let (next_c, _) = c.job().await;
    assert!(disjoint(&[slice_of(&next_a), slice_of(&next_c)]));
    let (nonce, hash) = share(&next_a);
    assert_eq!(a.submit(&next_a, nonce, &hash).await, Ok("OK".into()));
    assert_eq!(pool.stats().accepted, 2);
    stop(proxy, vec![pool]).await;
}

#[tokio::test]
async fn a_gone_cards_unleased_nonces_go_to_the_next_card_and_its_shares_are_accepted() {
    let pool = upstream("cn/0", DIFFICULTY, Fault::None, Arc::new(Sha3ShareHasher)).await;
    let mut config = ProxyConfig::new(
        "127.0.0.1:0".parse().expect("addr"),
        client_config(&[pool.local_addr()], "cn/0"),
    );
    config.lease_len = 1 << 16;
    let proxy = proxy::start(config, Arc::new(Sha3ShareHasher))
        .await
        .expect("proxy starts");
    wait_until("first upstream job", || proxy.stats().jobs >= 1).await;

    let mut a = Card::connect(proxy.local_addr()).await;
    let first = slice_of(&a.login("dies").await);
    let second = slice_of(&a.getjob().await);
    assert_eq!(first.fixed_byte(), second.fixed_byte());
    assert_eq!((first.len(), second.start()), (1 << 16, first.end()));
    let mut other = Card::connect(proxy.local_addr()).await;
    let other_slice = slice_of(&other.login("stays").await);
    assert_ne!(other_slice.fixed_byte(), first.fixed_byte());
    drop(a);
    wait_until("the proxy sees the card go", || proxy.stats().orphaned > 0).await;

    // The card comes back (or a new one arrives): it continues the dead card's block after the
    // abandoned lease, not a fresh byte; nothing is leased twice.
    let mut b = Card::connect(proxy.local_addr()).await;
    let job = b.login("dies").await;
    let adopted = slice_of(&job);
    assert_eq!(adopted.fixed_byte(), first.fixed_byte());
    assert_eq!(adopted.start(), second.end());
    assert!(disjoint(&[first, second, other_slice, adopted]));
    let st = proxy.stats();
    assert_eq!((st.reassigned, st.orphaned), (1, 0));
    let row = st
        .cards
        .iter()
        .rev()
        .find(|c| c.login == "dies")
        .expect("row");
    assert_eq!((row.adopted, row.connected), (1, true));
    // Its shares from the adopted lease are accepted upstream.
    let (nonce, hash) = share(&job);
    assert!(adopted.contains_nonce(nonce));
    assert_eq!(b.submit(&job, nonce, &hash).await, Ok("OK".into()));
    stop(proxy, vec![pool]).await;
}
