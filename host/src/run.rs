//! `phirig run`: start the cards' agents, mine, and show every card live. With no cards, this
//! machine mines alone (the embedded default); with no pool given, against the built-in pool.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::share_hasher::KernelShareHasher;
use phirig_kernel::cn::Algorithm;
use phirig_pool::client::{ClientConfig, PoolConfig};
use phirig_pool::protocol::PoolUrl;
use phirig_pool::server::{demo_config, AlgoValues, PoolServer, ServerHandle};
use tracing::info;

use crate::api::RigCommand;
use crate::card_poll::CardView;
use crate::cli::RunArgs;
use crate::local_card::{free_port, log_tail, LocalCard, LocalCardConfig};
use crate::proxy::{self, ProxyConfig, ProxyError, ProxyHandle};
use crate::rig::{self, pool_line, Faces, InstanceError, InstanceLock, StopSignals};
use crate::snapshot::RigSnapshot;
use crate::HostError;

/// The login of this machine's own agent in the embedded default.
const LOCAL_LOGIN: &str = "local";

/// Height sent with built-in pool jobs for algorithms that need one (cn/r).
const DEMO_HEIGHT: u64 = 1_806_260;

/// Seed of the built-in pool's rx/0 jobs when none is given: any fixed 32 bytes will do
/// ("phirig built-in pool rx/0 seed 1").
pub const DEMO_SEED: &str = "706869726967206275696c742d696e20706f6f6c2072782f3020736565642031";

/// What the built-in pool serves: a CryptoNight variant, or rx/0 keyed by a seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuiltinAlgo {
    Cn(Algorithm),
    Rx {
        seed_hash: String,
        /// Announced in every job as the next epoch's seed.
        next_seed_hash: Option<String>,
    },
}

impl BuiltinAlgo {
    /// `name` as given to `-a`; `seed_hash` is for rx/0 only, [`DEMO_SEED`] when not given (the
    /// pool checks it is 64 hex digits when it starts).
    pub fn parse(name: &str, seed_hash: Option<&str>) -> Result<Self, HostError> {
        if phirig_rx::is_rx(name) {
            let seed_hash = seed_hash.unwrap_or(DEMO_SEED).to_ascii_lowercase();
            return Ok(Self::Rx {
                seed_hash,
                next_seed_hash: None,
            });
        }
        let algo: Algorithm = name.parse()?;
        match seed_hash {
            Some(_) => Err(HostError::Usage(format!(
                "--seed-hash is for rx/0 jobs, not {algo}"
            ))),
            None => Ok(Self::Cn(algo)),
        }
    }
}

impl BuiltinAlgo {
    /// rx/0 announcing `next` as the next epoch's seed; an error for CryptoNight.
    pub fn with_next_seed(self, next: Option<&phirig_rx::Seed>) -> Result<Self, HostError> {
        match (self, next) {
            (algo, None) => Ok(algo),
            (Self::Rx { seed_hash, .. }, Some(next)) => Ok(Self::Rx {
                seed_hash,
                next_seed_hash: Some(next.to_string()),
            }),
            (Self::Cn(algo), Some(_)) => Err(HostError::Usage(format!(
                "--next-seed-hash is for rx/0 jobs, not {algo}"
            ))),
        }
    }
}

impl std::fmt::Display for BuiltinAlgo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cn(algo) => algo.fmt(f),
            Self::Rx { .. } => f.write_str(phirig_rx::ALGO),
        }
    }
}

/// Starts the built-in pool, verifying every share with the kernel (rx/0 in RandomX's light
/// mode); with `switching` values it sends each miner that reports algo-perf the algorithm that
/// pays it best.
pub async fn start_builtin_pool(
    algo: &BuiltinAlgo,
    bind: SocketAddr,
    difficulty: u64,
    switching: Option<AlgoValues>,
) -> Result<ServerHandle, HostError> {
    let mut cfg = demo_config(bind);
    cfg.switching = switching;
    cfg.algo = algo.to_string();
    match algo {
        BuiltinAlgo::Cn(cn) if cn.needs_height() => cfg.height = DEMO_HEIGHT,
        BuiltinAlgo::Cn(_) => {}
        BuiltinAlgo::Rx {
            seed_hash,
            next_seed_hash,
        } => {
            cfg.seed_hash = Some(seed_hash.clone());
            cfg.next_seed_hash = next_seed_hash.clone();
        }
    }
    cfg.start_difficulty = difficulty;
    cfg.target_share_time = Duration::from_secs(10);
    Ok(PoolServer::start(cfg, Arc::new(KernelShareHasher::default())).await?)
}

