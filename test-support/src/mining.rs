//! Real pools for tests: the reference pool server, verifying shares with the kernel.

use std::sync::Arc;
use std::time::Duration;

use phirig_host::share_hasher::KernelShareHasher;
use phirig_pool::server::{demo_config, PoolServer, ServerConfig, ServerHandle};

/// The cheap algorithm test-bed agents mine, so hashing does not hog a 2-core machine.
pub const ALGO: &str = "cn-pico";

/// Starts the reference pool with `config`, verifying shares with the real kernel.
pub async fn start_pool(config: ServerConfig) -> ServerHandle {
    PoolServer::start(config, Arc::new(KernelShareHasher::default()))
        .await
        .expect("starting the reference pool")
}

/// A pool on loopback at a fixed `difficulty` (no vardiff), for [`ALGO`] unless `config` says
/// otherwise; started within 10 s or the test fails.
pub async fn fixed_difficulty_pool(difficulty: u64, config: ServerConfig) -> ServerHandle {
    let config = ServerConfig {
        bind: "127.0.0.1:0".parse().expect("addr"),
        algo: ALGO.into(),
        start_difficulty: difficulty,
        min_difficulty: 1,
        vardiff: false,
        ..config
    };
    tokio::time::timeout(Duration::from_secs(10), start_pool(config))
        .await
        .expect("pool starts in time")
}

/// A pool for test-bed cards: on every host address (cards reach it at their link's host side,
/// 172.31.(I+1).254), on a free port, with a low difficulty so a one-thread agent finds shares
/// within seconds.
pub async fn start_card_pool() -> ServerHandle {
    let mut cfg = demo_config("0.0.0.0:0".parse().expect("bind address"));
    cfg.algo = ALGO.into();
    cfg.start_difficulty = 200;
    cfg.min_difficulty = 100;
    cfg.target_share_time = Duration::from_secs(2);
    cfg.verify_threads = 1;
    start_pool(cfg).await
}
