//! `/metrics` parses line by line as Prometheus text format and carries every family.

use super::exposition::parse_exposition;
use super::fixture::{get, snapshot, start};

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
    let state = "phirig_card_state";
    assert_eq!(
        val(state, &[("card", "mic0"), ("state", "mining")]),
        Some(1.0)
    );
    assert_eq!(
        val(state, &[("card", "mic0"), ("state", "stopped")]),
        Some(0.0)
    );
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
    assert_eq!(
        val(
            "phirig_upstream_standby_ready",
            &[("pool", "stratum+tcp://127.0.0.1:3334"), ("state", "ready")]
        ),
        Some(1.0)
    );
    assert_eq!(
        val("phirig_upstream_standby_promotions_total", &[]),
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
