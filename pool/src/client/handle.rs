//! The handle the agent and host hold: submit shares, read stats, shut down.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::stats::{ClientStats, StatsState};
use super::ClientEvent;
use crate::protocol::AlgoOffer;
use crate::session::{FoundShare, ShareId, ShareLedger};

/// State shared by the handle and the driver task. Locks are held only briefly, never across
/// an await.
#[derive(Debug)]
pub(crate) struct Shared {
    pub ledger: Mutex<ShareLedger>,
    pub stats: Mutex<StatsState>,
}

impl Shared {
    pub fn ledger(&self) -> MutexGuard<'_, ShareLedger> {
        // A panic while holding the lock leaves plain counters behind; still usable.
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn stats(&self) -> MutexGuard<'_, StatsState> {
        self.stats.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Requests from the handle to the driver.
#[derive(Debug)]
pub(crate) enum Command {
    /// A share was recorded in the ledger; offer held shares to the session.
    Share,
    /// Ask the pool for a fresh slice of the newest job (`getjob`); rate-limited by the session.
    GetJob,
    /// A new offer: kept for later logins, sent now in a `getjob`.
    OfferPerf(AlgoOffer),
    /// Replace the pool list and timeouts: in-flight submits are given a short drain, then the
    /// client starts over on the new list's first pool.
    Reconfigure(Box<super::ClientConfig>),
    /// Finish in-flight submits (bounded by the grace), then stop.
    Shutdown {
        grace: Duration,
        done: oneshot::Sender<()>,
    },
}

/// Controls a running client. Dropping it stops the client (held shares become stale).
#[derive(Debug)]
pub struct ClientHandle {
    pub(crate) shared: Arc<Shared>,
    pub(crate) commands: mpsc::UnboundedSender<Command>,
    pub(crate) task: Option<JoinHandle<()>>,
    /// Used to report outcomes the driver could not report itself (it was stopped).
    pub(crate) events: mpsc::Sender<ClientEvent>,
}

impl ClientHandle {
    /// Hand over a found share. It is sent now if its job's session is logged in, held
    /// otherwise, and always ends in exactly one `ClientEvent::ShareOutcome` with this id.
    pub fn submit(&self, share: FoundShare) -> ShareId {
        let id = self.shared.ledger().record(share);
        // If the driver is gone the share stays in the ledger and shutdown resolves it.
        let _ = self.commands.send(Command::Share);
        id
    }

    /// The miner used its nonce slice up: ask the pool (the host's proxy) for a fresh slice of
    /// the newest job. The answer arrives as a [`ClientEvent::Job`]. Ignored while not logged
    /// in; at most one is outstanding and they go out at most every
    /// [`crate::session::GETJOB_MIN_INTERVAL`].
    pub fn request_job(&self) {
        let _ = self.commands.send(Command::GetJob);
    }

    /// Offer a switching pool new figures (`algo-perf`, `algo-min-time`) without a new
    /// session: sent in a `getjob` on the logged-in session (MoneroOcean's way), and used by
    /// every later login. It replaces the whole offer, so build it from the newest config.
    pub fn offer_perf(&self, offer: AlgoOffer) {
        let _ = self.commands.send(Command::OfferPerf(offer));
    }

    /// Switch to a new pool list, user, password or timeouts without losing the share books:
    /// the current session drains briefly (see [`crate::session::HangCause::Reconfigured`]), then
    /// mining starts over on the new list's first pool. A config that fails
    /// [`super::ClientConfig::validate`] is returned and the running one stays.
    pub fn reconfigure(&self, config: super::ClientConfig) -> Result<(), super::ConfigError> {
        config.validate()?;
        let _ = self.commands.send(Command::Reconfigure(Box::new(config)));
        Ok(())
    }

    /// Counters, per-pool RTT, reconnects by cause, current pool, uptime.
    pub fn stats(&self) -> ClientStats {
        let shares = self.shared.ledger().counts();
        self.shared.stats().snapshot(shares)
    }

    /// Stop: wait up to `grace` for in-flight submits to be answered, then close. Whatever is
    /// still open is resolved as stale, so the counters add up afterwards.
    pub async fn shutdown(mut self, grace: Duration) {
        let (done, finished) = oneshot::channel();
        let _ = self.commands.send(Command::Shutdown { grace, done });
        // The driver finishes itself within the grace; the extra second covers the close.
        let _ = tokio::time::timeout(grace + Duration::from_secs(1), finished).await;
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        let leftovers: Vec<_> = {
            let mut ledger = self.shared.ledger();
            ledger.resolve_all_stale("client shut down");
            std::iter::from_fn(|| ledger.poll_resolved()).collect()
        };
        for (id, outcome) in leftovers {
            let _ = self
                .events
                .try_send(ClientEvent::ShareOutcome { id, outcome });
        }
    }
}

impl Drop for ClientHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
