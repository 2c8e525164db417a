//! The job a worker mines: blob, target, algorithm and the nonce slice it may use.

use super::nonce_range::{NonceCursor, NonceRange};
use phirig_kernel::cn::Algorithm;
use phirig_pool::protocol::MIN_BLOB_LEN;

/// Work handed to the workers. Built from a pool job after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiningJob {
    /// Local sequence number; shares carry it back so a late share is matched to its job.
    pub seq: u64,
    /// The pool's job id.
    pub job_id: String,
    pub blob: Vec<u8>,
    /// 64-bit share target: a hash is a share when its last 8 bytes (LE) are below it.
    pub target: u64,
    pub algo: Algorithm,
    pub height: u64,
    pub range: NonceRange,
}

/// Why a job was refused; the previous job keeps running.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum JobError {
    #[error("job {job_id}: blob is {len} bytes, {algo} needs at least {min}")]
    BlobTooShort {
        job_id: String,
        algo: Algorithm,
        len: usize,
        min: usize,
    },
    #[error("job {job_id}: blob is {len} bytes, longer than the {max}-byte limit")]
    BlobTooLong {
        job_id: String,
        len: usize,
        max: usize,
    },
    #[error("job {job_id}: target is zero, no hash could ever be a share")]
    ZeroTarget { job_id: String },
    #[error("job {job_id}: {algo} needs a block height")]
    MissingHeight { job_id: String, algo: Algorithm },
    #[error("job {job_id}: the nonce slice is empty")]
    EmptyRange { job_id: String },
}

impl MiningJob {
    /// Checks what the kernel would otherwise refuse mid-batch.
    pub fn validate(&self) -> Result<(), JobError> {
        let job_id = self.job_id.clone();
        let min = self.algo.min_input_len().max(MIN_BLOB_LEN);
        if self.blob.len() < min {
            return Err(JobError::BlobTooShort {
                job_id,
                algo: self.algo,
                len: self.blob.len(),
                min,
            });
        }
        let max = self.algo.max_input_len();
        if self.blob.len() > max {
            return Err(JobError::BlobTooLong {
                job_id,
                len: self.blob.len(),
                max,
            });
        }
        if self.target == 0 {
            return Err(JobError::ZeroTarget { job_id });
        }
        if self.algo.needs_height() && self.height == 0 {
            return Err(JobError::MissingHeight {
                job_id,
                algo: self.algo,
            });
        }
        if self.range.is_empty() {
            return Err(JobError::EmptyRange { job_id });
        }
        Ok(())
    }
}

/// A job as the workers share it: the job plus the cursor that hands out its nonces.
#[derive(Debug)]
pub struct ActiveJob {
    pub job: MiningJob,
    pub cursor: NonceCursor,
}

impl ActiveJob {
    pub fn new(job: MiningJob) -> Self {
        Self {
            cursor: NonceCursor::new(job.range),
            job,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(algo: Algorithm, len: usize) -> MiningJob {
        MiningJob {
            seq: 1,
            job_id: "j".into(),
            blob: vec![0; len],
            target: 1 << 60,
            algo,
            height: 0,
            range: NonceRange::full(None),
        }
    }

    #[test]
    fn refuses_what_cannot_be_mined() {
        let cn0: Algorithm = "cn/0".parse().expect("algo");
        let cnr: Algorithm = "cn/r".parse().expect("algo");
        assert!(job(cn0, 76).validate().is_ok());
        assert!(matches!(
            job(cn0, 20).validate(),
            Err(JobError::BlobTooShort { .. })
        ));
        assert!(matches!(
            job(cn0, 100_000).validate(),
            Err(JobError::BlobTooLong { .. })
        ));
        assert!(matches!(
            MiningJob {
                target: 0,
                ..job(cn0, 76)
            }
            .validate(),
            Err(JobError::ZeroTarget { .. })
        ));
        assert!(matches!(
            job(cnr, 76).validate(),
            Err(JobError::MissingHeight { .. })
        ));
        let empty = MiningJob {
            range: NonceRange::new(5, 5, None),
            ..job(cn0, 76)
        };
        assert!(matches!(empty.validate(), Err(JobError::EmptyRange { .. })));
    }
}
