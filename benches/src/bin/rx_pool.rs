//! `rx_pool`: a loopback rx/0 pool for the paired comparison with xmrig, whose own `--bench`
//! needs a million hashes (an hour at a few hundred H/s); xmrig mines here and prints its rate.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use phirig_pool::server::{PoolServer, ServerConfig, ShareHasher};
use phirig_rx::{LightVerifier, Seed};

#[derive(Parser)]
struct Args {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:3333")]
    bind: SocketAddr,
    /// Share difficulty: high enough that verifying costs the miner's cores little.
    #[arg(long, default_value_t = 20_000)]
    difficulty: u64,
    #[arg(
        long,
        default_value = "0707070707070707070707070707070707070707070707070707070707070707"
    )]
    seed: String,
}

/// Verifies rx/0 shares in light mode, as the host does.
struct RxHasher(LightVerifier);

impl ShareHasher for RxHasher {
    fn hash(&self, algo: &str, _blob: &[u8], _height: u64) -> Result<[u8; 32], String> {
        Err(format!(
            "{algo}: this pool verifies rx/0 jobs with their seed only"
        ))
    }

    fn hash_seeded(
        &self,
        _algo: &str,
        blob: &[u8],
        _height: u64,
        seed_hash: Option<&str>,
    ) -> Result<[u8; 32], String> {
        let seed = Seed::from_job(seed_hash).map_err(|e| e.to_string())?;
        self.0.hash(seed, blob).map_err(|e| e.to_string())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let config = ServerConfig {
        bind: args.bind,
        algo: phirig_rx::ALGO.into(),
        seed_hash: Some(args.seed),
        start_difficulty: args.difficulty,
        min_difficulty: args.difficulty,
        vardiff: false,
        job_interval: Duration::ZERO,
        verify_threads: 1,
        ..ServerConfig::default()
    };
    let pool = PoolServer::start(config, Arc::new(RxHasher(LightVerifier::new(1)))).await?;
    println!(
        "rx/0 pool on {} (difficulty {})",
        pool.local_addr(),
        args.difficulty
    );
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let s = pool.stats();
                println!("accepted {} rejected {}", s.accepted, s.rejected.total());
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    pool.shutdown().await;
    Ok(())
}
