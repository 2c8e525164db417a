//! Blobs up to xmrig's 408-byte limit (issue 21): mined and verified; a longer one is refused
//! while the previous job keeps running.

use std::time::Duration;

use crate::support::{
    easy_config, heavy, pool_url, run_agent, runtime, start_pool, Agent, PATIENCE,
};
use phirig_kernel::cn::{hash, AesPath, Algorithm};
use phirig_pool::protocol::MAX_BLOB_LEN;
use phirig_pool::server::{random_hashing_blob, ServerConfig};

/// A Monero-form hashing blob padded out to `len` bytes, as a coin with a long header sends.
fn long_blob(len: usize) -> Vec<u8> {
    let mut blob = random_hashing_blob("cn-pico", &mut rand::rng());
    blob.resize(len, 0x5a);
    blob
}

#[test]
fn a_408_byte_blob_mines_and_a_409_byte_one_is_refused() {
    let _one = heavy();
    let rt = runtime();
    let config = ServerConfig {
        template: Some(long_blob(MAX_BLOB_LEN)),
        ..easy_config("cn-pico", 100)
    };
    let pool = start_pool(&rt, config);
    let urls = [pool_url(&pool)];
    let args = [
        "-o",
        &urls[0],
        "-u",
        "long",
        "-a",
        "cn-pico",
        "-t",
        "1",
        "--print-time",
        "1",
    ];
    let agent = Agent::spawn(&args, &[]);

    // The pool re-hashes every 408-byte share with the kernel before accepting it.
    agent.until("two accepted shares on the 408-byte job", PATIENCE, || {
        (pool.stats().accepted >= 2).then_some(())
    });

    pool.new_job_with_blob(long_blob(MAX_BLOB_LEN + 1));
    agent.wait_log("longer than the 408-byte limit", PATIENCE);
    assert!(
        agent.logs().contains("the previous job keeps running"),
        "{}",
        agent.logs()
    );
    let before = pool.stats().accepted;
    agent.until("two more shares on the previous job", PATIENCE, || {
        (pool.stats().accepted >= before + 2).then_some(())
    });
    let stats = pool.stats();
    assert_eq!(stats.rejected.total(), 0, "rejected: {:?}", stats.rejected);
    assert!(!agent.logs().contains("panicked"), "{}", agent.logs());
}

#[test]
fn hash_takes_408_bytes_and_refuses_409() {
    let limit = Duration::from_secs(60);
    let input = long_blob(MAX_BLOB_LEN);
    let (status, out, err) = run_agent(&["hash", "--algo", "cn/0", &hex::encode(&input)], limit);
    assert!(status.success(), "{err}");
    let want = hash(Algorithm::Cn0, AesPath::Software, &input, 0).expect("kernel hash");
    assert_eq!(out.trim(), hex::encode(want));

    let too_long = hex::encode(long_blob(MAX_BLOB_LEN + 1));
    let (status, _, err) = run_agent(&["hash", "--algo", "cn/0", &too_long], limit);
    assert!(!status.success());
    assert!(err.contains("409") && err.contains("408"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "not one line: {err}");
}
