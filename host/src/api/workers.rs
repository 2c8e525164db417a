//! `/1/workers` and `/1/miners` in xmrig-proxy's row format, so proxy dashboards read the rig
//! (a worker row ends with phirig's state column after xmrig-proxy's).

use phirig_wire::{
    MinerRow, Miners, WorkerRow, Workers, WorkersHashrate, MINER_FORMAT, MINER_READY,
};
use serde_json::Value;

use crate::snapshot::RigSnapshot;

/// H/s to kH/s rounded down to two decimals, as xmrig-proxy writes its rates.
fn khs(rate: f64) -> f64 {
    if rate.is_normal() {
        (rate / 10.0).floor() / 100.0
    } else {
        0.0
    }
}

/// Every worker (deployed cards and other miners), rates estimated from accepted difficulty: a
/// window with fewer than 16 shares is widened back to the 16th latest (`proxy/workers.rs`).
pub fn workers(snap: &RigSnapshot) -> Workers {
    let mut total = [0.0; 5];
    for w in &snap.workers {
        for (t, r) in total.iter_mut().zip(w.rates) {
            *t += r;
        }
    }
    Workers {
        mode: "user".into(),
        hashrate: WorkersHashrate {
            total: total.map(khs),
        },
        workers: snap
            .workers
            .iter()
            .map(|w| {
                let [m1, m10, h1, h12, h24] = w.rates.map(khs);
                WorkerRow(
                    w.name.clone(),
                    w.ip.clone(),
                    w.connections,
                    w.accepted,
                    w.rejected,
                    w.invalid,
                    w.hashes,
                    w.last_share_ms,
                    m1,
                    m10,
                    h1,
                    h12,
                    h24,
                    w.state.clone(),
                )
            })
            .collect(),
    }
}

/// Every open connection to the proxy.
pub fn miners(snap: &RigSnapshot) -> Miners {
    Miners {
        format: MINER_FORMAT.iter().map(|f| f.to_string()).collect(),
        miners: snap
            .miners
            .iter()
            .map(|m| {
                MinerRow(
                    m.id,
                    m.ip.clone(),
                    m.tx,
                    m.rx,
                    if m.ready { MINER_READY } else { 0 },
                    m.diff,
                    m.user.clone(),
                    m.password.clone(),
                    m.rig_id.clone(),
                    m.agent.clone(),
                )
            })
            .collect(),
    }
}

pub fn workers_json(snap: &RigSnapshot) -> Value {
    serde_json::to_value(workers(snap)).unwrap_or(Value::Null)
}

pub fn miners_json(snap: &RigSnapshot) -> Value {
    serde_json::to_value(miners(snap)).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{MinerSnapshot, WorkerSnapshot};

    #[test]
    fn rows_are_arrays_in_xmrig_proxy_order_with_khs_rates() {
        let snap = RigSnapshot {
            workers: vec![WorkerSnapshot {
                name: "rig7".into(),
                ip: "10.0.0.7".into(),
                connections: 1,
                accepted: 3,
                hashes: 3000,
                last_share_ms: 1_700_000_000_000,
                rates: [1234.5, 1000.0, 0.0, 0.0, 0.0],
                state: "stopped".into(),
                ..WorkerSnapshot::default()
            }],
            miners: vec![MinerSnapshot {
                id: 4,
                ip: "10.0.0.7".into(),
                ready: true,
                diff: 1000,
                user: "rig7".into(),
                password: "x".into(),
                agent: "XMRig/6".into(),
                ..MinerSnapshot::default()
            }],
            ..RigSnapshot::default()
        };
        let w = workers_json(&snap);
        assert_eq!(w["mode"], "user");
        assert_eq!(
            w["workers"][0],
            serde_json::json!([
                "rig7",
                "10.0.0.7",
                1,
                3,
                0,
                0,
                3000,
                1_700_000_000_000u64,
                1.23,
                1.0,
                0.0,
                0.0,
                0.0,
                "stopped"
            ])
        );
        assert_eq!(w["hashrate"]["total"][0], 1.23);
        let m = miners_json(&snap);
        assert_eq!(m["format"][4], "state");
        assert_eq!(
            m["miners"][0],
            serde_json::json!([4, "10.0.0.7", 0, 0, 2, 1000, "rig7", "x", null, "XMRig/6"])
        );
    }
}
