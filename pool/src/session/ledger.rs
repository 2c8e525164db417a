//! The share ledger: every found share ends in exactly one outcome, and no (job, nonce) goes out twice.
//!
//! Lives across sessions (the client keeps one for its whole life), so shares found while the
//! pool is down are held here until a session can take them or they are declared stale.

use std::collections::{HashMap, VecDeque};

use super::{FoundShare, ShareId, ShareOutcome};

/// Held shares beyond this are declared stale, oldest first (a pool down for hours must not
/// make us hoard shares without bound).
pub const DEFAULT_MAX_HELD: usize = 4096;

/// Jobs whose nonces we remember for duplicate detection; older jobs are stale anyway.
const REMEMBERED_JOBS: usize = 64;

/// Counters that always add up: `found = accepted + rejected + stale + in_flight`.
/// The agent serves them in `/v1/counters` as `phirig_wire::ShareCounts`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LedgerCounts {
    pub found: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub stale: u64,
    /// Held (waiting for a session) or submitted and not yet answered.
    pub in_flight: u64,
}

#[derive(Debug)]
struct Entry {
    share: FoundShare,
    submitted: bool,
}

/// Tracks each share from found to its outcome.
#[derive(Debug)]
pub struct ShareLedger {
    next_id: u64,
    open: HashMap<ShareId, Entry>,
    held: VecDeque<ShareId>,
    max_held: usize,
    seen: HashMap<(usize, String), HashMap<u32, ShareId>>,
    seen_order: VecDeque<(usize, String)>,
    resolved: VecDeque<(ShareId, ShareOutcome)>,
    counts: LedgerCounts,
}

impl Default for ShareLedger {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_HELD)
    }
}

impl ShareLedger {
    /// A ledger holding at most `max_held` shares while no session can take them.
    pub fn new(max_held: usize) -> Self {
        ShareLedger {
            next_id: 1,
            open: HashMap::new(),
            held: VecDeque::new(),
            max_held: max_held.max(1),
            seen: HashMap::new(),
            seen_order: VecDeque::new(),
            resolved: VecDeque::new(),
            counts: LedgerCounts::default(),
        }
    }

    /// Record a found share; it is held until [`ShareLedger::take_held`]. A repeat of a
    /// (pool, job, nonce) is resolved at once as rejected and never submitted.
    pub fn record(&mut self, share: FoundShare) -> ShareId {
        let id = ShareId(self.next_id);
        self.next_id += 1;
        self.counts.found += 1;
        self.counts.in_flight += 1;
        let key = (share.pool, share.job_id.clone());
        if let Some(first) = self.seen.get(&key).and_then(|n| n.get(&share.nonce)) {
            let reason = format!(
                "duplicate of share #{} (same job and nonce), not sent",
                first.0
            );
            self.finish(id, ShareOutcome::Rejected(reason));
            return id;
        }
        if !self.seen.contains_key(&key) {
            self.seen_order.push_back(key.clone());
            if self.seen_order.len() > REMEMBERED_JOBS {
                if let Some(old) = self.seen_order.pop_front() {
                    self.seen.remove(&old);
                }
            }
        }
        self.seen.entry(key).or_default().insert(share.nonce, id);
        self.open.insert(
            id,
            Entry {
                share,
                submitted: false,
            },
        );
        self.held.push_back(id);
        while self.held.len() > self.max_held {
            if let Some(old) = self.held.pop_front() {
                self.resolve(old, ShareOutcome::Stale("hold queue full".into()));
            }
        }
        id
    }

    /// Take every held share (oldest first) to offer to a session. Shares a session cannot
    /// take yet go back with [`ShareLedger::hold`].
    pub fn take_held(&mut self) -> Vec<(ShareId, FoundShare)> {
        let ids: Vec<ShareId> = self.held.drain(..).collect();
        ids.into_iter()
            .filter_map(|id| self.open.get(&id).map(|e| (id, e.share.clone())))
            .collect()
    }

    /// Put a share back in the hold queue (its session was not ready).
    pub fn hold(&mut self, id: ShareId) {
        if self.open.get(&id).is_some_and(|e| !e.submitted) && !self.held.contains(&id) {
            self.held.push_back(id);
        }
    }

