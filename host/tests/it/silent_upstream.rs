//! The host's upstream with two cards behind it, against pools that go quiet at a difficulty
//! where no share is due: with default settings the proxy leaves a silent, deaf or zombie pool
//! for the standby within 30 s and both cards get the backup's work. Times are printed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use phirig_host::proxy::{self, ProxyConfig, ProxyHandle};
use phirig_pool::client::{ClientConfig, PoolConfig, PoolUrl};
use phirig_pool::server::{Fault, PoolServer, ServerConfig, ServerHandle, Sha3ShareHasher};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Bound on a prompt step.
const STEP: Duration = Duration::from_secs(10);
/// The bound from the fault to mining on the backup.
const FAILOVER_BOUND: Duration = Duration::from_secs(30);

/// A pool on which no share is due within any test window (difficulty 2^40).
async fn no_share_pool(advertise_keepalive: bool) -> ServerHandle {
    let config = ServerConfig {
        start_difficulty: 1 << 40,
        min_difficulty: 1 << 40,
        vardiff: false,
        job_interval: Duration::ZERO,
        advertise_keepalive,
        ..ServerConfig::default()
    };
    timeout(STEP, PoolServer::start(config, Arc::new(Sha3ShareHasher)))
        .await
        .expect("pool starts in time")
        .expect("pool starts")
}

