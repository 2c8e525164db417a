//! The running server as seen by its owner: address, counters, faults, jobs, shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::config::ServerConfig;
use super::fault::Fault;
use super::shared::Shared;
use super::stats::ServerStats;
use super::switching::AlgoValues;

/// Longest [`ServerHandle::shutdown`] waits: the accept loop gives connections 2 s to close and
/// then aborts them, so a healthy server is gone well within this.
pub const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// Control of a running [`super::PoolServer`]. Dropping it stops the server too (without waiting).
pub struct ServerHandle {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

impl ServerHandle {
    pub(crate) fn new(local_addr: SocketAddr, shared: Arc<Shared>, task: JoinHandle<()>) -> Self {
        ServerHandle {
            local_addr,
            shared,
            task: Some(task),
        }
    }

    /// The address actually bound (the real port when the config said port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The configuration the server runs with.
    pub fn config(&self) -> &ServerConfig {
        &self.shared.config
    }

    /// A snapshot of all counters.
    pub fn stats(&self) -> ServerStats {
        self.shared.stats.snapshot()
    }

    /// Switch the injected fault for every connection, live. Setting an action fault (reset,
    /// garbage, ...) again plays it again, once per connection.
    pub fn set_fault(&self, fault: Fault) {
        tracing::info!(%fault, "pool fault set");
        self.shared.faults.send_modify(|s| {
            s.generation += 1;
            s.fault = fault;
        });
    }

    /// The fault in force.
    pub fn fault(&self) -> Fault {
        self.shared.faults.borrow().fault.clone()
    }

    /// Make a new job now and send it to every logged-in connection (subject to faults).
    pub fn new_job(&self) {
        self.shared.next_template();
    }

    /// A new block: the height goes up by one and its job goes to every logged-in connection
    /// (subject to faults). Jobs start at [`ServerConfig::height`].
    pub fn new_block(&self) {
        self.shared.next_block();
    }

    /// Switching mode: replace the table of algorithm values and send every connection a new
    /// job at once, on the algorithm that now pays it best (unless its `algo-min-time` holds it).
    pub fn set_algo_values(&self, values: AlgoValues) {
        tracing::info!(?values, "algorithm values set");
        *self.shared.algo_values() = values;
        self.shared.next_template();
    }

    /// A new RandomX epoch: every connection gets a job with this `seed_hash` at once, and its
    /// shares are verified with it (shares of earlier jobs keep their own seed).
    pub fn set_seed_hash(&self, seed_hash: &str) {
        tracing::info!(seed_hash, "seed set");
        self.shared.jobs.set_seed_hash(Some(seed_hash.to_string()));
    }

    /// Announce the next RandomX epoch's seed in every job from now on (`next_seed_hash`, as
    /// p2pool and some pools send it), or stop with `None`; it stops by itself when
    /// [`Self::set_seed_hash`] moves to it.
    pub fn set_next_seed_hash(&self, next: Option<&str>) {
        tracing::info!(next_seed_hash = next, "next seed announced");
        self.shared
            .jobs
            .set_next_seed_hash(next.map(str::to_string));
    }

    /// Send a job for exactly this hashing blob to every logged-in connection, once. Unlike a
    /// configured template it is not checked, so tests can send what a broken pool might; its
    /// nonce bytes are sent as given.
    pub fn new_job_with_blob(&self, blob: Vec<u8>) {
        self.shared.publish_template(blob);
    }

    /// Stop accepting, close every connection, and wait for the server task to end, at most
    /// [`SHUTDOWN_WAIT`]: a task still running then is aborted, so this always returns.
    pub async fn shutdown(mut self) {
        self.shared.shutdown.send_replace(true);
        if let Some(mut task) = self.task.take() {
            match tokio::time::timeout(SHUTDOWN_WAIT, &mut task).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "pool server task ended badly"),
                Err(_) => {
                    // Not awaited again: a task that ignored its own deadline may ignore this too.
                    tracing::warn!(wait = ?SHUTDOWN_WAIT, "pool server did not stop in time; aborting it");
                    task.abort();
                }
            }
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.shared.shutdown.send_replace(true);
    }
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}
