//! A card's tuned profile: the fastest threads × ways per algorithm measured on that card, and
//! the facts that make it stale. The agent stores it and serves it; the host shows and sums it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a measurement depends on: a profile whose key differs from the running agent's is stale.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileKey {
    /// The CPU's model name (`/proc/cpuinfo`).
    pub cpu_model: String,
    /// The agent binary's build fingerprint.
    pub build: String,
    /// The base page size in bytes.
    pub page_bytes: u64,
    /// The huge page size in bytes (0 without huge page support).
    pub hugepage_bytes: u64,
}

/// The best setting found for one algorithm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlgoBest {
    pub threads: usize,
    /// Interleaved hashes per thread.
    pub intensity: usize,
    /// Total H/s the setting reached while tuning.
    pub hs: f64,
    /// [scratchpads on huge pages, scratchpads in all].
    pub hugepages: [usize; 2],
    /// The AES path, as start-up names it (`aes-ni`, `aes-ni+vaes`, `soft`).
    pub aes: String,
    /// rx/0 only: the mode it was measured in, `full` (the 2 GiB dataset) or `light` (cache
    /// only); absent for CryptoNight and in profiles written before rx/0 was tuned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rx_mode: Option<String>,
}

/// One card's profile, keyed by stratum algorithm name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub key: ProfileKey,
    pub algos: BTreeMap<String, AlgoBest>,
}

impl Profile {
    /// H/s per algorithm, as MoneroOcean's `algo-perf` login parameter carries it.
    pub fn algo_perf(&self) -> BTreeMap<String, f64> {
        self.algos
            .iter()
            .map(|(algo, best)| (algo.clone(), best.hs))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algo_perf_lists_each_tuned_rate() {
        let best = |hs| AlgoBest {
            threads: 2,
            intensity: 3,
            hs,
            hugepages: [6, 6],
            aes: "aes-ni".into(),
            rx_mode: None,
        };
        let p = Profile {
            key: ProfileKey::default(),
            algos: [
                ("cn/r".to_string(), best(219.5)),
                ("cn-pico".to_string(), best(9000.0)),
            ]
            .into_iter()
            .collect(),
        };
        let perf = p.algo_perf();
        assert_eq!(perf.len(), 2);
        assert_eq!(perf["cn/r"], 219.5);
        let back: Profile =
            serde_json::from_str(&serde_json::to_string(&p).expect("json")).expect("parse");
        assert_eq!(back, p);
    }

    #[test]
    fn a_profile_from_before_rx0_still_loads() {
        let old = r#"{"key":{"cpu_model":"c","build":"b","page_bytes":4096,"hugepage_bytes":0},
            "algos":{"cn/r":{"threads":2,"intensity":3,"hs":219.5,"hugepages":[6,6],"aes":"aes-ni"}}}"#;
        let p: Profile = serde_json::from_str(old).expect("an old profile loads");
        assert_eq!(p.algos["cn/r"].rx_mode, None);
        // And a CryptoNight entry is written as before, without the rx field.
        let text = serde_json::to_string(&p.algos["cn/r"]).expect("JSON");
        assert!(!text.contains("rx_mode"), "{text}");
    }
}
