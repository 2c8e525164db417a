//! `phirig pool serve`: the reference pool server, verifying every share with the kernel.

use std::time::Duration;

use phirig_kernel::cn::Algorithm;
use phirig_pool::server::Fault;
use tracing::info;

use crate::cli::PoolServeArgs;
use crate::run::start_builtin_pool;
use crate::HostError;

pub async fn serve(args: PoolServeArgs) -> Result<(), HostError> {
    let algo: Algorithm = args.algo.parse()?;
    let fault = args.fault.as_deref().map(str::parse::<Fault>).transpose()?;
    let server = start_builtin_pool(algo, args.bind, args.difficulty).await?;
    if let Some(f) = fault {
        server.set_fault(f);
    }
    println!(
        "phirig pool: serving {} on {} (difficulty {}, every share verified)",
        algo,
        server.local_addr(),
        args.difficulty
    );
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let s = server.stats();
                info!("connections {} accepted {} rejected {} workers {}", s.connections_active, s.accepted, s.rejected.total(), s.workers.len());
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    server.shutdown().await;
    Ok(())
}
