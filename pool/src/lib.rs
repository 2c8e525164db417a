//! phirig-pool: the stratum protocol, a sans-I/O session state machine, the tokio client that
//! rides out hung pool sessions with failover, and a share-verifying reference pool server.
//!
//! Not here: hashing. The server verifies shares through the [`server::ShareHasher`] trait, which
//! the binaries implement with the kernel from `phirig-agent`.

pub mod client;
pub mod latency;
pub mod protocol;
pub mod server;
pub mod session;
