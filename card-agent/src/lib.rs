//! phirig-agent: the CryptoNight kernel, the per-core workers and the miner that runs on each card.
//!
//! Not here: card discovery and deployment (`phirig-deploy`), the stratum protocol (`phirig-pool`),
//! rig-wide aggregation (`phirig`). The kernel (`cn`, `cnr`, `memory`) never does I/O beyond
//! allocating its scratchpads.

pub mod bench;
pub mod cli;
pub mod cn;
pub mod cnr;
pub mod entry;
pub mod hashrate;
pub mod http;
pub mod journal;
pub mod memory;
pub mod miner;
pub mod share_hasher;
pub mod upgrade;
pub mod worker;
