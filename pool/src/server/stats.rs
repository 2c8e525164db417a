//! The server's own counters: connections, shares per worker and in total, by outcome.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use serde::Serialize;

use super::verify::Reject;
use crate::protocol::AlgoPerf;

/// Jobs kept in each worker's [`WorkerStats::recent_jobs`].
pub const RECENT_SENT_JOBS: usize = 32;

/// Rejected shares (and refused requests) by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RejectCounts {
    pub low_difficulty: u64,
    /// Result did not match the recomputed hash (answered "Low difficulty share").
    pub invalid_result: u64,
    pub duplicate: u64,
    pub invalid_job_id: u64,
    pub invalid_nonce: u64,
    /// NiceHash byte changed (answered "Invalid nonce").
    pub nicehash_byte: u64,
    pub unauthenticated: u64,
    pub busy: u64,
    pub hash_failed: u64,
}

impl RejectCounts {
    fn bump(&mut self, reason: Reject) {
        let slot = match reason {
            Reject::LowDifficulty => &mut self.low_difficulty,
            Reject::InvalidResult => &mut self.invalid_result,
            Reject::Duplicate => &mut self.duplicate,
            Reject::InvalidJobId => &mut self.invalid_job_id,
            Reject::InvalidNonce => &mut self.invalid_nonce,
            Reject::NiceHashByte => &mut self.nicehash_byte,
            Reject::Unauthenticated => &mut self.unauthenticated,
            Reject::Busy => &mut self.busy,
            Reject::HashFailed => &mut self.hash_failed,
        };
        *slot += 1;
    }

    /// All rejections together.
    pub fn total(&self) -> u64 {
        self.low_difficulty
            + self.invalid_result
            + self.duplicate
            + self.invalid_job_id
            + self.invalid_nonce
            + self.nicehash_byte
            + self.unauthenticated
            + self.busy
            + self.hash_failed
    }
}

/// One worker: a login's rig id, or the login itself when it sent no rig id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WorkerStats {
    pub accepted: u64,
    pub rejected: RejectCounts,
    /// Sum of the difficulty of accepted shares: the hashes their work is worth.
    pub hashes: u64,
    /// Logins ever made by this worker.
    pub logins: u64,
    /// Its connections open now.
    pub connections: u64,
    /// Difficulty of the last job sent to it.
    pub difficulty: u64,
    /// The `algo-perf` it offered last, at login or in a `getjob`.
    pub algo_perf: Option<AlgoPerf>,
    /// Its latest jobs (at most [`RECENT_SENT_JOBS`]), oldest first: where an algorithm
    /// switch happened.
    pub recent_jobs: VecDeque<SentJob>,
}

impl WorkerStats {
    /// The jobs sent after `job_id`, oldest first; `None` when `job_id` is no longer kept.
    pub fn jobs_after(&self, job_id: &str) -> Option<Vec<&SentJob>> {
        let at = self.recent_jobs.iter().position(|j| j.job_id == job_id)?;
        Some(self.recent_jobs.iter().skip(at + 1).collect())
    }

    /// The newest job's id.
    pub fn newest_job(&self) -> Option<&str> {
        self.recent_jobs.back().map(|j| j.job_id.as_str())
    }
}

/// One job as sent to a worker.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SentJob {
    pub job_id: String,
    pub algo: String,
}

/// A snapshot of every counter, from [`super::ServerHandle::stats`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServerStats {
    /// Connections ever accepted.
    pub connections_total: u64,
    /// Connections open now.
    pub connections_active: u64,
    pub logins: u64,
    pub accepted: u64,
    pub rejected: RejectCounts,
    /// Sum of the difficulty of all accepted shares.
    pub hashes: u64,
    /// Job templates made (timer, [`super::ServerHandle::new_job`], start-up).
    pub templates: u64,
    /// Job notifications and login jobs sent, over all connections.
    pub jobs_sent: u64,
    /// Lines from clients that were not valid requests.
    pub malformed_lines: u64,
    /// `getjob` requests that carried a new `algo-perf` (an offer without a new login).
    pub perf_offers: u64,
    pub workers: BTreeMap<String, WorkerStats>,
    /// Accepted shares per algorithm (switching mode sends several).
    pub accepted_by_algo: BTreeMap<String, u64>,
}

