//! The best share difficulties reached, highest first: xmrig's `results.best`.

use super::target::hash_value;

/// How many of the best difficulties are kept.
pub const BEST_KEPT: usize = 10;

/// The [`BEST_KEPT`] highest difficulties noted, highest first; zeros until that many are seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BestDifficulties([u64; BEST_KEPT]);

impl BestDifficulties {
    /// Notes one difficulty; kept only if it beats the lowest of the list.
    pub fn note(&mut self, difficulty: u64) {
        let last = BEST_KEPT - 1;
        if difficulty > self.0[last] {
            self.0[last] = difficulty;
            self.0.sort_unstable_by(|a, b| b.cmp(a));
        }
    }

    /// Notes the difficulty a hash reached.
    pub fn note_hash(&mut self, hash: &[u8; 32]) {
        self.note(hash_difficulty(hash));
    }

    /// Highest first.
    pub fn top(&self) -> [u64; BEST_KEPT] {
        self.0
    }
}

/// The difficulty a hash reached, as miners report it: `u64::MAX / value`. A share that meets a
/// target of difficulty `d` always reports at least `d`.
pub fn hash_difficulty(hash: &[u8; 32]) -> u64 {
    u64::MAX / hash_value(hash).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Target;

    fn hash_with_value(v: u64) -> [u8; 32] {
        let mut h = [0xaa; 32];
        h[24..].copy_from_slice(&v.to_le_bytes());
        h
    }

    #[test]
    fn a_share_of_difficulty_d_reports_at_least_d() {
        for d in [1, 2, 3, 1000, 120_001, 1 << 40, u64::MAX / 3] {
            let target = Target::from_difficulty(d).as_u64();
            // The hardest hash that still meets the target, and one of the easiest.
            for v in [target - 1, target / 2, 1] {
                let h = hash_with_value(v);
                assert!(Target::from_difficulty(d).is_met_by(&h));
                assert!(hash_difficulty(&h) >= d, "diff {d}, value {v}");
            }
        }
        assert_eq!(
            hash_difficulty(&hash_with_value(0)),
            u64::MAX,
            "no division by zero"
        );
        assert_eq!(hash_difficulty(&hash_with_value(u64::MAX)), 1);
    }

    #[test]
    fn keeps_the_ten_highest_in_order() {
        let mut best = BestDifficulties::default();
        for d in [5, 1, 9, 3, 7, 2, 8, 4, 6, 10, 11, 0, 12] {
            best.note(d);
        }
        assert_eq!(best.top(), [12, 11, 10, 9, 8, 7, 6, 5, 4, 3]);
        let mut few = BestDifficulties::default();
        few.note(40);
        few.note(50);
        assert_eq!(few.top()[..3], [50, 40, 0]);
    }
}
