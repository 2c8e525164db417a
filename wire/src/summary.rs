//! xmrig's `/1/summary` and `/2/summary`: the parts phirig fills, for the agent and the whole rig.

use serde::{Deserialize, Serialize};

use crate::rates::Rates;
use crate::resources::Resources;

/// One miner's summary as xmrig shapes it, so dashboards written for xmrig read it unchanged.
/// The agent adds `build` and `cpu`; the host, summarising the rig, adds `phirig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Summary {
    pub id: String,
    pub worker_id: String,
    /// Seconds since the miner started.
    pub uptime: u64,
    /// The API cannot be used for control (no access token configured).
    pub restricted: bool,
    /// Always `"miner"` (xmrig's proxy says `"proxy"`).
    pub kind: String,
    pub ua: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
    pub algo: String,
    pub paused: bool,
    pub donate_level: u64,
    pub algorithms: Vec<String>,
    /// [allocated, wanted] huge pages.
    pub hugepages: [u64; 2],
    pub hashrate: Hashrate,
    pub results: Results,
    pub connection: Connection,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Cpu>,
    /// The machine's memory and load.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phirig: Option<RigFacts>,
}

/// Rates in total and per thread (per card for the rig); dashboards index `threads`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Hashrate {
    pub total: Rates,
    /// Highest 10 s rate seen.
    pub highest: f64,
    pub threads: Vec<Rates>,
}

/// xmrig's `results`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Results {
    pub diff_current: u64,
    pub shares_good: u64,
    pub shares_total: u64,
    /// Seconds of uptime per accepted share (0 before the first).
    pub avg_time: u64,
    pub avg_time_ms: u64,
    pub hashes_total: u64,
    /// The best difficulties reached, highest first.
    pub best: Vec<u64>,
    /// Always empty: phirig logs errors to its journal instead.
    pub error_log: Vec<String>,
}

/// xmrig's `connection`: the pool link, and the results' figures again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Connection {
    pub pool: Option<String>,
    pub ip: Option<String>,
    /// Seconds connected (0 while not).
    pub uptime: u64,
    pub uptime_ms: u64,
    /// Median round trip to the pool, in ms.
    pub ping: u64,
    pub failures: u64,
    pub tls: Option<String>,
    #[serde(rename = "tls-fingerprint")]
    pub tls_fingerprint: Option<String>,
    pub algo: String,
    pub diff: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub avg_time: u64,
    pub avg_time_ms: u64,
    pub hashes_total: u64,
    pub error_log: Vec<String>,
}

/// CPU facts the agent reports about its card.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Cpu {
    pub brand: String,
    /// Hardware AES is available.
    pub aes: bool,
    pub x64: bool,
    #[serde(rename = "64_bit")]
    pub bits_64: bool,
    /// Per-core L2 and shared L3 in bytes (0 when unknown).
    pub l2: u64,
    pub l3: u64,
    /// The core window class (how many interleaved hashes one core keeps busy).
    pub window: String,
    pub cores: u64,
    pub threads: u64,
    pub arch: String,
}

/// phirig's own part of the rig's summary: many cards behind one miner's face.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RigFacts {
    pub cards: u64,
    pub cards_mining: u64,
    pub card_names: Vec<String>,
    pub upstream_connected: bool,
}

/// The figures `results` and `connection` both derive from, so both summaries derive them alike.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Seconds since the miner started.
    pub uptime: u64,
    pub diff: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub stale: u64,
    pub hashes_total: u64,
    pub best: Vec<u64>,
}

/// The pool link as `connection` reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Link {
    pub pool: Option<String>,
    pub ip: Option<String>,
    /// Seconds connected (0 while not).
    pub uptime: u64,
    pub ping: u64,
    pub failures: u64,
    pub tls: Option<String>,
    pub tls_fingerprint: Option<String>,
}

impl Tally {
    fn avg_time(&self) -> u64 {
        self.uptime.checked_div(self.accepted).unwrap_or(0)
    }

    pub fn results(&self) -> Results {
        let avg_time = self.avg_time();
        Results {
            diff_current: self.diff,
            shares_good: self.accepted,
            shares_total: self.accepted + self.rejected + self.stale,
            avg_time,
            avg_time_ms: avg_time * 1000,
            hashes_total: self.hashes_total,
            best: self.best.clone(),
            error_log: Vec::new(),
        }
    }

