//! Nonce leases of one upstream job: each card owns a block and mines it lease by lease; a dead card's unleased remainder goes to the next card that needs work.
//!
//! A *block* is a card's share of the job: one top byte with its 2^24 counters on a plain job,
//! or a run of counters under the pool's byte on a NiceHash job. A card never gets a whole block
//! at once but *leases* of at most `lease_len` counters, taken from the front of its block. When
//! the card goes away its current lease is abandoned (it may have mined it) and the rest of its
//! block — never leased, so never mined — is adopted by the next card that asks for work. Every
//! counter is leased at most once per job, so nonces never repeat within the job.

use std::collections::VecDeque;

use phirig_agent::worker::NonceRange;

/// Counters under one fixed byte: the nonce's low 24 bits.
pub const COUNTERS_PER_BYTE: u64 = 1 << 24;

/// Identifies a card for the life of the proxy.
pub type CardId = u64;

/// How a job's nonce space is cut into blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Ordinary upstream job: the proxy owns all 2^32 nonces and gives each block its own top
    /// byte (written at blob offset 42), so even a NiceHash-aware third-party miner stays apart.
    PerByte { next_byte: u16 },
    /// NiceHash upstream job: the pool owns byte 42; blocks split the 2^24 counters beneath it.
    UnderPoolByte { byte: u8, next: u64, len: u64 },
}

/// A card's block: counters `[next, end)` under `byte` are still unleased.
#[derive(Debug, Clone, Copy)]
struct Block {
    byte: u8,
    next: u64,
    end: u64,
}

impl Block {
    fn lease(&mut self, len: u64) -> Option<NonceRange> {
        if self.next >= self.end {
            return None;
        }
        let start = self.next;
        self.next = start.saturating_add(len).min(self.end);
        Some(NonceRange::new(start, self.next, Some(self.byte)))
    }

    fn remaining(&self) -> u64 {
        self.end.saturating_sub(self.next)
    }
}

/// A lease handed out: which one it is in the job, and whether a dead card's block was adopted for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    pub index: usize,
    pub range: NonceRange,
    /// The lease came from the unleased remainder of a card that went away.
    pub adopted: bool,
}

/// The leases of one upstream job; see the module doc.
#[derive(Debug, Clone)]
pub struct JobSlices {
    mode: Mode,
    lease_len: u64,
    /// Every lease ever handed out in this job, by index: (card, range).
    leases: Vec<(CardId, NonceRange)>,
    /// Blocks owned by live cards.
    owned: Vec<(CardId, Block)>,
    /// Remainders of released blocks, oldest first.
    orphans: VecDeque<Block>,
    adopted: u64,
}

impl JobSlices {
    /// Leases for a job whose pool fixed `nicehash_byte` (or not). Under a pool byte a block is
    /// `block_len` counters (clamped to 1..=2^24); otherwise a whole byte. A lease is at most
    /// `lease_len` counters (at least 1).
    pub fn new(nicehash_byte: Option<u8>, block_len: u64, lease_len: u64) -> Self {
        let mode = match nicehash_byte {
            Some(byte) => Mode::UnderPoolByte {
                byte,
                next: 0,
                len: block_len.clamp(1, COUNTERS_PER_BYTE),
            },
            None => Mode::PerByte { next_byte: 0 },
        };
        JobSlices {
            mode,
            lease_len: lease_len.max(1),
            leases: Vec::new(),
            owned: Vec::new(),
            orphans: VecDeque::new(),
            adopted: 0,
        }
    }

    /// The next lease for `card`: from its own block, else an orphaned remainder, else a fresh
    /// block. `None` when the job's nonce space is used up.
    pub fn allocate(&mut self, card: CardId) -> Option<Lease> {
        let mut adopted = false;
        let range = loop {
            if let Some((_, block)) = self.owned.iter_mut().find(|(c, _)| *c == card) {
                if let Some(r) = block.lease(self.lease_len) {
                    break r;
                }
            }
            // The card's own block (if any) is spent: drop it and take another.
            self.owned.retain(|(c, _)| *c != card);
            let next = match self.orphans.pop_front() {
                Some(b) => {
                    adopted = true;
                    self.adopted += 1;
                    b
                }
                None => self.fresh_block()?,
            };
            self.owned.push((card, next));
        };
        self.leases.push((card, range));
        Some(Lease {
            index: self.leases.len() - 1,
            range,
            adopted,
        })
    }

