//! The running server as seen by its owner: address, counters, faults, jobs, shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::task::JoinHandle;

use super::config::ServerConfig;
use super::fault::Fault;
use super::shared::Shared;
use super::stats::ServerStats;

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

    /// Stop accepting, close every connection, and wait for the server task to end.
    pub async fn shutdown(mut self) {
        self.shared.shutdown.send_replace(true);
        if let Some(task) = self.task.take() {
            if let Err(e) = task.await {
                tracing::warn!(error = %e, "pool server task ended badly");
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
