//! phirig-agent: the per-core workers and the miner that runs on each card.
//!
//! Not here: the hash itself (`phirig-kernel`), the event journal (`phirig-journal`), card
//! discovery and deployment (`phirig-deploy`), the stratum protocol (`phirig-pool`), rig-wide
//! aggregation (`phirig`).

pub mod bench;
pub mod cli;
pub mod entry;
pub mod hashrate;
pub mod http;
pub mod miner;
pub mod rx;
pub mod system;
pub mod tune;
pub mod upgrade;
pub mod worker;