    fn fresh_block(&mut self) -> Option<Block> {
        match &mut self.mode {
            Mode::PerByte { next_byte } => {
                let byte = u8::try_from(*next_byte).ok()?;
                *next_byte += 1;
                Some(Block {
                    byte,
                    next: 0,
                    end: COUNTERS_PER_BYTE,
                })
            }
            Mode::UnderPoolByte { byte, next, len } => {
                if *next >= COUNTERS_PER_BYTE {
                    return None;
                }
                let start = *next;
                *next = (start + *len).min(COUNTERS_PER_BYTE);
                Some(Block {
                    byte: *byte,
                    next: start,
                    end: *next,
                })
            }
        }
    }

    /// `card` went away: its current lease is abandoned, the unleased rest of its block waits for
    /// the next card that needs work. Returns the counters released.
    pub fn release(&mut self, card: CardId) -> u64 {
        let mut freed = 0;
        let mut kept = Vec::with_capacity(self.owned.len());
        for (c, block) in self.owned.drain(..) {
            if c != card {
                kept.push((c, block));
            } else if block.remaining() > 0 {
                freed += block.remaining();
                self.orphans.push_back(block);
            }
        }
        self.owned = kept;
        freed
    }

    /// Owner and range of lease `index`.
    pub fn get(&self, index: usize) -> Option<(CardId, NonceRange)> {
        self.leases.get(index).copied()
    }

    /// Leases handed out so far.
    pub fn handed_out(&self) -> usize {
        self.leases.len()
    }

    /// Orphaned remainders adopted by other cards so far.
    pub fn adopted(&self) -> u64 {
        self.adopted
    }

