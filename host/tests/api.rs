//! The host API on a real loopback server, over snapshots built from real `CardView`s: xmrig's
//! summary shape, null-until-full windows, `/v1/cards` and `/v1/rig`, `/metrics` that parses
//! line by line, and the agent's token rules.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use phirig_host::api;
use phirig_host::card_poll::CardView;
use phirig_host::cli::HttpArgs;
use phirig_host::clock_offset::Sample;
use phirig_host::snapshot::{ProxyCardSnapshot, RigSnapshot, RttMs, UpstreamSnapshot};
use phirig_pool::session::LedgerCounts;
use phirig_wire::{Counters, ShareCounts};
use serde_json::Value;
use tokio::sync::watch;

const TOKEN: &str = "t0ken-for-tests";

/// A card that reported `seconds + 1` polls a second apart, hashing `per_s` H/s.
fn card(name: &str, per_s: u64, seconds: u64) -> CardView {
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
fn snapshot(rate0: u64) -> RigSnapshot {
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
    });
    s
}

struct Server {
    addr: SocketAddr,
    tx: watch::Sender<Arc<RigSnapshot>>,
    task: tokio::task::JoinHandle<()>,
}

async fn start(token: Option<&str>, restricted: bool, snap: RigSnapshot) -> Server {
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

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, String, String) {
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

async fn get_json(addr: SocketAddr, path: &str) -> Value {
    let (status, ctype, body) = get(addr, path, None).await;
    assert_eq!(status, 200, "{path}: {body}");
    assert_eq!(ctype, "application/json");
    serde_json::from_str(&body).expect("JSON")
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().expect("object").keys().cloned().collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn summary_is_xmrig_shaped_with_null_until_full_windows() {
    let srv = start(None, false, snapshot(100)).await;
    for path in ["/1/summary", "/2/summary"] {
        let s = get_json(srv.addr, path).await;
        // The fields of the agent's (and xmrig's) summary, plus phirig's extension.
        assert_eq!(
            keys(&s),
            set(&[
                "id",
                "worker_id",
                "uptime",
                "restricted",
                "kind",
                "ua",
                "version",
                "algo",
                "paused",
                "donate_level",
                "algorithms",
                "hugepages",
                "hashrate",
                "results",
                "connection",
                "phirig",
            ]),
            "{path}"
        );
        assert_eq!(s["uptime"], 120);
        assert_eq!(s["restricted"], false);
        assert_eq!(s["kind"], "miner");
        assert_eq!(s["algo"], "cn/0");
        assert_eq!(s["paused"], false);
        assert_eq!(s["hugepages"], serde_json::json!([4, 6]));
        let hr = &s["hashrate"];
        // 10 s known for both cards; 60 s only for mic0, so the rig's 60 s is unknown; 15 min
        // for nobody.
        assert_eq!(hr["total"], serde_json::json!([150.0, null, null]));
        assert_eq!(
            hr["threads"].as_array().expect("threads").len(),
            2,
            "one per card"
        );
        assert_eq!(hr["threads"][0], serde_json::json!([100.0, 100.0, null]));
        assert_eq!(hr["threads"][1], serde_json::json!([50.0, null, null]));
        assert_eq!(hr["highest"], 150.0);
        let r = &s["results"];
        assert_eq!(
            keys(r),
            set(&[
                "diff_current",
                "shares_good",
                "shares_total",
                "avg_time",
                "avg_time_ms",
                "hashes_total",
                "best",
                "error_log",
            ])
        );
        // The pool's count (upstream) is the rig's truth, not the agents' sum (6 there).
        assert_eq!(r["shares_good"], 6);
        assert_eq!(r["shares_total"], 8);
        assert_eq!(r["avg_time"], 20, "120 s uptime / 6 accepted");
        assert_eq!(r["hashes_total"], 61 * 100 + 10 * 50);
        assert_eq!(r["best"].as_array().expect("best").len(), 10);
        assert_eq!(r["best"][0], 900_000);
        assert_eq!(r["diff_current"], 120_000);
        let c = &s["connection"];
        assert_eq!(c["pool"], "stratum+tcp://127.0.0.1:3333");
        assert_eq!(c["uptime"], 100);
        assert_eq!(c["uptime_ms"], 100_000);
        assert_eq!(c["ping"], 2);
        assert_eq!(c["failures"], 3);
        assert_eq!(c["accepted"], 6);
        assert_eq!(c["rejected"], 1);
        assert_eq!(c["ip"], "127.0.0.1");
        assert_eq!(c["diff"], 120_000);
        assert_eq!(c["tls"], "TLSv1.3");
        assert_eq!(c["tls-fingerprint"], "ab".repeat(32));
        assert_eq!(s["phirig"]["cards"], 2);
        assert_eq!(s["phirig"]["cards_mining"], 2);
        for k in ["uptime", "donate_level"] {
            assert!(s[k].is_u64(), "{k} is an integer as in xmrig");
        }
    }

    // `highest` keeps the best 10 s rate seen, also one published and replaced between two
    // requests (the run loop publishes once a second; the tracker needs far less than that).
    srv.tx.send(Arc::new(snapshot(300))).expect("publish");
    tokio::time::sleep(Duration::from_millis(300)).await;
    srv.tx.send(Arc::new(snapshot(10))).expect("publish");
    let s = get_json(srv.addr, "/1/summary").await;
    assert_eq!(
        s["hashrate"]["highest"], 350.0,
        "the 300 H/s snapshot was seen by the tracker"
    );
    assert_eq!(
        s["hashrate"]["total"][0], 60.0,
        "but the current rate is the latest"
    );
    srv.task.abort();
}

#[tokio::test]
async fn an_empty_rig_reports_nulls_not_zeros() {
    let srv = start(None, false, RigSnapshot::default()).await;
    let s = get_json(srv.addr, "/1/summary").await;
    assert_eq!(
        s["hashrate"]["total"],
        serde_json::json!([null, null, null])
    );
    assert_eq!(s["hashrate"]["threads"], serde_json::json!([]));
    assert_eq!(s["connection"]["pool"], Value::Null);
    let (status, _, text) = get(srv.addr, "/metrics", None).await;
    assert_eq!(status, 200);
    let parsed = parse_exposition(&text).expect("parses");
    assert!(
        !parsed.samples.iter().any(|s| s.name.contains("hashrate")),
        "no rate samples for an empty rig"
    );
    srv.task.abort();
}

#[tokio::test]
async fn cards_and_rig_give_the_snapshot_as_json() {
    let srv = start(None, false, snapshot(100)).await;
    let cards = get_json(srv.addr, "/v1/cards").await;
    let cards = cards.as_array().expect("a list of cards");
    assert_eq!(cards.len(), 2);
    assert_eq!(cards[0]["name"], "mic0");
    assert_eq!(cards[0]["status"], "mining");
    assert_eq!(
        cards[0]["hashrate"],
        serde_json::json!([100.0, 100.0, null])
    );
    assert_eq!(cards[0]["proxy"]["slices"], 7);
    assert_eq!(cards[0]["temperature_c"], 61.5);
    assert_eq!(cards[0]["clock"]["offset_ns"], 2_000_000_000i64);
    assert_eq!(cards[0]["clock"]["bound_ns"], 200_000);
    assert_eq!(cards[1]["name"], "we\"ird\\card");
    assert_eq!(cards[1]["proxy"], Value::Null);
    let rig = get_json(srv.addr, "/v1/rig").await;
    assert_eq!(rig["total"]["cards"], 2);
    assert_eq!(rig["upstream"]["jobs"], 9);
    assert_eq!(rig["cards"].as_array().expect("cards").len(), 2);
    let (status, _, _) = get(srv.addr, "/v1/nothing", None).await;
    assert_eq!(status, 404);
    srv.task.abort();
}

#[tokio::test]
async fn metrics_parse_and_carry_every_family() {
    let srv = start(None, false, snapshot(100)).await;
    let (status, ctype, text) = get(srv.addr, "/metrics", None).await;
    assert_eq!(status, 200);
    assert_eq!(ctype, "text/plain; version=0.0.4");
    let m = parse_exposition(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let val = |name: &str, labels: &[(&str, &str)]| -> Option<f64> {
        m.samples
            .iter()
            .find(|s| {
                s.name == name
                    && s.labels.len() == labels.len()
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
    };
    let rate = "phirig_card_hashrate_hashes_per_second";
    assert_eq!(
        val(rate, &[("card", "mic0"), ("window", "10s")]),
        Some(100.0)
    );
    assert_eq!(
        val(rate, &[("card", "mic0"), ("window", "60s")]),
        Some(100.0)
    );
    assert_eq!(
        val(rate, &[("card", "mic0"), ("window", "15m")]),
        None,
        "not full"
    );
    // The awkward name survives escaping and parsing unchanged.
    assert_eq!(
        val(rate, &[("card", "we\"ird\\card"), ("window", "10s")]),
        Some(50.0)
    );
    assert_eq!(
        val(
            "phirig_rig_hashrate_hashes_per_second",
            &[("window", "10s")]
        ),
        Some(150.0)
    );
    assert_eq!(
        val(
            "phirig_rig_hashrate_hashes_per_second",
            &[("window", "60s")]
        ),
        None
    );
    assert_eq!(
        val("phirig_card_hashes_total", &[("card", "mic0")]),
        Some(6100.0)
    );
    assert_eq!(val("phirig_card_up", &[("card", "mic0")]), Some(1.0));
    let shares = "phirig_card_shares_total";
    assert_eq!(
        val(
            shares,
            &[("card", "mic0"), ("view", "agent"), ("outcome", "accepted")]
        ),
        Some(3.0)
    );
    assert_eq!(
        val(
            shares,
            &[("card", "mic0"), ("view", "agent"), ("outcome", "stale")]
        ),
        Some(1.0)
    );
    assert_eq!(
        val(
            shares,
            &[("card", "mic0"), ("view", "proxy"), ("outcome", "invalid")]
        ),
        Some(2.0)
    );
    assert_eq!(
        val(
            shares,
            &[("card", "mic0"), ("view", "agent"), ("outcome", "found")]
        ),
        None,
        "found is its own family"
    );
    let found = "phirig_card_shares_found_total";
    assert_eq!(
        val(found, &[("card", "mic0"), ("view", "agent")]),
        Some(5.0)
    );
    assert_eq!(
        val(found, &[("card", "mic0"), ("view", "proxy")]),
        Some(6.0)
    );
    assert_eq!(val("phirig_upstream_shares_found_total", &[]), Some(8.0));
    assert_eq!(
        val("phirig_card_proxy_slices_total", &[("card", "mic0")]),
        Some(7.0)
    );
    assert_eq!(
        val("phirig_card_proxy_flagged", &[("card", "mic0")]),
        Some(0.0)
    );
    assert_eq!(
        val("phirig_card_temperature_celsius", &[("card", "mic0")]),
        Some(61.5)
    );
    assert_eq!(
        val("phirig_card_clock_offset_seconds", &[("card", "mic0")]),
        Some(2.0)
    );
    assert_eq!(
        val(
            "phirig_card_clock_offset_bound_seconds",
            &[("card", "mic0")]
        ),
        Some(0.0002)
    );
    assert_eq!(
        val("phirig_card_clock_min_rtt_seconds", &[("card", "mic0")]),
        Some(0.0004)
    );
    assert_eq!(
        val("phirig_upstream_shares_total", &[("outcome", "accepted")]),
        Some(6.0)
    );
    assert_eq!(
        val(
            "phirig_upstream_reconnects_total",
            &[("cause", "hung-response")]
        ),
        Some(2.0)
    );
    assert_eq!(
        val("phirig_upstream_reconnects_total", &[("cause", "closed")]),
        Some(1.0)
    );
    assert_eq!(val("phirig_upstream_rtt_min_seconds", &[]), Some(0.0015));
    assert_eq!(val("phirig_upstream_rtt_median_seconds", &[]), Some(0.0024));
    assert_eq!(val("phirig_upstream_rtt_p99_seconds", &[]), Some(0.009));
    assert_eq!(
        m.types.get("phirig_card_hashes_total").map(String::as_str),
        Some("counter")
    );
    assert_eq!(m.types.get(rate).map(String::as_str), Some("gauge"));
    srv.task.abort();
}

#[tokio::test]
async fn token_rules_match_the_agent() {
    // Open reads: GET needs nothing; anything else is control and needs the token.
    let srv = start(Some(TOKEN), false, snapshot(100)).await;
    for path in ["/1/summary", "/v1/cards", "/v1/rig", "/metrics"] {
        assert_eq!(get(srv.addr, path, None).await.0, 200, "{path}");
    }
    let post = |token: Option<&str>| {
        let mut req = client()
            .post(format!("http://{}/1/summary", srv.addr))
            .body("{}");
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    assert_eq!(post(None).await.expect("post").status().as_u16(), 401);
    assert_eq!(
        post(Some("wrong")).await.expect("post").status().as_u16(),
        403
    );
    assert_eq!(
        post(Some(TOKEN)).await.expect("post").status().as_u16(),
        404,
        "authorised, but there is no such control"
    );
    srv.task.abort();

    // Restricted reads: everything needs the token.
    let srv2 = start(Some(TOKEN), true, snapshot(100)).await;
    let srv = &srv2;
    for path in [
        "/1/summary",
        "/2/summary",
        "/v1/cards",
        "/v1/rig",
        "/metrics",
    ] {
        assert_eq!(
            get(srv.addr, path, None).await.0,
            401,
            "{path} without a token"
        );
        let (status, _, body) = get(srv.addr, path, Some("wrong")).await;
        assert_eq!(status, 403, "{path} with a wrong token");
        assert!(!body.contains(TOKEN));
        assert_eq!(
            get(srv.addr, path, Some(TOKEN)).await.0,
            200,
            "{path} with the token"
        );
    }
    let s: Value =
        serde_json::from_str(&get(srv.addr, "/1/summary", Some(TOKEN)).await.2).expect("json");
    assert_eq!(s["restricted"], true);
    srv2.task.abort();

    // No token configured: control is refused outright (403), reads stay open.
    let open = start(None, false, snapshot(100)).await;
    let req = client().post(format!("http://{}/1/summary", open.addr));
    let status = req
        .bearer_auth("anything")
        .send()
        .await
        .expect("post")
        .status();
    assert_eq!(status.as_u16(), 403);
    assert_eq!(get(open.addr, "/1/summary", None).await.0, 200);
    open.task.abort();
}

#[tokio::test]
async fn port_zero_is_off_and_restricted_needs_a_token() {
    let (_tx, rx) = watch::channel(Arc::new(RigSnapshot::default()));
    let mut http = HttpArgs {
        http_host: "127.0.0.1".parse().expect("ip"),
        http_port: 0,
        http_access_token: None,
        restricted_read: false,
    };
    assert!(api::start(&http, false, rx.clone())
        .await
        .expect("ok")
        .is_none());
    http.http_port = phirig_host::local_card::free_port().expect("port");
    let err = api::start(&http, true, rx).await.expect_err("refused");
    assert!(err.to_string().contains("--http-access-token"), "{err}");
}

#[tokio::test]
async fn aborting_the_handle_stops_the_listener() {
    let srv = start(None, false, snapshot(100)).await;
    assert_eq!(get(srv.addr, "/1/summary", None).await.0, 200);
    srv.task.abort();
    let _ = srv.task.await;
    let mut refused = false;
    // The listener closes as the aborted task is dropped; give the runtime a moment.
    for _ in 0..50 {
        if client()
            .get(format!("http://{}/1/summary", srv.addr))
            .send()
            .await
            .is_err()
        {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        refused,
        "the API still answers after its handle was aborted"
    );
}

// ---- a Prometheus text-format (0.0.4) parser, strict enough to catch what a scraper rejects ----

struct Parsed {
    types: BTreeMap<String, String>,
    samples: Vec<ParsedSample>,
}

struct ParsedSample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn valid_name(n: &str) -> bool {
    let mut chars = n.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn parse_value(v: &str) -> Option<f64> {
    match v {
        "NaN" => Some(f64::NAN),
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => v.parse().ok(),
    }
}

fn parse_labels(s: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    let mut rest = s;
    loop {
        if let Some(r) = rest.strip_prefix('}') {
            return Ok((labels, r));
        }
        let eq = rest.find('=').ok_or("label without =")?;
        let name = &rest[..eq];
        if !valid_name(name) || name.contains(':') {
            return Err(format!("bad label name {name:?}"));
        }
        let mut chars = rest[eq + 1..].char_indices();
        if chars.next().map(|(_, c)| c) != Some('"') {
            return Err("label value not quoted".into());
        }
        let mut value = String::new();
        let end = loop {
            match chars.next() {
                None => return Err("unterminated label value".into()),
                Some((i, '"')) => break eq + 1 + i + 1,
                Some((_, '\\')) => match chars.next().map(|(_, c)| c) {
                    Some('\\') => value.push('\\'),
                    Some('"') => value.push('"'),
                    Some('n') => value.push('\n'),
                    other => return Err(format!("bad escape {other:?}")),
                },
                Some((_, '\n')) => return Err("raw newline in label value".into()),
                Some((_, c)) => value.push(c),
            }
        };
        if labels.insert(name.to_string(), value).is_some() {
            return Err(format!("label {name} twice"));
        }
        rest = &rest[end..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

fn parse_exposition(text: &str) -> Result<Parsed, String> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("the last line does not end in a newline".into());
    }
    let mut types = BTreeMap::new();
    let mut helps = BTreeSet::new();
    let mut samples = Vec::new();
    let mut finished: BTreeSet<String> = BTreeSet::new();
    let mut current: Option<String> = None;
    let mut seen = BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let err = |m: String| format!("line {}: {m}: {line:?}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kw, name) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            match kw {
                "HELP" | "TYPE" => {
                    if !valid_name(name) {
                        return Err(err("bad metric name".into()));
                    }
                    if current.as_deref() != Some(name) {
                        if finished.contains(name) {
                            return Err(err("family split".into()));
                        }
                        if let Some(c) = current.take() {
                            finished.insert(c);
                        }
                        current = Some(name.to_string());
                    }
                }
                _ => {}
            }
            if kw == "HELP" && !helps.insert(name.to_string()) {
                return Err(err("HELP twice".into()));
            }
            if kw == "TYPE" {
                let t = parts.next().unwrap_or("");
                if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&t) {
                    return Err(err(format!("bad type {t}")));
                }
                if samples.iter().any(|s: &ParsedSample| s.name == name) {
                    return Err(err("TYPE after samples".into()));
                }
                if types.insert(name.to_string(), t.to_string()).is_some() {
                    return Err(err("TYPE twice".into()));
                }
                if t == "counter" && !name.ends_with("_total") {
                    return Err(err("counter not named *_total".into()));
                }
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let name_end = line
            .find(['{', ' '])
            .ok_or_else(|| err("no value".into()))?;
        let name = &line[..name_end];
        if !valid_name(name) {
            return Err(err("bad metric name".into()));
        }
        if !name.starts_with("phirig_") {
            return Err(err("not under the phirig_ prefix".into()));
        }
        if current.as_deref() != Some(name) {
            return Err(err(
                "sample outside its family (no HELP/TYPE just before)".into()
            ));
        }
        let (labels, rest) = match line[name_end..].strip_prefix('{') {
            Some(r) => parse_labels(r).map_err(err)?,
            None => (BTreeMap::new(), &line[name_end..]),
        };
        let mut fields = rest
            .strip_prefix(' ')
            .ok_or_else(|| err("no space before value".into()))?
            .split(' ');
        let value = fields
            .next()
            .and_then(parse_value)
            .ok_or_else(|| err("bad value".into()))?;
        if let Some(ts) = fields.next() {
            ts.parse::<i64>().map_err(|_| err("bad timestamp".into()))?;
        }
        if fields.next().is_some() {
            return Err(err("trailing fields".into()));
        }
        if !seen.insert((name.to_string(), format!("{labels:?}"))) {
            return Err(err("duplicate series".into()));
        }
        samples.push(ParsedSample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    Ok(Parsed { types, samples })
}

#[test]
fn the_test_parser_rejects_what_a_scraper_would() {
    let ok = "# HELP phirig_x_total X.\n# TYPE phirig_x_total counter\nphirig_x_total{card=\"a\\\"b\"} 1\n";
    let p = parse_exposition(ok).expect("valid");
    assert_eq!(p.samples[0].labels["card"], "a\"b");
    for bad in [
        "# TYPE phirig_x counter\nphirig_x 1\n",
        "# TYPE phirig_x gauge\nphirig_x{card=\"a\"b\"} 1\n",
        "# TYPE phirig_x gauge\nphirig_x{card=a} 1\n",
        "# TYPE phirig_x gauge\nphirig_x one\n",
        "phirig_x 1\n",
        "# TYPE phirig_x gauge\nphirig_x 1",
        "# TYPE phirig_x gauge\nphirig_x 1\n# TYPE phirig_y gauge\nphirig_y 1\n# TYPE phirig_x gauge\n",
        "# TYPE phirig_x gauge\nphirig_x{a=\"1\"} 1\nphirig_x{a=\"1\"} 2\n",
        "# TYPE phirig_x gauge\nphirig_x{a=\"\\t\"} 1\n",
    ] {
        assert!(parse_exposition(bad).is_err(), "accepted: {bad:?}");
    }
}
