//! Share verification: cheap checks on the reactor, the hash itself on a bounded blocking pool.

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::issued_jobs::IssuedJobs;
use crate::protocol::{SubmitParams, Target, NICEHASH_BYTE_OFFSET, NONCE_LEN, NONCE_OFFSET};

/// Recomputes share hashes. The kernel lives in a crate that depends on this one, so the binaries
/// inject it; tests use [`super::Sha3ShareHasher`].
pub trait ShareHasher: Send + Sync + 'static {
    /// Hash `blob` (nonce already in place) with the named algorithm.
    fn hash(&self, algo: &str, blob: &[u8], height: u64) -> Result<[u8; 32], String>;

    /// [`ShareHasher::hash`] for a job that carried a `seed_hash` (RandomX's key); hashers
    /// without RandomX ignore it.
    fn hash_seeded(
        &self,
        algo: &str,
        blob: &[u8],
        height: u64,
        _seed_hash: Option<&str>,
    ) -> Result<[u8; 32], String> {
        self.hash(algo, blob, height)
    }
}

/// Why a share (or request) was refused. [`Reject::message`] is what goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reject {
    /// The hash does not meet the job's target.
    LowDifficulty,
    /// The claimed result is not the hash of the blob (or not 64 hex digits).
    InvalidResult,
    Duplicate,
    /// Unknown job id, or one too old for this connection.
    InvalidJobId,
    /// Nonce is not 8 hex digits.
    InvalidNonce,
    /// NiceHash mode and the nonce changes the pool's byte.
    NiceHashByte,
    /// No login on this connection, or a foreign session id.
    Unauthenticated,
    /// Too many shares of this connection are waiting for verification.
    Busy,
    /// The hasher failed (e.g. an algorithm it does not know).
    HashFailed,
}

impl Reject {
    /// The pool's reply. A wrong result says "Low difficulty share", as node-cryptonote-pool and
    /// nodejs-pool do, so clients that match on the standard messages keep working; the stats
    /// still count it apart.
    pub fn message(self) -> &'static str {
        match self {
            Reject::LowDifficulty | Reject::InvalidResult => "Low difficulty share",
            Reject::Duplicate => "Duplicate share",
            Reject::InvalidJobId => "Invalid job id",
            Reject::InvalidNonce | Reject::NiceHashByte => "Invalid nonce",
            Reject::Unauthenticated => "Unauthenticated",
            Reject::Busy => "Server busy, too many pending shares",
            Reject::HashFailed => "Share verification failed",
        }
    }
}

/// JSON-RPC error code for every refusal; Monero pools use -1 throughout.
pub(crate) const REJECT_CODE: i64 = -1;

/// A share that passed the cheap checks and now needs hashing.
#[derive(Debug, Clone)]
pub(crate) struct PendingShare {
    pub algo: String,
    pub height: u64,
    pub seed_hash: Option<String>,
    /// The job's blob with the submitted nonce in place.
    pub blob: Vec<u8>,
    pub claimed: [u8; 32],
    pub target: Target,
    pub difficulty: u64,
}

/// Checks (1) job id, (2) nonce format and the NiceHash byte, (3) duplicates, then the result's
/// format; records the (job, nonce) so a second submit is a duplicate whatever the first's fate.
pub(crate) fn precheck(
    params: &SubmitParams,
    jobs: &mut IssuedJobs,
    nicehash_byte: Option<u8>,
) -> Result<PendingShare, Reject> {
    let job = jobs.get_mut(&params.job_id).ok_or(Reject::InvalidJobId)?;
    let nonce = params.nonce_u32().map_err(|_| Reject::InvalidNonce)?;
    let nonce_bytes = nonce.to_le_bytes();
    if let Some(byte) = nicehash_byte {
        if nonce_bytes[NICEHASH_BYTE_OFFSET - NONCE_OFFSET] != byte {
            return Err(Reject::NiceHashByte);
        }
    }
    if !job.seen.insert(nonce) {
        return Err(Reject::Duplicate);
    }
    let claimed = params.result_bytes().map_err(|_| Reject::InvalidResult)?;
    let mut blob = job.blob.clone();
    blob[NONCE_OFFSET..NONCE_OFFSET + NONCE_LEN].copy_from_slice(&nonce_bytes);
    Ok(PendingShare {
        algo: job.algo.clone(),
        height: job.height,
        seed_hash: job.seed_hash.clone(),
        blob,
        claimed,
        target: job.target,
        difficulty: job.difficulty,
    })
}

/// Runs the hasher off the reactor, at most `threads` hashes at a time server-wide.
#[derive(Clone)]
pub(crate) struct Verifier {
    hasher: Arc<dyn ShareHasher>,
    permits: Arc<Semaphore>,
}