    /// Counters released by dead cards and not yet adopted.
    pub fn orphaned(&self) -> u64 {
        self.orphans.iter().map(Block::remaining).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disjoint(a: &NonceRange, b: &NonceRange) -> bool {
        // Same fixed byte: counter ranges must not overlap; different bytes never collide.
        a.fixed_byte() != b.fixed_byte() || a.end() <= b.start() || b.end() <= a.start()
    }

    fn all_disjoint(s: &JobSlices) {
        let leases: Vec<NonceRange> = (0..s.handed_out())
            .map(|i| s.get(i).expect("lease").1)
            .collect();
        for (i, a) in leases.iter().enumerate() {
            assert!(!a.is_empty());
            for b in &leases[i + 1..] {
                assert!(disjoint(a, b), "{a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn plain_job_gives_each_card_its_own_byte_leased_in_chunks() {
        let mut s = JobSlices::new(None, 0, 1 << 20);
        let a = s.allocate(1).unwrap();
        let b = s.allocate(2).unwrap();
        assert_eq!((a.index, b.index), (0, 1));
        assert_eq!(a.range.fixed_byte(), Some(0));
        assert_eq!(b.range.fixed_byte(), Some(1));
        assert_eq!((a.range.start(), a.range.end()), (0, 1 << 20));
        // The next lease continues the card's own block.
        let a2 = s.allocate(1).unwrap();
        assert_eq!(a2.range.fixed_byte(), Some(0));
        assert_eq!((a2.range.start(), a2.range.end()), (1 << 20, 2 << 20));
        assert!(!a2.adopted);
        assert_eq!(s.get(2), Some((1, a2.range)));
        all_disjoint(&s);
    }

    #[test]
    fn a_card_that_uses_its_block_up_moves_to_a_fresh_byte() {
        let mut s = JobSlices::new(None, 0, COUNTERS_PER_BYTE / 2);
        let bytes: Vec<_> = (0..5)
            .map(|_| s.allocate(7).unwrap().range.fixed_byte())
            .collect();
        assert_eq!(bytes, [Some(0), Some(0), Some(1), Some(1), Some(2)]);
        all_disjoint(&s);
    }

    #[test]
    fn no_nonce_is_ever_leased_twice_within_a_job() {
        // Small blocks and leases so the whole space is exercised: three cards, one dies and
        // comes back, one exhausts its blocks, until the job is spent.
        let mut s = JobSlices::new(Some(0x11), COUNTERS_PER_BYTE / 8, COUNTERS_PER_BYTE / 32);
        let mut total = 0u64;
        for round in 0..1000u64 {
            let card = round % 3 + (round / 7) * 10;
            if round % 5 == 4 {
                s.release(card);
                continue;
            }
            match s.allocate(card) {
                Some(l) => total += l.range.len(),
                None => break,
            }
        }
        assert!(s.allocate(999).is_none(), "job space spent");
        all_disjoint(&s);
        // Abandoned leases are gone, but every counter was leased at most once.
        assert!(total <= COUNTERS_PER_BYTE);
        assert_eq!(s.orphaned(), 0);
        assert!(s.adopted() > 0);
    }

    #[test]
    fn a_dead_cards_unleased_remainder_goes_to_the_next_card_that_needs_work() {
        let mut s = JobSlices::new(None, 0, 1 << 20);
        let dead = s.allocate(1).unwrap();
        s.allocate(2).unwrap();
        assert_eq!(s.release(1), COUNTERS_PER_BYTE - (1 << 20));
        assert_eq!(s.orphaned(), COUNTERS_PER_BYTE - (1 << 20));
        // A new (or reconnected) card adopts byte 0 after the abandoned lease, not a new byte.
        let next = s.allocate(3).unwrap();
        assert!(next.adopted);
        assert_eq!(next.range.fixed_byte(), dead.range.fixed_byte());
        assert_eq!(next.range.start(), dead.range.end());
        assert_eq!(s.orphaned(), 0);
        assert_eq!(s.adopted(), 1);
        // Its following leases continue the adopted block.
        let more = s.allocate(3).unwrap();
        assert!(!more.adopted);
        assert_eq!(more.range.fixed_byte(), Some(0));
        // Only when nothing is orphaned does a card get a fresh byte.
        assert_eq!(s.allocate(4).unwrap().range.fixed_byte(), Some(2));
        all_disjoint(&s);
    }

    #[test]
    fn a_card_that_exhausts_its_block_adopts_an_orphan_before_a_fresh_block() {
        let mut s = JobSlices::new(None, 0, COUNTERS_PER_BYTE);
        s.allocate(1).unwrap();
        s.allocate(2).unwrap();
        s.release(2); // its only lease was its whole block: nothing to hand on
        assert_eq!(s.orphaned(), 0);
        let mut s = JobSlices::new(None, 0, COUNTERS_PER_BYTE / 2);
        s.allocate(1).unwrap();
        s.allocate(2).unwrap();
        s.release(2);
        s.allocate(1).unwrap(); // rest of byte 0
        let adopted = s.allocate(1).unwrap();
        assert!(adopted.adopted);
        assert_eq!(adopted.range.fixed_byte(), Some(1));
        assert_eq!(adopted.range.start(), COUNTERS_PER_BYTE / 2);
        all_disjoint(&s);
    }

    #[test]
    fn nicehash_job_keeps_the_pool_byte_everywhere_including_adopted_remainders() {
        let block = COUNTERS_PER_BYTE / 4;
        let mut s = JobSlices::new(Some(0xab), block, block / 2);
        let a = s.allocate(1).unwrap();
        let b = s.allocate(2).unwrap();
        assert_eq!((a.range.start(), a.range.end()), (0, block / 2));
        assert_eq!((b.range.start(), b.range.end()), (block, block + block / 2));
        s.release(1);
        let c = s.allocate(3).unwrap();
        assert!(c.adopted);
        assert_eq!((c.range.start(), c.range.end()), (block / 2, block));
        let mut ranges = vec![a.range, b.range, c.range];
        while let Some(l) = s.allocate(4) {
            ranges.push(l.range);
            assert!(ranges.len() <= 16);
        }
        for r in &ranges {
            assert_eq!(r.fixed_byte(), Some(0xab));
            assert!(r.end() <= COUNTERS_PER_BYTE);
        }
        assert!(ranges[0].contains_nonce(0xab00_0000));
        assert!(!ranges[0].contains_nonce(0xac00_0000));
        all_disjoint(&s);
    }

    #[test]
    fn plain_job_runs_out_after_256_blocks() {
        let mut s = JobSlices::new(None, 0, COUNTERS_PER_BYTE);
        for card in 0..256 {
            let l = s.allocate(card).unwrap();
            assert_eq!(l.range.fixed_byte(), Some(card as u8));
        }
        assert!(s.allocate(0).is_none());
        // Together the leases cover every one of the 2^32 nonces exactly once.
        assert!(s.get(0x12).unwrap().1.contains_nonce(0x1234_5678));
        all_disjoint(&s);
    }

    #[test]
    fn lengths_are_clamped() {
        let mut s = JobSlices::new(Some(1), 0, 0);
        assert_eq!(s.allocate(0).map(|l| l.range.len()), Some(1));
        let mut s = JobSlices::new(Some(1), u64::MAX, u64::MAX);
        assert_eq!(
            s.allocate(0).map(|l| l.range.len()),
            Some(COUNTERS_PER_BYTE)
        );
        assert!(s.allocate(0).is_none());
    }
}
