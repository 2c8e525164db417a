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
