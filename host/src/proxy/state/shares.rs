//! The share path of `ProxyState`: the cheap checks, the verdict on the hash, the upstream
//! outcome answered to the card's waiting request.

use std::time::Instant;

use phirig_pool::client::{FoundShare, Job, ShareId, ShareOutcome};
use phirig_pool::protocol::{RequestId, Response, SubmitParams, NONCE_LEN, NONCE_OFFSET};

use super::workers::WorkerOutcome;
use super::{parse_job_id, ProxyState, REJECT_CODE};
use crate::proxy::card::LocalReject;
use crate::proxy::slices::CardId;

/// A share that passed the cheap checks and must now be hashed (off the reactor).
#[derive(Debug, Clone)]
pub struct Verify {
    pub card: CardId,
    pub request: RequestId,
    pub algo: String,
    pub height: u64,
    /// The upstream blob with the submitted nonce in place.
    pub blob: Vec<u8>,
    pub claimed: [u8; 32],
    pub nonce: u32,
    /// The upstream job (carries target, pool and session for the upstream submit).
    pub job: Job,
    /// From a deployed card: verified ahead of other miners' shares.
    pub from_card: bool,
}

/// A card's submit request waiting for the upstream outcome of its share.
#[derive(Debug, Clone, Copy)]
pub(super) struct Waiting {
    card: CardId,
    request: RequestId,
    deadline: Instant,
    /// The share's difficulty and when it went upstream: what its worker's rate is built from.
    diff: u64,
    at: Instant,
}

impl ProxyState {
    /// Cheap checks of a submit, in order: login, flag, job id and slice owner, nonce inside
    /// the slice, duplicate, result format. Records the nonce, so a resubmit is a duplicate.
    pub fn precheck(
        &mut self,
        card: CardId,
        request: RequestId,
        params: &SubmitParams,
    ) -> Result<Verify, LocalReject> {
        let verdict = self.precheck_inner(card, request, params);
        if let Some(c) = self.cards.get_mut(&card) {
            if c.login.is_some() {
                c.counts.submitted += 1;
                if let Err(why) = verdict {
                    self.refused(card, why);
                }
            }
        }
        verdict
    }

    fn precheck_inner(
        &mut self,
        card: CardId,
        request: RequestId,
        params: &SubmitParams,
    ) -> Result<Verify, LocalReject> {
        let c = self.cards.get(&card).ok_or(LocalReject::Unauthenticated)?;
        if c.login.is_none() {
            return Err(LocalReject::Unauthenticated);
        }
        if c.flagged {
            return Err(LocalReject::Flagged);
        }
        self.peer_admits(card)?;
        let from_card = self.is_card(card);
        let (seq, index) = parse_job_id(&params.job_id).ok_or(LocalReject::InvalidJobId)?;
        let job = self
            .jobs
            .iter_mut()
            .find(|j| j.seq == seq)
            .ok_or(LocalReject::InvalidJobId)?;
        let (owner, range) = job.slices.get(index).ok_or(LocalReject::InvalidJobId)?;
        if owner != card {
            return Err(LocalReject::InvalidJobId);
        }
        let nonce = params.nonce_u32().map_err(|_| LocalReject::InvalidNonce)?;
        if !range.contains_nonce(nonce) {
            return Err(LocalReject::InvalidNonce);
        }
        if !job.seen.insert(nonce) {
            return Err(LocalReject::Duplicate);
        }
        let claimed = params
            .result_bytes()
            .map_err(|_| LocalReject::InvalidResult)?;
        let mut blob = job.job.blob.clone();
        blob[NONCE_OFFSET..NONCE_OFFSET + NONCE_LEN].copy_from_slice(&nonce.to_le_bytes());
        let verify = Verify {
            card,
            request,
            algo: job.job.algo.clone().unwrap_or_default(),
            height: job.job.height.unwrap_or(0),
            blob,
            claimed,
            nonce,
            job: job.job.clone(),
            from_card,
        };
        self.peer_verifying(card, true);
        Ok(verify)
    }

