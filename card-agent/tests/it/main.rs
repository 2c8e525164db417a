//! The agent's integration tests, one binary: the `phirig-agent` process against real and scripted
//! pools (mining, reload, rig mode, self-upgrade), and the workers driven directly.

mod affinity;
mod algo_perf;
mod e2e;
mod long_blob;
mod online_tune;
mod pause_on_start;
mod profile;
mod reload;
mod rig;
mod rx;
mod rx_next_seed;
mod rx_tune;
mod support;
mod switching;
mod upgrade_reexec;
mod workers;
