//! xmrig-proxy's `/1/workers` and `/1/miners`: one array per worker or connection, fixed order.

use serde::{Deserialize, Serialize};

/// `/1/workers`: the rig's rate and one row per worker (login name).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Workers {
    /// How connections are grouped into workers; phirig groups by login name (`"user"`).
    pub mode: String,
    pub hashrate: WorkersHashrate,
    pub workers: Vec<WorkerRow>,
}

/// The proxy's total, in kH/s over 1 min, 10 min, 1 h, 12 h, 24 h.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkersHashrate {
    pub total: [f64; 5],
}

/// One worker as an array: name, ip, connections, accepted, rejected, invalid, hashes (sum of
/// accepted difficulty), last share (ms since the Unix epoch), then kH/s estimated from accepted
/// difficulty over 1 min, 10 min, 1 h, 12 h, 24 h; then phirig's own last column, the state
/// (`mining`, `stopped`, `flagged`, … as the host's dashboard says), after xmrig-proxy's columns
/// so dashboards that read those by position are unaffected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerRow(
    pub String,
    pub String,
    pub u64,
    pub u64,
    pub u64,
    pub u64,
    pub u64,
    pub u64,
    pub f64,
    pub f64,
    pub f64,
    pub f64,
    pub f64,
    #[serde(default)] pub String,
);

impl WorkerRow {
    pub fn name(&self) -> &str {
        &self.0
    }

    /// The state column (empty from an xmrig-proxy, which has none).
    pub fn state(&self) -> &str {
        &self.13
    }

    /// kH/s over the five windows.
    pub fn rates(&self) -> [f64; 5] {
        [self.8, self.9, self.10, self.11, self.12]
    }
}

/// The column names of a [`MinerRow`], as `/1/miners` lists them.
pub const MINER_FORMAT: [&str; 10] = [
    "id", "ip", "tx", "rx", "state", "diff", "user", "password", "rig_id", "agent",
];

/// xmrig-proxy's miner state for a connection that has logged in (0 is still waiting for it).
pub const MINER_READY: u8 = 2;

/// `/1/miners`: one row per open connection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Miners {
    pub format: Vec<String>,
    pub miners: Vec<MinerRow>,
}

/// One connection as an array in [`MINER_FORMAT`] order; `rig_id` is `null` when not sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MinerRow(
    pub u64,
    pub String,
    pub u64,
    pub u64,
    pub u8,
    pub u64,
    pub String,
    pub String,
    pub Option<String>,
    pub String,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_xmrig_proxy_row_without_the_state_column_still_parses() {
        let theirs = r#"["rig7","10.0.0.7",1,3,0,0,3000,1700000000000,1.23,1.0,0.0,0.0,0.0]"#;
        let row: WorkerRow = serde_json::from_str(theirs).expect("13 columns parse");
        assert_eq!((row.name(), row.state()), ("rig7", ""));
        let ours = WorkerRow {
            13: "stopped".into(),
            ..row
        };
        let json = serde_json::to_value(&ours).expect("json");
        assert_eq!(json[13], "stopped");
        assert_eq!(json.as_array().map(Vec::len), Some(14));
    }
}
