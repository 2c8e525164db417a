//! A scripted stratum miner (not an agent) on the proxy: in `/1/workers` at its true rate, within 30 %.
//!
//! The miner hashes at a paced 1000 H/s (SHA3 test hasher) at difficulty 32, about 31 shares a
//! second, for the two minutes: some 2000 shares in the 60 s window put the estimate's
//! spread near 2 %, so the 30 % bound holds every run. The test takes about 125 s.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use phirig_host::api;
use phirig_host::cli::HttpArgs;
use phirig_host::proxy::{self, ProxyConfig};
use phirig_host::snapshot::RigSnapshot;
use phirig_pool::protocol::Target;
use phirig_pool::server::{Fault, Sha3ShareHasher};
use phirig_wire::{Miners, WorkerRow, Workers, MINER_READY};
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::card::{hash_at, slice_of, Card};
use super::setup::{client_config, stop, upstream, wait_until};

const RATE: u64 = 1000;
const DIFFICULTY: u64 = 32;
const MINING: Duration = Duration::from_secs(120);
const WINDOW: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_third_party_miner_appears_in_workers_at_its_estimated_rate() {
    let pool = upstream("cn/0", DIFFICULTY, Fault::None, Arc::new(Sha3ShareHasher)).await;
    // The pool sends one job only: the idle rule must not drop it in the middle of the run.
    let mut upstream_cfg = client_config(&[pool.local_addr()], "cn/0");
    upstream_cfg.timeouts.idle = MINING * 2;
    let config = ProxyConfig::new("127.0.0.1:0".parse().expect("addr"), upstream_cfg);
    let proxy = proxy::start(config, Arc::new(Sha3ShareHasher))
        .await
        .expect("proxy starts");
    wait_until("first upstream job", || proxy.stats().jobs >= 1).await;
    let (tx, addr, api_task) = api_on_loopback().await;

    let mut miner = Card::connect(proxy.local_addr()).await;
    let id = miner
        .request(
            "login",
            json!({"login": "scripted", "pass": "p", "agent": "script/1.0", "rigid": "r1"}),
        )
        .await;
    let reply = miner.reply(id).await;
    let job: phirig_pool::protocol::JobParams =
        serde_json::from_value(reply["result"]["job"].clone()).expect("job in login result");
    let slice = slice_of(&job);
    let target = Target::from_hex(&job.target).expect("target");

    // Hash at RATE, paced by the clock; remember how many hashes were done when.
    let start = Instant::now();
    let mut hashed = 0u64;
    let mut marks = Vec::new();
    let mut accepted = 0u64;
    while start.elapsed() < MINING {
        let due = (start.elapsed().as_secs_f64() * RATE as f64) as u64;
        while hashed < due {
            let nonce = slice.nonce(slice.start() + hashed);
            hashed += 1;
            let hash = hash_at(&Sha3ShareHasher, &job, nonce);
            if target.is_met_by(&hash) {
                let r = miner.submit(&job, nonce, &hash).await;
                assert_eq!(r, Ok("OK".to_string()), "a real share is accepted");
                accepted += 1;
            }
        }
        marks.push((Instant::now(), hashed));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tx.send_replace(Arc::new(RigSnapshot::build(&[], Some(&proxy.stats()), 0)));
    let read_at = Instant::now();
    let (t0, h0) = marks
        .iter()
        .copied()
        .find(|(t, _)| read_at.duration_since(*t) <= WINDOW)
        .expect("a mark inside the window");
    let true_rate = (hashed - h0) as f64 / read_at.duration_since(t0).as_secs_f64();

    let (row, body) = worker_row(addr, "scripted").await;
    let estimated = row.rates()[0] * 1000.0;
    println!(
        "true {true_rate:.0} H/s, estimated {estimated:.0} H/s over 60 s, {accepted} shares accepted"
    );
    assert!(
        (estimated - true_rate).abs() <= 0.3 * true_rate,
        "estimate {estimated:.0} H/s vs true {true_rate:.0} H/s: {body}"
    );
    assert_eq!((row.2, row.3), (1, accepted), "one connection, every share");
    assert!(row.7 > 0, "last share time set");

    let miners: Miners = serde_json::from_str(
        &reqwest::get(format!("http://{addr}/1/miners"))
            .await
            .expect("GET /1/miners")
            .text()
            .await
            .expect("body"),
    )
    .expect("xmrig-proxy miners shape");
    let m = &miners.miners[0];
    assert_eq!(
        (m.4, m.6.as_str(), m.8.as_deref(), m.9.as_str()),
        (MINER_READY, "scripted", Some("r1"), "script/1.0")
    );
    assert!(m.2 > 0 && m.3 > 0, "bytes counted both ways: {m:?}");

    // Not a deployed card: the rig total counts it, marked as estimated.
    let snap = RigSnapshot::build(&[], Some(&proxy.stats()), 0);
    assert_eq!(snap.total.workers, 1);
    assert!(snap.total.estimated[1] > 0.0);
    assert_eq!(snap.total.hashrate[1], Some(snap.total.estimated[1]));

    api_task.abort();
    stop(proxy, vec![pool]).await;
}

/// The host API on a free loopback port, serving the snapshots sent on the returned channel.
pub(super) async fn api_on_loopback(
) -> (watch::Sender<Arc<RigSnapshot>>, SocketAddr, JoinHandle<()>) {
    let (tx, rx) = watch::channel(Arc::new(RigSnapshot::default()));
    let http = HttpArgs {
        http_host: "127.0.0.1".parse().expect("ip"),
        http_port: phirig_host::local_card::free_port().expect("free port"),
        http_access_token: None,
        restricted_read: false,
    };
    let (addr, task) = api::start(&http, false, rx)
        .await
        .expect("api starts")
        .expect("port is not 0");
    (tx, addr, task)
}

/// `name`'s row in `/1/workers`, with the body for failure messages.
pub(super) async fn worker_row(addr: SocketAddr, name: &str) -> (WorkerRow, String) {
    let body = reqwest::get(format!("http://{addr}/1/workers"))
        .await
        .expect("GET /1/workers")
        .text()
        .await
        .expect("body");
    let workers: Workers = serde_json::from_str(&body).expect("xmrig-proxy workers shape");
    let row = workers
        .workers
        .into_iter()
        .find(|w| w.name() == name)
        .unwrap_or_else(|| panic!("{name} in /1/workers: {body}"));
    (row, body)
}
