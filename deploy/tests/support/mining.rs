//! A real pool for test-bed agents: the reference pool server, verifying shares with the kernel.
//! Kept out of `support/mod.rs` so crates that include that module need no pool dependency.

use phirig_host::share_hasher::KernelShareHasher;
use phirig_pool::server::{demo_config, PoolServer, ServerHandle};
use std::sync::Arc;
use std::time::Duration;

/// The cheap algorithm test-bed agents mine, so hashing does not hog a 2-core machine.
pub const ALGO: &str = "cn-pico";

/// A pool on every host address (cards reach it at their link's host side, 172.31.(I+1).254),
/// on a free port, with a low difficulty so a one-thread agent finds shares within seconds.
pub async fn start_pool() -> ServerHandle {
    let mut cfg = demo_config("0.0.0.0:0".parse().expect("bind address"));
    cfg.algo = ALGO.into();
    cfg.start_difficulty = 200;
    cfg.min_difficulty = 100;
    cfg.target_share_time = Duration::from_secs(2);
    cfg.verify_threads = 1;
    PoolServer::start(cfg, Arc::new(KernelShareHasher::default()))
        .await
        .expect("start pool")
}