    /// Note that a share went out on the wire; it can no longer be offered to another session.
    pub fn mark_submitted(&mut self, id: ShareId) {
        if let Some(e) = self.open.get_mut(&id) {
            e.submitted = true;
        }
        self.held.retain(|h| *h != id);
    }

    /// Give a share its outcome. Returns false (and changes nothing) if it already had one.
    pub fn resolve(&mut self, id: ShareId, outcome: ShareOutcome) -> bool {
        if self.open.remove(&id).is_none() {
            return false;
        }
        self.held.retain(|h| *h != id);
        self.finish(id, outcome);
        true
    }

    /// Resolve every open share (shutdown): held and unanswered ones become stale.
    pub fn resolve_all_stale(&mut self, reason: &str) {
        let mut ids: Vec<ShareId> = self.open.keys().copied().collect();
        ids.sort();
        for id in ids {
            self.resolve(id, ShareOutcome::Stale(reason.into()));
        }
    }

    fn finish(&mut self, id: ShareId, outcome: ShareOutcome) {
        self.counts.in_flight -= 1;
        match &outcome {
            ShareOutcome::Accepted => self.counts.accepted += 1,
            ShareOutcome::Rejected(_) => self.counts.rejected += 1,
            ShareOutcome::Stale(_) => self.counts.stale += 1,
        }
        self.resolved.push_back((id, outcome));
    }

    /// Outcomes decided since the last call, in order, for the driver to report.
    pub fn poll_resolved(&mut self) -> Option<(ShareId, ShareOutcome)> {
        self.resolved.pop_front()
    }

    /// Current counters.
    pub fn counts(&self) -> LedgerCounts {
        self.counts
    }

    /// Shares held for a session (not yet on the wire).
    pub fn held_len(&self) -> usize {
        self.held.len()
    }

    /// Shares submitted and not yet answered.
    pub fn submitted_len(&self) -> usize {
        self.open.values().filter(|e| e.submitted).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(job: &str, nonce: u32) -> FoundShare {
        FoundShare {
            job_id: job.into(),
            nonce,
            result: [0; 32],
            algo: None,
            pool: 0,
            session: 1,
        }
    }

    fn add_up(c: LedgerCounts) -> bool {
        c.found == c.accepted + c.rejected + c.stale + c.in_flight
    }

    #[test]
    fn counters_add_up_and_outcomes_are_final() {
        let mut l = ShareLedger::default();
        let a = l.record(share("j", 1));
        let b = l.record(share("j", 2));
        let c = l.record(share("j", 3));
        assert_eq!(l.take_held().len(), 3);
        l.mark_submitted(a);
        l.mark_submitted(b);
        l.hold(c);
        assert!(l.resolve(a, ShareOutcome::Accepted));
        assert!(!l.resolve(a, ShareOutcome::Rejected("again".into())));
        assert!(l.resolve(b, ShareOutcome::Rejected("Low difficulty share".into())));
        let counts = l.counts();
        assert_eq!((counts.found, counts.in_flight), (3, 1));
        assert!(add_up(counts));
        l.resolve_all_stale("shutdown");
        let counts = l.counts();
        assert_eq!((counts.accepted, counts.rejected, counts.stale), (1, 1, 1));
        assert!(add_up(counts));
        let outcomes: Vec<_> = std::iter::from_fn(|| l.poll_resolved()).collect();
        assert_eq!(outcomes.len(), 3);
    }

    #[test]
    fn duplicate_job_nonce_is_never_held_or_sent() {
        let mut l = ShareLedger::default();
        let a = l.record(share("j", 7));
        let dup = l.record(share("j", 7));
        assert_ne!(a, dup);
        let held = l.take_held();
        assert_eq!(held.len(), 1);
        assert_eq!(held[0].0, a);
        assert!(matches!(l.poll_resolved(), Some((id, ShareOutcome::Rejected(_))) if id == dup));
        assert!(add_up(l.counts()));
    }

    #[test]
    fn hold_queue_is_bounded() {
        let mut l = ShareLedger::new(2);
        for n in 0..5 {
            l.record(share("j", n));
        }
        assert_eq!(l.held_len(), 2);
        assert_eq!(l.counts().stale, 3);
        assert!(add_up(l.counts()));
    }
}