/// The host's defaults: default timeouts, keepalive off.
async fn start_proxy(pools: &[&ServerHandle]) -> ProxyHandle {
    let pools = pools
        .iter()
        .map(|p| {
            let url = PoolUrl::parse(&format!("stratum+tcp://{}", p.local_addr())).expect("url");
            PoolConfig {
                keepalive: false,
                ..PoolConfig::new(url, "wallet")
            }
        })
        .collect();
    let upstream = ClientConfig::new(pools, "phirig-host-test", vec!["cn/0".into()]);
    let config = ProxyConfig::new("127.0.0.1:0".parse().expect("addr"), upstream);
    let proxy = proxy::start(config, Arc::new(Sha3ShareHasher))
        .await
        .expect("proxy starts");
    let start = Instant::now();
    while proxy.stats().jobs == 0 {
        assert!(start.elapsed() < STEP, "no upstream job");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    proxy
}

/// A card as the proxy sees it: logs in, then only reads job notifications.
struct Card {
    reader: BufReader<OwnedReadHalf>,
    _writer: OwnedWriteHalf,
}

impl Card {
    async fn login(proxy: SocketAddr, name: &str) -> Card {
        let stream = timeout(STEP, TcpStream::connect(proxy))
            .await
            .expect("connect in time")
            .expect("connect");
        let (r, mut w) = stream.into_split();
        let login = json!({"id": 1, "jsonrpc": "2.0", "method": "login",
            "params": {"login": name, "pass": "x", "agent": "card-test"}});
        w.write_all(format!("{login}\n").as_bytes())
            .await
            .expect("write login");
        let mut card = Card {
            reader: BufReader::new(r),
            _writer: w,
        };
        let reply = card.line(STEP).await;
        assert!(
            reply["result"]["job"].is_object(),
            "login carries a job: {reply}"
        );
        card
    }

    async fn line(&mut self, wait: Duration) -> Value {
        let mut line = String::new();
        timeout(wait, self.reader.read_line(&mut line))
            .await
            .expect("a line in time")
            .expect("read");
        serde_json::from_str(&line).expect("JSON line")
    }

    /// The next job notification within `wait`.
    async fn next_job(&mut self, wait: Duration) -> Value {
        let deadline = Instant::now() + wait;
        loop {
            let v = self
                .line(deadline.saturating_duration_since(Instant::now()))
                .await;
            if v["method"] == "job" {
                return v["params"].clone();
            }
        }
    }
}

/// Two cards behind the proxy; `fault` on the primary right after they logged in (the
/// upstream login's reply is the last thing it heard); time until both cards have new work.
async fn case(name: &str, primary_keepalive: bool, fault: Fault, new_block: bool) -> Duration {
    let primary = no_share_pool(primary_keepalive).await;
    let backup = no_share_pool(true).await;
    let proxy = start_proxy(&[&primary, &backup]).await;
    let mut cards = [
        Card::login(proxy.local_addr(), "card-a").await,
        Card::login(proxy.local_addr(), "card-b").await,
    ];
    if new_block {
        // The zombie rule needs the standby's height to compare with.
        let start = Instant::now();
        while proxy
            .stats()
            .upstream
            .standby
            .is_none_or(|s| s.state != "ready")
        {
            assert!(start.elapsed() < STEP, "no standby");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        backup.new_block();
    }
    primary.set_fault(fault);
    let faulted = Instant::now();
    let mut took = Duration::ZERO;
    for card in &mut cards {
        card.next_job(Duration::from_secs(45)).await;
        took = faulted.elapsed();
    }
    let upstream = proxy.stats().upstream;
    println!(
        "host upstream, {name}: both cards on the backup's work {took:.1?} after the fault \
         (left by {:?}, standby promotions {})",
        upstream.reconnects, upstream.standby_promotions
    );
    assert_eq!(upstream.current_pool, Some(1));
    assert_eq!(upstream.standby_promotions, 1);
    assert_eq!(upstream.shares.stale + upstream.shares.rejected, 0);
    assert!(took <= FAILOVER_BOUND, "{name}: {took:?}");
    timeout(STEP, proxy.shutdown()).await.expect("proxy stops");
    primary.shutdown().await;
    backup.shutdown().await;
    took
}

#[tokio::test]
async fn silent_upstream_with_keepalive_is_left_within_30_s() {
    case(
        "silent, keepalive advertised",
        true,
        Fault::SilentAfterLogin,
        false,
    )
    .await;
}

#[tokio::test]
async fn silent_upstream_without_keepalive_is_left_within_30_s() {
    case(
        "silent, no keepalive",
        false,
        Fault::SilentAfterLogin,
        false,
    )
    .await;
}

#[tokio::test]
async fn an_upstream_that_stops_reading_is_left_within_30_s() {
    case("stops reading", false, Fault::StopReading, false).await;
}

#[tokio::test]
async fn a_zombie_upstream_is_left_when_the_standby_is_a_block_ahead() {
    let took = case("zombie", true, Fault::StopJobs, true).await;
    assert!(
        took >= Duration::from_secs(20),
        "left by the height rule: {took:?}"
    );
}

#[tokio::test]
async fn an_upstream_closing_on_keepalived_is_kept_and_probe_answers_never_reach_the_cards() {
    let pool = no_share_pool(true).await;
    pool.set_fault(Fault::CloseOnKeepalived);
    let backup = no_share_pool(true).await;
    let url = |p: &ServerHandle| {
        PoolUrl::parse(&format!("stratum+tcp://{}", p.local_addr())).expect("url")
    };
    let mut upstream = ClientConfig::new(
        vec![
            PoolConfig::new(url(&pool), "wallet"),
            PoolConfig::new(url(&backup), "wallet"),
        ],
        "phirig-host-test",
        vec!["cn/0".into()],
    );
    // Many probe cycles in a few seconds.
    upstream.timeouts.liveness = Duration::from_millis(200);
    let config = ProxyConfig::new("127.0.0.1:0".parse().expect("addr"), upstream);
    let proxy = proxy::start(config, Arc::new(Sha3ShareHasher))
        .await
        .expect("proxy starts");
    let start = Instant::now();
    while proxy.stats().jobs == 0 {
        assert!(start.elapsed() < STEP, "no upstream job");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut card = Card::login(proxy.local_addr(), "card-a").await;
    // The one reconnect (keepalived refused) brings the new session's job; getjob probes after
    // that are answered with new jobs for the same block, which must not reach the card.
    let mut jobs = 0;
    let until = Instant::now() + Duration::from_secs(5);
    while let Ok(v) = timeout(
        until.saturating_duration_since(Instant::now()),
        card.line(STEP),
    )
    .await
    {
        if v["method"] == "job" {
            jobs += 1;
        }
    }
    let up = proxy.stats().upstream;
    println!(
        "host upstream closing on keepalived: {jobs} job(s) to the card, ends {:?}",
        up.reconnects
    );
    assert_eq!(up.current_pool, Some(0));
    assert_eq!(up.reconnects.get("probe_refused"), Some(&1));
    assert_eq!(up.reconnects.values().sum::<u64>(), 1);
    assert!(jobs <= 1, "{jobs}");
    timeout(STEP, proxy.shutdown()).await.expect("proxy stops");
    pool.shutdown().await;
    backup.shutdown().await;
}