/// The cards to mine on: `--card`s, else every MPSS card; none means the embedded default.
fn rig_cards(args: &RunArgs) -> Result<Vec<phirig_deploy::Card>, HostError> {
    crate::cards::cards(&args.rig.reach)
}

pub async fn run(args: RunArgs) -> Result<(), HostError> {
    // First: a SIGTERM from here on stops what this run started instead of orphaning it.
    let signals = StopSignals::install().map_err(HostError::Signals)?;
    let algo = BuiltinAlgo::parse(&args.algo, None)?;
    let cards = rig_cards(&args)?;
    // A rig refuses to start beside another on the same journal before it touches anything.
    let _instance = match rig::journal_path(&args) {
        Some(journal) if !cards.is_empty() => Some(InstanceLock::acquire(&journal)?),
        _ => None,
    };
    let server = if args.url.is_empty() {
        Some(
            start_builtin_pool(
                &algo,
                SocketAddr::from(([127, 0, 0, 1], 0)),
                args.difficulty,
                None,
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
    // One upstream connection for the rig; the cards mine leases of its jobs through the proxy,
    // and the host re-verifies every share before it goes upstream. Alone, this machine's agent
    // reaches the proxy on loopback; cards reach it on their links.
    let bind = if cards.is_empty() {
        SocketAddr::from(([127, 0, 0, 1], 0))
    } else {
        args.rig.proxy_bind
    };
    let proxy = start_proxy(&args, &algo, &pools, bind)
        .await
        .map_err(|e| match e {
            HostError::Proxy(ProxyError::Bind { addr, source })
                if source.kind() == std::io::ErrorKind::AddrInUse =>
            {
                InstanceError::ProxyPortInUse { addr, source }.into()
            }
            e => e,
        })?;
    proxy.set_cards(
        cards
            .iter()
            .map(|c| c.name.clone())
            .chain(cards.is_empty().then(|| LOCAL_LOGIN.into())),
    );
    let result = if cards.is_empty() {
        run_local(&args, &algo, server.as_ref(), &pools, &proxy, signals).await
    } else {
        if let Some(s) = &server {
            eprintln!(
                "phirig: no pool given: the cards mine against the built-in pool at {} ({} jobs).",
                s.local_addr(),
                s.config().algo
            );
        }
        rig::run_cards(&args, cards, &proxy, server.as_ref(), signals).await
    };
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

/// The embedded default: this machine is the only card, its agent a child process.
async fn run_local(
    args: &RunArgs,
    algo: &BuiltinAlgo,
    server: Option<&ServerHandle>,
    pools: &[String],
    proxy: &ProxyHandle,
    signals: StopSignals,
) -> Result<(), HostError> {
    let token = format!("{:032x}", rand::random::<u128>());
    let port = free_port().map_err(HostError::FreePort)?;
    let log = std::env::temp_dir().join(format!("phirig-local-agent-{}.log", std::process::id()));
    let cfg = LocalCardConfig {
        pools: vec![format!("stratum+tcp://{}", proxy.local_addr())],
        user: LOCAL_LOGIN.into(),
        pass: args.pass.clone(),
        algo: algo.to_string(),
        threads: args.threads,
        no_aesni: args.no_aesni,
        rx_mode: args.rx_mode.clone(),
        http_port: port,
        token,
        log: log.clone(),
    };
    let card = LocalCard::start(&cfg, false)?;
    banner(server, pools, &log);
    watch(args, card, &cfg, server, proxy, signals).await
}

/// The proxy on `bind`, with the configured pools upstream (failover in the order given).
async fn start_proxy(
    args: &RunArgs,
    algo: &BuiltinAlgo,
    pools: &[String],
    bind: SocketAddr,
) -> Result<ProxyHandle, HostError> {
    // The configured pools (flags or config file); with none, the built-in pool.
    let mut upstream = crate::config::pool_configs(args)?;
    if upstream.is_empty() {
        for url in pools {
            let parsed = PoolUrl::parse(url).map_err(|source| HostError::PoolUrl {
                url: url.clone(),
                source,
            })?;
            let mut pool = PoolConfig::new(parsed, &args.user);
            pool.pass = args.pass.clone();
            upstream.push(pool);
        }
    }
    let algos = phirig_agent::miner::config::advertised_algos(&algo.to_string())?;
    let mut client = ClientConfig::new(
        upstream,
        &format!("phirig/{}", env!("CARGO_PKG_VERSION")),
        algos,
    );
    client.timeouts = crate::config::timeouts(args);
    let mut config = ProxyConfig::new(bind, client);
    config.lease_len = args.rig.lease_len;
    config.flag_expiry = Duration::from_secs(args.rig.flag_expiry);
    Ok(proxy::start(config, Arc::new(KernelShareHasher::default())).await?)
}

fn banner(server: Option<&ServerHandle>, pools: &[String], log: &std::path::Path) {
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
        "phirig: local agent log: {}   (Ctrl-C or SIGTERM stops)",
        log.display()
    );
}

async fn watch(
    args: &RunArgs,
    mut card: LocalCard,
    cfg: &LocalCardConfig,
    server: Option<&ServerHandle>,
    proxy: &ProxyHandle,
    mut signals: StopSignals,
) -> Result<(), HostError> {
    let http = reqwest::Client::new();
    let mut views = [CardView::new(
        LOCAL_LOGIN,
        &format!("http://127.0.0.1:{}", cfg.http_port),
        Some(cfg.token.clone()),
    )];
    let (control, mut commands) = tokio::sync::mpsc::channel(8);
    let mut faces = Faces::start_with_control(
        &args.http,
        args.rig.status_json.clone(),
        Duration::from_secs(args.refresh.max(1)),
        Some(control),
    )
    .await?;
    let started = Instant::now();
    let deadline = args.seconds.map(Duration::from_secs);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut pause = rig::PauseHold::new(views.len());
    let outcome = loop {
        tokio::select! {
            _ = tick.tick() => {}
            s = signals.recv() => {
                eprintln!("phirig: {}: stopping the local agent", s.name);
                break Ok(());
            }
            Some(command) = commands.recv() => {
                match command {
                    RigCommand::Pause => pause.set(true, Instant::now()),
                    RigCommand::Resume => pause.set(false, Instant::now()),
                    RigCommand::RestartCard(_) => {}
                }
                let paused = pause.paused();
                card = crate::local_control::apply(command, card, cfg, &http, paused).await?;
            }
        }
        if let Some(status) = card.exited() {
            break Err(HostError::LocalAgentExited {
                status,
                log_tail: log_tail(&card.log, 15),
            });
        }
        rig::poll_all(&mut views, &http, rig::POLL_TIMEOUT).await;
        // A restart while paused starts the agent paused; this holds the rig's pause (or
        // resume) for an agent that missed it all the same.
        for (_, tell) in pause.due(&views, Instant::now()) {
            let command = match tell {
                rig::Tell::Pause => RigCommand::Pause,
                rig::Tell::Resume => RigCommand::Resume,
            };
            info!("the local agent is {}", tell.why());
            card = crate::local_control::apply(command, card, cfg, &http, pause.paused()).await?;
        }
        let snap = RigSnapshot::build(&views, Some(&proxy.stats()), started.elapsed().as_secs())
            .with_temperatures(&args.rig.reach.sysfs_root);
        faces.show(snap, &pool_line(server, proxy, started.elapsed()), false);
        if deadline.is_some_and(|d| started.elapsed() >= d) {
            break Ok(());
        }
    };
    signals.exit_on_next();
    card.stop(Duration::from_secs(10)).await;
    outcome
}