    pub fn connection(&self, link: Link, algo: &str) -> Connection {
        let avg_time = self.avg_time();
        Connection {
            pool: link.pool,
            ip: link.ip,
            uptime: link.uptime,
            uptime_ms: link.uptime * 1000,
            ping: link.ping,
            failures: link.failures,
            tls: link.tls,
            tls_fingerprint: link.tls_fingerprint,
            algo: algo.to_string(),
            diff: self.diff,
            accepted: self.accepted,
            rejected: self.rejected,
            avg_time,
            avg_time_ms: avg_time * 1000,
            hashes_total: self.hashes_total,
            error_log: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn tally() -> Tally {
        Tally {
            uptime: 100,
            diff: 5000,
            accepted: 4,
            rejected: 1,
            stale: 2,
            hashes_total: 123_456,
            best: vec![900, 800, 0, 0, 0, 0, 0, 0, 0, 0],
        }
    }

    fn link() -> Link {
        Link {
            pool: Some("pool.example:3333".into()),
            ip: Some("192.0.2.7".into()),
            uptime: 60,
            ping: 35,
            failures: 2,
            tls: Some("TLSv1.3".into()),
            tls_fingerprint: Some("ab12".into()),
        }
    }

    /// What both summaries share: the values the old `json!` literals were given below.
    fn common() -> Summary {
        let t = tally();
        Summary {
            id: "3f9c2a".into(),
            worker_id: "mic0".into(),
            uptime: 100,
            restricted: true,
            kind: "miner".into(),
            ua: "phirig/0.1.0".into(),
            version: "0.1.0".into(),
            build: None,
            algo: "cn/r".into(),
            paused: false,
            donate_level: 0,
            algorithms: vec!["cn/0".into(), "cn/r".into()],
            hugepages: [2, 3],
            hashrate: Hashrate {
                total: [Some(101.25), Some(99.5), None],
                highest: 120.75,
                threads: vec![[Some(50.5), None, None], [None, None, None]],
            },
            results: t.results(),
            connection: t.connection(link(), "cn/r"),
            cpu: None,
            resources: None,
            phirig: None,
        }
    }

    /// The keys both old `json!` summaries wrote, with the values of [`common`].
    fn old_common_json() -> Value {
        json!({
            "id": "3f9c2a",
            "worker_id": "mic0",
            "uptime": 100,
            "restricted": true,
            "kind": "miner",
            "ua": "phirig/0.1.0",
            "version": "0.1.0",
            "algo": "cn/r",
            "paused": false,
            "donate_level": 0,
            "algorithms": ["cn/0", "cn/r"],
            "hugepages": [2, 3],
            "hashrate": {
                "total": [101.25, 99.5, null],
                "highest": 120.75,
                "threads": [[50.5, null, null], [null, null, null]],
            },
            "results": {
                "diff_current": 5000,
                "shares_good": 4,
                "shares_total": 7,
                "avg_time": 25,
                "avg_time_ms": 25000,
                "hashes_total": 123_456,
                "best": [900, 800, 0, 0, 0, 0, 0, 0, 0, 0],
                "error_log": [],
            },
            "connection": {
                "pool": "pool.example:3333",
                "ip": "192.0.2.7",
                "uptime": 60,
                "uptime_ms": 60000,
                "ping": 35,
                "failures": 2,
                "tls": "TLSv1.3",
                "tls-fingerprint": "ab12",
                "algo": "cn/r",
                "diff": 5000,
                "accepted": 4,
                "rejected": 1,
                "avg_time": 25,
                "avg_time_ms": 25000,
                "hashes_total": 123_456,
                "error_log": [],
            },
        })
    }

    fn insert(v: &mut Value, key: &str, value: Value) {
        v.as_object_mut().expect("object").insert(key.into(), value);
    }

    #[test]
    fn the_agents_summary_has_the_old_keys_and_types() {
        let agent = Summary {
            build: Some("b7e1".into()),
            cpu: Some(Cpu {
                brand: "Intel(R) Xeon Phi(TM)".into(),
                aes: false,
                x64: true,
                bits_64: true,
                l2: 524_288,
                l3: 0,
                window: "standard".into(),
                cores: 57,
                threads: 228,
                arch: "x86_64".into(),
            }),
            resources: Some(Resources {
                memory: crate::Memory {
                    free: 1 << 30,
                    total: 8 << 30,
                    resident_set_memory: 40 << 20,
                },
                load_average: [0.5, 1.25, 2.0],
                hardware_concurrency: 228,
            }),
            ..common()
        };
        let mut old = old_common_json();
        insert(&mut old, "build", json!("b7e1"));
        insert(
            &mut old,
            "cpu",
            json!({"brand": "Intel(R) Xeon Phi(TM)", "aes": false, "x64": true, "64_bit": true,
                   "l2": 524_288, "l3": 0, "window": "standard", "cores": 57, "threads": 228,
                   "arch": "x86_64"}),
        );
        insert(
            &mut old,
            "resources",
            json!({"memory": {"free": 1u64 << 30, "total": 8u64 << 30,
                              "resident_set_memory": 40 << 20},
                   "load_average": [0.5, 1.25, 2.0], "hardware_concurrency": 228}),
        );
        assert_eq!(serde_json::to_value(&agent).expect("serialise"), old);
        assert_eq!(
            serde_json::from_value::<Summary>(old).expect("parse"),
            agent
        );
    }

    #[test]
    fn the_rigs_summary_has_the_old_keys_and_types() {
        let rig = Summary {
            phirig: Some(RigFacts {
                cards: 2,
                cards_mining: 1,
                card_names: vec!["mic0".into(), "mic1".into()],
                upstream_connected: true,
            }),
            ..common()
        };
        let mut old = old_common_json();
        insert(
            &mut old,
            "phirig",
            json!({"cards": 2, "cards_mining": 1, "card_names": ["mic0", "mic1"],
                   "upstream_connected": true}),
        );
        assert_eq!(serde_json::to_value(&rig).expect("serialise"), old);
        assert_eq!(serde_json::from_value::<Summary>(old).expect("parse"), rig);
    }

    #[test]
    fn a_link_down_is_null_and_zero_and_no_shares_means_no_average() {
        let idle = Tally {
            accepted: 0,
            ..tally()
        };
        let v = serde_json::to_value(idle.connection(Link::default(), "cn/0")).expect("json");
        for key in ["pool", "ip", "tls", "tls-fingerprint"] {
            assert!(v[key].is_null(), "{key}: {v}");
        }
        assert_eq!(
            (v["uptime"].as_u64(), v["avg_time"].as_u64()),
            (Some(0), Some(0))
        );
        assert_eq!(idle.results().shares_total, 3);
        assert_eq!(idle.results().avg_time_ms, 0);
    }
}
