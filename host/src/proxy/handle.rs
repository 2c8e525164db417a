//! The running proxy as seen by its owner: address, stats, shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::shared::Shared;
use super::stats::ProxyStats;

/// Grace given to upstream submits still in flight at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Control of a running proxy. Dropping it stops the tasks (without waiting).
pub struct ProxyHandle {
    pub(crate) local_addr: SocketAddr,
    pub(crate) shared: Arc<Shared>,
    pub(crate) shutdown: watch::Sender<bool>,
    pub(crate) tasks: Vec<JoinHandle<()>>,
}

impl ProxyHandle {
    /// Where cards connect (the real port when the config said port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Per-card rows, upstream jobs received and the upstream client's figures.
    pub fn stats(&self) -> ProxyStats {
        let (cards, workers, flagged_peers, jobs, reassigned, orphaned, diff_current, best) = {
            let state = self.shared.state();
            (
                state.card_stats(),
                state.worker_stats(Instant::now(), SystemTime::now()),
                state.flagged_peers(),
                state.jobs_received(),
                state.reassigned(),
                state.orphaned(),
                state.diff_current(),
                state.best().top(),
            )
        };
        let upstream = self
            .shared
            .client()
            .as_ref()
            .map(|c| c.stats())
            .unwrap_or_else(empty_client_stats);
        ProxyStats {
            cards,
            jobs,
            reassigned,
            orphaned,
            diff_current,
            best,
            upstream,
            workers,
            flagged_peers,
        }
    }

    /// The rig's deployed cards, by login name: their shares are verified ahead of other
    /// miners', and flagging an address for bad shares never withholds them.
    pub fn set_cards(&self, names: impl IntoIterator<Item = String>) {
        self.shared.state().set_cards(names);
    }

    /// Stop accepting, close every card, let the upstream client finish in-flight submits
    /// (bounded), then stop it.
    pub async fn shutdown(mut self) {
        self.shutdown.send_replace(true);
        let client = self.shared.client().take();
        if let Some(client) = client {
            client.shutdown(SHUTDOWN_GRACE).await;
        }
        for task in self.tasks.drain(..) {
            if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
                tracing::warn!("proxy task did not stop in time");
            }
        }
    }
}

fn empty_client_stats() -> phirig_pool::client::ClientStats {
    phirig_pool::client::ClientStats {
        shares: Default::default(),
        pools: Vec::new(),
        reconnects: Default::default(),
        current_pool: None,
        link: None,
        standby: None,
        standby_promotions: 0,
        uptime: Duration::ZERO,
    }
}

impl Drop for ProxyHandle {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl std::fmt::Debug for ProxyHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyHandle")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}
