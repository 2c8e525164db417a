//! Fixtures the integration tests of several phirig crates share (a dev-dependency only).

pub mod algo_perf;
pub mod local_agent;
pub mod loopback;
pub mod mining;
pub mod testbed;
pub mod wait;
