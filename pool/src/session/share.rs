//! A found share, its id, and the one outcome it ends in.

use crate::protocol::Job;

/// Identifies one found share for its whole life (submit, outcome, stats).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShareId(pub u64);

/// A nonce whose hash met the job's target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundShare {
    pub job_id: String,
    pub nonce: u32,
    pub result: [u8; 32],
    /// Algorithm the share was hashed with (sent when the pool advertised `algo`).
    pub algo: Option<String>,
    /// Pool index the job came from ([`Job::pool`]).
    pub pool: usize,
    /// Connection to that pool that delivered the job ([`Job::session`]).
    pub session: u64,
}

impl FoundShare {
    /// A share for `job`, carrying the job's pool, session and algorithm.
    pub fn for_job(job: &Job, nonce: u32, result: [u8; 32]) -> FoundShare {
        FoundShare {
            job_id: job.job_id.clone(),
            nonce,
            result,
            algo: job.algo.clone(),
            pool: job.pool,
            session: job.session,
        }
    }
}

/// How a share ended. Exactly one per share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShareOutcome {
    Accepted,
    /// The pool said no (its message), or we refused a duplicate before sending it.
    Rejected(String),
    /// Never judged by the pool: its job was no longer valid, or the connection ended first.
    Stale(String),
}
