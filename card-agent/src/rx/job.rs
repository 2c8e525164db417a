//! An rx/0 job as the RandomX workers mine it: the pool job plus its validated seed.

use phirig_pool::client::Job;
use phirig_pool::protocol::{MAX_BLOB_LEN, MIN_BLOB_LEN, NICEHASH_BYTE_OFFSET};
use phirig_rx::{Seed, SeedError};

use crate::worker::NonceRange;

/// Work for the RandomX workers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RxJob {
    /// Local sequence number, shared with CryptoNight jobs: shares find their job by it.
    pub seq: u64,
    pub job_id: String,
    pub blob: Vec<u8>,
    /// 64-bit share target, as for CryptoNight.
    pub target: u64,
    /// The dataset this job must be hashed on.
    pub seed: Seed,
    /// The next epoch's seed, when the pool sent one well formed: built ahead if memory allows.
    pub next_seed: Option<Seed>,
    pub range: NonceRange,
}

/// Why an rx/0 job was refused; the previous job keeps running.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RxJobError {
    #[error("job {job_id}: {source}")]
    Seed {
        job_id: String,
        #[source]
        source: SeedError,
    },
    #[error("job {job_id}: blob is {len} bytes, rx/0 needs {MIN_BLOB_LEN} to {MAX_BLOB_LEN}")]
    BlobLength { job_id: String, len: usize },
    #[error("job {job_id}: target is zero, no hash could ever be a share")]
    ZeroTarget { job_id: String },
    #[error("job {job_id}: the nonce slice is empty")]
    EmptyRange { job_id: String },
}

impl RxJob {
    /// Validates a pool job named rx/0 (seed, blob, target, slice).
    pub fn from_pool(job: &Job, seq: u64) -> Result<RxJob, RxJobError> {
        let job_id = job.job_id.clone();
        let seed = Seed::from_job(job.seed_hash.as_deref()).map_err(|source| RxJobError::Seed {
            job_id: job_id.clone(),
            source,
        })?;
        if !(MIN_BLOB_LEN..=MAX_BLOB_LEN).contains(&job.blob.len()) {
            return Err(RxJobError::BlobLength {
                job_id,
                len: job.blob.len(),
            });
        }
        let target = job.target.as_u64();
        if target == 0 {
            return Err(RxJobError::ZeroTarget { job_id });
        }
        let fixed = job
            .nicehash
            .then(|| job.blob.get(NICEHASH_BYTE_OFFSET).copied())
            .flatten();
        let range = match job.nonce_range {
            Some((start, end)) => NonceRange::new(start, end, fixed),
            None => NonceRange::full(fixed),
        };
        if range.is_empty() {
            return Err(RxJobError::EmptyRange { job_id });
        }
        Ok(RxJob {
            seq,
            job_id,
            blob: job.blob.clone(),
            target,
            seed,
            // Only a hint: a malformed one is ignored, the job itself is fine.
            next_seed: job
                .next_seed_hash
                .as_deref()
                .and_then(|s| Seed::from_job(Some(s)).ok())
                .filter(|next| *next != seed),
            range,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phirig_pool::protocol::JobParams;

    fn job(seed: Option<&str>) -> Job {
        job_with_next(seed, None)
    }

    fn job_with_next(seed: Option<&str>, next: Option<&str>) -> Job {
        let params = JobParams {
            blob: "00".repeat(76),
            job_id: "j".into(),
            target: "b88d0600".into(),
            algo: Some("rx/0".into()),
            height: Some(1),
            seed_hash: seed.map(str::to_string),
            next_seed_hash: next.map(str::to_string),
            id: None,
            nonce_range: None,
        };
        Job::from_params(&params, 0, 1, false).unwrap()
    }

    #[test]
    fn needs_a_well_formed_seed() {
        let ok = RxJob::from_pool(&job(Some(&"ab".repeat(32))), 3).unwrap();
        assert_eq!(ok.seed, Seed([0xab; 32]));
        assert_eq!(ok.seq, 3);
        let missing = RxJob::from_pool(&job(None), 1).unwrap_err();
        assert!(missing.to_string().contains("no seed_hash"), "{missing}");
        let bad = RxJob::from_pool(&job(Some("12345")), 1).unwrap_err();
        assert!(bad.to_string().contains("not 64 hex digits"), "{bad}");
    }

    #[test]
    fn takes_a_well_formed_next_seed_and_ignores_a_bad_one() {
        let (a, b) = ("ab".repeat(32), "cd".repeat(32));
        let next = |n: Option<&str>| {
            RxJob::from_pool(&job_with_next(Some(&a), n), 1)
                .unwrap()
                .next_seed
        };
        assert_eq!(next(Some(&b)), Some(Seed([0xcd; 32])));
        assert_eq!(
            next(Some("12345")),
            None,
            "a bad hint does not refuse the job"
        );
        assert_eq!(next(Some(&a)), None, "the current seed is no next one");
        assert_eq!(next(None), None);
    }
}
