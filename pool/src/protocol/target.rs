//! Share targets: compact 4-byte and full 8-byte forms, and the one place difficulty maps to a target.
//!
//! A share is valid when the last 8 bytes of its 32-byte hash, read little-endian, are below the
//! 64-bit target. Difficulty `d` means target `u64::MAX / d`. The compact form is what Monero pools
//! send for small difficulties: a little-endian u32 `c` meaning difficulty `u32::MAX / c`.

use std::fmt;

/// Why a target string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("target must be 8 or 16 hex digits, got {0}")]
    BadLength(usize),
    #[error("target is not hex")]
    NotHex,
    #[error("target is zero (no hash could meet it)")]
    Zero,
}

/// A 64-bit share target (larger = easier).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target(u64);

impl Target {
    /// The easiest target: every hash meets it (difficulty 1).
    pub const EASIEST: Target = Target(u64::MAX);

    /// The target for a difficulty; difficulty 0 is treated as 1.
    pub fn from_difficulty(difficulty: u64) -> Target {
        Target(u64::MAX / difficulty.max(1))
    }

    /// A raw 64-bit target; zero is refused because no hash could meet it.
    pub fn from_u64(target: u64) -> Result<Target, TargetError> {
        if target == 0 {
            return Err(TargetError::Zero);
        }
        Ok(Target(target))
    }

    /// The raw 64-bit target.
    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// The difficulty this target stands for.
    pub fn difficulty(self) -> u64 {
        u64::MAX / self.0
    }

    /// Parse the pool's hex: 8 digits = compact, 16 digits = full little-endian u64.
    pub fn from_hex(s: &str) -> Result<Target, TargetError> {
        let bytes = hex::decode(s).map_err(|_| {
            if s.len() % 2 == 1 {
                TargetError::BadLength(s.len())
            } else {
                TargetError::NotHex
            }
        })?;
        match bytes.len() {
            4 => {
                let compact = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                if compact == 0 {
                    return Err(TargetError::Zero);
                }
                Ok(Target::from_difficulty(u64::from(u32::MAX / compact)))
            }
            8 => {
                let mut raw = [0u8; 8];
                raw.copy_from_slice(&bytes);
                Target::from_u64(u64::from_le_bytes(raw))
            }
            _ => Err(TargetError::BadLength(s.len())),
        }
    }

    /// The wire form: compact when it round-trips to the same difficulty, else 8 bytes.
    pub fn to_hex(self) -> String {
        let difficulty = self.difficulty();
        if self == Target::from_difficulty(difficulty) && difficulty <= u64::from(u32::MAX) {
            let compact = (u64::from(u32::MAX) / difficulty.max(1)) as u32;
            if compact != 0 && u64::from(u32::MAX / compact) == difficulty {
                return hex::encode(compact.to_le_bytes());
            }
        }
        hex::encode(self.0.to_le_bytes())
    }

    /// Whether a 32-byte hash meets this target.
    pub fn is_met_by(self, hash: &[u8; 32]) -> bool {
        hash_value(hash) < self.0
    }
}

/// The 64-bit value of a hash compared against targets: its last 8 bytes, little-endian.
pub fn hash_value(hash: &[u8; 32]) -> u64 {
    let mut tail = [0u8; 8];
    tail.copy_from_slice(&hash[24..32]);
    u64::from_le_bytes(tail)
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({:#018x}, diff {})", self.0, self.difficulty())
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_b88d0600_is_difficulty_10000() {
        let t = Target::from_hex("b88d0600").unwrap();
        assert_eq!(t.difficulty(), 10_000);
        assert_eq!(t, Target::from_difficulty(10_000));
        assert_eq!(t.to_hex(), "b88d0600");
    }

    #[test]
    fn full_target_round_trips() {
        let t = Target::from_difficulty(1_000_000_000_000);
        let hex = t.to_hex();
        assert_eq!(hex.len(), 16);
        assert_eq!(Target::from_hex(&hex).unwrap(), t);
    }

    #[test]
    fn zero_and_bad_targets_are_errors() {
        assert_eq!(Target::from_hex("00000000"), Err(TargetError::Zero));
        assert_eq!(Target::from_hex("0000000000000000"), Err(TargetError::Zero));
        assert_eq!(Target::from_hex("abc"), Err(TargetError::BadLength(3)));
        assert_eq!(Target::from_hex("zzzzzzzz"), Err(TargetError::NotHex));
        assert_eq!(Target::from_hex("0011"), Err(TargetError::BadLength(4)));
    }

    #[test]
    fn share_validity_reads_last_eight_bytes_le() {
        let t = Target::from_difficulty(10_000);
        let mut hash = [0xffu8; 32];
        hash[24..32].copy_from_slice(&(t.as_u64() - 1).to_le_bytes());
        assert!(t.is_met_by(&hash));
        hash[24..32].copy_from_slice(&t.as_u64().to_le_bytes());
        assert!(!t.is_met_by(&hash));
        // The first 24 bytes never matter.
        let mut low = [0xffu8; 32];
        low[24..32].copy_from_slice(&0u64.to_le_bytes());
        assert!(t.is_met_by(&low));
    }

    #[test]
    fn difficulty_round_trips_through_hex() {
        for d in [
            1u64,
            2,
            3,
            1000,
            10_000,
            120_001,
            480_045,
            1 << 31,
            u64::from(u32::MAX),
        ] {
            let t = Target::from_difficulty(d);
            assert_eq!(t.difficulty(), d, "difficulty {d}");
            assert_eq!(
                Target::from_hex(&t.to_hex()).unwrap().difficulty(),
                d,
                "hex of {d}"
            );
        }
    }
}
