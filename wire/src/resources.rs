//! xmrig's `resources` in a summary: the machine's memory and load, and this process's size.

use serde::{Deserialize, Serialize};

/// The machine the miner (or the rig's host) runs on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resources {
    pub memory: Memory,
    /// 1, 5 and 15 min load averages.
    pub load_average: [f64; 3],
    /// Logical CPUs.
    pub hardware_concurrency: u64,
}

/// Memory in bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Memory {
    /// Available to new allocations (free plus reclaimable cache).
    pub free: u64,
    pub total: u64,
    /// This process's resident size.
    pub resident_set_memory: u64,
}
