//! `phirig pool serve`: the reference pool server, verifying every share with the kernel, in
//! switching mode when given an algorithm values file (re-read whenever it changes).

use std::time::Duration;

use phirig_pool::server::Fault;
use tracing::{error, info};

use crate::cli::PoolServeArgs;
use crate::pool_values::{self, ValuesWatch, VALUES_POLL};
use crate::run::{start_builtin_pool, BuiltinAlgo};
use crate::HostError;

pub async fn serve(args: PoolServeArgs) -> Result<(), HostError> {
    let algo = BuiltinAlgo::parse(&args.algo, args.seed_hash.as_deref())?
        .with_next_seed(args.next_seed_hash.as_ref())?;
    let fault = args.fault.as_deref().map(str::parse::<Fault>).transpose()?;
    let values = args
        .algo_values
        .as_deref()
        .map(pool_values::load)
        .transpose()?;
    let mut watch = args.algo_values.as_deref().map(ValuesWatch::new);
    let switching = values.as_ref().map_or(String::new(), |v| {
        format!(", switching over {} algorithm(s)", v.len())
    });
    let server = start_builtin_pool(&algo, args.bind, args.difficulty, values).await?;
    if let Some(f) = fault {
        server.set_fault(f);
    }
    println!(
        "phirig pool: serving {} on {} (difficulty {}, every share verified{switching})",
        algo,
        server.local_addr(),
        args.difficulty
    );
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    tick.tick().await;
    let mut values_tick = tokio::time::interval(VALUES_POLL);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let s = server.stats();
                info!("connections {} accepted {} rejected {} workers {}", s.connections_active, s.accepted, s.rejected.total(), s.workers.len());
            }
            _ = values_tick.tick(), if watch.is_some() => {
                match watch.as_mut().and_then(ValuesWatch::changed) {
                    Some(Ok(values)) => server.set_algo_values(values),
                    Some(Err(e)) => error!("{e}; the values in force stay"),
                    None => {}
                }
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    server.shutdown().await;
    Ok(())
}
