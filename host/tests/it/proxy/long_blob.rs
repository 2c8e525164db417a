//! Blobs up to 408 bytes through the proxy (issue 21): re-verified with the kernel and accepted;
//! a 409-byte upstream job is refused and the cards keep the previous one.

use std::sync::Arc;
use std::time::Duration;

use phirig_host::share_hasher::KernelShareHasher;
use phirig_pool::protocol::MAX_BLOB_LEN;
use phirig_pool::server::{random_hashing_blob, Fault, ServerConfig, ShareHasher};

use super::card::{hash_at, slice_of, Card};
use super::setup::{start_pool, start_proxy, stop, wait_until};

fn long_blob(len: usize) -> Vec<u8> {
    let mut blob = random_hashing_blob("cn-pico", &mut rand::rng());
    blob.resize(len, 0xa5);
    blob
}

#[tokio::test]
async fn a_408_byte_job_is_proxied_and_a_409_byte_one_refused() {
    let hasher: Arc<dyn ShareHasher> = Arc::new(KernelShareHasher::default());
    // Difficulty 1: every hash is a share, so one kernel hash per submit.
    let config = ServerConfig {
        algo: "cn-pico".into(),
        start_difficulty: 1,
        min_difficulty: 1,
        vardiff: false,
        job_interval: Duration::ZERO,
        template: Some(long_blob(MAX_BLOB_LEN)),
        fault: Fault::None,
        ..ServerConfig::default()
    };
    let pool = start_pool(config, hasher.clone()).await;
    let proxy = start_proxy(&[pool.local_addr()], "cn-pico", hasher.clone()).await;
    let mut card = Card::connect(proxy.local_addr()).await;
    let job = card.login("long").await;
    assert_eq!(job.blob.len(), 2 * MAX_BLOB_LEN);
    let slice = slice_of(&job);
    let nonce = slice.nonce(slice.start());
    let hash = hash_at(hasher.as_ref(), &job, nonce);
    assert_eq!(card.submit(&job, nonce, &hash).await, Ok("OK".into()));

    let jobs = proxy.stats().jobs;
    pool.new_job_with_blob(long_blob(MAX_BLOB_LEN + 1));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(proxy.stats().jobs, jobs, "the 409-byte job was refused");
    // The card keeps mining the previous job, and its shares still go upstream.
    let nonce = slice.nonce(slice.start() + 1);
    let hash = hash_at(hasher.as_ref(), &job, nonce);
    assert_eq!(card.submit(&job, nonce, &hash).await, Ok("OK".into()));

    // The next good job reaches the card, and nothing came before it.
    pool.new_job();
    wait_until("the next good job", || proxy.stats().jobs > jobs).await;
    let (next, _) = card.job().await;
    assert_eq!(next.blob.len(), 2 * MAX_BLOB_LEN);
    let slice = slice_of(&next);
    let nonce = slice.nonce(slice.start());
    let hash = hash_at(hasher.as_ref(), &next, nonce);
    assert_eq!(card.submit(&next, nonce, &hash).await, Ok("OK".into()));
    assert_eq!(pool.stats().accepted, 3);
    assert_eq!(pool.stats().rejected.total(), 0);
    stop(proxy, vec![pool]).await;
}
