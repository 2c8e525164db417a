//! `phirig run`: start the cards' agents, mine, and show every card live. With no pool given, this
//! machine mines against the built-in pool on loopback (the embedded default).

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use phirig_agent::cn::Algorithm;
use phirig_agent::share_hasher::KernelShareHasher;
use phirig_pool::client::{ClientConfig, PoolConfig};
use phirig_pool::protocol::PoolUrl;
use phirig_pool::server::{demo_config, PoolServer, ServerHandle};
use tracing::info;

use crate::card_poll::CardView;
use crate::cli::RunArgs;
use crate::local_card::{free_port, log_tail, LocalCard, LocalCardConfig};
use crate::proxy::{self, ProxyConfig, ProxyHandle};
use crate::table;
use crate::HostError;

/// Height sent with built-in pool jobs for algorithms that need one (cn/r).
const DEMO_HEIGHT: u64 = 1_806_260;

/// Starts the built-in pool on loopback, verifying every share with the kernel.
pub async fn start_builtin_pool(
    algo: Algorithm,
    bind: SocketAddr,
    difficulty: u64,
) -> Result<ServerHandle, HostError> {
    let mut cfg = demo_config(bind);
    cfg.algo = algo.to_string();
    if algo.needs_height() {
        cfg.height = DEMO_HEIGHT;
    }
    cfg.start_difficulty = difficulty;
    cfg.target_share_time = Duration::from_secs(10);
    PoolServer::start(cfg, Arc::new(KernelShareHasher::default()))
        .await
        .map_err(|e| HostError::Pool(e.to_string()))
}

pub async fn run(args: RunArgs) -> Result<(), HostError> {
    let algo: Algorithm = args
        .algo
        .parse()
        .map_err(|e: phirig_agent::cn::KernelError| HostError::Usage(e.to_string()))?;
    let server = if args.url.is_empty() {
        Some(
            start_builtin_pool(
                algo,
                "127.0.0.1:0"
                    .parse()
                    .map_err(|_| HostError::Usage("bad bind".into()))?,
                args.difficulty,
            )
            .await?,
        )
    } else {
        None
    };
    let pools = match &server {
        Some(s) => vec![format!("stratum+tcp://{}", s.local_addr())],
        None => args.url.clone(),
    };
    // One upstream connection for the rig; the cards mine slices of its jobs through the proxy,
    // and the host re-verifies every share before it goes upstream.
    let proxy = start_proxy(&args, algo, &pools).await?;
    let token = format!("{:032x}", rand::random::<u128>());
    let port = free_port().map_err(|e| HostError::Io(format!("no free port: {e}")))?;
    let log = std::env::temp_dir().join(format!("phirig-local-agent-{}.log", std::process::id()));
    let card = LocalCard::start(&LocalCardConfig {
        pools: vec![format!("stratum+tcp://{}", proxy.local_addr())],
        user: "local".into(),
        pass: args.pass.clone(),
        algo: algo.to_string(),
        threads: args.threads,
        no_aesni: args.no_aesni,
        http_port: port,
        token: token.clone(),
        log: log.clone(),
    })
    .map_err(|e| HostError::Card(e.to_string()))?;
    banner(&server, &pools, &log);
    let result = watch(&args, card, server.as_ref(), &proxy, port, token).await;
    proxy.shutdown().await;
    if let Some(s) = server {
        let stats = s.stats();
        info!(
            "built-in pool: {} shares accepted, {} rejected",
            stats.accepted,
            stats.rejected.total()
        );
        s.shutdown().await;
    }
    result
}