impl Verifier {
    pub fn new(hasher: Arc<dyn ShareHasher>, threads: usize) -> Self {
        Verifier {
            hasher,
            permits: Arc::new(Semaphore::new(threads.max(1))),
        }
    }

    /// Hash and compare; `Ok(difficulty)` for an accepted share.
    pub async fn verify(&self, share: PendingShare) -> Result<u64, Reject> {
        // The semaphore is never closed, so acquiring only fails if that changes; refuse then.
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Reject::HashFailed)?;
        let hasher = Arc::clone(&self.hasher);
        let outcome = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let hash = hasher.hash_seeded(
                &share.algo,
                &share.blob,
                share.height,
                share.seed_hash.as_deref(),
            )?;
            Ok::<_, String>(judge(&share, &hash))
        })
        .await;
        match outcome {
            Ok(Ok(verdict)) => verdict,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "share hasher failed");
                Err(Reject::HashFailed)
            }
            Err(e) => {
                tracing::warn!(error = %e, "share hasher panicked");
                Err(Reject::HashFailed)
            }
        }
    }
}

/// (4) The claimed result must be the real hash, and the hash must meet the target.
fn judge(share: &PendingShare, hash: &[u8; 32]) -> Result<u64, Reject> {
    if *hash != share.claimed {
        return Err(Reject::InvalidResult);
    }
    if !share.target.is_met_by(hash) {
        return Err(Reject::LowDifficulty);
    }
    Ok(share.difficulty)
}

#[cfg(test)]
mod tests {
    use super::super::issued_jobs::IssuedJob;
    use super::*;

    fn jobs(nicehash: Option<u8>) -> IssuedJobs {
        let mut jobs = IssuedJobs::new(2);
        let mut blob = vec![0u8; 76];
        if let Some(b) = nicehash {
            blob[NICEHASH_BYTE_OFFSET] = b;
        }
        jobs.push(IssuedJob::new("j1".into(), blob, 1_000, 1, "cn/0"));
        jobs
    }

    fn submit(job: &str, nonce: &str, result: &str) -> SubmitParams {
        SubmitParams {
            id: "s".into(),
            job_id: job.into(),
            nonce: nonce.into(),
            result: result.into(),
            algo: None,
        }
    }

    #[test]
    fn cheap_checks_in_order() {
        let r = "00".repeat(32);
        let mut j = jobs(None);
        let p = |s: &SubmitParams, j: &mut IssuedJobs| precheck(s, j, None).map(|_| ());
        assert_eq!(
            p(&submit("nope", "zz", &r), &mut j),
            Err(Reject::InvalidJobId)
        );
        assert_eq!(
            p(&submit("j1", "zz", &r), &mut j),
            Err(Reject::InvalidNonce)
        );
        assert_eq!(
            p(&submit("j1", "0102030", &r), &mut j),
            Err(Reject::InvalidNonce)
        );
        let share = precheck(&submit("j1", "01020304", &r), &mut j, None).unwrap();
        assert_eq!(&share.blob[39..43], &[1, 2, 3, 4]);
        assert_eq!(share.difficulty, 1_000);
        assert_eq!(
            p(&submit("j1", "01020304", &r), &mut j),
            Err(Reject::Duplicate)
        );
        assert_eq!(
            p(&submit("j1", "01020305", "ab"), &mut j),
            Err(Reject::InvalidResult)
        );
    }

    #[test]
    fn nicehash_byte_is_the_nonce_top_byte() {
        let r = "00".repeat(32);
        let mut j = jobs(Some(0x5a));
        assert_eq!(
            precheck(&submit("j1", "0102035b", &r), &mut j, Some(0x5a)).map(|_| ()),
            Err(Reject::NiceHashByte)
        );
        assert!(precheck(&submit("j1", "0102035a", &r), &mut j, Some(0x5a)).is_ok());
    }

    #[test]
    fn judge_compares_result_then_target() {
        let t = Target::from_difficulty(2);
        let mut hash = [0u8; 32];
        let share = |claimed| PendingShare {
            algo: "cn/0".into(),
            height: 0,
            seed_hash: None,
            blob: vec![],
            claimed,
            target: t,
            difficulty: 2,
        };
        assert_eq!(judge(&share(hash), &hash), Ok(2));
        assert_eq!(judge(&share([1; 32]), &hash), Err(Reject::InvalidResult));
        hash[31] = 0xff;
        assert_eq!(judge(&share(hash), &hash), Err(Reject::LowDifficulty));
    }
}
