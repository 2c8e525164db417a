//! A RandomX seed (the key of cache and dataset): the 32-byte `seed_hash` of a pool's job.

use std::fmt;

/// Why a `seed_hash` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeedError {
    #[error("rx/0 job has no seed_hash")]
    Missing,
    #[error("seed_hash {seed:?} is not 64 hex digits: {reason}")]
    Malformed { seed: String, reason: String },
}

/// The 32 bytes every rx/0 hash of an epoch is keyed with.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Seed(pub [u8; 32]);

impl Seed {
    /// Parses a job's `seed_hash` (64 hex digits); `None` is [`SeedError::Missing`].
    pub fn from_job(seed_hash: Option<&str>) -> Result<Seed, SeedError> {
        seed_hash.ok_or(SeedError::Missing)?.parse()
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::str::FromStr for Seed {
    type Err = SeedError;

    fn from_str(s: &str) -> Result<Seed, SeedError> {
        let malformed = |reason: String| SeedError::Malformed {
            seed: s.chars().take(80).collect(),
            reason,
        };
        let bytes = hex::decode(s.trim()).map_err(|e| malformed(e.to_string()))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| malformed(format!("{} bytes, not 32", b.len())))?;
        Ok(Seed(bytes))
    }
}

impl fmt::Display for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Eight digits tell seeds apart in logs.
        write!(f, "Seed({}…)", &hex::encode(&self.0[..4]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_64_hex_digits_and_refuses_the_rest() {
        let s: Seed = "ab".repeat(32).parse().unwrap();
        assert_eq!(s.0, [0xab; 32]);
        assert_eq!(s.to_string(), "ab".repeat(32));
        assert_eq!(Seed::from_job(None), Err(SeedError::Missing));
        assert!(matches!(
            Seed::from_job(Some("abcd")),
            Err(SeedError::Malformed { .. })
        ));
        let e = "zz".repeat(32).parse::<Seed>().unwrap_err();
        assert!(e.to_string().contains("not 64 hex digits"), "{e}");
    }
}
