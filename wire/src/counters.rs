//! `/v1/counters`: an agent's cumulative counters on its own clocks, from which hosts compute rates.

use serde::{Deserialize, Serialize};

/// The agent's counters. Every agent build has sent the keys without a default; the defaulted
/// ones came later or are read only for display, so a body from an older agent still parses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    /// Changes whenever the agent process starts: counters restart from zero with it.
    pub boot_id: String,
    /// The agent binary's build fingerprint (absent before self-upgrade existed).
    #[serde(default)]
    pub build: String,
    /// The card's CLOCK_MONOTONIC: rates on the agent's own time line.
    pub monotonic_ns: u64,
    /// The card's wall clock: the host estimates the clock offset from it.
    pub wall_ns: u64,
    /// Seconds since the agent started.
    #[serde(default)]
    pub uptime_s: f64,
    #[serde(default)]
    pub algo: String,
    #[serde(default)]
    pub paused: bool,
    #[serde(default)]
    pub threads: Vec<ThreadHashes>,
    pub hashes_total: u64,
    /// Worker thread restarts, summed over threads.
    #[serde(default)]
    pub restarts: u64,
    pub shares: ShareCounts,
    /// [allocated, wanted] huge pages.
    #[serde(default)]
    pub hugepages: [u64; 2],
    /// The AES path of the first thread (`null` before it reported).
    #[serde(default)]
    pub aes: Option<String>,
    /// The job the workers mine and when they got it (card wall clock).
    #[serde(default)]
    pub job: Option<JobSeen>,
}

/// One worker thread's cumulative hashes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadHashes {
    pub index: u64,
    pub hashes: u64,
}

/// The agent's share ledger: `found = accepted + rejected + stale + in_flight`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareCounts {
    pub found: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub stale: u64,
    /// Held (waiting for a session) or submitted and not yet answered.
    pub in_flight: u64,
}

/// A card's current job as its agent reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSeen {
    pub id: String,
    pub received_wall_ns: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn populated() -> Counters {
        Counters {
            boot_id: "3f9c2a".into(),
            build: "b7e1".into(),
            monotonic_ns: 5_000_000_000,
            wall_ns: 1_700_000_000_000_000_000,
            uptime_s: 12.5,
            algo: "cn/r".into(),
            paused: false,
            threads: vec![
                ThreadHashes {
                    index: 0,
                    hashes: 40,
                },
                ThreadHashes {
                    index: 1,
                    hashes: 2,
                },
            ],
            hashes_total: 42,
            restarts: 1,
            shares: ShareCounts {
                found: 7,
                accepted: 4,
                rejected: 1,
                stale: 1,
                in_flight: 1,
            },
            hugepages: [2, 3],
            aes: Some("aes-ni".into()),
            job: Some(JobSeen {
                id: "j9".into(),
                received_wall_ns: 1_699_999_999_000_000_000,
            }),
        }
    }

    /// The agent's `json!` before the type existed, with the same values.
    fn old_agent_json() -> serde_json::Value {
        json!({
            "boot_id": "3f9c2a",
            "build": "b7e1",
            "monotonic_ns": 5_000_000_000u64,
            "wall_ns": 1_700_000_000_000_000_000u64,
            "uptime_s": 12.5,
            "algo": "cn/r",
            "paused": false,
            "threads": [{"index": 0, "hashes": 40}, {"index": 1, "hashes": 2}],
            "hashes_total": 42,
            "restarts": 1,
            "shares": {"found": 7, "accepted": 4, "rejected": 1, "stale": 1, "in_flight": 1},
            "hugepages": [2, 3],
            "aes": "aes-ni",
            "job": {"id": "j9", "received_wall_ns": 1_699_999_999_000_000_000u64},
        })
    }

    #[test]
    fn serialises_to_the_keys_and_types_of_the_old_document() {
        let v = serde_json::to_value(populated()).expect("serialise");
        assert_eq!(v, old_agent_json());
        // Absent values stay present as `null`, as the old document had them.
        let idle = Counters {
            aes: None,
            job: None,
            ..populated()
        };
        let v = serde_json::to_value(idle).expect("serialise");
        assert!(v["aes"].is_null() && v["job"].is_null(), "{v}");
        assert!(v.as_object().is_some_and(|o| o.contains_key("job")));
    }

    #[test]
    fn the_old_document_parses_back() {
        let c: Counters = serde_json::from_value(old_agent_json()).expect("parse");
        assert_eq!(c, populated());
    }

    #[test]
    fn the_first_agents_body_parses_with_defaults_and_unknown_keys_ignored() {
        // The first agent's counters had neither `build` nor `job`; a newer one may add keys.
        let body = r#"{"boot_id":"a1","monotonic_ns":9,"wall_ns":10,"uptime_s":1.5,"algo":"cn/0",
            "paused":true,"threads":[{"index":0,"hashes":3}],"hashes_total":3,"restarts":0,
            "shares":{"found":0,"accepted":0,"rejected":0,"stale":0,"in_flight":0},
            "hugepages":[0,1],"aes":null,"future_key":{"x":1}}"#;
        let c: Counters = serde_json::from_str(body).expect("parse");
        assert_eq!(c.build, "");
        assert_eq!(c.job, None);
        assert_eq!(
            (c.boot_id.as_str(), c.monotonic_ns, c.wall_ns),
            ("a1", 9, 10)
        );
        assert!(c.paused);
        assert_eq!(c.hugepages, [0, 1]);
    }

    #[test]
    fn only_the_rate_and_identity_keys_are_required() {
        let minimal = r#"{"boot_id":"b","monotonic_ns":1,"wall_ns":2,"hashes_total":7,
            "shares":{"found":0,"accepted":0,"rejected":0,"stale":0,"in_flight":0}}"#;
        let c: Counters = serde_json::from_str(minimal).expect("parse");
        assert_eq!(
            c,
            Counters {
                boot_id: "b".into(),
                monotonic_ns: 1,
                wall_ns: 2,
                hashes_total: 7,
                ..Counters::default()
            }
        );
        for key in [
            "boot_id",
            "monotonic_ns",
            "wall_ns",
            "hashes_total",
            "shares",
        ] {
            let mut v: serde_json::Value = serde_json::from_str(minimal).expect("json");
            v.as_object_mut().expect("object").remove(key);
            assert!(
                serde_json::from_value::<Counters>(v).is_err(),
                "parsed without {key}"
            );
        }
    }

    #[test]
    fn a_numeric_boot_id_is_not_counters() {
        // Every agent has sent its boot id as a string; a number means another document.
        let body = r#"{"boot_id":7,"monotonic_ns":1,"wall_ns":2,"hashes_total":7,
            "shares":{"found":0,"accepted":0,"rejected":0,"stale":0,"in_flight":0}}"#;
        assert!(serde_json::from_str::<Counters>(body).is_err());
    }
}