    /// The hash came back (or the hasher failed): judge against the upstream target. `Ok` is
    /// the share to hand to the upstream client.
    pub fn verified(
        &mut self,
        share: &Verify,
        hash: Result<[u8; 32], String>,
    ) -> Result<FoundShare, LocalReject> {
        self.peer_verifying(share.card, false);
        let verdict = match hash {
            Err(e) => {
                tracing::warn!(error = %e, "share hasher failed");
                Err(LocalReject::HashFailed)
            }
            Ok(h) if h != share.claimed => Err(LocalReject::InvalidResult),
            Ok(h) if !share.job.target.is_met_by(&h) => Err(LocalReject::LowDifficulty),
            Ok(h) => {
                self.best.note_hash(&h);
                Ok(FoundShare::for_job(&share.job, share.nonce, h))
            }
        };
        if let Err(why) = verdict {
            self.refused(share.card, why);
        }
        verdict
    }

    /// Count a refusal against the card and its worker.
    fn refused(&mut self, card: CardId, why: LocalReject) {
        let Some(c) = self.cards.get_mut(&card) else {
            return;
        };
        if c.refused(why) {
            tracing::warn!(card, login = ?c.login, "card flagged: its shares are no longer sent upstream");
        }
        let (name, peer) = (c.login.clone(), c.peer);
        self.worker_refused(name.as_deref(), why);
        if self.peer_refused(card, why) {
            tracing::warn!(%peer, "address flagged: its miners get no work and no verification");
        }
    }

    /// A verified share could not go upstream (the client was stopped): counted stale.
    pub fn not_forwarded(&mut self, card: CardId) {
        if let Some(c) = self.cards.get_mut(&card) {
            c.counts.stale += 1;
        }
    }

    /// The share (of difficulty `diff`) went upstream as `id`; the card's request waits for its
    /// outcome.
    pub fn submitted(
        &mut self,
        id: ShareId,
        card: CardId,
        request: RequestId,
        diff: u64,
        now: Instant,
    ) {
        self.waiting.insert(
            id,
            Waiting {
                card,
                request,
                deadline: now + self.outcome_timeout,
                diff,
                at: now,
            },
        );
    }

    /// The upstream outcome of a share: count it and answer the card's request.
    pub fn outcome(&mut self, id: ShareId, outcome: &ShareOutcome) -> Option<(CardId, Response)> {
        let w = self.waiting.remove(&id)?;
        let c = self.cards.get_mut(&w.card)?;
        let (response, worker) = match outcome {
            ShareOutcome::Accepted => {
                c.counts.accepted += 1;
                let accepted = WorkerOutcome::Accepted {
                    diff: w.diff,
                    at: w.at,
                };
                (Response::status(w.request, "OK"), Some(accepted))
            }
            ShareOutcome::Rejected(why) => {
                c.counts.rejected += 1;
                (
                    Response::error(w.request, REJECT_CODE, why),
                    Some(WorkerOutcome::Rejected),
                )
            }
            ShareOutcome::Stale(why) => {
                c.counts.stale += 1;
                let message = format!("Stale share: {why}");
                (Response::error(w.request, REJECT_CODE, &message), None)
            }
        };
        let answer = c.connected.then_some((w.card, response));
        if let Some(outcome) = worker {
            let name = c.login.clone();
            self.worker_outcome(name.as_deref(), outcome);
        }
        answer
    }

    /// Answer requests whose outcome is overdue (counted stale); a later outcome is ignored.
    pub fn expire(&mut self, now: Instant) -> Vec<(CardId, Response)> {
        let overdue: Vec<ShareId> = self
            .waiting
            .iter()
            .filter(|(_, w)| w.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        overdue
            .into_iter()
            .filter_map(|id| {
                self.outcome(
                    id,
                    &ShareOutcome::Stale("no upstream outcome in time".into()),
                )
            })
            .collect()
    }

    /// When the next outcome deadline falls.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.waiting.values().map(|w| w.deadline).min()
    }
}
