//! The jobs one connection was sent: which still take shares, at what target, and nonces seen.

use std::collections::{HashSet, VecDeque};

use super::stats::SentJob;
use crate::protocol::Target;

/// A job as sent to one connection (its own id, target and NiceHash byte).
#[derive(Debug, Clone)]
pub(crate) struct IssuedJob {
    pub job_id: String,
    /// The blob as sent (nonce zero except a NiceHash byte).
    pub blob: Vec<u8>,
    pub difficulty: u64,
    pub target: Target,
    /// Block height the job carried (cn/r hashes depend on it).
    pub height: u64,
    /// The algorithm the job named: shares are verified with it.
    pub algo: String,
    /// The RandomX seed the job carried: its shares are verified with it.
    pub seed_hash: Option<String>,
    /// Nonces already submitted for this job.
    pub seen: HashSet<u32>,
}

impl IssuedJob {
    pub fn new(job_id: String, blob: Vec<u8>, difficulty: u64, height: u64, algo: &str) -> Self {
        IssuedJob {
            job_id,
            blob,
            difficulty,
            algo: algo.to_string(),
            target: Target::from_difficulty(difficulty),
            height,
            seed_hash: None,
            seen: HashSet::new(),
        }
    }

    /// What the stats keep of it.
    pub fn sent(&self) -> SentJob {
        SentJob {
            job_id: self.job_id.clone(),
            algo: self.algo.clone(),
        }
    }

    pub fn with_seed(self, seed_hash: Option<String>) -> Self {
        IssuedJob { seed_hash, ..self }
    }
}

/// The latest `keep` jobs of a connection; older ones answer "Invalid job id".
#[derive(Debug)]
pub(crate) struct IssuedJobs {
    jobs: VecDeque<IssuedJob>,
    keep: usize,
}

impl IssuedJobs {
    pub fn new(keep: usize) -> Self {
        IssuedJobs {
            jobs: VecDeque::new(),
            keep: keep.max(1),
        }
    }

    /// Record a newly sent job, forgetting the oldest beyond `keep`.
    pub fn push(&mut self, job: IssuedJob) {
        self.jobs.push_back(job);
        while self.jobs.len() > self.keep {
            self.jobs.pop_front();
        }
    }

    pub fn get_mut(&mut self, job_id: &str) -> Option<&mut IssuedJob> {
        self.jobs.iter_mut().rev().find(|j| j.job_id == job_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_recent_jobs() {
        let mut jobs = IssuedJobs::new(2);
        for id in ["a", "b", "c"] {
            jobs.push(IssuedJob::new(id.into(), vec![0; 76], 1, 1, "cn/0"));
        }
        assert!(jobs.get_mut("a").is_none());
        assert!(jobs.get_mut("b").is_some());
        assert_eq!(jobs.get_mut("c").unwrap().target, Target::EASIEST);
    }
}
