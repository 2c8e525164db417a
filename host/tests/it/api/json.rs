//! The JSON views: xmrig's summary shape with null-until-full windows, `/v1/cards` and `/v1/rig`.

use std::sync::Arc;
use std::time::Duration;

use phirig_host::snapshot::RigSnapshot;
use serde_json::Value;

use super::exposition::parse_exposition;
use super::fixture::{get, get_json, keys, set, snapshot, start};

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
                "resources",
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
        // The host machine's own memory and load, read through sysinfo.
        let mem = &s["resources"]["memory"];
        assert!(mem["total"].as_u64() > mem["free"].as_u64(), "{mem}");
        assert!(mem["resident_set_memory"].as_u64() > Some(1 << 20), "{mem}");
        assert_eq!(
            s["resources"]["load_average"].as_array().map(Vec::len),
            Some(3)
        );
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
