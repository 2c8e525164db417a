//! The proxy between a reference pool upstream and the test's cards, started and stopped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use phirig_host::proxy::{self, ProxyConfig, ProxyHandle};
use phirig_pool::client::{ClientConfig, PoolConfig, PoolUrl, Timeouts};
use phirig_pool::server::{Fault, PoolServer, ServerConfig, ServerHandle, ShareHasher};
use tokio::time::timeout;

/// Bound on any single wait.
pub const STEP: Duration = Duration::from_secs(10);
/// Most nonces a test card tries for one share (SHA3 at difficulty 64: ~64 expected).
pub const MAX_TRIES: u64 = 200_000;
/// Upstream difficulty for the SHA3 tests.
pub const DIFFICULTY: u64 = 64;

// ---------------------------------------------------------------- set-up

pub async fn upstream(
    algo: &str,
    difficulty: u64,
    fault: Fault,
    hasher: Arc<dyn ShareHasher>,
) -> ServerHandle {
    let config = ServerConfig {
        algo: algo.into(),
        start_difficulty: difficulty,
        min_difficulty: 1,
        vardiff: false,
        job_interval: Duration::ZERO,
        fault,
        ..ServerConfig::default()
    };
    start_pool(config, hasher).await
}

pub async fn start_pool(config: ServerConfig, hasher: Arc<dyn ShareHasher>) -> ServerHandle {
    timeout(STEP, PoolServer::start(config, hasher))
        .await
        .expect("pool starts in time")
        .expect("pool starts")
}

pub fn client_config(pools: &[SocketAddr], algo: &str) -> ClientConfig {
    let pools = pools
        .iter()
        .map(|a| {
            let url = PoolUrl::parse(&format!("stratum+tcp://{a}")).expect("pool url");
            PoolConfig::new(url, "wallet")
        })
        .collect();
    let mut cfg = ClientConfig::new(pools, "phirig-proxy-test", vec![algo.into()]);
    cfg.timeouts = Timeouts {
        connect: Duration::from_secs(1),
        response: Duration::from_secs(1),
        idle: Duration::from_secs(10),
        keepalive: Duration::from_millis(300),
        liveness: Duration::from_secs(5),
        write_stall: Duration::from_secs(1),
        backoff_initial: Duration::from_millis(100),
        backoff_max: Duration::from_millis(400),
        // Stay on the secondary for the length of a test once we failed over.
        probe_interval: Duration::from_secs(60),
    };
    cfg
}

pub async fn start_proxy(
    pools: &[SocketAddr],
    algo: &str,
    hasher: Arc<dyn ShareHasher>,
) -> ProxyHandle {
    start_proxy_with(pools, algo, hasher, |_| {}).await
}

/// [`start_proxy`] with settings changed by `edit`.
pub async fn start_proxy_with(
    pools: &[SocketAddr],
    algo: &str,
    hasher: Arc<dyn ShareHasher>,
    edit: impl FnOnce(&mut ProxyConfig),
) -> ProxyHandle {
    let mut config = ProxyConfig::new(
        "127.0.0.1:0".parse().expect("addr"),
        client_config(pools, algo),
    );
    edit(&mut config);
    let proxy = proxy::start(config, hasher).await.expect("proxy starts");
    // Cards connect once the proxy has work, so their login result carries a job.
    wait_until("first upstream job", || proxy.stats().jobs >= 1).await;
    proxy
}

pub async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    for _ in 0..1000 {
        if done() {
            return;
        }
        assert!(start.elapsed() < STEP, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("gave up waiting for {what}");
}

pub async fn stop(proxy: ProxyHandle, pools: Vec<ServerHandle>) {
    timeout(STEP, proxy.shutdown())
        .await
        .expect("proxy stops in time");
    for p in pools {
        timeout(STEP, p.shutdown())
            .await
            .expect("pool stops in time");
    }
}
