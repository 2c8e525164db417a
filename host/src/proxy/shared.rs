//! State shared by the proxy's tasks: the state machine, each card's outbox, the upstream client.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use phirig_pool::client::ClientHandle;
use phirig_pool::protocol::{AlgoOffer, Response, ServerMessage};
use phirig_pool::server::ShareHasher;
use tokio::sync::{mpsc, watch};

use super::card::LocalReject;
use super::rig_perf::RigPerf;
use super::slices::CardId;
use super::state::{ProxyState, Verify, REJECT_CODE};
use super::verify_queue::VerifyQueue;

/// Answer to a verified share that arrives after the upstream client was stopped.
const SHUTTING_DOWN: &str = "Proxy shutting down; share not forwarded";

/// Locks are held briefly and never across an await.
pub(crate) struct Shared {
    pub state: Mutex<ProxyState>,
    pub outboxes: Mutex<HashMap<CardId, mpsc::Sender<String>>>,
    pub client: Mutex<Option<ClientHandle>>,
    pub hasher: Arc<dyn ShareHasher>,
    pub verify_queue: VerifyQueue,
    pub rig_perf: Mutex<RigPerf>,
}

impl Shared {
    pub fn state(&self) -> MutexGuard<'_, ProxyState> {
        // A panic under the lock leaves counters behind; still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn outboxes(&self) -> MutexGuard<'_, HashMap<CardId, mpsc::Sender<String>>> {
        self.outboxes.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn client(&self) -> MutexGuard<'_, Option<ClientHandle>> {
        self.client.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A card's offer (at login or in a `getjob`; `None` when it left). The rig's sum goes
    /// upstream later, debounced, from [`Self::offer_perf`].
    pub fn card_perf(&self, card: CardId, offer: Option<&AlgoOffer>) {
        self.rig_perf().update(card, offer, Instant::now());
    }

    /// When the rig's next offer is due upstream, if one is pending.
    pub fn perf_due(&self) -> Option<Instant> {
        self.rig_perf().due()
    }

    /// Offer the rig's summed algo-perf upstream in a `getjob` if it is due: no new login.
    pub fn offer_perf(&self, now: Instant) {
        let offer = self.rig_perf().take(now);
        if let (Some(offer), Some(client)) = (offer, self.client().as_ref()) {
            tracing::info!(perf = ?offer.perf, min_time = ?offer.min_time, "offering the rig's algo-perf upstream");
            client.offer_perf(offer);
        }
    }

    fn rig_perf(&self) -> MutexGuard<'_, RigPerf> {
        self.rig_perf.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn open_outbox(&self, card: CardId, tx: mpsc::Sender<String>) {
        self.outboxes().insert(card, tx);
    }

    pub fn close_outbox(&self, card: CardId) {
        self.outboxes().remove(&card);
    }

    /// Queue a line for a card. A card whose outbox is full is not reading: drop its outbox,
    /// which ends its connection.
    pub fn send(&self, card: CardId, message: &ServerMessage) {
        let mut outboxes = self.outboxes();
        let Some(tx) = outboxes.get(&card) else {
            return;
        };
        if tx.try_send(message.encode()).is_err() {
            tracing::warn!(
                card,
                "card not reading (outbox full or closed); disconnecting it"
            );
            outboxes.remove(&card);
        }
    }

    pub fn reply(&self, card: CardId, response: Response) {
        self.send(card, &ServerMessage::Response(response));
    }

    pub fn refuse(&self, card: CardId, request: u64, why: LocalReject) {
        self.reply(card, Response::error(request, REJECT_CODE, why.message()));
    }

    /// One verifier: takes queued shares (cards' first; only cards' when not `others_too`) until
    /// shutdown; the proxy runs `verify_threads` of them, so that many shares are hashed at once.
    pub async fn verifier(self: Arc<Self>, others_too: bool, mut shutdown: watch::Receiver<bool>) {
        loop {
            let share = tokio::select! {
                share = self.verify_queue.pop(others_too) => share,
                _ = shutdown.changed() => break,
            };
            self.verify_and_forward(share).await;
        }
    }

    /// Hash a prechecked share off the reactor, then judge it and hand it upstream (or refuse).
    async fn verify_and_forward(&self, share: Verify) {
        let hasher = Arc::clone(&self.hasher);
        let (algo, blob, height) = (share.algo.clone(), share.blob.clone(), share.height);
        // rx/0 shares are hashed with the upstream job's seed, which the cards were sent too.
        let seed = share.job.seed_hash.clone();
        let hash = tokio::task::spawn_blocking(move || {
            hasher.hash_seeded(&algo, &blob, height, seed.as_deref())
        })
        .await
        .unwrap_or_else(|e| Err(format!("hasher panicked: {e}")));
        let (card, request) = (share.card, share.request);
        // The state lock is held across the upstream submit so that the outcome (handled under
        // the same lock) cannot overtake the record of who waits for it.
        let refused = {
            let mut state = self.state();
            match state.verified(&share, hash) {
                Ok(found) => match self.client().as_ref() {
                    Some(client) => {
                        let id = client.submit(found);
                        let diff = share.job.target.difficulty();
                        state.submitted(id, card, request, diff, Instant::now());
                        None
                    }
                    None => {
                        state.not_forwarded(card);
                        Some(SHUTTING_DOWN)
                    }
                },
                Err(why) => Some(why.message()),
            }
        };
        if let Some(message) = refused {
            self.reply(card, Response::error(request, REJECT_CODE, message));
        }
    }
}
