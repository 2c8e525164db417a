//! A rig of two real agents behind the proxy follows an algorithm-switching pool (issue 21): the
//! proxy logs in upstream with the cards' summed algo-perf, forwards each job's algorithm, and
//! every share is accepted on the algorithm of its job, none lost.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use phirig_host::proxy::ProxyHandle;
use phirig_host::share_hasher::KernelShareHasher;
use phirig_pool::server::{AlgoValues, ServerConfig, ShareHasher};
use phirig_test_support::local_agent::LocalAgent;

use super::setup::{start_pool, start_proxy, stop};

const PHIRIG: &str = env!("CARGO_BIN_EXE_phirig");
const PICO: &str = "cn-pico";
const LITE: &str = "cn-lite/1";
/// Two one-thread agents and a verifying pool on two shared cores: generous.
const PATIENCE: Duration = Duration::from_secs(120);

fn values(pico: f64, lite: f64) -> AlgoValues {
    [(PICO.to_string(), pico), (LITE.to_string(), lite)]
        .into_iter()
        .collect()
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < PATIENCE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn card(proxy: &ProxyHandle, name: &str, profile: &str) -> LocalAgent {
    let url = format!("stratum+tcp://{}", proxy.local_addr());
    let mut cmd = Command::new(PHIRIG);
    cmd.args(["agent", "-o", &url, "-u", name, "-a", PICO, "-t", "1"])
        .args(["--rig", "--no-journal", "--profile", profile])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    LocalAgent::spawn(&mut cmd).expect("spawning an agent")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rig_of_two_cards_follows_the_switching_pool_and_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = dir.path().join("profile.json");
    let profile = profile.to_str().expect("utf-8 path");
    let tuned = Command::new(PHIRIG)
        .args([
            "agent",
            "tune",
            "--algo",
            "cn-pico,cn-lite/1",
            "--round-ms",
            "100",
        ])
        .args(["--pairs", "1", "--profile", profile])
        .output()
        .expect("running tune");
    assert!(
        tuned.status.success(),
        "{}",
        String::from_utf8_lossy(&tuned.stderr)
    );

    let hasher: Arc<dyn ShareHasher> = Arc::new(KernelShareHasher::default());
    let config = ServerConfig {
        algo: PICO.into(),
        start_difficulty: 100,
        min_difficulty: 1,
        vardiff: false,
        job_interval: Duration::ZERO,
        switching: Some(values(1.0, 0.0001)),
        ..ServerConfig::default()
    };
    let pool = start_pool(config, hasher.clone()).await;
    let proxy = start_proxy(&[pool.local_addr()], PICO, hasher).await;
    let _a = card(&proxy, "card-a", profile);
    let _b = card(&proxy, "card-b", profile);

    until("shares on cn-pico", || pool.stats().accepted_on(PICO) >= 2).await;
    pool.set_algo_values(values(0.0001, 1.0));
    until("shares on cn-lite/1", || {
        pool.stats().accepted_on(LITE) >= 2
    })
    .await;
    let pico = pool.stats().accepted_on(PICO);
    pool.set_algo_values(values(1.0, 0.0001));
    until("shares on cn-pico again", || {
        pool.stats().accepted_on(PICO) >= pico + 2
    })
    .await;

    let up = pool.stats();
    assert_eq!(
        up.rejected.total(),
        0,
        "rejected upstream: {:?}",
        up.rejected
    );
    let cards = proxy.stats().cards;
    assert_eq!(cards.len(), 2, "{cards:?}");
    for c in &cards {
        assert_eq!(c.shares.invalid, 0, "{c:?}");
        assert!(!c.flagged, "{c:?}");
    }
    // None lost: every share the cards had accepted was accepted upstream, and the reverse.
    until("the proxy's books to match the pool's", || {
        let by_cards: u64 = proxy.stats().cards.iter().map(|c| c.shares.accepted).sum();
        by_cards == pool.stats().accepted
    })
    .await;
    stop(proxy, vec![pool]).await;
}
