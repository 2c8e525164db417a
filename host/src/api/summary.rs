//! `/1/summary`: the rig as one xmrig miner, field for field as the agent's own summary, so a
//! dashboard written for xmrig reads the whole rig (one "thread" per card).

use serde_json::{json, Value};

use phirig_pool::protocol::BEST_KEPT;

use crate::snapshot::RigSnapshot;

/// What the summary says about the API itself rather than the rig.
#[derive(Debug, Clone, Copy)]
pub struct Identity<'a> {
    pub id: &'a str,
    pub worker_id: &'a str,
    pub restricted: bool,
    /// Highest rig-wide 10 s rate seen.
    pub highest: f64,
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// `[10 s, 60 s, 15 min]`, `null` for a window that is not full yet (as xmrig).
fn rate_array(r: [Option<f64>; 3]) -> Value {
    json!(r.map(|x| x.filter(|v| v.is_finite()).map(round2)))
}

pub fn summary(snap: &RigSnapshot, me: &Identity<'_>) -> Value {
    let up = snap.upstream.as_ref();
    // What the pool counted is the rig's truth; without a proxy, the agents' own ledgers.
    let shares = up.map_or(snap.total.shares, |u| u.shares);
    let (accepted, rejected, stale) = (shares.accepted, shares.rejected, shares.stale);
    let hashes_total = snap.total.hashes_total;
    let avg_time = snap.uptime_s.checked_div(accepted).unwrap_or(0);
    let pool = up.and_then(|u| u.pool.clone());
    let conn_uptime = up.filter(|u| u.connected).map_or(0, |u| u.uptime_s);
    let ping = up
        .and_then(|u| u.rtt_ms.as_ref())
        .map_or(0, |r| r.median.round() as u64);
    let failures: u64 = up.map_or(0, |u| u.reconnects.iter().map(|(_, n)| n).sum());
    let hugepages = snap.cards.iter().fold([0u64, 0u64], |acc, c| {
        [acc[0] + c.hugepages[0], acc[1] + c.hugepages[1]]
    });
    let threads: Vec<Value> = snap.cards.iter().map(|c| rate_array(c.hashrate)).collect();
    let paused = !snap.cards.is_empty() && snap.cards.iter().all(|c| c.status == "paused");
    let version = env!("CARGO_PKG_VERSION");
    let diff = up.map_or(0, |u| u.diff_current);
    let best = up.map_or_else(|| vec![0u64; BEST_KEPT], |u| u.best.clone());
    json!({
        "id": me.id,
        "worker_id": me.worker_id,
        "uptime": snap.uptime_s,
        "restricted": me.restricted,
        "kind": "miner",
        "ua": format!("phirig/{version}"),
        "version": version,
        "algo": snap.algo,
        "paused": paused,
        "donate_level": 0,
        "algorithms": phirig_kernel::cn::Algorithm::ALL.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        "hugepages": hugepages,
        "hashrate": {
            "total": rate_array(snap.total.hashrate),
            "highest": round2(me.highest),
            "threads": threads,
        },
        "results": {
            "diff_current": diff,
            "shares_good": accepted,
            "shares_total": accepted + rejected + stale,
            "avg_time": avg_time,
            "avg_time_ms": avg_time * 1000,
            "hashes_total": hashes_total,
            "best": best,
            "error_log": [],
        },
        "connection": {
            "pool": pool,
            "ip": up.and_then(|u| u.ip.clone()),
            "uptime": conn_uptime,
            "uptime_ms": conn_uptime * 1000,
            "ping": ping,
            "failures": failures,
            "tls": up.and_then(|u| u.tls.clone()),
            "tls-fingerprint": up.and_then(|u| u.tls_fingerprint.clone()),
            "algo": snap.algo,
            "diff": diff,
            "accepted": accepted,
            "rejected": rejected,
            "avg_time": avg_time,
            "avg_time_ms": avg_time * 1000,
            "hashes_total": hashes_total,
            "error_log": [],
        },
        // phirig's own: the rig is many cards behind one miner's face.
        "phirig": {
            "cards": snap.total.cards,
            "cards_mining": snap.total.cards_mining,
            "card_names": snap.cards.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            "upstream_connected": up.is_some_and(|u| u.connected),
        },
    })
}
