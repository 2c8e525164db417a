//! Shares re-verified with the kernel: bad ones refused locally, a bad card flagged, cn-pico checked.

use std::sync::Arc;

use phirig_host::share_hasher::KernelShareHasher;
use phirig_pool::server::{Fault, Sha3ShareHasher, ShareHasher};

use super::card::{counter, hash_at, search, share, slice_of, Card};
use super::setup::{start_proxy, stop, upstream, DIFFICULTY};

#[tokio::test]
async fn bad_shares_are_refused_locally_and_a_bad_card_is_flagged() {
    let pool = upstream("cn/0", DIFFICULTY, Fault::None, Arc::new(Sha3ShareHasher)).await;
    let proxy = start_proxy(&[pool.local_addr()], "cn/0", Arc::new(Sha3ShareHasher)).await;
    let mut a = Card::connect(proxy.local_addr()).await;
    let mut b = Card::connect(proxy.local_addr()).await;
    let job_a = a.login("a").await;
    let job_b = b.login("b").await;

    // A share from b's slice, submitted by a under its own job id: outside a's slice.
    let (nonce_b, hash_b) = share(&job_b);
    assert_eq!(
        a.submit(&job_a, nonce_b, &hash_b).await,
        Err("Invalid nonce".into())
    );
    // A good share, then the same again.
    let (nonce, hash) = share(&job_a);
    assert_eq!(a.submit(&job_a, nonce, &hash).await, Ok("OK".into()));
    assert_eq!(
        a.submit(&job_a, nonce, &hash).await,
        Err("Duplicate share".into())
    );
    // A real hash that misses the upstream target, and a made-up result.
    let (low, low_hash) = search(&job_a, false, 0);
    assert_eq!(
        a.submit(&job_a, low, &low_hash).await,
        Err("Low difficulty share".into())
    );
    let (n2, _) = search(&job_a, true, counter(nonce) + 1);
    assert_eq!(
        a.submit(&job_a, n2, &[0x11; 32]).await,
        Err("Low difficulty share".into())
    );
    // b is unaffected.
    assert_eq!(b.submit(&job_b, nonce_b, &hash_b).await, Ok("OK".into()));

    // a has 4 invalid of 5 submits; a fifth (5 of 6) gets it flagged, and then even its good
    // shares stay home.
    assert_eq!(
        a.submit(&job_a, n2, &[0x22; 32]).await,
        Err("Duplicate share".into())
    );
    let stats = proxy.stats();
    assert!(stats.cards[0].flagged, "{:?}", stats.cards[0]);
    assert!(!stats.cards[1].flagged);
    let (n3, h3) = search(&job_a, true, counter(n2) + 1);
    let r = a.submit(&job_a, n3, &h3).await;
    assert!(r.as_ref().is_err_and(|m| m.contains("flagged")), "{r:?}");

    let up = pool.stats();
    assert_eq!(up.accepted, 2, "only the two good shares went upstream");
    assert_eq!(
        up.rejected.total(),
        0,
        "nothing bad reached upstream: {:?}",
        up.rejected
    );
    let s = proxy.stats().cards[0].shares;
    assert_eq!(
        (s.submitted, s.accepted, s.invalid, s.withheld),
        (7, 1, 5, 1)
    );
    stop(proxy, vec![pool]).await;
}

#[tokio::test]
async fn kernel_verifies_cn_pico_shares() {
    let hasher: Arc<dyn ShareHasher> = Arc::new(KernelShareHasher::default());
    // Difficulty 1: every hash is a share, so one kernel hash per step.
    let pool = upstream("cn-pico", 1, Fault::None, hasher.clone()).await;
    let proxy = start_proxy(&[pool.local_addr()], "cn-pico", hasher.clone()).await;
    let mut card = Card::connect(proxy.local_addr()).await;
    let job = card.login("pico").await;
    assert_eq!(job.algo.as_deref(), Some("cn-pico"));
    let slice = slice_of(&job);
    let nonce = slice.nonce(slice.start());
    let hash = hash_at(hasher.as_ref(), &job, nonce);
    assert_eq!(card.submit(&job, nonce, &hash).await, Ok("OK".into()));
    let mut wrong = hash;
    wrong[0] ^= 1;
    let next = slice.nonce(slice.start() + 1);
    assert_eq!(
        card.submit(&job, next, &wrong).await,
        Err("Low difficulty share".into())
    );
    assert_eq!(pool.stats().accepted, 1);
    assert_eq!(pool.stats().rejected.total(), 0);
    stop(proxy, vec![pool]).await;
}
