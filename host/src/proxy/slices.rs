//! Nonce slices of one upstream job: disjoint `NonceRange`s handed to cards, never reused within the job.

use phirig_agent::worker::NonceRange;

/// Counters under one fixed byte: the nonce's low 24 bits.
pub const COUNTERS_PER_BYTE: u64 = 1 << 24;

/// Identifies a card for the life of the proxy.
pub type CardId = u64;

/// How a job's nonce space is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Ordinary upstream job: the proxy owns all 2^32 nonces and gives each slice its own top
    /// byte (written at blob offset 42), so even a NiceHash-aware third-party miner stays apart.
    PerByte { next_byte: u16 },
    /// NiceHash upstream job: the pool owns byte 42; slices split the 2^24 counters beneath it.
    UnderPoolByte { byte: u8, next: u64, len: u64 },
}

/// The slices of one upstream job. Slice `i` belongs to one card forever; a disconnected card's
/// slice is simply never handed out again, so nonces cannot repeat within the job.
#[derive(Debug, Clone)]
pub struct JobSlices {
    mode: Mode,
    slices: Vec<(CardId, NonceRange)>,
}

impl JobSlices {
    /// Slices for a job whose pool fixed `nicehash_byte` (or not). `slice_len` (counters, clamped
    /// to 1..=2^24) only applies under a pool byte; otherwise every slice is a whole 2^24 block.
    pub fn new(nicehash_byte: Option<u8>, slice_len: u64) -> Self {
        let mode = match nicehash_byte {
            Some(byte) => Mode::UnderPoolByte {
                byte,
                next: 0,
                len: slice_len.clamp(1, COUNTERS_PER_BYTE),
            },
            None => Mode::PerByte { next_byte: 0 },
        };
        JobSlices {
            mode,
            slices: Vec::new(),
        }
    }

    /// A fresh slice for `card`, or `None` when the job's nonce space is used up.
    pub fn allocate(&mut self, card: CardId) -> Option<(usize, NonceRange)> {
        let range = match &mut self.mode {
            Mode::PerByte { next_byte } => {
                let byte = u8::try_from(*next_byte).ok()?;
                *next_byte += 1;
                NonceRange::new(0, COUNTERS_PER_BYTE, Some(byte))
            }
            Mode::UnderPoolByte { byte, next, len } => {
                if *next >= COUNTERS_PER_BYTE {
                    return None;
                }
                let start = *next;
                *next = (start + *len).min(COUNTERS_PER_BYTE);
                NonceRange::new(start, *next, Some(*byte))
            }
        };
        self.slices.push((card, range));
        Some((self.slices.len() - 1, range))
    }

    /// Owner and range of slice `index`.
    pub fn get(&self, index: usize) -> Option<(CardId, NonceRange)> {
        self.slices.get(index).copied()
    }

    /// Slices handed out so far.
    pub fn handed_out(&self) -> usize {
        self.slices.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nonces_disjoint(a: &NonceRange, b: &NonceRange) -> bool {
        // Same fixed byte: counter ranges must not overlap; different bytes never collide.
        a.fixed_byte() != b.fixed_byte() || a.end() <= b.start() || b.end() <= a.start()
    }

    #[test]
    fn plain_job_gives_each_slice_its_own_byte_and_runs_out_after_256() {
        let mut s = JobSlices::new(None, 1000);
        let mut ranges = Vec::new();
        for card in 0..256 {
            let (i, r) = s.allocate(card % 3).unwrap();
            assert_eq!(i, card as usize);
            assert_eq!(r.fixed_byte(), Some(card as u8));
            assert_eq!((r.start(), r.end()), (0, COUNTERS_PER_BYTE));
            ranges.push(r);
        }
        assert!(s.allocate(0).is_none());
        for (i, a) in ranges.iter().enumerate() {
            for b in &ranges[i + 1..] {
                assert!(nonces_disjoint(a, b));
            }
        }
        // Together the slices cover every one of the 2^32 nonces exactly once.
        assert!(ranges[0x12].contains_nonce(0x1234_5678));
        assert_eq!(s.get(1), Some((1, ranges[1])));
    }

    #[test]
    fn nicehash_job_splits_the_low_24_bits_and_keeps_the_pool_byte() {
        let len = COUNTERS_PER_BYTE / 4 + 1;
        let mut s = JobSlices::new(Some(0xab), len);
        let mut ranges = Vec::new();
        while let Some((_, r)) = s.allocate(7) {
            assert_eq!(r.fixed_byte(), Some(0xab));
            assert!(!r.is_empty());
            ranges.push(r);
            assert!(ranges.len() <= 4);
        }
        assert_eq!(ranges.len(), 4);
        assert_eq!(ranges[3].end(), COUNTERS_PER_BYTE);
        for w in ranges.windows(2) {
            assert_eq!(w[0].end(), w[1].start());
            assert!(nonces_disjoint(&w[0], &w[1]));
        }
        assert!(ranges[0].contains_nonce(0xab00_0000));
        assert!(!ranges[0].contains_nonce(0xac00_0000));
        assert_eq!(s.handed_out(), 4);
    }

    #[test]
    fn slice_len_is_clamped() {
        let mut s = JobSlices::new(Some(1), 0);
        assert_eq!(s.allocate(0).map(|(_, r)| r.len()), Some(1));
        let mut s = JobSlices::new(Some(1), u64::MAX);
        assert_eq!(s.allocate(0).map(|(_, r)| r.len()), Some(COUNTERS_PER_BYTE));
        assert!(s.allocate(0).is_none());
    }
}
