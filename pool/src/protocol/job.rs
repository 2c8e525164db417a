//! A validated job: decoded blob and target, the pool and session it came from, NiceHash mode.

use super::{
    blob_has_nicehash_nonce, JobParams, ProtocolError, Target, MAX_BLOB_LEN, MIN_BLOB_LEN,
    NICEHASH_BYTE_OFFSET,
};

/// Work from a pool, ready to hand to miners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub job_id: String,
    /// Hashing blob; the nonce sits at [`super::NONCE_OFFSET`].
    pub blob: Vec<u8>,
    pub target: Target,
    pub algo: Option<String>,
    pub height: Option<u64>,
    pub seed_hash: Option<String>,
    /// The next RandomX epoch's seed, if the pool sent it: its dataset can be built ahead.
    pub next_seed_hash: Option<String>,
    /// The byte at [`NICEHASH_BYTE_OFFSET`] belongs to the pool and must not change.
    pub nicehash: bool,
    /// Index of the pool in the configured list.
    pub pool: usize,
    /// Which connection to that pool delivered it; job ids are only valid within it.
    pub session: u64,
    /// phirig proxy extension: nonce counters `[start, end)` reserved for this miner (see
    /// [`JobParams::nonce_range`]); `None` from ordinary pools.
    pub nonce_range: Option<(u64, u64)>,
}

impl Job {
    /// Validate wire params. `nicehash` forces NiceHash mode (flag, host or extension); a blob
    /// that arrives with a non-zero nonce turns it on as well.
    pub fn from_params(
        params: &JobParams,
        pool: usize,
        session: u64,
        nicehash: bool,
    ) -> Result<Job, ProtocolError> {
        let blob = hex::decode(&params.blob).map_err(|e| ProtocolError::BadHex {
            field: "blob",
            reason: e.to_string(),
        })?;
        if blob.len() < MIN_BLOB_LEN {
            return Err(ProtocolError::BlobTooShort {
                len: blob.len(),
                min: MIN_BLOB_LEN,
            });
        }
        if blob.len() > MAX_BLOB_LEN {
            return Err(ProtocolError::BlobTooLong {
                len: blob.len(),
                max: MAX_BLOB_LEN,
            });
        }
        if params.job_id.is_empty() {
            return Err(ProtocolError::BadParams {
                method: "job".into(),
                reason: "empty job_id".into(),
            });
        }
        let target = Target::from_hex(&params.target)?;
        let nicehash = nicehash || blob_has_nicehash_nonce(&blob);
        Ok(Job {
            job_id: params.job_id.clone(),
            blob,
            target,
            algo: params.algo.clone(),
            height: params.height,
            seed_hash: params.seed_hash.clone(),
            next_seed_hash: params.next_seed_hash.clone(),
            nicehash,
            pool,
            session,
            nonce_range: params.nonce_range.map(|[start, end]| (start, end)),
        })
    }

    /// The pool's fixed NiceHash byte, when in NiceHash mode.
    pub fn nicehash_byte(&self) -> Option<u8> {
        self.nicehash
            .then(|| self.blob.get(NICEHASH_BYTE_OFFSET).copied())
            .flatten()
    }

    /// Back to wire params (for the server and for proxies).
    pub fn to_params(&self) -> JobParams {
        JobParams {
            blob: hex::encode(&self.blob),
            job_id: self.job_id.clone(),
            target: self.target.to_hex(),
            algo: self.algo.clone(),
            height: self.height,
            seed_hash: self.seed_hash.clone(),
            next_seed_hash: self.next_seed_hash.clone(),
            id: None,
            nonce_range: self.nonce_range.map(|(start, end)| [start, end]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(blob: Vec<u8>) -> JobParams {
        JobParams {
            blob: hex::encode(blob),
            job_id: "j".into(),
            target: "b88d0600".into(),
            algo: None,
            height: Some(1),
            seed_hash: None,
            next_seed_hash: None,
            id: None,
            nonce_range: None,
        }
    }

    #[test]
    fn validates_and_detects_nicehash_from_blob() {
        let mut blob = vec![0u8; 76];
        let j = Job::from_params(&params(blob.clone()), 0, 1, false).unwrap();
        assert!(!j.nicehash);
        assert_eq!(j.target.difficulty(), 10_000);
        blob[NICEHASH_BYTE_OFFSET] = 0x5a;
        let j = Job::from_params(&params(blob), 0, 1, false).unwrap();
        assert_eq!(j.nicehash_byte(), Some(0x5a));
        assert_eq!(Job::from_params(&j.to_params(), 0, 1, false).unwrap(), j);
    }

    #[test]
    fn next_seed_hash_is_optional_and_round_trips() {
        let mut p = params(vec![0; 76]);
        let j = Job::from_params(&p, 0, 1, false).unwrap();
        assert_eq!(j.next_seed_hash, None);
        assert!(!serde_json::to_string(&j.to_params())
            .unwrap()
            .contains("next_seed_hash"));
        p.next_seed_hash = Some("cd".repeat(32));
        let j = Job::from_params(&p, 0, 1, false).unwrap();
        assert_eq!(j.to_params().next_seed_hash, p.next_seed_hash);
    }

    #[test]
    fn nonce_range_extension_is_optional_and_round_trips() {
        let mut p = params(vec![0; 76]);
        assert!(!serde_json::to_string(&p).unwrap().contains("nonce_range"));
        p.nonce_range = Some([16, 32]);
        let j = Job::from_params(&p, 0, 1, false).unwrap();
        assert_eq!(j.nonce_range, Some((16, 32)));
        assert_eq!(j.to_params().nonce_range, Some([16, 32]));
        let wire = serde_json::to_string(&p).unwrap();
        assert!(wire.contains(r#""nonce_range":[16,32]"#), "{wire}");
    }

    #[test]
    fn refuses_short_blob_bad_hex_and_zero_target() {
        assert!(Job::from_params(&params(vec![0; 42]), 0, 1, false).is_err());
        let mut p = params(vec![0; 76]);
        p.blob = "zz".into();
        assert!(Job::from_params(&p, 0, 1, false).is_err());
        let mut p = params(vec![0; 76]);
        p.target = "00000000".into();
        assert!(Job::from_params(&p, 0, 1, false).is_err());
    }

    #[test]
    fn takes_blobs_up_to_xmrigs_limit() {
        let j = Job::from_params(&params(vec![3; MAX_BLOB_LEN]), 0, 1, false).unwrap();
        assert_eq!(j.blob.len(), 408);
        let e = Job::from_params(&params(vec![3; MAX_BLOB_LEN + 1]), 0, 1, false).unwrap_err();
        assert!(
            matches!(e, ProtocolError::BlobTooLong { len: 409, max: 408 }),
            "{e}"
        );
    }
}
