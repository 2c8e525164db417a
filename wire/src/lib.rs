//! phirig-wire: the JSON documents one phirig binary sends another, defined once as serde types.
//! The agent serialises them ([`Counters`] on `/v1/counters`, [`Summary`] on xmrig's `/1/summary`
//! and `/2/summary`, [`Backend`] on `/2/backends`); the host's poller and the watchdog parse
//! [`Counters`], and the host serves the rig as one [`Summary`] and its proxy's
//! [`Workers`] and [`Miners`] in xmrig-proxy's shape. Keys and value types are the wire
//! contract: xmrig dashboards read the summary, and hosts of other builds read the counters.

mod backends;
mod counters;
mod profile;
mod rates;
mod resources;
mod summary;
mod workers;

pub use backends::{Backend, BackendThread, RxMemory};
pub use counters::{Counters, JobSeen, ShareCounts, ThreadHashes};
pub use profile::{AlgoBest, Profile, ProfileKey};
pub use rates::{round_rate, rounded_rates, Rates};
pub use resources::{Memory, Resources};
pub use summary::{Connection, Cpu, Hashrate, Link, Results, RigFacts, Summary, Tally};
pub use workers::{
    MinerRow, Miners, WorkerRow, Workers, WorkersHashrate, MINER_FORMAT, MINER_READY,
};
