//! Keeping agents alive: a sans-I/O policy (`policy`) and a tokio driver (`driver`) around it.

mod action;
mod counters;
mod driver;
mod ops;
mod policy;

pub use action::{ActionKind, AgentSeen, Cause, Observation, WatchdogAction};
pub use counters::CounterSample;
pub use driver::{run_watchdog, Supervised};
pub use ops::{CardOps, DeployerOps};
pub use policy::{Watchdog, WatchdogConfig};
