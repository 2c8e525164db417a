//! rx/0 through the proxy: two real agents in RandomX light mode behind it, the upstream job's
//! seed_hash forwarded to both, their shares re-verified by the proxy with that seed and accepted
//! by the verifying pool.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use phirig_host::proxy::ProxyHandle;
use phirig_host::share_hasher::KernelShareHasher;
use phirig_pool::server::{ServerConfig, ShareHasher};
use phirig_test_support::local_agent::LocalAgent;

use super::setup::{start_pool, start_proxy, stop};

const PHIRIG: &str = env!("CARGO_BIN_EXE_phirig");
const RX: &str = "rx/0";
const SEED: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";
/// Two one-thread light-mode agents, the proxy and the pool verifying, on two shared cores.
const PATIENCE: Duration = Duration::from_secs(120);

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < PATIENCE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn card(proxy: &ProxyHandle, name: &str) -> LocalAgent {
    let url = format!("stratum+tcp://{}", proxy.local_addr());
    let mut cmd = Command::new(PHIRIG);
    cmd.args(["agent", "-o", &url, "-u", name, "-a", RX, "-t", "1"])
        .args(["--rig", "--no-journal", "--rx-mode", "light"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    LocalAgent::spawn(&mut cmd).expect("spawning an agent")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_cards_mine_rx0_through_the_proxy() {
    let hasher: Arc<dyn ShareHasher> = Arc::new(KernelShareHasher::default());
    let config = ServerConfig {
        algo: RX.into(),
        seed_hash: Some(SEED.into()),
        start_difficulty: 25,
        min_difficulty: 1,
        vardiff: false,
        job_interval: Duration::ZERO,
        ..ServerConfig::default()
    };
    let pool = start_pool(config, hasher.clone()).await;
    let proxy = start_proxy(&[pool.local_addr()], RX, hasher).await;
    let _a = card(&proxy, "card-a");
    let _b = card(&proxy, "card-b");

    until("accepted rx/0 shares from both cards", || {
        let cards = proxy.stats().cards;
        cards.len() == 2 && cards.iter().all(|c| c.shares.accepted >= 1)
    })
    .await;
    assert!(pool.stats().accepted_on(RX) >= 2);
    let up = pool.stats();
    assert_eq!(
        up.rejected.total(),
        0,
        "rejected upstream: {:?}",
        up.rejected
    );
    for c in &proxy.stats().cards {
        assert_eq!(c.shares.invalid, 0, "{c:?}");
        assert!(!c.flagged, "{c:?}");
    }
    stop(proxy, vec![pool]).await;
}
