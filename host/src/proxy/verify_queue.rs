//! Shares waiting to be hashed, in two lanes: deployed cards' first, then other miners'.
//!
//! A flood of bogus shares from a stranger then only delays other strangers; the cards' shares
//! never queue behind it.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

use super::state::Verify;

#[derive(Debug, Default)]
struct Lanes {
    cards: VecDeque<Verify>,
    others: VecDeque<Verify>,
}

/// Filled by the connections, drained by the verifier tasks.
#[derive(Debug, Default)]
pub(crate) struct VerifyQueue {
    lanes: Mutex<Lanes>,
    ready: Notify,
}

impl VerifyQueue {
    fn lanes(&self) -> MutexGuard<'_, Lanes> {
        self.lanes.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn push(&self, share: Verify) {
        {
            let mut lanes = self.lanes();
            if share.from_card {
                lanes.cards.push_back(share);
            } else {
                lanes.others.push_back(share);
            }
        }
        // Every waiting verifier looks: the one woken alone might be the cards-only one.
        self.ready.notify_waiters();
    }

    fn try_pop(&self, others_too: bool) -> Option<Verify> {
        let mut lanes = self.lanes();
        match lanes.cards.pop_front() {
            Some(share) => Some(share),
            None if others_too => lanes.others.pop_front(),
            None => None,
        }
    }

    /// The next share, a card's when one waits; with `others_too` false only cards' shares (one
    /// verifier is kept for them, so a card's share never waits for a stranger's hash).
    pub async fn pop(&self, others_too: bool) -> Verify {
        loop {
            let notified = self.ready.notified();
            tokio::pin!(notified);
            // Registered before looking, so a push between the look and the wait still wakes us.
            notified.as_mut().enable();
            if let Some(share) = self.try_pop(others_too) {
                return share;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phirig_pool::client::Job;
    use phirig_pool::protocol::Target;

    fn share(card: u64, from_card: bool) -> Verify {
        Verify {
            card,
            request: card,
            algo: "cn/0".into(),
            height: 0,
            blob: vec![0; 76],
            claimed: [0; 32],
            nonce: 0,
            job: Job {
                job_id: "j".into(),
                blob: vec![0; 76],
                target: Target::EASIEST,
                algo: None,
                height: None,
                seed_hash: None,
                next_seed_hash: None,
                nicehash: false,
                pool: 0,
                session: 0,
                nonce_range: None,
            },
            from_card,
        }
    }

    #[tokio::test]
    async fn cards_go_first_and_a_waiting_verifier_wakes() {
        let q = std::sync::Arc::new(VerifyQueue::default());
        q.push(share(1, false));
        q.push(share(2, false));
        q.push(share(3, true));
        let order: Vec<u64> = vec![
            q.pop(true).await.card,
            q.pop(true).await.card,
            q.pop(true).await.card,
        ];
        assert_eq!(order, [3, 1, 2]);
        let waiter = tokio::spawn({
            let q = q.clone();
            async move { q.pop(true).await.card }
        });
        tokio::task::yield_now().await;
        q.push(share(4, false));
        assert_eq!(waiter.await.expect("verifier"), 4);
        // The cards' own verifier leaves a stranger's share for the others.
        q.push(share(5, false));
        q.push(share(6, true));
        assert_eq!(q.pop(false).await.card, 6);
        assert!(q.try_pop(false).is_none());
        assert_eq!(q.pop(true).await.card, 5);
        // A stranger's share wakes the general verifier even when the cards-only one waits too.
        let cards_only = tokio::spawn({
            let q = q.clone();
            async move { q.pop(false).await.card }
        });
        let general = tokio::spawn({
            let q = q.clone();
            async move { q.pop(true).await.card }
        });
        tokio::task::yield_now().await;
        q.push(share(7, false));
        assert_eq!(general.await.expect("verifier"), 7);
        cards_only.abort();
    }
}
