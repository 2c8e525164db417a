//! xmrig's `/2/backends`: per-thread detail of the agent's one backend, the CPU.

use serde::{Deserialize, Serialize};

use crate::rates::Rates;

/// One backend; the agent's `/2/backends` is a list holding only `"cpu"`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Backend {
    #[serde(rename = "type")]
    pub kind: String,
    pub enabled: bool,
    pub algo: String,
    pub threads: Vec<BackendThread>,
    pub hashrate: Rates,
    /// While rx/0 is mined: the RandomX memory its threads share (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rx: Option<RxMemory>,
}

/// The one RandomX dataset (or cache alone, in light mode) a card's rx/0 threads read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RxMemory {
    /// `full` (2 GiB dataset) or `light` (cache only).
    pub mode: String,
    /// The seed (RandomX key) of the epoch mined, hex.
    pub seed: String,
    /// What backs the dataset (`2 MiB pages`, …); `null` in light mode.
    pub dataset: Option<String>,
    pub dataset_bytes: u64,
    /// What backs the 256 MiB cache.
    pub cache: String,
    pub cache_bytes: u64,
}

/// One worker thread: where it runs and which path it took.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BackendThread {
    pub index: u64,
    /// The CPU it is pinned to, -1 when not pinned.
    pub affinity: i64,
    /// Hashes interleaved per kernel call.
    pub intensity: u64,
    /// `null` until the thread reported.
    pub algo: Option<String>,
    pub aes: Option<String>,
    /// Page kind of each of its scratchpads.
    pub pages: Vec<String>,
    pub hashrate: Rates,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serialises_to_the_keys_and_types_of_the_old_document() {
        let backends = vec![Backend {
            kind: "cpu".into(),
            enabled: true,
            algo: "cn/r".into(),
            threads: vec![
                BackendThread {
                    index: 0,
                    affinity: 4,
                    intensity: 2,
                    algo: Some("cn/r".into()),
                    aes: Some("aes-ni".into()),
                    pages: vec!["2M".into(), "4K".into()],
                    hashrate: [Some(20.5), None, None],
                },
                BackendThread {
                    affinity: -1,
                    index: 1,
                    ..BackendThread::default()
                },
            ],
            hashrate: [Some(20.5), None, None],
            rx: None,
        }];
        let old = json!([{ "type": "cpu", "enabled": true, "algo": "cn/r",
            "threads": [
                {"index": 0, "affinity": 4, "intensity": 2, "algo": "cn/r", "aes": "aes-ni",
                 "pages": ["2M", "4K"], "hashrate": [20.5, null, null]},
                {"index": 1, "affinity": -1, "intensity": 0, "algo": null, "aes": null,
                 "pages": [], "hashrate": [null, null, null]},
            ],
            "hashrate": [20.5, null, null] }]);
        assert_eq!(serde_json::to_value(&backends).expect("serialise"), old);
        assert_eq!(
            serde_json::from_value::<Vec<Backend>>(old).expect("parse"),
            backends
        );
    }
}
