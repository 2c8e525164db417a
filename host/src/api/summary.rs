//! `/1/summary`: the rig as one xmrig miner, field for field as the agent's own summary, so a
//! dashboard written for xmrig reads the whole rig (one "thread" per card).

use phirig_pool::protocol::BEST_KEPT;
use phirig_wire::{round_rate, rounded_rates, Hashrate, Link, RigFacts, Summary, Tally};
use serde_json::Value;

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

/// The rig's summary as JSON (what `/1/summary` serves).
pub fn summary(snap: &RigSnapshot, me: &Identity<'_>) -> Value {
    serde_json::to_value(rig_summary(snap, me)).unwrap_or(Value::Null)
}

fn rig_summary(snap: &RigSnapshot, me: &Identity<'_>) -> Summary {
    let up = snap.upstream.as_ref();
    // What the pool counted is the rig's truth; without a proxy, the agents' own ledgers.
    let shares = up.map_or(snap.total.shares, |u| u.shares);
    let tally = Tally {
        uptime: snap.uptime_s,
        diff: up.map_or(0, |u| u.diff_current),
        accepted: shares.accepted,
        rejected: shares.rejected,
        stale: shares.stale,
        hashes_total: snap.total.hashes_total,
        best: up.map_or_else(|| vec![0u64; BEST_KEPT], |u| u.best.clone()),
    };
    let link = Link {
        pool: up.and_then(|u| u.pool.clone()),
        ip: up.and_then(|u| u.ip.clone()),
        uptime: up.filter(|u| u.connected).map_or(0, |u| u.uptime_s),
        ping: up
            .and_then(|u| u.rtt_ms.as_ref())
            .map_or(0, |r| r.median.round() as u64),
        failures: up.map_or(0, |u| u.reconnects.iter().map(|(_, n)| n).sum()),
        tls: up.and_then(|u| u.tls.clone()),
        tls_fingerprint: up.and_then(|u| u.tls_fingerprint.clone()),
    };
    let hugepages = snap.cards.iter().fold([0u64, 0u64], |acc, c| {
        [acc[0] + c.hugepages[0], acc[1] + c.hugepages[1]]
    });
    let version = env!("CARGO_PKG_VERSION");
    Summary {
        id: me.id.to_string(),
        worker_id: me.worker_id.to_string(),
        uptime: snap.uptime_s,
        restricted: me.restricted,
        kind: "miner".into(),
        ua: format!("phirig/{version}"),
        version: version.to_string(),
        build: None,
        algo: snap.algo.clone(),
        paused: !snap.cards.is_empty() && snap.cards.iter().all(|c| c.status == "paused"),
        donate_level: 0,
        algorithms: phirig_kernel::cn::Algorithm::ALL
            .iter()
            .map(|a| a.to_string())
            .collect(),
        hugepages,
        hashrate: Hashrate {
            total: rounded_rates(snap.total.hashrate),
            highest: round_rate(me.highest),
            threads: snap
                .cards
                .iter()
                .map(|c| rounded_rates(c.hashrate))
                .collect(),
        },
        results: tally.results(),
        connection: tally.connection(link, &snap.algo),
        cpu: None,
        // The host's own machine: what the rig's proxy and poller run on.
        resources: Some(phirig_agent::system::resources()),
        // phirig's own: the rig is many cards behind one miner's face.
        phirig: Some(RigFacts {
            cards: snap.total.cards as u64,
            cards_mining: snap.total.cards_mining as u64,
            card_names: snap.cards.iter().map(|c| c.name.clone()).collect(),
            upstream_connected: up.is_some_and(|u| u.connected),
        }),
    }
}