impl ServerStats {
    /// Accepted shares on `algo` (0 where none were).
    pub fn accepted_on(&self, algo: &str) -> u64 {
        self.accepted_by_algo.get(algo).copied().unwrap_or(0)
    }
}

/// Shared counters; every update is a short critical section off the hashing path.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    inner: Mutex<ServerStats>,
}

impl Stats {
    fn lock(&self) -> MutexGuard<'_, ServerStats> {
        // A panic while counting leaves the numbers usable; keep serving them.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn snapshot(&self) -> ServerStats {
        self.lock().clone()
    }

    pub fn connection_opened(&self) {
        let mut s = self.lock();
        s.connections_total += 1;
        s.connections_active += 1;
    }

    pub fn connection_closed(&self, worker: Option<&str>) {
        let mut s = self.lock();
        s.connections_active = s.connections_active.saturating_sub(1);
        if let Some(w) = worker.and_then(|w| s.workers.get_mut(w)) {
            w.connections = w.connections.saturating_sub(1);
        }
    }

    pub fn login(&self, worker: &str, difficulty: u64, perf: Option<&AlgoPerf>) {
        let mut s = self.lock();
        s.logins += 1;
        let w = s.workers.entry(worker.to_string()).or_default();
        w.logins += 1;
        w.connections += 1;
        w.difficulty = difficulty;
        w.algo_perf = perf.cloned();
    }

    /// A `getjob` carried a new `algo-perf`.
    pub fn perf_offered(&self, worker: &str, perf: &AlgoPerf) {
        let mut s = self.lock();
        s.perf_offers += 1;
        if let Some(w) = s.workers.get_mut(worker) {
            w.algo_perf = Some(perf.clone());
        }
    }

    pub fn job_sent(&self, worker: &str, difficulty: u64, job: SentJob) {
        let mut s = self.lock();
        s.jobs_sent += 1;
        if let Some(w) = s.workers.get_mut(worker) {
            w.difficulty = difficulty;
            if w.recent_jobs.len() == RECENT_SENT_JOBS {
                w.recent_jobs.pop_front();
            }
            w.recent_jobs.push_back(job);
        }
    }

    pub fn template_made(&self) {
        self.lock().templates += 1;
    }

    pub fn malformed_line(&self) {
        self.lock().malformed_lines += 1;
    }

    pub fn accepted(&self, worker: &str, difficulty: u64, algo: &str) {
        let mut s = self.lock();
        s.accepted += 1;
        *s.accepted_by_algo.entry(algo.to_string()).or_default() += 1;
        s.hashes = s.hashes.saturating_add(difficulty);
        let w = s.workers.entry(worker.to_string()).or_default();
        w.accepted += 1;
        w.hashes = w.hashes.saturating_add(difficulty);
    }

    pub fn rejected(&self, worker: Option<&str>, reason: Reject) {
        let mut s = self.lock();
        s.rejected.bump(reason);
        if let Some(w) = worker {
            s.workers
                .entry(w.to_string())
                .or_default()
                .rejected
                .bump(reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_up_per_worker_and_in_total() {
        let s = Stats::default();
        s.connection_opened();
        s.login("rig1", 10, None);
        s.accepted("rig1", 10, "cn/0");
        s.accepted("rig1", 30, "cn/r");
        s.rejected(Some("rig1"), Reject::Duplicate);
        s.rejected(None, Reject::Unauthenticated);
        s.connection_closed(Some("rig1"));
        let snap = s.snapshot();
        assert_eq!(snap.accepted, 2);
        assert_eq!(snap.hashes, 40);
        assert_eq!(snap.rejected.total(), 2);
        assert_eq!(snap.connections_active, 0);
        let w = &snap.workers["rig1"];
        assert_eq!(
            (w.accepted, w.hashes, w.rejected.duplicate, w.connections),
            (2, 40, 1, 0)
        );
        assert_eq!(w.rejected.unauthenticated, 0);
        let json = serde_json::to_value(&snap).unwrap();
        assert_eq!(json["workers"]["rig1"]["accepted"], 2);
    }
}