/// The proxy on loopback, with the configured pools upstream (failover in the order given).
async fn start_proxy(
    args: &RunArgs,
    algo: Algorithm,
    pools: &[String],
) -> Result<ProxyHandle, HostError> {
    let mut upstream = Vec::new();
    for url in pools {
        let parsed =
            PoolUrl::parse(url).map_err(|e| HostError::Usage(format!("pool {url}: {e}")))?;
        let mut pool = PoolConfig::new(parsed, &args.user);
        pool.pass = args.pass.clone();
        upstream.push(pool);
    }
    let algos = phirig_agent::miner::config::advertised_algos(algo);
    let client = ClientConfig::new(
        upstream,
        &format!("phirig/{}", env!("CARGO_PKG_VERSION")),
        algos,
    );
    let bind: SocketAddr = ([127, 0, 0, 1], 0).into();
    proxy::start(
        ProxyConfig::new(bind, client),
        Arc::new(KernelShareHasher::default()),
    )
    .await
    .map_err(|e| HostError::Pool(e.to_string()))
}

/// The line under the table: where the rig's one upstream connection goes and how it fares.
fn pool_line(server: Option<&ServerHandle>, proxy: &ProxyHandle, up: Duration) -> String {
    let st = proxy.stats();
    let up_shares = st.upstream.shares;
    let pool = st
        .upstream
        .current_pool
        .and_then(|i| st.upstream.pools.get(i))
        .map_or_else(|| "(connecting)".to_string(), |p| p.url.clone());
    let builtin = server.map_or(String::new(), |s| {
        format!(" (built-in, {} verified)", s.stats().accepted)
    });
    format!(
        "upstream {pool}{builtin}: accepted {} rejected {} stale {} | proxy {} cards | uptime {}s",
        up_shares.accepted,
        up_shares.rejected,
        up_shares.stale,
        st.cards.iter().filter(|c| c.connected).count(),
        up.as_secs()
    )
}

fn banner(server: &Option<ServerHandle>, pools: &[String], log: &std::path::Path) {
    let mut err = std::io::stderr();
    match server {
        Some(s) => {
            let _ = writeln!(err, "phirig: mining on this machine against the built-in pool at {} ({} jobs, every share verified).", s.local_addr(), s.config().algo);
            let _ = writeln!(
                err,
                "phirig: to mine for real: phirig run -o stratum+tcp://POOL:PORT -u WALLET -p x"
            );
        }
        None => {
            let _ = writeln!(
                err,
                "phirig: mining on this machine against {}",
                pools.join(", ")
            );
        }
    }
    let _ = writeln!(
        err,
        "phirig: local agent log: {}   (Ctrl-C stops)",
        log.display()
    );
}

async fn watch(
    args: &RunArgs,
    mut card: LocalCard,
    server: Option<&ServerHandle>,
    proxy: &ProxyHandle,
    port: u16,
    token: String,
) -> Result<(), HostError> {
    let http = reqwest::Client::new();
    let mut view = CardView::new("local", &format!("http://127.0.0.1:{port}"), Some(token));
    let started = Instant::now();
    let deadline = args.seconds.map(Duration::from_secs);
    let tty = std::io::stdout().is_terminal();
    let refresh = Duration::from_secs(args.refresh.max(1));
    let mut last_print = Instant::now();
    let mut printed_lines = 0;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let outcome = loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = tokio::signal::ctrl_c() => break Ok(()),
        }
        if let Some(status) = card.exited() {
            break Err(HostError::Card(format!(
                "the local agent exited ({status}); its log ends:\n{}",
                log_tail(&card.log, 15)
            )));
        }
        view.poll(&http, Duration::from_millis(800)).await;
        if last_print.elapsed() >= refresh {
            last_print = Instant::now();
            let pool_line = pool_line(server, proxy, started.elapsed());
            let text = table::render(std::slice::from_ref(&view), &pool_line);
            let mut out = std::io::stdout();
            if tty {
                let _ = write!(out, "{}{}", table::rewind(printed_lines), text);
                printed_lines = text.lines().count();
            } else {
                let _ = write!(out, "{text}");
            }
            let _ = out.flush();
        }
        if deadline.is_some_and(|d| started.elapsed() >= d) {
            break Ok(());
        }
    };
    card.stop(Duration::from_secs(10)).await;
    outcome
}
