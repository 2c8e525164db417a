//! A host API server on loopback over a snapshot built from real `CardView`s, and a client.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use phirig_host::api;
use phirig_host::card_poll::CardView;
use phirig_host::cli::HttpArgs;
use phirig_host::clock_offset::Sample;
use phirig_host::snapshot::{
    ProxyCardSnapshot, RigSnapshot, RttMs, StandbySnapshot, UpstreamSnapshot,
};
use phirig_pool::session::LedgerCounts;
use phirig_wire::{Counters, ShareCounts};
use serde_json::Value;
use tokio::sync::watch;

pub const TOKEN: &str = "t0ken-for-tests";

/// A card that reported `seconds + 1` polls a second apart, hashing `per_s` H/s.
pub fn card(name: &str, per_s: u64, seconds: u64) -> CardView {
    let mut v = CardView::new(name, "http://127.0.0.1:1", None);
    // Two polls' worth of round trips: the card's clock runs 2 s ahead of the host's.
    for i in 0..2u64 {
        let t0 = 50_000_000_000 + i * 1_000_000_000;
        v.offset.add(Sample {
            host_send_ns: t0,
            host_recv_ns: t0 + 400_000,
            card_ns: t0 + 200_000 + 2_000_000_000,
        });
    }
    for s in 0..=seconds {
        v.ingest(Counters {
            boot_id: "boot".into(),
            wall_ns: (100 + s) * 1_000_000_000,
            hashes_total: s * per_s,
            algo: "cn/0".into(),
            shares: ShareCounts {
                found: 5,
                accepted: 3,
                rejected: 1,
                stale: 1,
                in_flight: 0,
            },
            hugepages: [2, 3],
            aes: Some("aes-ni".into()),
            ..Counters::default()
        });
    }
    v
}

/// mic0 has a full 60 s window, `we"ird\card` only 10 s; the rig has an upstream connection.
pub fn snapshot(rate0: u64) -> RigSnapshot {
    let cards = vec![card("mic0", rate0, 61), card("we\"ird\\card", 50, 10)];
    let mut s = RigSnapshot::build(&cards, None, 120);
    s.cards[0].temperature_c = Some(61.5);
    s.cards[0].proxy = Some(ProxyCardSnapshot {
        connected: true,
        slices: 7,
        submitted: 6,
        accepted: 3,
        invalid: 2,
        ..ProxyCardSnapshot::default()
    });
    s.upstream = Some(UpstreamSnapshot {
        pool: Some("stratum+tcp://127.0.0.1:3333".into()),
        connected: true,
        uptime_s: 100,
        jobs: 9,
        shares: LedgerCounts {
            found: 8,
            accepted: 6,
            rejected: 1,
            stale: 1,
            in_flight: 0,
        },
        reconnects: vec![("hung-response".into(), 2), ("closed".into(), 1)],
        rtt_ms: Some(RttMs {
            min: 1.5,
            median: 2.4,
            p99: 9.0,
            samples: 40,
        }),
        diff_current: 120_000,
        best: vec![900_000, 150_000, 0, 0, 0, 0, 0, 0, 0, 0],
        ip: Some("127.0.0.1".into()),
        tls: Some("TLSv1.3".into()),
        tls_fingerprint: Some("ab".repeat(32)),
        standby: Some(StandbySnapshot {
            pool: "stratum+tcp://127.0.0.1:3334".into(),
            state: "ready".into(),
        }),
        standby_promotions: 1,
    });
    s
}

pub struct Server {
    pub addr: SocketAddr,
    pub tx: watch::Sender<Arc<RigSnapshot>>,
    pub task: tokio::task::JoinHandle<()>,
}

pub async fn start(token: Option<&str>, restricted: bool, snap: RigSnapshot) -> Server {
    let (tx, rx) = watch::channel(Arc::new(snap));
    let http = HttpArgs {
        http_host: "127.0.0.1".parse().expect("ip"),
        http_port: phirig_host::local_card::free_port().expect("free port"),
        http_access_token: token.map(str::to_string),
        restricted_read: false,
    };
    let (addr, task) = api::start(&http, restricted, rx)
        .await
        .expect("start")
        .expect("port is not 0");
    Server { addr, tx, task }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

pub async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, String, String) {
    let mut req = client().get(format!("http://{addr}{path}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, ctype, resp.text().await.expect("body"))
}

pub async fn get_json(addr: SocketAddr, path: &str) -> Value {
    let (status, ctype, body) = get(addr, path, None).await;
    assert_eq!(status, 200, "{path}: {body}");
    assert_eq!(ctype, "application/json");
    serde_json::from_str(&body).expect("JSON")
}

pub fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().expect("object").keys().cloned().collect()
}

pub fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}
